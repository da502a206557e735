// Package extras declares the features of the carbontrack command that link
// large packages: charts (gonum/plot, html/template) and Prometheus
// (client_golang). The carbontrack binary leaves them out, so that
// "carbontrack run" starts its command sooner and holds less memory, and
// hands a command that needs one to carbontrack-full, which links them all
// (package full). This package links none of them.
package extras

import (
	"context"
	"log/slog"

	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// Set is the features a build links; a nil field is one it does not.
type Set struct {
	// PlotFile draws runs into a PNG or SVG file (report --plot).
	PlotFile func(path string, runs []runlog.Run) error
	// WriteHTML writes the HTML report of runs (report --html), with the
	// budget in grams drawn when not 0.
	WriteHTML func(path string, runs []runlog.Run, budgetGrams float64) error
	// ServeTracker serves a tracker's metrics to Prometheus
	// (run --metrics-addr).
	ServeTracker func(ctx context.Context, t *tracker.Tracker, m Metrics) (Server, error)
	// ServeSampler serves a sampler's metrics to Prometheus (serve). The
	// sampler need not have started.
	ServeSampler func(ctx context.Context, s *sampler.Sampler, m Metrics) (Server, error)
}

// Complete reports whether every feature is linked.
func (s Set) Complete() bool {
	return s.PlotFile != nil && s.WriteHTML != nil && s.ServeTracker != nil && s.ServeSampler != nil
}

// Metrics is where and how metrics are served.
type Metrics struct {
	Addr        string       // host:port
	AllowPublic bool         // let Addr be other than loopback
	RunID, Node string       // the labels run_id and node, when not empty
	Logger      *slog.Logger // the server's errors; nil for none
}

// Server is a running metrics endpoint.
type Server interface {
	URL() string           // where the metrics are, http://ADDR/metrics
	Done() <-chan struct{} // closed when serving has ended
	Stop() error           // stops serving; why serving failed, if it did
}

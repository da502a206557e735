// Package full implements every feature of package extras: the charts
// with gonum/plot and the HTML report, and the Prometheus endpoints with
// client_golang. carbontrack-full links it; carbontrack does not.
package full

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carbontrack/carbontrack/internal/cli/extras"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
	"github.com/carbontrack/carbontrack/tracker/runlog/runplot"
)

// Set returns every feature.
func Set() extras.Set {
	return extras.Set{
		PlotFile:     runplot.PlotFile,
		WriteHTML:    writeHTML,
		ServeTracker: serveTracker,
		ServeSampler: serveSampler,
	}
}

// writeHTML writes the HTML report (htmlreport.WriteFile).
func writeHTML(path string, runs []runlog.Run, budgetGrams float64) error {
	return htmlreport.WriteFile(path, runs, htmlreport.Options{BudgetGrams: budgetGrams})
}

// serveTracker serves t's metrics: its epochs, energy and emissions.
func serveTracker(ctx context.Context, t *tracker.Tracker, m extras.Metrics) (extras.Server, error) {
	col, err := promexport.NewCollector(t, promexport.WithRunID(m.RunID), promexport.WithNode(m.Node))
	if err != nil {
		return nil, err
	}
	return serve(ctx, col, m)
}

// serveSampler serves s's metrics: its devices' energy and power.
func serveSampler(ctx context.Context, s *sampler.Sampler, m extras.Metrics) (extras.Server, error) {
	col, err := promexport.NewSamplerCollector(s, promexport.WithRunID(m.RunID), promexport.WithNode(m.Node))
	if err != nil {
		return nil, err
	}
	return serve(ctx, col, m)
}

// serve registers col alone and serves it at m.Addr.
func serve(ctx context.Context, col prometheus.Collector, m extras.Metrics) (extras.Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, err
	}
	srv, err := promexport.Serve(ctx, m.Addr, reg, promexport.WithAllowPublic(m.AllowPublic), promexport.WithLogger(m.Logger))
	if err != nil {
		return nil, err
	}
	return srv, nil
}

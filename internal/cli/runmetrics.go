package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/carbontrack/carbontrack/internal/cli/extras"
	"github.com/carbontrack/carbontrack/tracker"
)

// The Prometheus endpoint of carbontrack run.

// runMetrics is the Prometheus endpoint of a run, or nothing.
type runMetrics struct{ srv extras.Server }

// startMetrics serves the tracker's metrics when --metrics-addr is set. A
// failure is reported and the run goes on unmeasured by Prometheus: the
// command has started and must not suffer for it.
func startMetrics(ctx context.Context, o *runOptions, t *tracker.Tracker, cons *console) runMetrics {
	if o.metricsAddr == "" {
		return runMetrics{}
	}
	// Not the signal context: Ctrl-C must not close the endpoint while the
	// command is still stopping.
	srv, err := features.ServeTracker(context.WithoutCancel(ctx), t, extras.Metrics{
		Addr: o.metricsAddr, AllowPublic: o.allowPublic, RunID: o.runID, Node: o.node,
	})
	if err != nil {
		cons.say(fmt.Sprintf("carbontrack: no metrics: %v\n", err))
		return runMetrics{}
	}
	if !o.quiet {
		cons.say(fmt.Sprintf("carbontrack: metrics at %s\n", srv.URL()))
	}
	return runMetrics{srv: srv}
}

// stop serves the final values for linger, then shuts the endpoint down. A
// signal on sigc other than SIGPIPE, or done, ends the linger early.
func (m runMetrics) stop(linger time.Duration, sigc <-chan os.Signal, done <-chan struct{}, stderr io.Writer, quiet bool) {
	if m.srv == nil {
		return
	}
	if linger > 0 {
		if !quiet {
			fmt.Fprintf(stderr, "carbontrack: serving the final metrics at %s for %v (Ctrl-C or SIGTERM ends it sooner)\n",
				m.srv.URL(), linger)
		}
		tm := time.NewTimer(linger)
		defer tm.Stop()
	wait:
		for {
			select {
			case <-tm.C:
				break wait
			case <-m.srv.Done():
				break wait
			case <-done:
				break wait
			case s := <-sigc:
				if s != syscall.SIGPIPE {
					break wait
				}
			}
		}
	}
	_ = m.srv.Stop()
}

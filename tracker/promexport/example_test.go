package promexport_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
)

// A training run exports its tracker's metrics on loopback while it runs.
func ExampleNewCollector() {
	gpu := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, time.Now())
	t, err := tracker.New(2, tracker.WithSources([]power.Source{gpu}), tracker.WithFixedIntensity(250),
		tracker.WithConsole(nil))
	if err != nil {
		panic(err)
	}
	defer t.Stop()

	c, err := promexport.NewCollector(t, promexport.WithRunID("r42"), promexport.WithNode("node-1"))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv, err := promexport.Serve(context.Background(), "127.0.0.1:0", reg) // port 0: any free port
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	t.EpochStart()
	// ... train; Prometheus scrapes srv.URL() ...
	t.EpochEnd()

	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		fmt.Println(mf.GetName(), mf.GetType())
	}
	// Output:
	// carbontrack_emissions_grams_total COUNTER
	// carbontrack_energy_joules_total COUNTER
	// carbontrack_epoch GAUGE
	// carbontrack_epochs_planned GAUGE
	// carbontrack_grid_intensity_grams_per_kwh GAUGE
	// carbontrack_power_watts GAUGE
	// carbontrack_projected_emissions_grams GAUGE
	// carbontrack_pue GAUGE
	// carbontrack_source_up GAUGE
	// carbontrack_start_time_seconds GAUGE
}

// A node exporter: a sampler's devices, without a tracker. Here the sampler
// is driven by hand (SampleAt) so that the output is exact: a 300 W GPU for
// 10 s.
func ExampleServe() {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	gpu := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, t0)
	gpu.Clock = func() time.Time { return now }
	s, err := sampler.New([]power.Source{gpu})
	if err != nil {
		panic(err)
	}
	s.SampleAt(context.Background(), now)
	now = now.Add(10 * time.Second)
	s.SampleAt(context.Background(), now)

	c, err := promexport.NewSamplerCollector(s, promexport.WithNode("node-1"))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv, err := promexport.Serve(context.Background(), "127.0.0.1:0", reg)
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	resp, err := http.Get(srv.URL())
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// carbontrack_energy_joules_total{component="gpu",device="gpu:0",method="counter",node="node-1"} 3000
	// carbontrack_power_watts{component="gpu",device="gpu:0",method="counter",node="node-1"} 300
	// carbontrack_source_up{node="node-1",source="gpu:0"} 1
	// carbontrack_start_time_seconds{node="node-1"} 1.7356896e+09
}

package promexport_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/promexport"
)

func TestMain(m *testing.M) {
	// No test asks a cloud metadata service or depends on this machine's
	// time zone: without a zone, trackers use the world average.
	os.Setenv(factor.CloudMetadataEnv, "off")
	os.Setenv("TZ", "UTC")
	os.Unsetenv(factor.ZoneEnv)
	goleak.VerifyTestMain(m)
}

// g formats a float as the exposition format does, exactly.
func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// newTracker starts a tracker on two scripted sources: gpu:0, a 300 W energy
// counter, and cpu:package-0, a 50 W power reading; 500 gCO2e/kWh, PUE 1.5,
// sampled every second. Call inside a synctest bubble.
func newTracker(t *testing.T, opts ...tracker.Option) (*tracker.Tracker, []*powertest.Source) {
	t.Helper()
	start := time.Now()
	srcs := []*powertest.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
		powertest.Constant("cpu:package-0", power.KindCPU, power.MethodSampled, 50, start),
	}
	opts = append([]tracker.Option{tracker.WithSources([]power.Source{srcs[0], srcs[1]}),
		tracker.WithFixedIntensity(500), tracker.WithPUE(1.5), tracker.WithConsole(nil),
		tracker.WithInterval(time.Second)}, opts...)
	tr, err := tracker.New(3, opts...)
	require.NoError(t, err)
	return tr, srcs
}

func TestCollectorTracker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, _ := newTracker(t)
		defer tr.Stop()
		c, err := promexport.NewCollector(tr, promexport.WithRunID("r42"), promexport.WithNode("node-1"))
		require.NoError(t, err)

		// Before any epoch: energy, no projection yet.
		tr.EpochStart()
		time.Sleep(10 * time.Second)
		require.NoError(t, tr.Refresh(t.Context())) // counters are read at 10 s intervals: read now
		st := tr.Status()
		require.Len(t, st.Sources, 2)
		assert.InDelta(t, 3000, float64(st.Sources[0].DeviceEnergy), 1e-9)
		assert.InDelta(t, 500, float64(st.Sources[1].DeviceEnergy), 1e-9)
		wantG0, wantG1 := power.Joules(3000).KWh()*1.5*500, power.Joules(500).KWh()*1.5*500
		assert.InDelta(t, wantG0, st.Sources[0].Grams, 1e-12)
		assert.InDelta(t, wantG1, st.Sources[1].Grams, 1e-12)

		want := `
# HELP carbontrack_emissions_grams_total Emissions of the device's energy since the tracker started, in grams CO2e, PUE included.
# TYPE carbontrack_emissions_grams_total counter
carbontrack_emissions_grams_total{component="cpu",device="cpu:package-0",method="sampled",node="node-1",run_id="r42"} ` + g(st.Sources[1].Grams) + `
carbontrack_emissions_grams_total{component="gpu",device="gpu:0",method="counter",node="node-1",run_id="r42"} ` + g(st.Sources[0].Grams) + `
# HELP carbontrack_energy_joules_total Energy drawn by the device since measuring started, in joules, before PUE.
# TYPE carbontrack_energy_joules_total counter
carbontrack_energy_joules_total{component="cpu",device="cpu:package-0",method="sampled",node="node-1",run_id="r42"} 500
carbontrack_energy_joules_total{component="gpu",device="gpu:0",method="counter",node="node-1",run_id="r42"} 3000
# HELP carbontrack_epoch Number of epochs started, the open one included.
# TYPE carbontrack_epoch gauge
carbontrack_epoch{node="node-1",run_id="r42"} 1
# HELP carbontrack_epochs_planned Number of epochs announced for the run.
# TYPE carbontrack_epochs_planned gauge
carbontrack_epochs_planned{node="node-1",run_id="r42"} 3
# HELP carbontrack_grid_intensity_grams_per_kwh Carbon intensity of electricity in use, in grams CO2e per kWh.
# TYPE carbontrack_grid_intensity_grams_per_kwh gauge
carbontrack_grid_intensity_grams_per_kwh{node="node-1",provider="fixed",run_id="r42",zone=""} 500
# HELP carbontrack_power_watts Power drawn by the device over the latest sampled interval, in watts.
# TYPE carbontrack_power_watts gauge
carbontrack_power_watts{component="cpu",device="cpu:package-0",method="sampled",node="node-1",run_id="r42"} 50
carbontrack_power_watts{component="gpu",device="gpu:0",method="counter",node="node-1",run_id="r42"} 300
# HELP carbontrack_pue Power usage effectiveness applied to the emissions.
# TYPE carbontrack_pue gauge
carbontrack_pue{node="node-1",run_id="r42"} 1.5
# HELP carbontrack_source_up Whether the power source answers (1) or was lost (0); a lost source's energy so far is kept.
# TYPE carbontrack_source_up gauge
carbontrack_source_up{node="node-1",run_id="r42",source="cpu:package-0"} 1
carbontrack_source_up{node="node-1",run_id="r42",source="gpu:0"} 1
# HELP carbontrack_start_time_seconds When measuring started, in seconds since the Unix epoch.
# TYPE carbontrack_start_time_seconds gauge
carbontrack_start_time_seconds{node="node-1",run_id="r42"} ` + g(float64(st.Start.UnixNano())/1e9) + `
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
		assert.Zero(t, testutil.CollectAndCount(c, promexport.MetricProjected), "no projection before the first epoch ends")

		// The first epoch ends: the projection appears, as the tracker's.
		tr.EpochEnd()
		proj, ok := tr.Projection()
		require.True(t, ok)
		rep := tr.Report()
		require.Len(t, rep.EpochRecords, 1)
		assert.InDelta(t, 3*rep.EpochRecords[0].Grams, proj.Grams, 1e-12)
		wantProj := `
# HELP carbontrack_projected_emissions_grams Projected emissions of all the run's epochs (carbontracker's mean epoch times epochs), in grams CO2e, PUE included.
# TYPE carbontrack_projected_emissions_grams gauge
carbontrack_projected_emissions_grams{node="node-1",run_id="r42"} ` + g(proj.Grams) + `
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(wantProj), promexport.MetricProjected))

		// Over time the counters follow the tracker: sum of the energy
		// counters = Status.Energy, of the emissions = Status.Grams.
		time.Sleep(5 * time.Second)
		require.NoError(t, tr.Refresh(t.Context()))
		st = tr.Status()
		assert.InDelta(t, float64(st.DeviceEnergy), sumFamily(t, c, promexport.MetricEnergy), 1e-9)
		assert.InDelta(t, st.Grams, sumFamily(t, c, promexport.MetricEmissions), 1e-12)
		assert.InDelta(t, float64(st.Power), sumFamily(t, c, promexport.MetricPower), 1e-9)
		assert.InDelta(t, 5250, float64(st.DeviceEnergy), 1e-9) // 15 s × 350 W

		// After Stop the totals are the Report's.
		tr.Stop()
		rep = tr.Report()
		assert.InDelta(t, float64(rep.Run.DeviceEnergy), sumFamily(t, c, promexport.MetricEnergy), 1e-9)
		for _, s := range rep.Sources {
			assert.InDelta(t, float64(s.DeviceEnergy), valueOf(t, c, promexport.MetricEnergy, "device", s.Info.Name), 1e-9)
		}
	})
}

func TestCollectorLostSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, srcs := newTracker(t)
		defer tr.Stop()
		c, err := promexport.NewCollector(tr)
		require.NoError(t, err)
		time.Sleep(3*time.Second + time.Millisecond)
		srcs[1].SetErr(fmt.Errorf("read: %w", power.ErrLost))
		time.Sleep(2*time.Second - time.Millisecond) // the scrape reads at 5 s

		want := `
# HELP carbontrack_source_up Whether the power source answers (1) or was lost (0); a lost source's energy so far is kept.
# TYPE carbontrack_source_up gauge
carbontrack_source_up{source="cpu:package-0"} 0
carbontrack_source_up{source="gpu:0"} 1
# HELP carbontrack_power_watts Power drawn by the device over the latest sampled interval, in watts.
# TYPE carbontrack_power_watts gauge
carbontrack_power_watts{component="cpu",device="cpu:package-0",method="sampled"} 0
carbontrack_power_watts{component="gpu",device="gpu:0",method="counter"} 300
# HELP carbontrack_energy_joules_total Energy drawn by the device since measuring started, in joules, before PUE.
# TYPE carbontrack_energy_joules_total counter
carbontrack_energy_joules_total{component="cpu",device="cpu:package-0",method="sampled"} 150
carbontrack_energy_joules_total{component="gpu",device="gpu:0",method="counter"} 1500
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
			promexport.MetricSourceUp, promexport.MetricPower, promexport.MetricEnergy))
	})
}

func TestCollectorSampler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srcs := []power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 200, start),
			powertest.Constant("dram:package-0", power.KindDRAM, power.MethodEstimated, 10, start),
		}
		s, err := sampler.New(srcs, sampler.WithInterval(500*time.Millisecond))
		require.NoError(t, err)
		c, err := promexport.NewSamplerCollector(s, promexport.WithNode("n1"),
			promexport.WithConstLabels(prometheus.Labels{"cluster": "lumi", "empty": ""}))
		require.NoError(t, err)

		// Not started: the sources, at zero, and no start time.
		want0 := `
# HELP carbontrack_energy_joules_total Energy drawn by the device since measuring started, in joules, before PUE.
# TYPE carbontrack_energy_joules_total counter
carbontrack_energy_joules_total{cluster="lumi",component="dram",device="dram:package-0",method="estimated",node="n1"} 0
carbontrack_energy_joules_total{cluster="lumi",component="gpu",device="gpu:0",method="counter",node="n1"} 0
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want0), promexport.MetricEnergy))
		assert.Zero(t, testutil.CollectAndCount(c, promexport.MetricStartTime))

		require.NoError(t, s.Start(context.Background()))
		defer s.Stop()
		time.Sleep(4*time.Second + time.Millisecond)
		snap := s.Snapshot()
		require.InDelta(t, 800, float64(snap.Sources[0].Energy), 1e-9)

		want := `
# HELP carbontrack_energy_joules_total Energy drawn by the device since measuring started, in joules, before PUE.
# TYPE carbontrack_energy_joules_total counter
carbontrack_energy_joules_total{cluster="lumi",component="dram",device="dram:package-0",method="estimated",node="n1"} 40
carbontrack_energy_joules_total{cluster="lumi",component="gpu",device="gpu:0",method="counter",node="n1"} 800
# HELP carbontrack_power_watts Power drawn by the device over the latest sampled interval, in watts.
# TYPE carbontrack_power_watts gauge
carbontrack_power_watts{cluster="lumi",component="dram",device="dram:package-0",method="estimated",node="n1"} 10
carbontrack_power_watts{cluster="lumi",component="gpu",device="gpu:0",method="counter",node="n1"} 200
# HELP carbontrack_source_up Whether the power source answers (1) or was lost (0); a lost source's energy so far is kept.
# TYPE carbontrack_source_up gauge
carbontrack_source_up{cluster="lumi",node="n1",source="dram:package-0"} 1
carbontrack_source_up{cluster="lumi",node="n1",source="gpu:0"} 1
# HELP carbontrack_start_time_seconds When measuring started, in seconds since the Unix epoch.
# TYPE carbontrack_start_time_seconds gauge
carbontrack_start_time_seconds{cluster="lumi",node="n1"} ` + g(float64(snap.Start.UnixNano())/1e9) + `
`
		// Only these families: a sampler has no epochs, intensity or emissions.
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
	})
}

func TestCollectorLintAndPedantic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, _ := newTracker(t)
		defer tr.Stop()
		tr.EpochStart()
		time.Sleep(2500 * time.Millisecond)
		tr.EpochEnd() // a projection, so that every family is present
		c, err := promexport.NewCollector(tr, promexport.WithRunID("r"), promexport.WithNode("n"))
		require.NoError(t, err)
		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		assert.Empty(t, problems)

		// A pedantic registry checks that Collect keeps to Describe.
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c))
		n, err := testutil.GatherAndCount(reg)
		require.NoError(t, err)
		assert.Equal(t, 4*2+6, n)
		problems, err = testutil.GatherAndLint(reg)
		require.NoError(t, err)
		assert.Empty(t, problems)

		s, err := sampler.New([]power.Source{powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 1, time.Now())})
		require.NoError(t, err)
		sc, err := promexport.NewSamplerCollector(s)
		require.NoError(t, err)
		problems, err = testutil.CollectAndLint(sc)
		require.NoError(t, err)
		assert.Empty(t, problems)
		require.NoError(t, prometheus.NewPedanticRegistry().Register(sc))
	})
}

func TestCollectorOptionsInvalid(t *testing.T) {
	tr, _ := newTracker(t)
	defer tr.Stop()
	for _, tc := range []struct {
		name string
		opt  promexport.Option
		want string
	}{
		{"own label", promexport.WithConstLabels(prometheus.Labels{"device": "x"}), `label "device" is the collector's own`},
		{"bad name", promexport.WithConstLabels(prometheus.Labels{"job-name": "x"}), `invalid label name "job-name"`},
		{"reserved", promexport.WithConstLabels(prometheus.Labels{"__name__": "x"}), `invalid label name "__name__"`},
		{"digit first", promexport.WithConstLabels(prometheus.Labels{"1x": "x"}), `invalid label name "1x"`},
		{"utf-8", promexport.WithRunID("r\xff"), "run_id: value is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := promexport.NewCollector(tr, tc.opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := promexport.NewCollector(nil)
	require.Error(t, err)
	_, err = promexport.NewSamplerCollector(nil)
	require.Error(t, err)
	c, err := promexport.NewCollector(tr, promexport.WithRunID(""), promexport.WithNode(""))
	require.NoError(t, err)
	assert.NotZero(t, testutil.CollectAndCount(c))
}

// TestCollectorConcurrentScrapes scrapes from several goroutines while the
// tracker samples and marks epochs (run with -race).
func TestCollectorConcurrentScrapes(t *testing.T) {
	start := time.Now()
	srcs := []power.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
		powertest.Constant("gpu:1", power.KindGPU, power.MethodSampled, 100, start),
	}
	tr, err := tracker.New(1000, tracker.WithSources(srcs), tracker.WithFixedIntensity(100), tracker.WithConsole(nil),
		tracker.WithInterval(time.Millisecond))
	require.NoError(t, err)
	defer tr.Stop()
	c, err := promexport.NewCollector(tr)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				tr.EpochStart()
				tr.EpochEnd()
			}
		}
	})
	var prev [4]float64
	for i := range 4 {
		wg.Go(func() {
			for range 50 {
				mfs, err := reg.Gather()
				if !assert.NoError(t, err) {
					return
				}
				for _, mf := range mfs {
					if mf.GetName() != promexport.MetricEnergy {
						continue
					}
					var sum float64
					for _, m := range mf.GetMetric() {
						sum += m.GetCounter().GetValue()
					}
					assert.GreaterOrEqual(t, sum, prev[i], "a counter never goes down")
					prev[i] = sum
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// sumFamily sums the values of one metric family that c collects.
func sumFamily(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// valueOf returns the value of the metric of family name whose label has
// value v.
func valueOf(t *testing.T, c prometheus.Collector, name, label, v string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == v {
					if m.Counter != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, v)
	return 0
}

// Two ranks of one machine export their own devices, labelled with their
// rank: no series is exported twice.
func TestRanksExportUniqueSeries(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	mk := func(rank int) *tracker.Tracker {
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("gpu:1", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodSampled, 50, start)}),
			tracker.WithLeaseDir(dir), tracker.WithRank(rank, rank), tracker.WithRunID("job"), tracker.WithVerbose(0),
			tracker.WithFixedIntensity(100))
		require.NoError(t, err)
		t.Cleanup(tr.Stop)
		return tr
	}
	seen := map[string]bool{}
	for _, tr := range []*tracker.Tracker{mk(0), mk(1)} {
		col, err := promexport.NewCollector(tr)
		require.NoError(t, err)
		reg := prometheus.NewRegistry()
		require.NoError(t, reg.Register(col))
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				var ls []string
				rank := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == promexport.LabelRank {
						rank = l.GetValue()
						continue // the device series must be unique without it
					}
					ls = append(ls, l.GetName()+"="+l.GetValue())
				}
				require.NotEmpty(t, rank)
				key := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
				if strings.Contains(key, "component=") {
					assert.False(t, seen[key], "%s exported by two ranks", key)
				}
				seen[key] = true
			}
		}
	}
	var energy []string
	for k := range seen {
		if strings.HasPrefix(k, "carbontrack_energy_joules_total{") {
			energy = append(energy, k)
		}
	}
	assert.Len(t, energy, 3, "gpu:0, gpu:1 and the CPU, each once: %v", energy)
}

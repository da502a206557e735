package tracker_test

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// TestEmissionsInterval: the estimated CPU's grams widen the run's
// emissions by its uncertainty; the measured GPU's do not, nor does an
// unquantified RAM estimate. The interval reaches the Report, the final
// JSON record (read back by runlog) and the console.
func TestEmissionsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		gpu := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)
		cpu := powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 100, start)
		cpu.Desc.Uncertainty, cpu.Desc.UncertaintySource = 0.342, "CodeCarbon profiles"
		ram := powertest.Constant("dram:estimate", power.KindDRAM, power.MethodEstimated, 10, start)
		ram.Desc.UncertaintySource = "not quantified"
		dir := t.TempDir()
		var console bytes.Buffer
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{gpu, cpu, ram}), tracker.WithLogDir(dir),
			tracker.WithFixedIntensity(1000), tracker.WithPUE(1), tracker.WithConsole(&console), tracker.WithVerbose(1))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(36 * time.Second) // 300 W, 100 W, 10 W for 0.01 h: 3, 1 and 0.1 Wh
		tr.EpochEnd()
		tr.Stop()
		r := tr.Report()
		require.InDelta(t, 4.1, r.Run.Grams, 1e-6)
		iv := r.Interval
		assert.InDelta(t, 4.1-0.342, iv.Low, 1e-6)
		assert.InDelta(t, 4.1+0.342, iv.High, 1e-6)
		require.Len(t, iv.Estimated, 2)
		assert.Equal(t, "cpu:estimate", iv.Estimated[0].Name)
		assert.InDelta(t, 1.0, iv.Estimated[0].Grams, 1e-6)
		assert.Equal(t, "CPU estimated ±34 %, DRAM estimated (not quantified)", iv.Note())
		assert.True(t, iv.Quantified())
		assert.Contains(t, console.String(), "Emissions 4.10 g CO2e (3.76–4.44 g, CPU estimated ±34 %, DRAM estimated (not quantified)).")

		runs, err := runlog.Read(dir)
		require.NoError(t, err)
		require.Len(t, runs, 1)
		assert.InDelta(t, 4.1-0.342, runs[0].EmissionsLowG, 1e-6)
		assert.InDelta(t, 4.1+0.342, runs[0].EmissionsHighG, 1e-6)
		assert.Equal(t, iv.Note(), runs[0].EmissionsUncertainty)
		var unc []float64
		for _, d := range runs[0].Devices {
			unc = append(unc, d.Uncertainty)
		}
		assert.Equal(t, []float64{0, 0.342, 0}, unc)
	})
}

// TestEmissionsIntervalMeasuredOnly: with every device measured the
// interval is the emissions, and nothing is said about it.
func TestEmissionsIntervalMeasuredOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gpu := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, time.Now())
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{gpu}), tracker.WithFixedIntensity(1000),
			tracker.WithVerbose(0))
		require.NoError(t, err)
		time.Sleep(36 * time.Second)
		tr.Stop()
		r := tr.Report()
		assert.Equal(t, r.Run.Grams, r.Interval.Low)
		assert.Equal(t, r.Run.Grams, r.Interval.High)
		assert.Empty(t, r.Interval.Estimated)
		assert.Empty(t, tracker.IntervalLine(&r))
	})
}

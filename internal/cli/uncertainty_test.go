package cli

import (
	"bytes"
	"encoding/json"
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

// TestReportShowsTheEstimatesInterval: a run whose CPU was estimated shows
// its emissions with the interval, in the table's notes and in --json.
func TestReportShowsTheEstimatesInterval(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		gpu := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)
		cpu := powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 100, start)
		cpu.Desc.Uncertainty = 0.342
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{gpu, cpu}), tracker.WithLogDir(dir),
			tracker.WithFixedIntensity(1000), tracker.WithPUE(1), tracker.WithVerbose(0))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(36 * time.Second)
		tr.EpochEnd()
		tr.Stop()
	})
	code, out, stderr := runCLI(t, "report", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Estimated devices")
	assert.Contains(t, out, "4.00 g CO2e (3.66–4.34, CPU estimated ±34 %)")

	code, out, stderr = runCLI(t, "report", "--json", dir)
	require.Equal(t, 0, code, stderr)
	var rep reportJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Runs, 1)
	assert.InDelta(t, 4-0.342, rep.Runs[0].EmissionsLowG, 1e-6)
	assert.InDelta(t, 4+0.342, rep.Runs[0].EmissionsHighG, 1e-6)
	assert.Equal(t, "CPU estimated ±34 %", rep.Runs[0].EmissionsUncertainty)
	assert.InDelta(t, 4+0.342, rep.Total.EmissionsHighG, 1e-6)
}

func TestIntervalNote(t *testing.T) {
	assert.Empty(t, intervalNote(0, 0, ""))
	assert.Equal(t, " (DRAM estimated (not quantified))", intervalNote(5, 5, "DRAM estimated (not quantified)"))
	assert.Equal(t, " (9.80–14.1, CPU estimated ±34 %)", intervalNote(9.8, 14.1, "CPU estimated ±34 %"))
}

// Runs whose estimates are all unquantified give the total no interval of
// zero width: it says "not quantified".
func TestReportTotalIntervalNotQuantified(t *testing.T) {
	run := func(name string) runlog.Run {
		c := runlog.Consumption{Grams: 5, FacilityKWh: 0.01}
		return runlog.Run{Name: name, Rank: -1, Used: c, Whole: &c, Basis: runlog.BasisRun,
			EmissionsLowG: 5, EmissionsHighG: 5, EmissionsUncertainty: "CPU estimated (not quantified)"}
	}
	runs := []runlog.Run{run("a"), run("b")}
	var buf bytes.Buffer
	printReport(&buf, runs, runlog.Sum(runs), false, false)
	assert.Contains(t, buf.String(), "g CO2e (not quantified)\n")
	assert.NotContains(t, buf.String(), "10.0–10.0")
}

package runlog_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
)

func TestMain(m *testing.M) { runlogtest.Main(m) }

func TestReadTrackerLogs(t *testing.T) {
	dir := t.TempDir()
	rep := runlogtest.TrackerRun(t, dir, 3, 3)

	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.FormatCarbontrack, r.Format)
	assert.Len(t, r.Files, 3, "JSON lines and the pair, grouped: %v", r.Files)
	assert.Equal(t, 3, r.Epochs)
	assert.Equal(t, 3, r.Completed)
	assert.True(t, r.Finished)
	assert.False(t, r.Interrupted)
	assert.Equal(t, runlog.BasisRun, r.Basis)
	assert.Empty(t, r.Note)
	assert.Equal(t, []string{"gpu", "cpu"}, r.Components)
	assert.InDelta(t, rep.Run.FacilityEnergy.KWh(), r.Used.FacilityKWh, 1e-9)
	assert.True(t, r.Used.DeviceKnown)
	assert.InDelta(t, rep.Run.DeviceEnergy.KWh(), r.Used.DeviceKWh, 1e-12)
	assert.InDelta(t, rep.Run.Grams, r.Used.Grams, 1e-6)
	assert.InDelta(t, 0.35*0.5*1.58, r.Used.FacilityKWh, 1e-6, "350 W for 30 minutes, PUE 1.58")
	assert.InDelta(t, 0.35*0.5, r.Used.DeviceKWh, 1e-6, "350 W for 30 minutes, before PUE")
	assert.Equal(t, 30*time.Minute, r.Used.Duration.Round(time.Second))
	assert.Equal(t, 3, r.Used.Epochs)
	require.NotNil(t, r.Whole)
	assert.Equal(t, r.Used, *r.Whole)
	assert.True(t, r.CheckpointAt.IsZero())
	require.NotNil(t, r.InEpochs)
	require.NotNil(t, r.OutsideEpochs)
	assert.InDelta(t, 0, r.OutsideEpochs.FacilityKWh, 1e-9, "epochs back to back")
	require.NotNil(t, r.Actual)
	assert.InDelta(t, rep.Actual.FacilityEnergy.KWh(), r.Actual.FacilityKWh, 1e-12)
	require.Len(t, r.EpochRecords, 3)
	for i, e := range r.EpochRecords {
		assert.Equal(t, i+1, e.N)
		assert.InDelta(t, 300, e.Watts["gpu"], 1e-6)
		assert.InDelta(t, 50, e.Watts["cpu"], 1e-6)
		assert.Equal(t, time.Duration(i)*10*time.Minute, e.Offset.Round(time.Second))
		assert.InDelta(t, e.FacilityKWh*200, e.Grams, 1e-9)
		assert.InDelta(t, e.DeviceKWh*1.58, e.FacilityKWh, 1e-12)
	}
	require.NotNil(t, r.Projection)
	assert.Equal(t, 3, r.Projection.Epochs)
	require.NotEmpty(t, r.Power, "the checkpoints' power")
	for _, p := range r.Power {
		assert.InDelta(t, 300, p.Watts["gpu"], 1e-6)
		assert.InDelta(t, 50, p.Watts["cpu"], 1e-6)
		assert.NotContains(t, p.Watts, "dram", "no DRAM measured")
	}

	total := runlog.Sum(runs)
	assert.Equal(t, 1, total.Runs)
	assert.Equal(t, 1, total.WholeRun)
	assert.InDelta(t, r.Used.Grams, total.Used.Grams, 1e-12)
	assert.Equal(t, 1, total.DeviceRuns)
	assert.True(t, total.Used.DeviceKnown)
	assert.InDelta(t, r.Used.DeviceKWh, total.Used.DeviceKWh, 1e-12)
}

// The whole run is counted, time outside the epochs included: its device
// energy is what the Prometheus counter carbontrack_energy_joules_total
// ends at (the tracker's Status after Stop, summed over devices), and its
// parts split it.
func TestReadWholeRunOutsideEpochs(t *testing.T) {
	dir := t.TempDir()
	var st tracker.Status
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 60, start),
		}), tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithFixedIntensity(100), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		time.Sleep(5 * time.Minute) // loading the data set
		tr.EpochStart()
		time.Sleep(10 * time.Minute)
		tr.EpochEnd()
		time.Sleep(5 * time.Minute) // saving the model
		tr.Stop()
		st = tr.Status()
	})
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.BasisRun, r.Basis)
	require.NotNil(t, r.Whole)
	assert.InDelta(t, st.DeviceEnergy.KWh(), r.Whole.DeviceKWh, 1e-12, "the counters' final value")
	assert.InDelta(t, 0.36*20.0/60, r.Used.DeviceKWh, 1e-6, "360 W for 20 minutes")
	assert.InDelta(t, 0.36*20.0/60*1.58, r.Used.FacilityKWh, 1e-6, "the whole run, PUE included")
	assert.InDelta(t, 0.36*20.0/60*1.58*100, r.Used.Grams, 1e-4)
	assert.Equal(t, 20*time.Minute, r.Used.Duration.Round(time.Second))
	require.NotNil(t, r.Actual)
	assert.InDelta(t, 0.36*10.0/60*1.58, r.Actual.FacilityKWh, 1e-6, "carbontracker's actual: the epoch only")
	require.NotNil(t, r.OutsideEpochs)
	assert.Equal(t, 10*time.Minute, r.OutsideEpochs.Duration.Round(time.Second))
	assert.InDelta(t, r.Whole.FacilityKWh, r.InEpochs.FacilityKWh+r.OutsideEpochs.FacilityKWh, 1e-9)
	assert.Equal(t, 5*time.Minute, r.EpochRecords[0].Offset.Round(time.Second), "the run started at New, not at the first epoch")
}

// A failed run: the tracker started, the job crashed before any epoch
// ended, Stop was called. What it drew is counted, not 0.
func TestReadFailedRunCountsWhatItDrew(t *testing.T) {
	for _, tc := range []struct {
		name  string
		epoch bool // an epoch was open when it failed
	}{{"no epoch", false}, {"in its first epoch", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var rep tracker.Report
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				tr, err := tracker.New(3, tracker.WithSources([]power.Source{
					powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
					powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
				}), tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithFixedIntensity(200), tracker.WithInterval(time.Second))
				require.NoError(t, err)
				if tc.epoch {
					tr.EpochStart()
				}
				time.Sleep(2 * time.Minute)
				tr.Stop()
				rep = tr.Report()
			})
			runs, err := runlog.Read(dir)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			r := runs[0]
			assert.Equal(t, runlog.BasisRun, r.Basis)
			assert.True(t, r.Finished)
			assert.True(t, r.Interrupted)
			assert.Equal(t, 0, r.Completed)
			assert.Contains(t, r.Note, "no epoch completed")
			assert.InDelta(t, 0.35*2/60*1.58, r.Used.FacilityKWh, 1e-6, "350 W for 2 minutes, PUE 1.58")
			assert.InDelta(t, 0.35*2/60, r.Used.DeviceKWh, 1e-6)
			assert.InDelta(t, 0.35*2/60*1.58*200, r.Used.Grams, 1e-4)
			assert.InDelta(t, rep.Run.Grams, r.Used.Grams, 1e-9)
			assert.Equal(t, 2*time.Minute, r.Used.Duration.Round(time.Second))
			require.NotNil(t, r.Actual)
			assert.Zero(t, r.Actual.Grams, "carbontracker's actual consumption: no epoch")
			if tc.epoch {
				assert.InDelta(t, r.Used.Grams, r.InEpochs.Grams, 1e-9, "all in the interrupted epoch")
				require.Len(t, r.EpochRecords, 1)
				assert.True(t, r.EpochRecords[0].Interrupted)
			} else {
				assert.InDelta(t, r.Used.Grams, r.OutsideEpochs.Grams, 1e-9, "all outside epochs")
				assert.Empty(t, r.EpochRecords)
			}
			assert.Len(t, r.Power, 12, "a point per 10 s checkpoint")

			total := runlog.Sum(runs)
			assert.InDelta(t, r.Used.Grams, total.Used.Grams, 1e-12)
			assert.Equal(t, 1, total.WholeRun)

			// Without its JSON lines, the output log's whole-run block
			// gives the same.
			removeJSONLines(t, dir)
			runs, err = runlog.Read(dir)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			p := runs[0]
			assert.Equal(t, runlog.FormatCarbontracker, p.Format)
			assert.Equal(t, runlog.BasisRun, p.Basis)
			assert.InDelta(t, r.Used.FacilityKWh, p.Used.FacilityKWh, 1e-11)
			assert.InDelta(t, r.Used.Grams, p.Used.Grams, 1e-11)
			assert.False(t, p.Used.DeviceKnown, "the block has the facility energy only")
			assert.Contains(t, p.Note, "no epoch completed")
		})
	}
}

func removeJSONLines(t *testing.T, dir string) {
	t.Helper()
	jsonl, err := filepath.Glob(filepath.Join(dir, "*"+runlog.SuffixJSONLines))
	require.NoError(t, err)
	require.Len(t, jsonl, 1)
	require.NoError(t, os.Remove(jsonl[0]))
}

// A killed run (SIGKILL, OOM killer): no final record; the JSON lines end
// at a checkpoint, or in the middle of a line. It counts up to its last
// checkpoint, and says so.
func TestReadKilledRunCountsLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tr, err := tracker.New(10, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
		}), tracker.WithLogDir(dir), tracker.WithVerbose(0), tracker.WithFixedIntensity(200), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		time.Sleep(time.Minute)
		for range 3 {
			tr.EpochStart()
			time.Sleep(2 * time.Minute)
			tr.EpochEnd()
		}
		tr.Stop()
	})
	jsonl, err := filepath.Glob(filepath.Join(dir, "*"+runlog.SuffixJSONLines))
	require.NoError(t, err)
	require.Len(t, jsonl, 1)
	b, err := os.ReadFile(jsonl[0])
	require.NoError(t, err)
	truncateAtCheckpoint(t, jsonl[0], b, 240)

	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.BasisCheckpoint, r.Basis)
	assert.False(t, r.Finished)
	assert.Equal(t, 1, r.Completed)
	assert.Equal(t, 10, r.Epochs, "from the projection")
	assert.Equal(t, 4*time.Minute, r.Used.Duration.Round(time.Second))
	assert.InDelta(t, 0.35*4/60*1.58, r.Used.FacilityKWh, 1e-6, "350 W for 4 minutes, PUE 1.58")
	assert.InDelta(t, 0.35*4/60, r.Used.DeviceKWh, 1e-6)
	assert.InDelta(t, 0.35*4/60*1.58*200, r.Used.Grams, 1e-4)
	require.NotNil(t, r.Whole)
	assert.Nil(t, r.InEpochs, "a checkpoint does not split the run")
	assert.Equal(t, r.Start.Add(4*time.Minute), r.CheckpointAt)
	assert.Contains(t, r.Note, "killed or still running: counted up to its last checkpoint at "+r.CheckpointAt.Format("2006-01-02 15:04:05"))
	assert.Contains(t, r.Note, "1 of 10 epochs completed")
	assert.Len(t, r.Power, 24)
	assert.Equal(t, time.Minute, r.EpochRecords[0].Offset.Round(time.Second))

	total := runlog.Sum(runs)
	assert.Equal(t, 1, total.Checkpointed)
	assert.InDelta(t, r.Used.Grams, total.Used.Grams, 1e-12)
}

// truncateAtCheckpoint rewrites the JSON lines b at path as a killed
// process leaves them: up to the checkpoint of durationS seconds, then
// half of the next line.
func truncateAtCheckpoint(t *testing.T, path string, b []byte, durationS int) {
	t.Helper()
	var kept []string
	lines := strings.SplitAfter(string(b), "\n")
	found := false
	for i, l := range lines {
		kept = append(kept, l)
		if strings.Contains(l, `"type":"checkpoint"`) && strings.Contains(l, fmt.Sprintf(`"duration_s":%d,`, durationS)) {
			kept = append(kept, lines[i+1][:len(lines[i+1])/2])
			found = true
			break
		}
	}
	require.True(t, found, "no checkpoint at %d s in %s", durationS, b)
	require.NotContains(t, strings.Join(kept, ""), `"type":"final"`)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(kept, "")), 0o644))
}

func TestReadTrackerPairOnly(t *testing.T) {
	// Without the JSON lines, the tracker's pair is read like
	// carbontracker's, and its whole-run block gives the same totals.
	dir := t.TempDir()
	rep := runlogtest.TrackerRun(t, dir, 2, 2)
	removeJSONLines(t, dir)

	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.FormatCarbontracker, r.Format)
	assert.Equal(t, runlog.BasisRun, r.Basis)
	assert.True(t, r.Finished)
	assert.InDelta(t, rep.Run.FacilityEnergy.KWh(), r.Used.FacilityKWh, 1e-9)
	assert.InDelta(t, rep.Run.Grams, r.Used.Grams, 1e-6)
	assert.False(t, r.Used.DeviceKnown)
	assert.Equal(t, 2, r.Used.Epochs)
	require.NotNil(t, r.Actual)
	assert.InDelta(t, rep.Actual.FacilityEnergy.KWh(), r.Actual.FacilityKWh, 1e-9)
	require.NotNil(t, r.InEpochs)
	require.NotNil(t, r.OutsideEpochs)
	assert.InDelta(t, rep.InEpochs.Grams, r.InEpochs.Grams, 1e-9)
	assert.InDelta(t, rep.OutsideEpochs.FacilityEnergy.KWh(), r.OutsideEpochs.FacilityKWh, 1e-9)
	require.Len(t, r.EpochRecords, 2)
	assert.InDelta(t, 300, r.EpochRecords[0].Watts["gpu"], 1e-6)
	assert.InDelta(t, rep.EpochRecords[1].Grams, r.EpochRecords[1].Grams, 1e-6)
	assert.InDelta(t, rep.EpochRecords[1].DeviceEnergy.KWh(), r.EpochRecords[1].DeviceKWh, 1e-9)
}

func TestReadInterruptedTrackerRun(t *testing.T) {
	dir := t.TempDir()
	runlogtest.TrackerRun(t, dir, 4, 1)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.True(t, r.Interrupted)
	assert.Equal(t, 1, r.Completed)
	assert.Equal(t, 4, r.Epochs)
	assert.Equal(t, runlog.BasisRun, r.Basis, "stopped early: the whole run measured counts")
	assert.Contains(t, r.Note, "stopped after 1 of 4 epochs; the whole run measured is counted, the interrupted epoch included")
	assert.InDelta(t, 350*900*1.58/3.6e6, r.Used.FacilityKWh, 1e-9, "15 minutes at 350 W")
	require.Len(t, r.EpochRecords, 2)
	assert.True(t, r.EpochRecords[1].Interrupted)
	// The actual consumption leaves the cut-short epoch out, as the output
	// log's block (and carbontracker) do: 10 min at 350 W × PUE 1.58.
	require.NotNil(t, r.Actual)
	assert.Equal(t, 10*time.Minute, r.Actual.Duration)
	assert.InDelta(t, 350*600*1.58/3.6e6, r.Actual.FacilityKWh, 1e-9)
	assert.InDelta(t, 350*600*1.58/3.6e6*200, r.Actual.Grams, 1e-6)
}

// JSON lines of an older carbontrack (energy_kwh was the device energy),
// killed before it wrote checkpoints: carbontracker's rule counts the
// projection.
func TestReadOldKilledRunCountsProjection(t *testing.T) {
	dir := t.TempDir()
	runlogtest.Write(t, dir, "7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, runlogtest.KilledJSONL)
	runlogtest.Write(t, dir, "7.8_2025-03-01T120000Z"+runlog.SuffixPower,
		`{"type":"power","time":"2025-03-01T12:05:00Z","interval_s":300,"power_w":{"gpu":290}}`+"\n"+
			`{"type":"power","time":"2025-03-01T12:10:00Z","interval_s":300,"power_w":{"gpu":310}}`+"\n")
	runs, err := runlog.Read(dir)
	require.NoError(t, err, "a partial last line (a killed writer) is ignored")
	require.Len(t, runs, 1)
	r := runs[0]
	assert.False(t, r.Finished)
	assert.Equal(t, 2, r.Completed)
	assert.Equal(t, 10, r.Epochs)
	assert.Equal(t, runlog.BasisProjection, r.Basis)
	assert.Equal(t, runlog.Consumption{Epochs: 10, Duration: 100 * time.Minute, FacilityKWh: 0.79, Grams: 158}, r.Used)
	assert.Contains(t, r.Note, "the log ends after 2 of 10 epochs")
	assert.Nil(t, r.Whole, "no final record, no checkpoint")
	assert.InDelta(t, 31.6, r.Measured.Grams, 1e-9)
	assert.InDelta(t, 0.1, r.Measured.DeviceKWh, 1e-12, "energy_kwh: the device energy")
	assert.InDelta(t, 0.05, r.EpochRecords[0].DeviceKWh, 1e-12)
	assert.InDelta(t, 0.05*3.6e6/600, r.EpochRecords[0].Watts["gpu"], 1e-9, "gpu_energy_kwh")
	require.Len(t, r.Power, 2)
	assert.Equal(t, 5*time.Minute, r.Power[0].Interval)
	assert.Equal(t, 290.0, r.Power[0].Watts["gpu"])
	assert.Equal(t, time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), r.Start.UTC())
}

// The final record of an older carbontrack: its totals were the epochs',
// and run_energy_kwh the whole run's device energy, without its
// emissions. carbontracker's actual consumption is counted; the note keeps
// the run's device energy.
func TestReadOldFinalRecord(t *testing.T) {
	dir := t.TempDir()
	epochs := strings.Join(strings.SplitAfter(runlogtest.KilledJSONL, "\n")[:3], "")
	final := `{"type":"final","epochs":10,"completed_epochs":2,"interrupted":true,"duration_s":1500,"energy_kwh":0.125,"facility_energy_kwh":0.1975,"run_energy_kwh":0.15,"gpu_energy_kwh":0.125,"cpu_energy_kwh":0,"dram_energy_kwh":0,"emissions_g":39.5,"intensity_g_per_kwh":200,"pue":1.58,` +
		`"actual_duration_s":1200,"actual_facility_energy_kwh":0.158,"actual_emissions_g":31.6}` + "\n"
	runlogtest.Write(t, dir, "7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, epochs+final)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.True(t, r.Finished)
	assert.True(t, r.Interrupted)
	assert.Equal(t, runlog.BasisActual, r.Basis)
	assert.Nil(t, r.Whole)
	assert.Equal(t, runlog.Consumption{Epochs: 2, Duration: 20 * time.Minute, FacilityKWh: 0.158, DeviceKWh: 0.1, DeviceKnown: true, Grams: 31.6}, r.Used,
		"the completed epochs, their device energy from the epoch records")
	assert.Contains(t, r.Note, "stopped after 2 of 10 epochs; the actual consumption is counted")
	assert.Contains(t, r.Note, "the whole run's device energy was 0.15 kWh (before PUE)")
}

func TestReadCarbontrackerPair(t *testing.T) {
	dir := t.TempDir()
	runlogtest.Write(t, dir, "node1/41237.582913_2024-03-05T140211Z"+runlog.SuffixStdLog, runlogtest.CTStd)
	runlogtest.Write(t, dir, "node1/41237.582913_2024-03-05T140211Z"+runlog.SuffixOutputLog, runlogtest.CTOut)
	runlogtest.Write(t, dir, "node1/41237.582913_2024-03-05T140211Z_carbontracker_err.log", "ignored\n")
	runlogtest.Write(t, dir, "node1/emissions.csv", "ignored\n")

	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, filepath.Join(dir, "node1"), r.Dir)
	assert.Len(t, r.Files, 2)
	assert.Equal(t, runlog.FormatCarbontracker, r.Format)
	assert.Equal(t, 1.5, r.PUE)
	assert.Equal(t, []string{"gpu", "cpu"}, r.Components)
	assert.Equal(t, time.Date(2024, 3, 5, 14, 2, 11, 0, time.Local), r.Start)
	require.Len(t, r.EpochRecords, 2)
	e := r.EpochRecords[0]
	assert.InDelta(t, 300, e.Watts["gpu"], 1e-9, "both GPUs of the numpy array")
	assert.InDelta(t, 50, e.Watts["cpu"], 1e-9)
	assert.InDelta(t, 350*600/3.6e6, e.DeviceKWh, 1e-12)
	assert.InDelta(t, 350*600*1.5/3.6e6, e.FacilityKWh, 1e-12)
	assert.InDelta(t, e.FacilityKWh*200, e.Grams, 1e-9, "the projection's mean intensity, 70 g / 0.35 kWh")
	assert.Equal(t, time.Duration(0), e.Offset.Round(time.Minute))
	assert.Equal(t, 0.0, r.EpochRecords[1].Watts["gpu"], "None")
	assert.Equal(t, 10*time.Minute+time.Second, r.EpochRecords[1].Offset, "from the first line, 14:02:11")
	assert.Equal(t, runlog.BasisProjection, r.Basis)
	assert.InDelta(t, 70, r.Used.Grams, 1e-9)
	assert.Equal(t, 4, r.Epochs)
	assert.Nil(t, r.Whole, "carbontracker does not log it")
	assert.False(t, r.Used.DeviceKnown, "carbontracker's blocks have the facility energy only")
}

func TestBasis(t *testing.T) {
	actual := func(n int) string {
		return "2024-03-05 15:00:00 - CarbonTracker: \nActual consumption for " + itoa(n) +
			" epoch(s):\n\tTime:\t0:20:00\n\tEnergy:\t0.300000000000 kWh\n\tCO2eq:\t60.000000000000 g\n" +
			"\tThis is equivalent to:\n\t0.558139534884 km travelled by car\n" +
			"2024-03-05 15:00:00 - CarbonTracker: Finished monitoring.\n"
	}
	for _, tc := range []struct {
		name      string
		std, out  string
		basis     runlog.Basis
		grams     float64
		noteHas   string
		finished  bool
		completed int
	}{
		{"finished", runlogtest.CTStd, runlogtest.CTOut + actual(4), runlog.BasisActual, 60, "", true, 2},
		{"monitor epochs fewer than epochs", runlogtest.CTStd, runlogtest.CTOut + actual(2), runlog.BasisProjection, 70, "monitored 2 of 4", true, 2},
		{"stopped early", runlogtest.CTStd + "2024-03-05 15:00:00 - Training was interrupted before all 4 epochs were monitored.\n",
			runlogtest.CTOut + actual(2), runlog.BasisActual, 60, "stopped after 2 of 4", true, 2},
		{"killed", runlogtest.CTStd, runlogtest.CTOut, runlog.BasisProjection, 70, "the log ends after 2 of 4", false, 2},
		{"no consumption", runlogtest.CTStd, "", runlog.BasisMeasured, 0, "the 2 epoch(s) logged", false, 2},
		{"nothing", "2024-03-05 14:02:11 - carbontracker version 2.0.0\n", "", runlog.BasisNone, 0, "nothing logged", false, 0},
		{"whole run block", runlogtest.CTStd, runlogtest.CTOut + actual(4) + runBlock, runlog.BasisRun, 66, "", true, 2},
		{"whole run block, stopped early", runlogtest.CTStd + "2024-03-05 15:00:00 - Training was interrupted before all 4 epochs were monitored.\n",
			runlogtest.CTOut + actual(2) + runBlock, runlog.BasisRun, 66, "stopped after 2 of 4 epochs; the whole run", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixStdLog, tc.std)
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixOutputLog, tc.out)
			runs, err := runlog.Read(dir)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			r := runs[0]
			assert.Equal(t, tc.basis, r.Basis)
			assert.InDelta(t, tc.grams, r.Used.Grams, 1e-9)
			assert.Equal(t, tc.finished, r.Finished)
			assert.Equal(t, tc.completed, r.Completed)
			if tc.noteHas == "" {
				assert.Empty(t, r.Note)
			} else {
				assert.Contains(t, r.Note, tc.noteHas)
			}
		})
	}
}

// runBlock is the tracker's whole-run block and the line that splits it.
const runBlock = "2024-03-05 15:00:00 - CarbonTracker: \nMeasured consumption of the whole run:\n\tTime:\t0:25:00\n" +
	"\tEnergy:\t0.330000000000 kWh\n\tCO2eq:\t66.000000000000 g\n\tThis is equivalent to:\n\t0.613953488372 km travelled by car\n" +
	"2024-03-05 15:00:00 - CarbonTracker: Of the run: 2 completed epoch(s) 0.300000000000 kWh, 60.000000000000 g; " +
	"outside epochs 0.030000000000 kWh, 6.000000000000 g (0:05:00.00 before, between and after epochs). Energy includes a PUE of 1.5; the mean intensity was 200.00 gCO2/kWh.\n"

func TestReadRunBlockParts(t *testing.T) {
	dir := t.TempDir()
	runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixStdLog, runlogtest.CTStd)
	runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixOutputLog, runlogtest.CTOut+strings.Replace(runBlock, "g; outside", "g; the interrupted epoch 0.010000000000 kWh, 2.000000000000 g; outside", 1))
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.BasisRun, r.Basis)
	assert.Equal(t, runlog.Consumption{Epochs: 2, Duration: 25 * time.Minute, FacilityKWh: 0.33, Grams: 66}, r.Used)
	require.NotNil(t, r.InEpochs)
	require.NotNil(t, r.OutsideEpochs)
	assert.Equal(t, 20*time.Minute, r.InEpochs.Duration)
	assert.InDelta(t, 0.31, r.InEpochs.FacilityKWh, 1e-12, "the completed epochs and the interrupted one")
	assert.InDelta(t, 62, r.InEpochs.Grams, 1e-12)
	assert.Equal(t, runlog.Consumption{Duration: 5 * time.Minute, FacilityKWh: 0.03, Grams: 6}, *r.OutsideEpochs)
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	runlogtest.Write(t, dir, "good/1.1_a"+runlog.SuffixStdLog, runlogtest.CTStd)
	runlogtest.Write(t, dir, "bad/2.2_b"+runlog.SuffixJSONLines, "{not json}\n")
	empty := t.TempDir()
	runs, err := runlog.Read(dir, empty, filepath.Join(dir, "missing"))
	require.Error(t, err)
	assert.Len(t, runs, 1, "the readable run is still returned")
	assert.ErrorIs(t, err, runlog.ErrNoLogs)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "line 1")
}

func TestPowerLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x"+runlog.SuffixPower)
	l, err := runlog.CreatePowerLog(path)
	require.NoError(t, err)
	at := time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)
	require.NoError(t, l.Add(runlog.PowerPoint{Time: at, Interval: 5 * time.Second, Watts: map[string]float64{"cpu": 41.5}}))
	require.NoError(t, l.Close())
	pts, err := runlog.ReadPower(path)
	require.NoError(t, err)
	require.Len(t, pts, 1)
	assert.True(t, at.Equal(pts[0].Time))
	assert.Equal(t, 5*time.Second, pts[0].Interval)
	assert.Equal(t, 41.5, pts[0].Watts["cpu"])
}

func TestSum(t *testing.T) {
	runs := []runlog.Run{
		{Basis: runlog.BasisRun, Completed: 3, Used: runlog.Consumption{Epochs: 3, Duration: time.Hour, FacilityKWh: 1.58, DeviceKWh: 1, DeviceKnown: true, Grams: 100}},
		{Basis: runlog.BasisCheckpoint, Completed: 1, Used: runlog.Consumption{Epochs: 1, Duration: time.Hour, FacilityKWh: 0.79, DeviceKWh: 0.5, DeviceKnown: true, Grams: 50}},
		{Basis: runlog.BasisProjection, Completed: 1, Used: runlog.Consumption{Epochs: 10, Duration: 2 * time.Hour, FacilityKWh: 2.5, Grams: 250}},
		{Basis: runlog.BasisActual, Completed: 2, Used: runlog.Consumption{Epochs: 2, Duration: time.Hour, FacilityKWh: 1, Grams: 10}},
		{Basis: runlog.BasisNone},
	}
	got := runlog.Sum(runs)
	assert.Equal(t, runlog.Total{Runs: 5, WholeRun: 1, Checkpointed: 1, Actual: 1, Projected: 1, Completed: 7,
		Used:       runlog.Consumption{Epochs: 16, Duration: 5 * time.Hour, FacilityKWh: 1.58 + 0.79 + 2.5 + 1, DeviceKWh: 1.5, Grams: 410},
		DeviceRuns: 2}, got)
	assert.False(t, math.IsNaN(got.Used.FacilityKWh))
	assert.True(t, runlog.Sum(runs[:2]).Used.DeviceKnown, "every run's device energy known")
	assert.Equal(t, runlog.Total{}, runlog.Sum(nil))
	assert.True(t, errors.Is(runlog.ErrNoLogs, runlog.ErrNoLogs))
}

// Values no carbontracker log holds are errors, not negative or NaN
// energies in the total; numpy's nan, in any case, is no measurement.
func TestReadPairImpossibleValues(t *testing.T) {
	ep := "2024-03-05 14:12:12 - Epoch 1:\n2024-03-05 14:12:12 - Duration: %s\n2024-03-05 14:12:12 - Average power usage (W) for gpu: %s\n"
	act := "2024-03-05 14:12:13 - CarbonTracker: \nActual consumption for 1 epoch(s):\n\tTime:\t%s\n\tEnergy:\t%s kWh\n\tCO2eq:\t%s g\n"
	for _, tc := range []struct {
		name, std, out, err string
	}{
		{"negative power", fmt.Sprintf(ep, "0:10:00.00", "-5"), "", `power "-5": not a power in W`},
		{"infinite power", fmt.Sprintf(ep, "0:10:00.00", "[inf 3]"), "", "not a power in W"},
		{"duration past time.Duration", fmt.Sprintf(ep, "99999999999:00:00", "250"), "", "out of range"},
		{"negative energy", "", fmt.Sprintf(act, "0:10:00", "-1", "16"), "energy -1: not a non-negative number"},
		{"NaN emissions", "", fmt.Sprintf(act, "0:10:00", "0.08", "NaN"), "CO2eq NaN"},
		{"time past time.Duration", "", fmt.Sprintf(act, "99999999999:00:00", "0.08", "16"), "out of range"},
		{"whole run: negative energy", "", strings.Replace(runBlock, "0.330000000000 kWh", "-0.33 kWh", 1), "energy -0.33: not a non-negative number"},
		{"whole run: time past time.Duration", "", strings.Replace(runBlock, "0:25:00", "99999999999:00:00", 1), `duration "99999999999:00:00" out of range`},
		{"whole run: infinite outside", "", strings.Replace(runBlock, "outside epochs 0.030000000000", "outside epochs 1e999", 1), "whole run: energy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixStdLog, tc.std)
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixOutputLog, tc.out)
			_, err := runlog.Read(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}

	dir := t.TempDir()
	runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixStdLog, fmt.Sprintf(ep, "0:10:00.00", "[NaN 250 nan]"))
	runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixOutputLog, fmt.Sprintf(act, "0:10:00", "1e-320", "16"))
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Len(t, runs[0].EpochRecords, 1)
	assert.Equal(t, 250.0, runs[0].EpochRecords[0].Watts["gpu"])
	assert.Equal(t, 0.0, runs[0].EpochRecords[0].Grams, "an infinite mean intensity is unknown")
}

// The same for the JSON lines: what the tracker cannot write (a negative
// energy, a duration past a time.Duration) is an error, not a total.
func TestReadJSONLinesImpossibleValues(t *testing.T) {
	for _, tc := range []struct{ name, line, err string }{
		{"negative device energy", `{"type":"checkpoint","at":"2025-03-01T12:00:10Z","duration_s":10,"device_energy_kwh":-1,"facility_energy_kwh":0,"emissions_g":0}`, "device_energy_kwh -1"},
		{"negative emissions in a part", `{"type":"final","duration_s":10,"device_energy_kwh":1,"facility_energy_kwh":1.58,"emissions_g":1,"outside_epochs":{"duration_s":1,"emissions_g":-2}}`, "emissions_g -2"},
		{"duration past time.Duration", `{"type":"epoch","epoch":1,"duration_s":1e300,"energy_kwh":0.1}`, "duration_s 1e+300 out of range"},
		{"old negative energy", `{"type":"epoch","epoch":1,"duration_s":1,"energy_kwh":-0.1}`, "-0.1: not a non-negative number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixJSONLines, tc.line+"\n")
			_, err := runlog.Read(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "line 1: "+tc.err)
		})
	}
}

// Downsample keeps the energy of each component and the extremes of the
// points it merges, in at most n points.
func TestDownsample(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var pts []runlog.PowerPoint
	for i := 1; i <= 10; i++ {
		w := map[string]float64{"gpu": float64(100 * i)}
		p := runlog.PowerPoint{Time: t0.Add(time.Duration(i) * time.Second), Interval: time.Second, Watts: w}
		if i == 3 {
			p.Min, p.Max = map[string]float64{"gpu": 5}, map[string]float64{"gpu": 900}
		}
		pts = append(pts, p)
	}
	assert.Equal(t, pts, runlog.Downsample(pts, 10), "already small enough")
	assert.Equal(t, pts, runlog.Downsample(pts, 0))
	got := runlog.Downsample(pts, 3)
	require.Len(t, got, 3)
	var joules float64
	var span time.Duration
	for _, p := range got {
		joules += p.Watts["gpu"] * p.Interval.Seconds()
		span += p.Interval
	}
	assert.InDelta(t, 5500.0, joules, 1e-9, "the energy is kept")
	assert.Equal(t, 10*time.Second, span)
	assert.Equal(t, t0.Add(3*time.Second), got[0].Time, "a bucket ends where its last point ends")
	assert.Equal(t, 5.0, got[0].Min["gpu"], "a point's own minimum")
	assert.Equal(t, 900.0, got[0].Max["gpu"])
	assert.InDelta(t, 200.0, got[0].Watts["gpu"], 1e-9)
	assert.Equal(t, 400.0, got[1].Min["gpu"])
	assert.Equal(t, 600.0, got[1].Max["gpu"])
	assert.Equal(t, t0.Add(10*time.Second), got[2].Time)
	assert.Equal(t, 1000.0, got[2].Max["gpu"])
}

// Points with a gap between them merge into a point that spans the gap: the
// energy is drawn where it was.
func TestDownsampleGap(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	pts := []runlog.PowerPoint{
		{Time: t0.Add(10 * time.Second), Interval: 10 * time.Second, Watts: map[string]float64{"gpu": 100}},
		{Time: t0.Add(1000 * time.Second), Interval: 10 * time.Second, Watts: map[string]float64{"gpu": 300}},
		{Time: t0.Add(1010 * time.Second), Interval: 10 * time.Second, Watts: map[string]float64{"gpu": 300}},
	}
	got := runlog.Downsample(pts, 1)
	require.Len(t, got, 1)
	assert.Equal(t, 1010*time.Second, got[0].Interval, "from 0 to 1010 s")
	assert.Equal(t, t0.Add(1010*time.Second), got[0].Time)
	assert.InDelta(t, 7000.0, got[0].Watts["gpu"]*got[0].Interval.Seconds(), 1e-9, "the energy is kept")
}

package runlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// trackerRun runs a tracker on fake sources (a 300 W GPU, a 50 W CPU) for
// epochs of 10 minutes, stopping after done epochs, and returns its Report.
func trackerRun(t *testing.T, dir string, epochs, done int) tracker.Report {
	t.Helper()
	var rep tracker.Report
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srcs := []power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
		}
		tr, err := tracker.New(epochs, tracker.WithSources(srcs), tracker.WithLogDir(dir), tracker.WithVerbose(0),
			tracker.WithFixedIntensity(200), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		for range done {
			tr.EpochStart()
			time.Sleep(10 * time.Minute)
			tr.EpochEnd()
		}
		if done < epochs {
			tr.EpochStart()
			time.Sleep(5 * time.Minute)
		}
		tr.Stop()
		rep = tr.Report()
	})
	return rep
}

func TestReadTrackerLogs(t *testing.T) {
	dir := t.TempDir()
	rep := trackerRun(t, dir, 3, 3)

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
	assert.Equal(t, runlog.BasisActual, r.Basis)
	assert.Empty(t, r.Note)
	assert.Equal(t, []string{"gpu", "cpu"}, r.Components)
	assert.InDelta(t, rep.FacilityEnergy.KWh(), r.Used.KWh, 1e-9)
	assert.InDelta(t, rep.Grams, r.Used.Grams, 1e-6)
	assert.InDelta(t, 0.35*0.5*1.58, r.Used.KWh, 1e-6, "350 W for 30 minutes, PUE 1.58")
	assert.Equal(t, 30*time.Minute, r.Used.Duration.Round(time.Second))
	require.Len(t, r.EpochRecords, 3)
	for i, e := range r.EpochRecords {
		assert.Equal(t, i+1, e.N)
		assert.InDelta(t, 300, e.Watts["gpu"], 1e-6)
		assert.InDelta(t, 50, e.Watts["cpu"], 1e-6)
		assert.Equal(t, time.Duration(i)*10*time.Minute, e.Offset.Round(time.Second))
		assert.InDelta(t, e.KWh*200, e.Grams, 1e-9)
	}
	require.NotNil(t, r.Projection)
	assert.Equal(t, 3, r.Projection.Epochs)

	assert.True(t, r.HasRunEnergy)
	assert.InDelta(t, rep.RunEnergy.KWh(), r.RunEnergyKWh, 1e-12)
	assert.InDelta(t, 0.35*0.5, r.RunEnergyKWh, 1e-6, "350 W for 30 minutes, before PUE")

	total := runlog.Sum(runs)
	assert.Equal(t, 1, total.Runs)
	assert.Equal(t, 1, total.Actual)
	assert.InDelta(t, r.Used.Grams, total.Used.Grams, 1e-12)
	assert.Equal(t, 1, total.RunEnergyRuns)
	assert.InDelta(t, r.RunEnergyKWh, total.RunEnergyKWh, 1e-12)
}

// The run energy is what the Prometheus counter carbontrack_energy_joules_total
// ends at (the tracker's Status after Stop, summed over devices): time
// outside the epochs included, before PUE; the epochs' energy is not.
func TestReadRunEnergyOutsideEpochs(t *testing.T) {
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
	require.True(t, r.HasRunEnergy)
	assert.InDelta(t, st.Energy.KWh(), r.RunEnergyKWh, 1e-12, "the counters' final value")
	assert.InDelta(t, 0.36*20.0/60, r.RunEnergyKWh, 1e-6, "360 W for 20 minutes")
	assert.InDelta(t, 0.36*10.0/60*1.58, r.Used.KWh, 1e-6, "the epoch only, PUE included")
}

func TestReadTrackerPairOnly(t *testing.T) {
	// Without the JSON lines, the tracker's pair is read like
	// carbontracker's, and gives the same totals.
	dir := t.TempDir()
	rep := trackerRun(t, dir, 2, 2)
	jsonl, err := filepath.Glob(filepath.Join(dir, "*"+runlog.SuffixJSONLines))
	require.NoError(t, err)
	require.Len(t, jsonl, 1)
	require.NoError(t, os.Remove(jsonl[0]))

	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.FormatCarbontracker, r.Format)
	assert.Equal(t, runlog.BasisActual, r.Basis)
	assert.InDelta(t, rep.FacilityEnergy.KWh(), r.Used.KWh, 1e-9)
	assert.InDelta(t, rep.Grams, r.Used.Grams, 1e-6)
	require.Len(t, r.EpochRecords, 2)
	assert.InDelta(t, 300, r.EpochRecords[0].Watts["gpu"], 1e-6)
	assert.InDelta(t, rep.EpochRecords[1].Grams, r.EpochRecords[1].Grams, 1e-6)
}

func TestReadInterruptedTrackerRun(t *testing.T) {
	dir := t.TempDir()
	trackerRun(t, dir, 4, 1)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.True(t, r.Interrupted)
	assert.Equal(t, 1, r.Completed)
	assert.Equal(t, 4, r.Epochs)
	assert.Equal(t, runlog.BasisActual, r.Basis, "stopped early: carbontracker counts the actual consumption")
	assert.Contains(t, r.Note, "stopped after 1 of 4 epochs")
	require.Len(t, r.EpochRecords, 2)
	assert.True(t, r.EpochRecords[1].Interrupted)
	// The actual consumption leaves the cut-short epoch out, as the output
	// log's block (and carbontracker) do: 10 min at 350 W × PUE 1.58.
	require.NotNil(t, r.Actual)
	assert.Equal(t, 10*time.Minute, r.Actual.Duration)
	assert.InDelta(t, 350*600*1.58/3.6e6, r.Actual.KWh, 1e-9)
	assert.InDelta(t, 350*600*1.58/3.6e6*200, r.Actual.Grams, 1e-6)
}

const killedJSONL = `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"cpu_energy_kwh":0,"dram_energy_kwh":0,"emissions_g":15.8,"intensity_g_per_kwh":200,"pue":1.58,"interrupted":false,"devices":[{"name":"gpu:0","kind":"gpu","device":"H100","method":"counter","energy_kwh":0.05}]}
{"type":"projection","epochs":10,"known_epochs":1,"duration_s":6000,"facility_energy_kwh":0.79,"emissions_g":158,"trend":false,"emissions_low_g":158,"emissions_high_g":158}
{"type":"epoch","epoch":2,"start":"2025-03-01T12:10:00Z","end":"2025-03-01T12:20:00Z","duration_s":600,"energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_energy_kwh":0.05,"emissions_g":15.8,"pue":1.58,"devices":[{"name":"gpu:0","kind":"gpu","energy_kwh":0.05}]}
{"type":"epoch","epoch":3,"start":"2025-03-01T12:2`

func TestReadKilledRunCountsProjection(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, killedJSONL)
	write(t, dir, "7.8_2025-03-01T120000Z"+runlog.SuffixPower,
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
	assert.Equal(t, runlog.Consumption{Epochs: 10, Duration: 100 * time.Minute, KWh: 0.79, Grams: 158}, r.Used)
	assert.Contains(t, r.Note, "the log ends after 2 of 10 epochs")
	assert.False(t, r.HasRunEnergy, "no final record")
	assert.InDelta(t, 31.6, r.Measured.Grams, 1e-9)
	require.Len(t, r.Power, 2)
	assert.Equal(t, 5*time.Minute, r.Power[0].Interval)
	assert.Equal(t, 290.0, r.Power[0].Watts["gpu"])
	assert.Equal(t, time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), r.Start.UTC())
}

// A carbontracker (Python) pair with two GPUs, as its loggerutil writes it:
// numpy arrays of one average power per device.
const ctStd = `2024-03-05 14:02:11 - carbontracker version 2.0.0
2024-03-05 14:02:11 - Only predicted and actual consumptions are multiplied by a PUE coefficient of 1.5 (Daniel Bizo, 2023, Uptime Institute Global Data Center Survey).
2024-03-05 14:02:12 - The following components were found: GPU with device(s) NVIDIA A100-SXM4-40GB, NVIDIA A100-SXM4-40GB. CPU with device(s) cpu:0.
2024-03-05 14:02:12 - Monitoring thread started.
2024-03-05 14:12:12 - Epoch 1:
2024-03-05 14:12:12 - Duration: 0:10:00.00
2024-03-05 14:12:12 - Average power usage (W) for gpu: [ 90.5  209.5]
2024-03-05 14:12:12 - Average power usage (W) for cpu: [50.]
2024-03-05 14:22:12 - Epoch 2:
2024-03-05 14:22:12 - Duration: 0:10:00.00
2024-03-05 14:22:12 - Average power usage (W) for gpu: None
2024-03-05 14:22:12 - Average power usage (W) for cpu: [50.]
`

const ctOut = `2024-03-05 14:12:13 - CarbonTracker: 
Predicted consumption for 4 epoch(s):
	Time:	0:40:00
	Energy:	0.350000000000 kWh
	CO2eq:	70.000000000000 g
	This is equivalent to:
	0.651162790698 km travelled by car
`

func TestReadCarbontrackerPair(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "node1/41237.582913_2024-03-05T140211Z"+runlog.SuffixStdLog, ctStd)
	write(t, dir, "node1/41237.582913_2024-03-05T140211Z"+runlog.SuffixOutputLog, ctOut)
	write(t, dir, "node1/41237.582913_2024-03-05T140211Z_carbontracker_err.log", "ignored\n")
	write(t, dir, "node1/emissions.csv", "ignored\n")

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
	assert.InDelta(t, 350*600*1.5/3.6e6, e.KWh, 1e-12)
	assert.InDelta(t, e.KWh*200, e.Grams, 1e-9, "the projection's mean intensity, 70 g / 0.35 kWh")
	assert.Equal(t, time.Duration(0), e.Offset.Round(time.Minute))
	assert.Equal(t, 0.0, r.EpochRecords[1].Watts["gpu"], "None")
	assert.Equal(t, 10*time.Minute+time.Second, r.EpochRecords[1].Offset, "from the first line, 14:02:11")
	assert.Equal(t, runlog.BasisProjection, r.Basis)
	assert.InDelta(t, 70, r.Used.Grams, 1e-9)
	assert.Equal(t, 4, r.Epochs)
	assert.False(t, r.HasRunEnergy, "a pair does not log it")
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
		{"finished", ctStd, ctOut + actual(4), runlog.BasisActual, 60, "", true, 2},
		{"monitor epochs fewer than epochs", ctStd, ctOut + actual(2), runlog.BasisProjection, 70, "monitored 2 of 4", true, 2},
		{"stopped early", ctStd + "2024-03-05 15:00:00 - Training was interrupted before all 4 epochs were monitored.\n",
			ctOut + actual(2), runlog.BasisActual, 60, "stopped after 2 of 4", true, 2},
		{"killed", ctStd, ctOut, runlog.BasisProjection, 70, "the log ends after 2 of 4", false, 2},
		{"no consumption", ctStd, "", runlog.BasisMeasured, 0, "the 2 epoch(s) logged", false, 2},
		{"nothing", "2024-03-05 14:02:11 - carbontracker version 2.0.0\n", "", runlog.BasisNone, 0, "nothing logged", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "1.2_x"+runlog.SuffixStdLog, tc.std)
			write(t, dir, "1.2_x"+runlog.SuffixOutputLog, tc.out)
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

func itoa(n int) string { return string(rune('0' + n)) }

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "good/1.1_a"+runlog.SuffixStdLog, ctStd)
	write(t, dir, "bad/2.2_b"+runlog.SuffixJSONLines, "{not json}\n")
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

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	trackerRun(t, filepath.Join(dir, "a"), 3, 3)
	write(t, dir, "b/7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, killedJSONL)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 2)

	png1 := filepath.Join(dir, "runs.png")
	require.NoError(t, runlog.PlotFile(png1, runs))
	f, err := os.Open(png1)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, 768, b.Dx(), "8 inches at 96 DPI")
	assert.Equal(t, 768, b.Dy())
	colours := map[color.RGBA]int{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			c := color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}
			colours[c]++
			if c != (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
				nonWhite++
			}
		}
	}
	assert.Greater(t, len(colours), 10, "lines, bars, text and grid in several colours")
	assert.Greater(t, nonWhite, 768*768/50, "not blank")
	for _, kind := range []color.RGBA{{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}} {
		assert.Greater(t, colours[kind], 50, "the gpu and cpu lines are drawn: %v", kind)
	}

	var svg bytes.Buffer
	require.NoError(t, runlog.Plot(&svg, "svg", runs))
	assert.True(t, strings.HasPrefix(svg.String(), "<?xml"), svg.String()[:min(50, svg.Len())])
	assert.Contains(t, svg.String(), "Emissions per epoch")

	assert.ErrorIs(t, runlog.Plot(&svg, "svg", []runlog.Run{{Name: "empty"}}), runlog.ErrNothingToPlot)
	assert.Error(t, runlog.PlotFile(filepath.Join(dir, "x.jpg"), runs))
	assert.Error(t, runlog.Plot(&svg, "gif", runs))
}

func TestSum(t *testing.T) {
	runs := []runlog.Run{
		{Basis: runlog.BasisActual, Completed: 3, Used: runlog.Consumption{Epochs: 3, Duration: time.Hour, KWh: 1, Grams: 100}},
		{Basis: runlog.BasisProjection, Completed: 1, Used: runlog.Consumption{Epochs: 10, Duration: 2 * time.Hour, KWh: 2.5, Grams: 250}},
		{Basis: runlog.BasisNone, RunEnergyKWh: 0.25, HasRunEnergy: true},
		{Basis: runlog.BasisNone, RunEnergyKWh: 0, HasRunEnergy: true},
	}
	runs[0].RunEnergyKWh, runs[0].HasRunEnergy = 0.5, true
	got := runlog.Sum(runs)
	assert.Equal(t, runlog.Total{Runs: 4, Actual: 1, Projected: 1, Completed: 4,
		Used:         runlog.Consumption{Epochs: 13, Duration: 3 * time.Hour, KWh: 3.5, Grams: 350},
		RunEnergyKWh: 0.75, RunEnergyRuns: 3}, got)
	assert.False(t, math.IsNaN(got.Used.KWh))
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "1.2_x"+runlog.SuffixStdLog, tc.std)
			write(t, dir, "1.2_x"+runlog.SuffixOutputLog, tc.out)
			_, err := runlog.Read(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}

	dir := t.TempDir()
	write(t, dir, "1.2_x"+runlog.SuffixStdLog, fmt.Sprintf(ep, "0:10:00.00", "[NaN 250 nan]"))
	write(t, dir, "1.2_x"+runlog.SuffixOutputLog, fmt.Sprintf(act, "0:10:00", "1e-320", "16"))
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Len(t, runs[0].EpochRecords, 1)
	assert.Equal(t, 250.0, runs[0].EpochRecords[0].Watts["gpu"])
	assert.Equal(t, 0.0, runs[0].EpochRecords[0].Grams, "an infinite mean intensity is unknown")
}

package htmlreport_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
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
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
)

func TestMain(m *testing.M) { runlogtest.Main(m) }

// generated is the time the test pages say they were generated at.
var generated = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// training describes a tracked run for trackerRun.
type training struct {
	epochs, done int
	epoch        time.Duration
	// killedAt truncates the JSON lines after the checkpoint at that many
	// seconds (0: the run finished).
	killedAt int
	opts     []tracker.Option
}

// trackerRun runs a tracker on fake sources whose power varies (a GPU
// between 200 and 300 W, a CPU around 45 W, a 4 W DRAM) into dir, with its
// power series, and returns the runs read back.
func trackerRun(t *testing.T, dir string, tr training) []runlog.Run {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		wave := func(base, amp float64, period time.Duration) func(time.Time) power.Watts {
			return func(now time.Time) power.Watts {
				s := now.Sub(start).Seconds()
				return power.Watts(base + amp*math.Sin(2*math.Pi*s/period.Seconds()) + amp/3*math.Sin(s/7))
			}
		}
		gpu := &powertest.Source{Desc: power.Info{Name: "gpu:0", Kind: power.KindGPU, Device: "NVIDIA H100 80GB HBM3", Index: 0, Method: power.MethodSampled},
			Power: wave(250, 50, 3*time.Minute)}
		cpu := &powertest.Source{Desc: power.Info{Name: "cpu:0", Kind: power.KindCPU, Device: "package-0", Index: -1, Method: power.MethodSampled},
			Power: wave(45, 8, 5*time.Minute)}
		dram := powertest.Constant("dram:0", power.KindDRAM, power.MethodCounter, 4, start)
		opts := append([]tracker.Option{tracker.WithSources([]power.Source{gpu, cpu, dram}), tracker.WithLogDir(dir),
			tracker.WithVerbose(0), tracker.WithZone("FR"), tracker.WithPowerSeries(true), tracker.WithInterval(time.Second),
			tracker.WithCheckpointInterval(time.Second)}, tr.opts...)
		trk, err := tracker.New(tr.epochs, opts...)
		require.NoError(t, err)
		time.Sleep(20 * time.Second) // data loading
		for i := range tr.done {
			trk.EpochStart()
			time.Sleep(tr.epoch + time.Duration(i)*tr.epoch/10)
			trk.EpochEnd()
		}
		if tr.done < tr.epochs {
			trk.EpochStart()
			time.Sleep(tr.epoch / 2)
		}
		trk.Stop()
	})
	if tr.killedAt > 0 {
		truncateAtCheckpoint(t, dir, tr.killedAt)
	}
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	return runs
}

// truncateAtCheckpoint rewrites the JSON lines in dir as a killed process
// leaves them: up to the checkpoint of durationS seconds, then half of the
// next line.
func truncateAtCheckpoint(t *testing.T, dir string, durationS int) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"+runlog.SuffixJSONLines))
	require.NoError(t, err)
	require.Len(t, paths, 1)
	b, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	var kept []string
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		kept = append(kept, l)
		if strings.Contains(l, `"type":"checkpoint"`) && strings.Contains(l, fmt.Sprintf(`"duration_s":%d,`, durationS)) {
			require.NoError(t, os.WriteFile(paths[0], []byte(strings.Join(kept, "")+lines[i+1][:len(lines[i+1])/2]), 0o644))
			return
		}
	}
	t.Fatalf("no checkpoint at %d s", durationS)
}

func write(t *testing.T, runs []runlog.Run, opts htmlreport.Options) string {
	t.Helper()
	if opts.GeneratedAt.IsZero() {
		opts.GeneratedAt = generated
	}
	var buf bytes.Buffer
	require.NoError(t, htmlreport.Write(&buf, runs, opts))
	return buf.String()
}

var svgRE = regexp.MustCompile(`<svg[ >]`)

// has checks that page contains want, and says so without printing it.
func has(t *testing.T, page, want string, msg ...any) {
	t.Helper()
	if !strings.Contains(page, want) {
		t.Errorf("the page does not contain %q %v", want, msg)
	}
}

// hasNot checks that page does not contain s.
func hasNot(t *testing.T, page, s string, msg ...any) {
	t.Helper()
	if i := strings.Index(page, s); i >= 0 {
		t.Errorf("the page contains %q at %d: %q %v", s, i, page[max(0, i-100):min(len(page), i+100)], msg)
	}
}

func TestWriteTrackerRun(t *testing.T) {
	dir := t.TempDir()
	runs := trackerRun(t, dir, training{epochs: 5, done: 5, epoch: 2 * time.Minute,
		opts: []tracker.Option{tracker.WithRunLabel("python train.py --lr 3e-4"), tracker.WithPUE(1.2)}})
	require.Len(t, runs, 1)
	r := runs[0]
	require.NotEmpty(t, r.Power)
	page := write(t, runs, htmlreport.Options{Title: "Nightly training", BudgetGrams: 5})

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	has(t, page, "<title>Nightly training</title>")
	has(t, page, "Generated by carbontrack on 2025-03-01 12:00:00 UTC")
	has(t, page, "Run 1: python train.py --lr 3e-4")
	for _, want := range []string{"Facility energy", "Device energy", "Emissions", "Duration", "Epochs completed",
		"5 of 5", "FR", "gCO2e/kWh", r.IntensitySource, fmt.Sprint(r.IntensityYear), "PUE</th><td>1.2<",
		"machine (all the devices measured)", "km travelled by car", "litres of petrol burned",
		"<code>gpu:0</code>", "NVIDIA H100 80GB HBM3", "sampled", "counter", "Budget: 5 g CO2e"} {
		has(t, page, want)
	}
	assert.Equal(t, 4, len(svgRE.FindAllString(page, -1)), "power, emissions per epoch, cumulative, intensity")
	for _, want := range []string{"Power (W)", "Time since the start of the run (min)", "Emissions (g CO2e)",
		"Intensity (g CO2e/kWh)", "gpu: mean", "cpu: mean", "dram: mean", "start or end of an epoch",
		"projection: ", "budget: 5 g CO2e", `role="img"`} {
		has(t, page, want)
	}
	hasNot(t, page, "<script", "the page needs no script")
	assert.False(t, regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page), "the page loads nothing")
	hasNot(t, page, `id="total"`, "one run has no total section")
	// A series longer than MaxPowerPoints is merged, and its spread drawn.
	assert.Greater(t, len(r.Power), htmlreport.MaxPowerPoints)
	has(t, page, "gpu: lowest to highest")
	has(t, page, fmt.Sprintf("merged into %d points", htmlreport.MaxPowerPoints))
}

func TestWriteIsReproducible(t *testing.T) {
	runs := trackerRun(t, t.TempDir(), training{epochs: 2, done: 2, epoch: time.Minute})
	assert.Equal(t, write(t, runs, htmlreport.Options{}), write(t, runs, htmlreport.Options{}))
}

// Everything from the logs is text in the page, never markup.
func TestWriteEscapesHostileLabel(t *testing.T) {
	const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>"'&`
	runs := trackerRun(t, t.TempDir(), training{epochs: 2, done: 2, epoch: time.Minute,
		opts: []tracker.Option{tracker.WithRunLabel(hostile), tracker.WithNode(`n0"><svg onload=alert(1)>`)}})
	require.Equal(t, hostile, runs[0].Label)
	page := write(t, runs, htmlreport.Options{Title: "<b>title</b>"})
	hasNot(t, page, "<script")
	hasNot(t, page, "<img")
	hasNot(t, page, "<svg onload")
	hasNot(t, page, "<b>title</b>")
	has(t, page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	has(t, page, "&lt;b&gt;title&lt;/b&gt;")
	assert.Equal(t, 4, len(svgRE.FindAllString(page, -1)))
}

// A run whose log has epochs and no power series: the power chart draws
// each epoch's average power.
func TestWriteEpochsOnly(t *testing.T) {
	dir := t.TempDir()
	epoch := func(n int, start string, grams float64) string {
		return fmt.Sprintf(`{"type":"epoch","epoch":%d,"start":"2025-03-01T%s:00Z","end":"2025-03-01T%s:30:00Z","duration_s":1800,"device_energy_kwh":0.3165,"facility_energy_kwh":0.5,"gpu_device_energy_kwh":0.3,"cpu_device_energy_kwh":0.0165,"emissions_g":%g,"pue":1.58,"devices":[{"kind":"gpu"},{"kind":"cpu"}]}`+"\n",
			n, start, start[:2], grams)
	}
	final := `{"type":"final","duration_s":3600,"device_energy_kwh":0.633,"facility_energy_kwh":1,"emissions_g":190,"epochs":2,"completed_epochs":2,"pue":1.58}` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "11.1_2025-03-01T120000Z"+runlog.SuffixJSONLines),
		[]byte(epoch(1, "12:00", 100)+epoch(2, "13:00", 90)+final), 0o644))
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Empty(t, runs[0].Power)
	page := write(t, runs, htmlreport.Options{})
	has(t, page, "Average power of the devices in each epoch, by component (W, before PUE)")
	has(t, page, "No power series was logged")
	has(t, page, "<tr><td><code>not logged</code></td><td>gpu</td><td>not logged</td><td>not logged</td></tr>")
	assert.Equal(t, 4, len(svgRE.FindAllString(page, -1)))
}

func TestWriteKilledRun(t *testing.T) {
	runs := trackerRun(t, t.TempDir(), training{epochs: 10, done: 3, epoch: 2 * time.Minute, killedAt: 240})
	require.Len(t, runs, 1)
	require.Equal(t, runlog.BasisCheckpoint, runs[0].Basis)
	page := write(t, runs, htmlreport.Options{})
	has(t, page, "killed or still running (its end was not logged)")
	has(t, page, "checkpoint")
	has(t, page, "1 of 10")
	has(t, page, "after 10 epochs", "the projection to the last epoch")
	assert.Equal(t, 4, len(svgRE.FindAllString(page, -1)))
}

// The tracker's log pair without its JSON lines is read like
// carbontracker's: no devices, no power series, emissions per epoch from
// the run's mean intensity.
func TestWriteCarbontrackerPair(t *testing.T) {
	dir := t.TempDir()
	trackerRun(t, dir, training{epochs: 3, done: 3, epoch: time.Minute})
	for _, suffix := range []string{runlog.SuffixJSONLines, runlog.SuffixPower} {
		paths, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
		require.NoError(t, err)
		require.Len(t, paths, 1)
		require.NoError(t, os.Remove(paths[0]))
	}
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, runlog.FormatCarbontracker, runs[0].Format)
	page := write(t, runs, htmlreport.Options{})
	has(t, page, "carbontracker format")
	has(t, page, "The log does not list its devices")
	has(t, page, "A log pair has no emissions per epoch")
	has(t, page, "3 of 3")
	assert.Equal(t, 4, len(svgRE.FindAllString(page, -1)))
}

// The nodes of a job: a section each and a total.
func TestWriteSeveralRuns(t *testing.T) {
	var runs []runlog.Run
	for node := range 3 {
		done := 3
		if node == 2 {
			done = 2
		}
		runs = append(runs, trackerRun(t, t.TempDir(), training{epochs: 3, done: done, epoch: time.Minute,
			opts: []tracker.Option{tracker.WithRunID("job7"), tracker.WithNode(fmt.Sprintf("node%d", node)), tracker.WithRank(node, 0)}})...)
	}
	require.Len(t, runs, 3)
	page := write(t, runs, htmlreport.Options{BudgetGrams: 10})
	total := runlog.Sum(runs)
	has(t, page, `<h2 id="total">Total</h2>`)
	for i := range 3 {
		has(t, page, fmt.Sprintf(`id="run-%d"`, i+1))
		has(t, page, fmt.Sprintf("node node%d, rank %d, job job7", i, i))
	}
	assert.Equal(t, 3, strings.Count(page, "<h3>Summary</h3>"))
	has(t, page, "Runs</th><td>3 <span class=\"note\">(3 whole runs)</span>")
	has(t, page, fmt.Sprintf("running total after each run, %.2f g CO2e in all", total.Used.Grams))
	assert.Equal(t, 3*4+1, len(svgRE.FindAllString(page, -1)))
	// The budget is the report's: on the total's chart, not the runs'.
	assert.Equal(t, 1, strings.Count(page, "budget: 10 g CO2e"))
}

func TestWriteRejects(t *testing.T) {
	var buf bytes.Buffer
	assert.ErrorIs(t, htmlreport.Write(&buf, nil, htmlreport.Options{}), htmlreport.ErrNoRuns)
	runs := []runlog.Run{{Name: "r", Rank: -1}}
	for _, b := range []float64{-1, math.NaN(), math.Inf(1)} {
		assert.Error(t, htmlreport.Write(&buf, runs, htmlreport.Options{BudgetGrams: b}))
	}
	assert.Zero(t, buf.Len(), "nothing written on error")
	// A run with nothing logged still has its summary.
	require.NoError(t, htmlreport.Write(&buf, runs, htmlreport.Options{}))
	has(t, buf.String(), "No power was logged")
	assert.Zero(t, len(svgRE.FindAllString(buf.String(), -1)))
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteFileWholeOrNothing(t *testing.T) {
	runs := []runlog.Run{{Name: "r", Rank: -1, Used: runlog.Consumption{Grams: 3}}}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))

	// An error before writing leaves what was there, and no temporary file.
	require.Error(t, htmlreport.WriteFile(path, runs, htmlreport.Options{BudgetGrams: -1}))
	require.Error(t, htmlreport.WriteFile(path, nil, htmlreport.Options{}))
	// So does one at the rename (a directory in the way).
	inTheWay := filepath.Join(dir, "dir.html")
	require.NoError(t, os.Mkdir(inTheWay, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(inTheWay, "x"), nil, 0o644))
	require.Error(t, htmlreport.WriteFile(inTheWay, runs, htmlreport.Options{}))
	// And a directory that does not exist.
	require.Error(t, htmlreport.WriteFile(filepath.Join(dir, "no", "report.html"), runs, htmlreport.Options{}))

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"report.html", "dir.html"}, names)

	require.NoError(t, htmlreport.WriteFile(path, runs, htmlreport.Options{GeneratedAt: generated}))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, htmlreport.Write(&want, runs, htmlreport.Options{GeneratedAt: generated}))
	assert.Equal(t, want.String(), string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	assert.ErrorContains(t, htmlreport.Write(failingWriter{}, runs, htmlreport.Options{}), "disk full")
}

// The emissions interval of the estimated devices, from the final record.
func TestWriteUncertainty(t *testing.T) {
	dir := t.TempDir()
	final := `{"type":"final","duration_s":3600,"device_energy_kwh":0.633,"facility_energy_kwh":1,"emissions_g":190,"epochs":1,"completed_epochs":0,"pue":1.58,` +
		`"emissions_low_g":170,"emissions_high_g":210,"emissions_uncertainty":"CPU estimated ±34 %"}` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "11.1_2025-03-01T120000Z"+runlog.SuffixJSONLines), []byte(final), 0o644))
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	page := write(t, runs, htmlreport.Options{})
	has(t, page, "Uncertainty</th><td>170 g CO2e to 210 g CO2e")
	has(t, page, "CPU estimated ±34 %")
}

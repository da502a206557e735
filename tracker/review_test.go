package tracker_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// logFiles returns the contents of the standard log, the output log and the
// JSON lines written to dir.
func logFiles(t *testing.T, dir string) (std, out, jsonl string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		switch n := e.Name(); {
		case strings.HasSuffix(n, "_carbontracker.log"):
			std = string(data)
		case strings.HasSuffix(n, "_carbontracker_output.log"):
			out = string(data)
		case strings.HasSuffix(n, "_carbontrack.jsonl"):
			jsonl = string(data)
		}
	}
	return std, out, jsonl
}

// jsonRecords decodes the JSON lines of type typ.
func jsonRecords(t *testing.T, jsonl, typ string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["type"] == typ {
			recs = append(recs, m)
		}
	}
	return recs
}

var reEpochLine = regexp.MustCompile(`(?m) - Epoch (\d+):$`)

// Short epochs used to overflow the writer's queue: records were dropped,
// the final "Actual consumption" block included.
func TestShortEpochsNeverDropped(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	tr, err := tracker.New(n, quiet([]power.Source{gpu("gpu:0", 100), cpu("cpu:0", 10)},
		tracker.WithInterval(time.Millisecond), tracker.WithLogDir(dir))...)
	require.NoError(t, err)
	runEpochs(tr, n, 0)
	tr.Stop()
	r := tr.Report()
	assert.Zero(t, r.Dropped)
	assert.Equal(t, n, r.Completed)

	std, out, jsonl := logFiles(t, dir)
	ms := reEpochLine.FindAllStringSubmatch(std, -1)
	require.Len(t, ms, n)
	for i, m := range ms {
		require.Equal(t, strconv.Itoa(i+1), m[1], "epochs in order, none missing")
	}
	assert.Contains(t, out, fmt.Sprintf("Actual consumption for %d epoch(s):", n))
	assert.Contains(t, out, "Predicted consumption for 2000 epoch(s):")
	assert.Len(t, jsonRecords(t, jsonl, "epoch"), n)
	assert.Len(t, jsonRecords(t, jsonl, "final"), 1)
}

// blockingForecast has a forecast that only comes once release is closed
// (or never, until its context is done).
type blockingForecast struct {
	forecasting
	release chan struct{}
}

func (b blockingForecast) Forecast(ctx context.Context) ([]factor.Point, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.release:
		return b.forecasting.Forecast(ctx)
	}
}

// The carbon-aware advice used to be fetched on the writer goroutine: a slow
// forecast held back every record behind it.
func TestSlowForecastDoesNotHoldBackRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		prov := blockingForecast{forecasting{start: time.Now()}, make(chan struct{})}
		tr, err := tracker.New(5, tracker.WithSources([]power.Source{gpu("gpu:0", 300)}), tracker.WithVerbose(0),
			tracker.WithPUE(1), tracker.WithFactor(prov), tracker.WithLogDir(dir))
		require.NoError(t, err)
		runEpochs(tr, 3, time.Second)
		synctest.Wait()
		std, out, _ := logFiles(t, dir)
		assert.Contains(t, std, "Epoch 3:", "the writer goes on while the forecast is pending")
		assert.Contains(t, out, "Predicted consumption for 5 epoch(s):")
		assert.NotContains(t, out, "advice")

		close(prov.release)
		synctest.Wait()
		tr.Stop()
		_, out, _ = logFiles(t, dir)
		assert.Contains(t, out, "Carbon-aware advice: a run like this started at")
		assert.Less(t, strings.Index(out, "Predicted consumption"), strings.Index(out, "Carbon-aware advice"))
	})
}

func TestStopCancelsPendingAdvice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		prov := blockingForecast{forecasting{start: time.Now()}, make(chan struct{})} // never released
		tr, err := tracker.New(5, tracker.WithSources([]power.Source{gpu("gpu:0", 300)}), tracker.WithVerbose(0),
			tracker.WithFactor(prov), tracker.WithLogDir(dir))
		require.NoError(t, err)
		runEpochs(tr, 1, time.Second)
		synctest.Wait()
		start := time.Now()
		tr.Stop()
		assert.Less(t, time.Since(start), time.Second, "Stop cancels the forecast instead of waiting for it")
		_, out, _ := logFiles(t, dir)
		assert.NotContains(t, out, "advice")
		assert.Contains(t, out, "Finished monitoring.")
	})
}

// Stopping between epochs before all were monitored is an interruption; the
// final JSON record (which runlog reads) used to say it was not.
func TestStopBetweenEpochsIsInterruptedEverywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(5, quiet([]power.Source{gpu("gpu:0", 3600)}, tracker.WithLogDir(dir))...)
		require.NoError(t, err)
		runEpochs(tr, 2, time.Minute)
		tr.Stop()
		r := tr.Report()
		assert.True(t, r.Interrupted)
		assert.Equal(t, 2, r.Completed)
		std, out, jsonl := logFiles(t, dir)
		assert.Contains(t, std, "Training was interrupted before all 5 epochs were monitored.")
		assert.Contains(t, out, "Actual consumption for 2 epoch(s):")
		final := jsonRecords(t, jsonl, "final")
		require.Len(t, final, 1)
		assert.Equal(t, true, final[0]["interrupted"])
		assert.Equal(t, 2.0, final[0]["completed_epochs"])
	})
}

// The budget function used to run on the sampler's goroutine, inside its
// tick: calling Stop from it waited for that goroutine, forever.
func TestStopFromBudgetFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr *tracker.Tracker
		var returned atomic.Bool
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		var err error
		tr, err = tracker.New(5, quiet([]power.Source{gpu("gpu:0", 3600)}, tracker.WithEpochsBeforePred(0),
			tracker.WithBudgetGrams(1), tracker.WithCancel(cancel),
			tracker.WithBudgetFunc(func(tracker.BudgetEvent) {
				tr.Stop()
				returned.Store(true)
			}))...)
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(time.Minute) // 6 g: the sampler sees the budget passed
		synctest.Wait()
		assert.True(t, returned.Load(), "Stop returns when called from the budget function")
		r := tr.Report()
		assert.True(t, r.Stopped)
		assert.True(t, r.BudgetExceeded)
		assert.True(t, r.Interrupted)
		assert.ErrorIs(t, context.Cause(ctx), tracker.ErrBudgetExceeded)
		tr.Stop() // a no-op
		tr.EpochEnd()
		assert.Equal(t, 1, tr.Report().Misuse)
	})
}

// hangingSource is a GPU at 3600 W whose reads block, once hang is set,
// until release is closed: a hung driver call, which no context ends.
type hangingSource struct {
	power.Source
	hang    atomic.Bool
	release chan struct{}
}

func (h *hangingSource) Read(ctx context.Context, r *power.Reading) error {
	if h.hang.Load() {
		<-h.release
	}
	return h.Source.Read(ctx, r)
}

// Stop promises to wait at most the stop timeout; a hung sensor read used to
// hold it forever.
func TestStopBoundedWhenSensorHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &hangingSource{Source: gpu("gpu:0", 3600), release: make(chan struct{})}
		tr, err := tracker.New(3, quiet([]power.Source{src}, tracker.WithInterval(time.Second),
			tracker.WithStopTimeout(5*time.Second))...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Minute)
		synctest.Wait() // the boundary is read before the sensor hangs
		src.hang.Store(true)
		time.Sleep(2 * time.Second) // the sampler is stuck in a read
		start := time.Now()
		tr.Stop()
		assert.LessOrEqual(t, time.Since(start), 5*time.Second)
		r := tr.Report()
		assert.True(t, r.Stopped)
		assert.Equal(t, 1, r.Completed)
		assert.InDelta(t, 0.06, r.InEpochs.DeviceEnergy.KWh(), 1e-3)
		assert.Contains(t, r.StopTimeouts, "sampler")
		close(src.release) // the read returns; the goroutines end
		synctest.Wait()
		assert.Equal(t, 1, tr.Report().Completed, "a late reading changes nothing")
	})
}

// New used to allocate storage for every epoch up front: 1 GB for 10M.
func TestNewDoesNotPreallocateEpochs(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, err := tracker.New(10_000_000, quiet([]power.Source{gpu("gpu:0", 100), cpu("cpu:0", 10)})...)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	tr.Stop()
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

// The projection used to be made once, after the first epoch: with the
// defaults there was never a trend, an interval or a later budget check.
func TestProjectionUpdatedEveryEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		var console bytes.Buffer
		var events []tracker.BudgetEvent
		tr, err := tracker.New(6, tracker.WithSources([]power.Source{gpu("gpu:0", 3600)}), tracker.WithPUE(1),
			tracker.WithFixedIntensity(100), tracker.WithConsole(&console), tracker.WithLogDir(dir),
			tracker.WithBudgetGrams(50), tracker.WithBudgetFunc(func(e tracker.BudgetEvent) { events = append(events, e) }))
		require.NoError(t, err)
		// Epochs of 1, 2, 3 minutes: 6, 12, 18 g.
		runEpochs(tr, 1, time.Minute)
		p, ok := tr.Projection()
		require.True(t, ok)
		assert.InDelta(t, 36, p.Grams, 0.01)
		synctest.Wait()
		assert.Empty(t, events, "36 g projected, within the budget")
		runEpochs(tr, 1, 2*time.Minute)
		synctest.Wait()
		require.Len(t, events, 1, "54 g projected after epoch 2")
		assert.True(t, events[0].Projected)
		assert.InDelta(t, 54, events[0].Grams, 0.01)
		runEpochs(tr, 1, 3*time.Minute)
		p, _ = tr.Projection()
		assert.Equal(t, 3, p.Known)
		assert.InDelta(t, 72, p.Grams, 0.01)
		assert.True(t, p.Trend)
		assert.InDelta(t, 126, p.TrendGrams, 0.01)
		assert.Less(t, p.GramsLow, p.Grams)
		assert.Greater(t, p.GramsHigh, p.Grams)
		tr.Stop()
		assert.Equal(t, 1, strings.Count(console.String(), "Predicted consumption for"), "the block is printed once")
		_, _, jsonl := logFiles(t, dir)
		projs := jsonRecords(t, jsonl, "projection")
		require.Len(t, projs, 3)
		assert.Equal(t, 3.0, projs[2]["known_epochs"])
		assert.Equal(t, true, projs[2]["trend"])
		require.Len(t, events, 1, "fires once")
	})
}

// emissions.csv as CodeCarbon writes it: component energies with PUE (they
// sum to energy_consumed), ISO 3166-1 alpha-3 and the country's name, and
// the run's wall time.
func TestEmissionsCSVLikeCodeCarbon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(2, tracker.WithSources([]power.Source{gpu("gpu:0", 3600), cpu("cpu:0", 360)}),
			tracker.WithVerbose(0), tracker.WithZone("DK"), tracker.WithPUE(1.5), tracker.WithLogDir(dir))
		require.NoError(t, err)
		time.Sleep(30 * time.Second)
		runEpochs(tr, 2, time.Minute)
		time.Sleep(15 * time.Second)
		tr.Stop()
		f, err := os.Open(filepath.Join(dir, "emissions.csv"))
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2)
		row := map[string]string{}
		for i, h := range rows[0] {
			row[h] = rows[1][i]
		}
		num := func(k string) float64 {
			v, err := strconv.ParseFloat(row[k], 64)
			require.NoError(t, err, k)
			return v
		}
		// The whole run, New to Stop, as CodeCarbon measures: 165 s.
		assert.InDelta(t, 3600*165/3.6e6*1.5, num("gpu_energy"), 1e-9)
		assert.InDelta(t, 360*165/3.6e6*1.5, num("cpu_energy"), 1e-9)
		assert.InDelta(t, num("energy_consumed"), num("cpu_energy")+num("gpu_energy")+num("ram_energy"), 1e-9)
		assert.Equal(t, "DNK", row["country_iso_code"])
		assert.Equal(t, "Denmark", row["country_name"])
		assert.InDelta(t, 165, num("duration"), 1e-6, "New to Stop")
		assert.InDelta(t, num("emissions")/165, num("emissions_rate"), 1e-12)
		assert.InDelta(t, 3600, num("gpu_power"), 1e-6)
	})
}

// The stop-and-confirm question used to be invisible with verbosity 0,
// while EpochEnd waited for its answer.
func TestConfirmPromptShownWhenQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var console bytes.Buffer
		tr, err := tracker.New(3, tracker.WithSources([]power.Source{gpu("gpu:0", 100)}), tracker.WithVerbose(0),
			tracker.WithConsole(&console), tracker.WithStopAndConfirm(strings.NewReader("maybe\nn\n")))
		require.NoError(t, err)
		runEpochs(tr, 1, time.Minute)
		tr.Stop()
		s := console.String()
		assert.Contains(t, s, "CarbonTracker: Continue training (y/n)?\n")
		assert.Contains(t, s, "Input not recognized. Try again (y/n):")
		assert.Contains(t, s, "Quitting...")
		assert.NotContains(t, s, "Predicted consumption", "verbosity 0 prints only the question")
		assert.True(t, tr.Report().StoppedByUser)
	})
}

// The interrupted epoch's time and energy used to be counted in "Actual
// consumption for N epoch(s)", N being the completed epochs.
func TestActualExcludesInterruptedEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		var console bytes.Buffer
		tr, err := tracker.New(5, tracker.WithSources([]power.Source{gpu("gpu:0", 3600)}), tracker.WithPUE(1),
			tracker.WithFixedIntensity(100), tracker.WithConsole(&console), tracker.WithLogDir(dir),
			tracker.WithPrecision(6))
		require.NoError(t, err)
		runEpochs(tr, 2, time.Minute)
		tr.EpochStart()
		time.Sleep(30 * time.Second)
		tr.Stop()
		r := tr.Report()
		require.Len(t, r.EpochRecords, 3)
		assert.True(t, r.EpochRecords[2].Interrupted)
		assert.InDelta(t, 15, r.InEpochs.Grams, 1e-6, "the Report keeps the interrupted epoch")
		want := "Actual consumption for 2 epoch(s):\n\tTime:\t0:02:00\n\tEnergy:\t0.120000 kWh\n\tCO2eq:\t12.000000 g\n"
		assert.Contains(t, console.String(), want)
		std, out, jsonl := logFiles(t, dir)
		assert.Contains(t, out, want)
		assert.Contains(t, std, "Epoch 3 was cut short by Stop after 0:00:30.00; its 0.030000 kWh and 3.000000 g are not in the actual consumption.")
		assert.Contains(t, out, "not in the actual consumption")
		l, err := records.ParseLog(strings.NewReader(std), strings.NewReader(out))
		require.NoError(t, err)
		require.NotNil(t, l.Actual)
		assert.Equal(t, 2*time.Minute, l.Actual.Duration)
		assert.True(t, l.EarlyStop)
		epochs := jsonRecords(t, jsonl, "epoch")
		require.Len(t, epochs, 3)
		assert.Equal(t, true, epochs[2]["interrupted"])
	})
}

// handlerFunc is a slog handler that calls f for each record.
type handlerFunc func()

func (h handlerFunc) Enabled(context.Context, slog.Level) bool  { return true }
func (h handlerFunc) Handle(context.Context, slog.Record) error { h(); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h handlerFunc) WithGroup(string) slog.Handler             { return h }

// The user's log handler used to run under the tracker's lock (misuse,
// budget): one that looked at the tracker deadlocked.
func TestLoggerNotCalledUnderLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr atomic.Pointer[tracker.Tracker]
		var logged atomic.Int32
		h := handlerFunc(func() {
			logged.Add(1)
			if t := tr.Load(); t != nil {
				_ = t.Status()
			}
		})
		p, err := tracker.New(5, quiet([]power.Source{gpu("gpu:0", 3600)}, tracker.WithLogger(slog.New(h)),
			tracker.WithBudgetGrams(1), tracker.WithEpochsBeforePred(0))...)
		require.NoError(t, err)
		tr.Store(p)
		p.EpochEnd() // misuse
		p.EpochStart()
		p.EpochStart() // misuse
		time.Sleep(time.Minute)
		p.EpochEnd() // the budget is passed
		synctest.Wait()
		p.Stop()
		assert.Equal(t, 2, p.Report().Misuse)
		assert.True(t, p.Report().BudgetExceeded)
		assert.GreaterOrEqual(t, logged.Load(), int32(3))
	})
}

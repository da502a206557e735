package tracker_test

import (
	"bufio"
	"encoding/json"
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
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// 3 epochs of 1 h at 1 kW with a PUE of 1.5 and 100 g/kWh, 1e6 tokens each:
// 1.5 kWh and 150 g per million tokens. An epoch without work and the time
// outside epochs are not divided.
func TestEpochEndWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(5, quiet([]power.Source{gpu("gpu:0", 1000)}, tracker.WithPUE(1.5),
			tracker.WithWorkUnit("tokens"), tracker.WithLogDir(dir), tracker.WithLogPrefix("w"))...)
		require.NoError(t, err)
		time.Sleep(30 * time.Minute) // outside epochs
		for range 3 {
			tr.EpochStart()
			time.Sleep(time.Hour)
			tr.EpochEndWork(1e6)
		}
		runEpochs(tr, 1, time.Hour) // no work
		time.Sleep(30 * time.Minute)
		tr.Stop()
		r := tr.Report()

		require.Len(t, r.EpochRecords, 4)
		for _, e := range r.EpochRecords[:3] {
			assert.Equal(t, 1e6, e.Work)
		}
		assert.Zero(t, r.EpochRecords[3].Work)
		assert.Equal(t, 0, r.Misuse)
		assert.Equal(t, 3e6, r.Work)
		assert.Equal(t, "tokens", r.WorkUnit)
		assert.Equal(t, 3, r.WorkEpochs)
		assert.Equal(t, 3*time.Hour, r.WorkTotals.Duration)
		assert.InDelta(t, 3, r.WorkTotals.DeviceEnergy.KWh(), 1e-9)
		assert.InDelta(t, 4.5, r.WorkTotals.FacilityEnergy.KWh(), 1e-9)
		assert.InDelta(t, 450, r.WorkTotals.Grams, 1e-6)
		assert.InDelta(t, 1.5, r.FacilityKWhPerMillionWork(), 1e-9)
		assert.InDelta(t, 150, r.GramsPerMillionWork(), 1e-6)
		assert.InDelta(t, 1.5e-6, r.FacilityKWhPerWork(), 1e-15)
		assert.InDelta(t, 1.5e-4, r.GramsPerWork(), 1e-12)
		assert.InDelta(t, 7.5, r.Run.FacilityEnergy.KWh(), 1e-6, "the whole run is 5 h")
		assert.Equal(t, "Per million tokens: 1.50 kWh, 150.0 g CO2e (over 3 epoch(s), 3,000,000 tokens).",
			tracker.PerWorkLine(&r))

		var jsonl, out string
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			switch n := e.Name(); {
			case strings.HasSuffix(n, records.SuffixJSONLines):
				jsonl = filepath.Join(dir, n)
			case strings.HasSuffix(n, "_carbontracker_output.log"):
				out = filepath.Join(dir, n)
			}
		}
		require.NotEmpty(t, jsonl)
		require.NotEmpty(t, out)

		f, err := os.Open(jsonl)
		require.NoError(t, err)
		defer f.Close()
		var epochs []map[string]any
		var final records.Final[float64]
		var finalRaw map[string]any
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
			switch m["type"] {
			case records.TypeEpoch:
				epochs = append(epochs, m)
			case records.TypeFinal:
				finalRaw = m
				require.NoError(t, json.Unmarshal(sc.Bytes(), &final))
			}
		}
		require.NoError(t, sc.Err())
		require.Len(t, epochs, 4)
		for _, m := range epochs[:3] {
			assert.Equal(t, 1e6, m["work"])
		}
		assert.NotContains(t, epochs[3], "work", "omitted without work")
		require.NotNil(t, finalRaw)
		assert.Equal(t, 3e6, final.Work)
		assert.Equal(t, "tokens", final.WorkUnit)
		assert.Equal(t, 3, final.WorkEpochs)
		assert.InDelta(t, 1.5, final.FacilityEnergyKWhPerMillionWork, 1e-9)
		assert.InDelta(t, 150, final.EmissionsGPerMillionWork, 1e-6)

		text, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Contains(t, string(text), "Per million tokens: 1.50 kWh, 150.0 g CO2e (over 3 epoch(s), 3,000,000 tokens).")
	})
}

// Without work, no per-unit figure and no work field anywhere.
func TestNoWorkNoFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(2, quiet([]power.Source{gpu("gpu:0", 1000)}, tracker.WithLogDir(dir))...)
		require.NoError(t, err)
		runEpochs(tr, 2, time.Hour)
		tr.Stop()
		r := tr.Report()
		assert.Zero(t, r.Work)
		assert.Zero(t, r.WorkEpochs)
		assert.Zero(t, r.FacilityKWhPerMillionWork())
		assert.Zero(t, r.GramsPerMillionWork())
		assert.Empty(t, tracker.PerWorkLine(&r))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			assert.NotContains(t, string(b), `"work`)
			assert.NotContains(t, string(b), "Per million")
		}
	})
}

func TestEpochEndWorkMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(10, quiet([]power.Source{gpu("gpu:0", 1000)})...)
		require.NoError(t, err)
		tr.EpochEndWork(5) // without EpochStart: misuse, ignored
		for _, w := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1), 0, 2e6} {
			tr.EpochStart()
			time.Sleep(time.Hour)
			tr.EpochEndWork(w)
		}
		tr.Stop()
		tr.EpochEndWork(1) // after Stop
		r := tr.Report()
		assert.Equal(t, 6, r.Misuse, "one without start, four bad works, one after Stop")
		require.Len(t, r.EpochRecords, 6, "an epoch with bad work still ends")
		for _, e := range r.EpochRecords[:5] {
			assert.Zero(t, e.Work)
		}
		assert.Equal(t, 2e6, r.EpochRecords[5].Work)
		assert.Equal(t, 2e6, r.Work)
		assert.Equal(t, 1, r.WorkEpochs)
		assert.InDelta(t, 0.5, r.FacilityKWhPerMillionWork(), 1e-9, "1 kWh over 2e6, PUE 1")
		assert.InDelta(t, 50, r.GramsPerMillionWork(), 1e-6)
	})
}

// An epoch cut short by Stop has no work.
func TestEpochEndWorkStopMidEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(3, quiet([]power.Source{gpu("gpu:0", 1000)})...)
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(time.Hour)
		tr.EpochEndWork(100)
		tr.EpochStart()
		time.Sleep(time.Hour)
		tr.Stop()
		r := tr.Report()
		require.Len(t, r.EpochRecords, 2)
		assert.True(t, r.EpochRecords[1].Interrupted)
		assert.Equal(t, 100.0, r.Work)
		assert.Equal(t, 1, r.WorkEpochs)
		assert.InDelta(t, 1e4, r.FacilityKWhPerMillionWork(), 1e-6)
	})
}

// EpochStart and EpochEndWork allocate nothing in steady state, as
// EpochStart and EpochEnd.
func TestEpochEndWorkAllocs(t *testing.T) {
	tr, err := tracker.New(1<<20, tracker.WithSources([]power.Source{gpu("gpu:0", 300), cpu("cpu:0", 50)}),
		tracker.WithVerbose(0), tracker.WithInterval(10*time.Millisecond), tracker.WithBudgetKWh(1e9),
		tracker.WithWorkUnit("tokens"))
	require.NoError(t, err)
	defer tr.Stop()
	for range 1000 {
		tr.EpochStart()
		tr.EpochEndWork(1000)
	}
	allocs := testing.AllocsPerRun(2000, func() {
		tr.EpochStart()
		tr.EpochEndWork(1000)
	})
	assert.Zero(t, allocs, "allocations per epoch")
	r := tr.Report()
	assert.Equal(t, 3001, r.WorkEpochs)
	assert.Equal(t, 3001*1000.0, r.Work)
}

// BenchmarkEpochStartEndWork is BenchmarkEpochStartEnd with EpochEndWork.
func BenchmarkEpochStartEndWork(b *testing.B) {
	t, n := newBenchTracker(b), 0
	b.ReportAllocs()
	for b.Loop() {
		if n == benchEpochs {
			b.StopTimer()
			t.Stop()
			t, n = newBenchTracker(b), 0
			b.StartTimer()
		}
		t.EpochStart()
		t.EpochEndWork(4096)
		n++
	}
	b.StopTimer()
	t.Stop()
	if r := t.Report(); r.Completed != n || r.WorkEpochs != n || r.Work != 4096*float64(n) {
		b.Fatalf("%d epochs completed, %d with work, work %v; want %d", r.Completed, r.WorkEpochs, r.Work, n)
	}
}

func newBenchTracker(b *testing.B) *tracker.Tracker {
	t, err := tracker.New(benchEpochs, tracker.WithSources([]power.Source{gpu("gpu:0", 300), cpu("cpu:0", 50)}),
		tracker.WithVerbose(0), tracker.WithInterval(10*time.Millisecond), tracker.WithBudgetGrams(1e12),
		tracker.WithWorkUnit("tokens"))
	if err != nil {
		b.Fatal(err)
	}
	return t
}

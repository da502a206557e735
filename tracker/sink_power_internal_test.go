package tracker

import (
	"github.com/stretchr/testify/assert"

	"testing"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
)

// seriesTracker is a tracker writing the power series whose sampler and
// writer stay idle (an hour between reads and between checkpoints), so that
// the caller drives its ticks; fast is a power-only GPU, slow a counter.
func seriesTracker(tb testing.TB) *Tracker {
	start := time.Now()
	t, err := New(1, WithSources([]power.Source{
		powertest.Constant("gpu:0", power.KindGPU, power.MethodSampled, 300, start),
		powertest.Constant("cpu:0", power.KindCPU, power.MethodCounter, 50, start),
	}), WithVerbose(0), WithLogDir(tb.TempDir()), WithPowerSeries(true),
		WithInterval(time.Hour), WithCheckpointInterval(time.Hour), WithPowerInterval(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(t.Stop)
	return t
}

// seriesTicks drives one second of ticks: nine of the power-only GPU alone
// and one of both devices, which closes a point; then it takes the points
// into pts and vals, as the writer does.
func seriesTicks(t *Tracker, tk *sampler.Tick, pts []seriesPoint, vals []float64) ([]seriesPoint, []float64) {
	for i := range 10 {
		tk.Time = tk.Time.Add(100 * time.Millisecond)
		tk.Delta[0], tk.Read[0] = 30+power.Joules(i), true
		tk.Delta[1], tk.Read[1] = 0, false
		if i == 9 {
			tk.Delta[1], tk.Read[1] = 50, true
		}
		t.tick(tk)
	}
	t.mu.Lock()
	pts, vals = t.series.take(pts[:0], vals[:0])
	t.mu.Unlock()
	return pts, vals
}

func newSeriesTick(t *Tracker) *sampler.Tick {
	return &sampler.Tick{Time: t.start.Add(time.Hour), Delta: make([]power.Joules, 2), Read: make([]bool, 2),
		Lost: make([]bool, 2)}
}

// The power series adds no allocation to the sampler's tick: its points
// live in slices reused once the writer has taken them.
func TestPowerSeriesTickAllocs(t *testing.T) {
	tr := seriesTracker(t)
	tk := newSeriesTick(tr)
	var pts []seriesPoint
	var vals []float64
	for range 10 {
		pts, vals = seriesTicks(tr, tk, pts, vals)
	}
	if len(pts) != 1 || pts[0].to-pts[0].from != time.Second {
		t.Fatalf("points %+v, want one of 1 s a second", pts)
	}
	// AllocsPerRun counts every goroutine's allocations, the tracker's idle
	// ones included (a timer, the runtime): an allocation of the tick shows
	// in every try, such noise not in three in a row.
	allocs := -1.0
	for try := 0; try < 3 && allocs != 0; try++ {
		allocs = testing.AllocsPerRun(100, func() { pts, vals = seriesTicks(tr, tk, pts, vals) })
	}
	if allocs != 0 {
		t.Errorf("%v allocations per second of ticks, want 0", allocs)
	}
}

// BenchmarkTickPowerSeries is the tracker's part of a sampler tick (the
// sensors' reads aside) with the power series on: ten ticks a second, one of
// which closes a point.
func BenchmarkTickPowerSeries(b *testing.B) {
	tr := seriesTracker(b)
	tk := newSeriesTick(tr)
	var pts []seriesPoint
	var vals []float64
	b.ReportAllocs()
	for b.Loop() {
		pts, vals = seriesTicks(tr, tk, pts, vals)
	}
}

// A source lost (its read failing for good) no longer holds points open:
// a tick that read every other source closes the point, as one that read
// them all did. Without Lost, the power series of a run with a lost
// device would be one point from the loss to Stop.
func TestPowerSeriesLostSourceLetsPointsClose(t *testing.T) {
	tr := seriesTracker(t)
	tk := newSeriesTick(tr)
	tick := func(readCPU, lostCPU bool) {
		tk.Time = tk.Time.Add(time.Second)
		tk.Delta[0], tk.Read[0] = 300, true
		tk.Delta[1], tk.Read[1], tk.Lost[1] = 0, readCPU, lostCPU
		if readCPU {
			tk.Delta[1] = 50
		}
		tr.tick(tk)
	}
	take := func() []seriesPoint {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		pts, _ := tr.series.take(nil, nil)
		return pts
	}
	take()
	tick(false, false) // the CPU not read: the point stays open
	tick(false, false)
	assert.Empty(t, take(), "a point waits for every source")
	tick(true, false) // both read: it closes (and is kept back for a rest at Stop)
	tick(false, true) // the CPU lost: the GPU's read closes the next one
	tick(false, true)
	assert.Len(t, take(), 2, "points close again once the CPU is lost")
}

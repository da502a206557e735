package tracker_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// fakeClock is a settable clock for examples, which cannot use synctest.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock, then waits (in real time) for the sampler, which
// ticks every millisecond, to read the sources at the new time.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
}

// Two GPUs at 300 W and 100 W and a CPU at 50 W, counted by energy counters
// on a fake clock: each epoch lasts 10 minutes.
func fakeRig(c *fakeClock) []power.Source {
	var srcs []power.Source
	for _, s := range []struct {
		name string
		kind power.Kind
		w    power.Watts
	}{{"gpu:0", power.KindGPU, 300}, {"gpu:1", power.KindGPU, 100}, {"cpu:0", power.KindCPU, 50}} {
		src := powertest.Constant(s.name, s.kind, power.MethodCounter, s.w, c.Now())
		src.Clock = c.Now
		srcs = append(srcs, src)
	}
	return srcs
}

// trimSpace drops the space that ends carbontracker's "CarbonTracker: "
// line before a block, which an example's "// Output:" cannot show.
type trimSpace struct{ w io.Writer }

func (t trimSpace) Write(p []byte) (int, error) {
	_, err := t.w.Write(bytes.ReplaceAll(p, []byte(" \n"), []byte("\n")))
	return len(p), err
}

func Example() {
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	t, err := tracker.New(3,
		tracker.WithSources(fakeRig(clock)), tracker.WithClock(clock.Now), tracker.WithInterval(time.Millisecond),
		tracker.WithFixedIntensity(200), // gCO2e/kWh
		tracker.WithPrecision(4), tracker.WithConsole(trimSpace{os.Stdout}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Stop()
	for range 3 {
		t.EpochStart()
		clock.Advance(10 * time.Minute) // train
		t.EpochEnd()
		time.Sleep(10 * time.Millisecond) // let the writer print, for a stable output
	}
	t.Stop()
	r := t.Report()
	fmt.Printf("GPU %.3f kWh, CPU %.3f kWh, %.2f g CO2e\n", r.Run.ByKind.GPU.KWh(), r.Run.ByKind.CPU.KWh(), t.FinalEmissionsReported())
	// Output:
	// CarbonTracker: The following components were found: GPU with device(s) gpu:0, gpu:1. CPU with device(s) cpu:0.
	// CarbonTracker:
	// Predicted consumption for 3 epoch(s):
	// 	Time:	0:30:00
	// 	Energy:	0.3555 kWh
	// 	CO2eq:	71.1000 g
	// 	This is equivalent to:
	// 	0.6614 km travelled by car
	// 	0.0303 litres of petrol burned
	// CarbonTracker: Carbon intensity used: 200 gCO2e/kWh (fixed); PUE 1.58.
	// CarbonTracker:
	// Actual consumption for 3 epoch(s):
	// 	Time:	0:30:00
	// 	Energy:	0.3555 kWh
	// 	CO2eq:	71.1000 g
	// 	This is equivalent to:
	// 	0.6614 km travelled by car
	// 	0.0303 litres of petrol burned
	// CarbonTracker: Average carbon intensity during training was 200.00 gCO2/kWh.
	// CarbonTracker: Finished monitoring.
	// CarbonTracker:
	// Measured consumption of the whole run:
	// 	Time:	0:30:00
	// 	Energy:	0.3555 kWh
	// 	CO2eq:	71.1000 g
	// 	This is equivalent to:
	// 	0.6614 km travelled by car
	// 	0.0303 litres of petrol burned
	// CarbonTracker: Of the run: 3 completed epoch(s) 0.3555 kWh, 71.1000 g; outside epochs 0.0000 kWh, 0.0000 g (0:00:00.00 before, between and after epochs). Energy includes a PUE of 1.58; the mean intensity was 200.00 gCO2/kWh.
	// GPU 0.200 kWh, CPU 0.025 kWh, 71.10 g CO2e
}

func ExampleEquivalents() {
	for _, e := range tracker.Equivalents(1075) {
		fmt.Printf("%.2f %s (%s)\n", e.Value, e.Unit, e.Source)
	}
	// Output:
	// 10.00 km travelled by car (EEA 2020, new passenger cars in the EU, 107.5 gCO2e/km)
	// 0.46 litres of petrol burned (US EPA Greenhouse Gas Equivalencies, 8,887 gCO2/gallon)
}

// benchEpochs is the number of epochs of a benchmark's tracker, so that
// every iteration takes the real path (an epoch recorded, the projection
// remade, the budget checked, the writer woken), not the early return after
// the last epoch. Each epoch is kept for the Report, so a new tracker is
// made, with the timer stopped, every benchEpochs iterations.
const benchEpochs = 1 << 16

func benchEpochStartEnd(b *testing.B, opts ...tracker.Option) {
	opts = append([]tracker.Option{tracker.WithSources([]power.Source{gpu("gpu:0", 300), cpu("cpu:0", 50)}),
		tracker.WithVerbose(0), tracker.WithInterval(10 * time.Millisecond), tracker.WithBudgetGrams(1e12)}, opts...)
	start := func() *tracker.Tracker {
		t, err := tracker.New(benchEpochs, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	t, n := start(), 0
	b.ReportAllocs()
	for b.Loop() {
		if n == benchEpochs {
			b.StopTimer()
			t.Stop()
			t, n = start(), 0
			b.StartTimer()
		}
		t.EpochStart()
		t.EpochEnd()
		n++
	}
	b.StopTimer()
	t.Stop()
	if r := t.Report(); r.Completed != n || r.Projection == nil || r.Projection.Known != n {
		b.Fatalf("%d epochs completed, projection %+v; want %d", r.Completed, r.Projection, n)
	}
}

// BenchmarkEpochStartEnd measures an epoch's EpochStart and EpochEnd, the
// projection remade and the budget checked.
func BenchmarkEpochStartEnd(b *testing.B) { benchEpochStartEnd(b) }

// BenchmarkEpochStartEndLogged is BenchmarkEpochStartEnd with the logs
// written; the allocations counted include the writer goroutine's, which
// formats each epoch.
func BenchmarkEpochStartEndLogged(b *testing.B) {
	benchEpochStartEnd(b, tracker.WithLogDir(b.TempDir()))
}

// EpochStart and EpochEnd allocate nothing in steady state, projection and
// budget check included (the epochs' storage grows by doubling: amortised,
// less than one allocation per epoch).
func TestEpochStartEndAllocs(t *testing.T) {
	tr, err := tracker.New(1<<20, tracker.WithSources([]power.Source{gpu("gpu:0", 300), cpu("cpu:0", 50)}),
		tracker.WithVerbose(0), tracker.WithInterval(10*time.Millisecond), tracker.WithBudgetKWh(1e9))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	for range 1000 {
		tr.EpochStart()
		tr.EpochEnd()
	}
	allocs := testing.AllocsPerRun(2000, func() {
		tr.EpochStart()
		tr.EpochEnd()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per epoch, want 0", allocs)
	}
	if p, ok := tr.Projection(); !ok || p.Known != 3001 || !p.Trend {
		t.Errorf("projection %+v, want one remade at every epoch", p)
	}
}

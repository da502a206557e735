package tracker_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
)

func TestMain(m *testing.M) {
	// No test asks a cloud metadata service or depends on this machine's
	// time zone: without a zone, trackers use the world average.
	os.Setenv(factor.CloudMetadataEnv, "off")
	os.Setenv("TZ", "UTC")
	os.Unsetenv(factor.ZoneEnv)
	// A calibration of this machine's CPU changes no expected figure.
	os.Setenv(power.EnvCPUCalibration, power.CPUCalibrationOff)
	goleak.VerifyTestMain(m)
}

func gpu(name string, w power.Watts) *powertest.Source {
	return powertest.Constant(name, power.KindGPU, power.MethodCounter, w, time.Now())
}

func cpu(name string, w power.Watts) *powertest.Source {
	return powertest.Constant(name, power.KindCPU, power.MethodSampled, w, time.Now())
}

// quiet are options for tests: no console, PUE 1, a fixed factor.
func quiet(src []power.Source, extra ...tracker.Option) []tracker.Option {
	return append([]tracker.Option{tracker.WithSources(src), tracker.WithVerbose(0), tracker.WithPUE(1),
		tracker.WithFixedIntensity(100)}, extra...)
}

func runEpochs(tr *tracker.Tracker, n int, d time.Duration) {
	for range n {
		tr.EpochStart()
		time.Sleep(d)
		tr.EpochEnd()
	}
}

func TestSumsDevices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 300), gpu("gpu:1", 100), cpu("cpu:0", 50)})...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Hour)
		tr.Stop()
		r := tr.Report()
		require.Len(t, r.EpochRecords, 1)
		assert.InDelta(t, 0.45, r.InEpochs.DeviceEnergy.KWh(), 1e-6)
		assert.InDelta(t, 0.4, r.InEpochs.ByKind.GPU.KWh(), 1e-6, "GPUs are summed, not averaged")
		assert.InDelta(t, 0.05, r.InEpochs.ByKind.CPU.KWh(), 1e-6)
		assert.InDelta(t, 45, r.InEpochs.Grams, 1e-3)
		assert.InDelta(t, 45, tr.FinalEmissionsReported(), 1e-3)
		assert.InDelta(t, 0.3, r.EpochRecords[0].Devices[0].KWh(), 1e-6)
		assert.Equal(t, time.Hour, r.InEpochs.Duration)
		assert.False(t, r.Interrupted)
		assert.Equal(t, 1, r.Completed)
	})
}

func TestPUE(t *testing.T) {
	for _, tc := range []struct {
		pue   float64
		grams float64
	}{{1, 100}, {1.58, 158}, {2, 200}} {
		synctest.Test(t, func(t *testing.T) {
			tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 1000)}, tracker.WithPUE(tc.pue))...)
			require.NoError(t, err)
			runEpochs(tr, 1, time.Hour)
			tr.Stop()
			r := tr.Report()
			assert.InDelta(t, tc.grams, r.InEpochs.Grams, 1e-3)
			assert.InDelta(t, 1, r.InEpochs.DeviceEnergy.KWh(), 1e-6, "device energy is before PUE")
			assert.InDelta(t, tc.pue, r.InEpochs.FacilityEnergy.KWh(), 1e-6)
		})
	}
	_, err := tracker.New(1, tracker.WithSources([]power.Source{gpu("g", 1)}), tracker.WithPUE(0.5))
	require.Error(t, err)
}

func TestDefaultPUE(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, tracker.WithSources([]power.Source{gpu("gpu:0", 1000)}), tracker.WithVerbose(0),
			tracker.WithFixedIntensity(100))
		require.NoError(t, err)
		runEpochs(tr, 1, time.Hour)
		tr.Stop()
		assert.InDelta(t, 158, tr.FinalEmissionsReported(), 1e-3)
	})
}

func TestProjectionSteadyWithin2Percent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		src := []power.Source{gpu("gpu:0", 250), cpu("cpu:0", 65)}
		tr, err := tracker.New(10, tracker.WithSources(src), tracker.WithFixedIntensity(300), tracker.WithConsole(&out),
			tracker.WithPrecision(6))
		require.NoError(t, err)
		runEpochs(tr, 1, 37*time.Second)
		p, ok := tr.Projection()
		require.True(t, ok)
		runEpochs(tr, 9, 37*time.Second)
		tr.Stop()
		r := tr.Report()
		assert.InEpsilon(t, r.InEpochs.Grams, p.Grams, 0.02)
		assert.InEpsilon(t, r.InEpochs.FacilityEnergy.KWh(), p.FacilityEnergy.KWh(), 0.02)
		assert.Equal(t, 370*time.Second, p.Duration)
		assert.Contains(t, out.String(), "CarbonTracker: \nPredicted consumption for 10 epoch(s):\n\tTime:\t0:06:10\n\tEnergy:\t")
		assert.Contains(t, out.String(), "CarbonTracker: \nActual consumption for 10 epoch(s):\n\tTime:\t0:06:10\n")
		assert.Contains(t, out.String(), " km travelled by car\n")
	})
}

func TestProjectionTrend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// An epoch longer each time: the trend sees it, the mean does not.
		tr, err := tracker.New(6, quiet([]power.Source{gpu("gpu:0", 3600)}, tracker.WithEpochsBeforePred(3))...)
		require.NoError(t, err)
		for e := 1; e <= 3; e++ {
			runEpochs(tr, 1, time.Duration(e)*time.Minute)
		}
		p, ok := tr.Projection()
		require.True(t, ok)
		tr.Stop()
		// Epochs draw 6, 12, 18 g (3.6 kW × 1, 2, 3 min × 100 g/kWh).
		assert.Equal(t, 3, p.Known)
		assert.InDelta(t, 72, p.Grams, 0.01) // mean 12 × 6
		assert.True(t, p.Trend)
		assert.InDelta(t, 126, p.TrendGrams, 0.01) // 6+12+18+24+30+36
		assert.Less(t, p.GramsLow, p.Grams)
		assert.Greater(t, p.GramsHigh, p.Grams)
	})
}

// stepProvider answers lo before the switch time and hi from it.
type stepProvider struct {
	at     time.Time
	lo, hi factor.GramsPerKWh
}

func (s stepProvider) Intensity(_ context.Context, at time.Time) (factor.Intensity, error) {
	v := s.lo
	if !at.Before(s.at) {
		v = s.hi
	}
	return factor.Intensity{Value: v, At: at, Provider: "step"}, nil
}

func TestTimeResolvedIntensity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := stepProvider{at: time.Now().Add(30 * time.Minute), lo: 100, hi: 500}
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 1000)}, tracker.WithFactor(p),
			tracker.WithIntensityRefresh(15*time.Minute))...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Hour)
		tr.Stop()
		r := tr.Report()
		// 0.5 kWh at 100 + 0.5 kWh at 500, not 1 kWh at either.
		assert.InDelta(t, 300, r.InEpochs.Grams, 0.5)
		assert.InDelta(t, 300, float64(r.EpochRecords[0].Intensity), 0.5)
		assert.Equal(t, factor.GramsPerKWh(500), r.Intensity.Value)
		assert.GreaterOrEqual(t, r.Intensities, 4)
	})
}

type failingProvider struct{}

func (failingProvider) Intensity(context.Context, time.Time) (factor.Intensity, error) {
	return factor.Intensity{}, errors.New("down")
}

func TestFactorFailureFallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 1000)}, tracker.WithFactor(failingProvider{}))...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Hour)
		tr.Stop()
		r := tr.Report()
		assert.Equal(t, factor.WorldAverage, r.Intensity.Value)
		assert.NotEmpty(t, r.Intensity.Fallback)
		assert.InDelta(t, float64(factor.WorldAverage), r.InEpochs.Grams, 0.01)
		assert.Positive(t, r.IntensityErrors)
	})
}

func TestBudget(t *testing.T) {
	// 3.6 kW for 1 min at 100 g/kWh, PUE 1: 6 g and 0.06 kWh an epoch; 10 epochs.
	for _, tc := range []struct {
		name      string
		opts      []tracker.Option
		epochs    int
		fired     bool
		projected bool
	}{
		{"projection passes grams", []tracker.Option{tracker.WithBudgetGrams(50)}, 1, true, true},
		{"projection within grams", []tracker.Option{tracker.WithBudgetGrams(61)}, 10, false, false},
		{"projection passes kWh", []tracker.Option{tracker.WithBudgetKWh(0.5)}, 1, true, true},
		{"actual passes grams", []tracker.Option{tracker.WithBudgetGrams(15), tracker.WithEpochsBeforePred(0)}, 3, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var events []tracker.BudgetEvent
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				opts := append(tc.opts, tracker.WithBudgetFunc(func(e tracker.BudgetEvent) { events = append(events, e) }),
					tracker.WithCancel(cancel))
				tr, err := tracker.New(10, quiet([]power.Source{gpu("gpu:0", 3600)}, opts...)...)
				require.NoError(t, err)
				runEpochs(tr, tc.epochs, time.Minute)
				synctest.Wait()
				tr.Stop()
				assert.Equal(t, tc.fired, tr.Report().BudgetExceeded)
				if !tc.fired {
					assert.Empty(t, events)
					assert.NoError(t, context.Cause(ctx))
					return
				}
				require.Len(t, events, 1, "fires once")
				assert.Equal(t, tc.projected, events[0].Projected)
				assert.ErrorIs(t, context.Cause(ctx), tracker.ErrBudgetExceeded)
			})
		})
	}
}

func TestMisuse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		calls  func(tr *tracker.Tracker)
		misuse int
		epochs int
	}{
		{"end without start", func(tr *tracker.Tracker) { tr.EpochEnd() }, 1, 0},
		{"double start", func(tr *tracker.Tracker) { tr.EpochStart(); tr.EpochStart(); tr.EpochEnd() }, 1, 1},
		{"double end", func(tr *tracker.Tracker) { tr.EpochStart(); tr.EpochEnd(); tr.EpochEnd() }, 1, 1},
		{"after stop", func(tr *tracker.Tracker) { tr.Stop(); tr.EpochStart(); tr.EpochEnd(); tr.Stop() }, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr, err := tracker.New(5, quiet([]power.Source{gpu("gpu:0", 100)})...)
				require.NoError(t, err)
				require.NotPanics(t, func() { tc.calls(tr) })
				tr.Stop()
				r := tr.Report()
				assert.Equal(t, tc.misuse, r.Misuse)
				assert.Len(t, r.EpochRecords, tc.epochs)
			})
		})
	}
}

func TestStopMidEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(5, quiet([]power.Source{gpu("gpu:0", 3600)})...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Minute)
		tr.EpochStart()
		time.Sleep(30 * time.Second)
		tr.Stop()
		tr.Stop() // idempotent
		r := tr.Report()
		require.Len(t, r.EpochRecords, 2)
		assert.True(t, r.EpochRecords[1].Interrupted)
		assert.True(t, r.Interrupted)
		assert.Equal(t, 1, r.Completed)
		assert.InDelta(t, 0.03, r.EpochRecords[1].DeviceEnergy.KWh(), 1e-6)
		assert.InDelta(t, 9, r.InEpochs.Grams, 1e-3)
		assert.InDelta(t, 9, tr.FinalEmissionsReported(), 1e-3, "readable after Stop")
	})
}

func TestMonitorEpochs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		tr, err := tracker.New(10, tracker.WithSources([]power.Source{gpu("gpu:0", 3600)}), tracker.WithConsole(&out),
			tracker.WithMonitorEpochs(2), tracker.WithPrecision(2))
		require.NoError(t, err)
		runEpochs(tr, 4, time.Minute)
		tr.Stop()
		r := tr.Report()
		assert.Len(t, r.EpochRecords, 2)
		assert.Zero(t, r.Misuse)
		assert.False(t, r.Interrupted)
		assert.Equal(t, 1, strings.Count(out.String(), "Actual consumption for 2 epoch(s):"))
	})
	_, err := tracker.New(10, tracker.WithSources([]power.Source{gpu("g", 1)}), tracker.WithMonitorEpochs(2),
		tracker.WithEpochsBeforePred(3))
	require.Error(t, err)
}

func TestFailingSensorDoesNotStopTraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := gpu("gpu:1", 100)
		bad.SetErr(errors.New("sensor gone"))
		// Ten failed reads in a row mark a source lost: read every second.
		tr, err := tracker.New(2, quiet([]power.Source{gpu("gpu:0", 3600), bad}, tracker.WithInterval(time.Second))...)
		require.NoError(t, err)
		runEpochs(tr, 2, time.Minute)
		tr.Stop()
		r := tr.Report()
		assert.Equal(t, 2, r.Completed)
		assert.InDelta(t, 0.12, r.InEpochs.DeviceEnergy.KWh(), 1e-6)
		assert.True(t, r.Sources[1].Lost)
		assert.Contains(t, r.Sources[1].Err, "sensor gone")
	})
}

func TestStopAndConfirm(t *testing.T) {
	for _, tc := range []struct {
		in      string
		stopped bool
	}{{"y\n", false}, {"maybe\nn\n", true}, {"", true}} {
		synctest.Test(t, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			tr, err := tracker.New(3, tracker.WithSources([]power.Source{gpu("gpu:0", 100)}), tracker.WithConsole(&out),
				tracker.WithStopAndConfirm(strings.NewReader(tc.in)), tracker.WithCancel(cancel))
			require.NoError(t, err)
			runEpochs(tr, 1, time.Minute)
			tr.Stop()
			s := out.String()
			assert.Less(t, strings.Index(s, "Predicted consumption"), strings.Index(s, "Continue training (y/n)?"))
			assert.Equal(t, tc.stopped, tr.Report().StoppedByUser)
			if tc.stopped {
				assert.ErrorIs(t, context.Cause(ctx), tracker.ErrStoppedByUser)
				assert.Contains(t, s, "Quitting...")
			} else {
				assert.Contains(t, s, "Continuing...")
			}
		})
	}
}

func TestConcurrentEpochs(t *testing.T) {
	tr, err := tracker.New(400, quiet([]power.Source{gpu("gpu:0", 100), cpu("cpu:0", 10)},
		tracker.WithInterval(time.Millisecond), tracker.WithLogDir(t.TempDir()))...)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				tr.EpochStart()
				tr.EpochEnd()
				_ = tr.FinalEmissionsReported()
			}
		})
	}
	wg.Wait()
	tr.Stop()
	r := tr.Report()
	assert.Zero(t, r.Dropped)
	require.NotEmpty(t, r.EpochRecords)
	assert.LessOrEqual(t, len(r.EpochRecords), 400)
	assert.Equal(t, len(r.EpochRecords), r.Completed, "nothing was open at Stop")
	for i, e := range r.EpochRecords {
		require.Equal(t, i+1, e.N, "epochs numbered 1..n without gaps")
		require.Positive(t, e.Duration, "epoch %d: an EpochEnd racing an EpochStart must not end before it started", e.N)
		require.Equal(t, e.End.Sub(e.Start), e.Duration)
		if i > 0 {
			require.False(t, e.Start.Before(r.EpochRecords[i-1].End), "epoch %d starts before %d ended", e.N, e.N-1)
		}
	}
}

func TestNoSources(t *testing.T) {
	_, err := tracker.New(1, tracker.WithSources([]power.Source{gpu("gpu:0", 1)}), tracker.WithComponents(power.KindCPU))
	require.Error(t, err)
	_, err = tracker.New(0)
	require.Error(t, err)
}

var logName = regexp.MustCompile(`^(run_)?\d+\.\d+_\d{4}-\d{2}-\d{2}T\d{6}Z_carbontracker(_output)?\.log$`)

func TestLogsRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		src := []power.Source{gpu("gpu:0", 300), gpu("gpu:1", 100), cpu("cpu:0", 65.5),
			powertest.Constant("dram:0", power.KindDRAM, power.MethodEstimated, 6, time.Now())}
		tr, err := tracker.New(5, tracker.WithSources(src), tracker.WithVerbose(0), tracker.WithFixedIntensity(200),
			tracker.WithLogDir(dir), tracker.WithLogPrefix("run"), tracker.WithPrecision(6))
		require.NoError(t, err)
		runEpochs(tr, 3, 90*time.Second)
		tr.EpochStart()
		time.Sleep(10 * time.Second)
		tr.Stop()
		rep := tr.Report()
		require.Len(t, rep.Files, 4)

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var std, out, jsonl string
		for _, e := range entries {
			n := e.Name()
			switch {
			case strings.HasSuffix(n, "_carbontracker.log"):
				std = filepath.Join(dir, n)
				assert.Regexp(t, logName, n)
			case strings.HasSuffix(n, "_carbontracker_output.log"):
				out = filepath.Join(dir, n)
				assert.Regexp(t, logName, n)
			case strings.HasSuffix(n, ".jsonl"):
				jsonl = filepath.Join(dir, n)
			}
		}
		require.NotEmpty(t, std)
		require.NotEmpty(t, out)
		stdF, err := os.Open(std)
		require.NoError(t, err)
		defer stdF.Close()
		outF, err := os.Open(out)
		require.NoError(t, err)
		defer outF.Close()
		l, err := records.ParseLog(stdF, outF)
		require.NoError(t, err)

		assert.Equal(t, []string{"gpu:0", "gpu:1"}, l.Components["gpu"].Devices)
		assert.Equal(t, []string{"cpu:0"}, l.Components["cpu"].Devices)
		assert.Equal(t, []float64{90, 90, 90}, l.EpochDurations)
		assert.InDeltaSlice(t, []float64{400, 400, 400}, l.Components["gpu"].AvgPower, 1e-3)
		assert.InDeltaSlice(t, []float64{65.5, 65.5, 65.5}, l.Components["cpu"].AvgPower, 1e-3)
		assert.InDeltaSlice(t, []float64{6, 6, 6}, l.Components["dram"].AvgPower, 1e-3)
		assert.True(t, l.EarlyStop)
		require.NotNil(t, l.Predicted)
		require.NotNil(t, l.Actual)
		assert.Equal(t, 5, l.Predicted.Epochs)
		assert.Equal(t, 3, l.Actual.Epochs)
		assert.Equal(t, 450*time.Second, l.Predicted.Duration)
		// The actual consumption is the 3 completed epochs', as carbontracker's.
		var kwh, grams float64
		for _, e := range rep.EpochRecords[:3] {
			kwh += e.DeviceEnergy.KWh() * rep.PUE
			grams += e.Grams
		}
		assert.Equal(t, 270*time.Second, l.Actual.Duration)
		assert.InDelta(t, kwh, l.Actual.KWh, 1e-6)
		assert.InDelta(t, grams, l.Actual.Grams, 1e-6)
		assert.InDelta(t, grams/tracker.GramsPerKmCar, l.Actual.Equivalents["km travelled by car"], 1e-6)
		assert.Contains(t, l.Predicted.Equivalents, "km travelled by car")
		require.NotNil(t, l.Run, "the whole run's block")
		assert.Equal(t, rep.Run.Duration.Truncate(time.Second), l.Run.Duration)
		assert.InDelta(t, rep.Run.FacilityEnergy.KWh(), l.Run.KWh, 1e-6) // the precision the log was written with
		assert.InDelta(t, rep.Run.Grams, l.Run.Grams, 1e-6)
		assert.Greater(t, l.Run.KWh, l.Actual.KWh, "the run includes the interrupted epoch")

		data, err := os.ReadFile(std)
		require.NoError(t, err)
		s := string(data)
		assert.Regexp(t, `(?m)^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - The following components were found: GPU with device\(s\) gpu:0, gpu:1\. CPU with device\(s\) cpu:0\. DRAM with device\(s\) dram:0\.$`, s)
		assert.Regexp(t, `(?m) - Average power usage \(W\) for gpu: 400\.000000$`, s)
		assert.Contains(t, s, "Training was interrupted before all 5 epochs were monitored.")
		assert.NotContains(t, s, "e-0")

		js, err := os.ReadFile(jsonl)
		require.NoError(t, err)
		var lines []string
		ckpts := 0
		for _, l := range strings.Split(strings.TrimSpace(string(js)), "\n") {
			if strings.Contains(l, `"type":"checkpoint"`) {
				ckpts++
				continue
			}
			lines = append(lines, l)
		}
		assert.Len(t, lines, 8) // 3 epochs each with its projection, interrupted epoch, final
		assert.Equal(t, 28, ckpts, "the run so far every 10 s")
		assert.Contains(t, lines[0], `"device_energy_kwh"`)
		assert.NotContains(t, string(js), `"energy_kwh"`, "no energy without saying which")
		assert.Contains(t, lines[len(lines)-1], `"type":"final"`)

		csvData, err := os.ReadFile(filepath.Join(dir, "emissions.csv"))
		require.NoError(t, err)
		rows := strings.Split(strings.TrimSpace(string(csvData)), "\n")
		require.Len(t, rows, 2)
		assert.Equal(t, strings.Join(tracker.CSVHeader(), ","), rows[0])
		assert.Equal(t, len(tracker.CSVHeader()), len(strings.Split(rows[1], ",")))
		h := tracker.CSVHeader()
		h[0] = "changed"
		assert.Equal(t, "timestamp", tracker.CSVHeader()[0], "the header cannot be changed from outside")
	})
}

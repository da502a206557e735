package tracker_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// TestShortEpochsGetTheirOwnEnergy: epochs far shorter than the power
// interval used to get 0 J (the tracker's power was unknown until the
// second sample) and a projection of -100 %. Each boundary is now read
// when it happens.
func TestShortEpochsGetTheirOwnEnergy(t *testing.T) {
	for _, method := range []power.Method{power.MethodSampled, power.MethodCounter} {
		t.Run(string(method), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := powertest.Constant("gpu:0", power.KindGPU, method, 250, time.Now())
				const epochs = 20
				tr, err := tracker.New(epochs, quiet([]power.Source{src})...)
				require.NoError(t, err)
				runEpochs(tr, 1, 10*time.Millisecond)
				p, ok := tr.Projection()
				require.True(t, ok)
				assert.InEpsilon(t, 250*0.010*epochs, float64(p.FacilityEnergy), 0.02, "projection after epoch 1")
				runEpochs(tr, epochs-1, 10*time.Millisecond)
				tr.Stop()
				r := tr.Report()
				require.Len(t, r.EpochRecords, epochs)
				for _, e := range r.EpochRecords {
					assert.InEpsilon(t, 2.5, float64(e.DeviceEnergy), 0.01, "epoch %d: 250 W × 10 ms", e.N)
				}
			})
		})
	}
}

// TestEpochBeforeTheFirstTickIsExact: an epoch that starts before the
// sampler's first tick after New used to count the energy since New too
// (+0.6 to +1.5 % for a 60 s epoch at a 1 s interval); with counters, each
// boundary is read, so the epoch is exact wherever it starts.
func TestEpochBeforeTheFirstTickIsExact(t *testing.T) {
	for _, delay := range []time.Duration{370 * time.Millisecond, 610 * time.Millisecond, 880 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 300), gpu("gpu:1", 100)},
					tracker.WithInterval(time.Second))...)
				require.NoError(t, err)
				time.Sleep(delay)
				runEpochs(tr, 1, time.Minute)
				tr.Stop()
				r := tr.Report()
				require.Len(t, r.EpochRecords, 1)
				assert.InEpsilon(t, 400*60, float64(r.EpochRecords[0].DeviceEnergy), 0.0005)
			})
		})
	}
}

// squareCounter is an energy counter under a 400 W / 200 W square wave
// of period 2 s (400 W for the first second of each period).
func squareCounter(t0 time.Time) *powertest.Source {
	return &powertest.Source{
		Desc: power.Info{Name: "gpu:0", Kind: power.KindGPU, Method: power.MethodCounter},
		Energy: func(t time.Time) power.Joules {
			return power.Joules(squareIntegral(t.Sub(t0).Seconds()))
		},
	}
}

// squareIntegral is the exact energy of the square wave from 0 to x s.
func squareIntegral(x float64) float64 {
	n := math.Floor(x / 2)
	r := x - 2*n
	return n*600 + 400*math.Min(r, 1) + 200*math.Max(r-1, 0)
}

// TestBoundariesOnASquareWaveAreRead: a boundary used to be extrapolated at
// the previous interval's power (off by up to interval × power swing); it is
// now read, so each epoch on a changing load is exact at any interval.
func TestBoundariesOnASquareWaveAreRead(t *testing.T) {
	for _, iv := range []time.Duration{100 * time.Millisecond, time.Second, 10 * time.Second} {
		t.Run(iv.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				tr, err := tracker.New(5, quiet([]power.Source{squareCounter(t0)}, tracker.WithInterval(iv))...)
				require.NoError(t, err)
				lens := []time.Duration{1300 * time.Millisecond, 2700 * time.Millisecond, 450 * time.Millisecond,
					7100 * time.Millisecond, 3333 * time.Millisecond}
				time.Sleep(250 * time.Millisecond)
				for _, d := range lens {
					tr.EpochStart()
					time.Sleep(d)
					tr.EpochEnd()
					time.Sleep(170 * time.Millisecond)
				}
				tr.Stop()
				r := tr.Report()
				require.Len(t, r.EpochRecords, len(lens))
				for _, e := range r.EpochRecords {
					a, b := e.Start.Sub(t0).Seconds(), e.End.Sub(t0).Seconds()
					truth := squareIntegral(b) - squareIntegral(a)
					assert.InEpsilon(t, truth, float64(e.DeviceEnergy), 0.0005, "epoch %d [%.3f, %.3f] s", e.N, a, b)
				}
			})
		})
	}
}

// TestSampledSquareWaveEpochsWithinOnePercent: a power-only source (no
// counter) on a 1 Hz square wave, read at the default 100 ms: each epoch
// within 1 % of the exact integral, with boundaries at arbitrary phases.
func TestSampledSquareWaveEpochsWithinOnePercent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		load := func(tm time.Time) power.Watts {
			if math.Mod(tm.Sub(t0).Seconds(), 1) < 0.5 {
				return 300
			}
			return 100
		}
		src := &powertest.Source{Desc: power.Info{Name: "gpu:0", Kind: power.KindGPU, Method: power.MethodSampled}, Power: load}
		tr, err := tracker.New(4, quiet([]power.Source{src})...)
		require.NoError(t, err)
		lens := []time.Duration{7300 * time.Millisecond, 30200 * time.Millisecond, 12345 * time.Millisecond, 20 * time.Second}
		time.Sleep(130 * time.Millisecond)
		for _, d := range lens {
			tr.EpochStart()
			time.Sleep(d)
			tr.EpochEnd()
			time.Sleep(37 * time.Millisecond)
		}
		tr.Stop()
		r := tr.Report()
		require.Len(t, r.EpochRecords, len(lens))
		exact := func(x float64) float64 { // integral of load from 0 to x s
			n := math.Floor(x)
			f := x - n
			return n*200 + 300*math.Min(f, 0.5) + 100*math.Max(f-0.5, 0)
		}
		for _, e := range r.EpochRecords {
			a, b := e.Start.Sub(t0).Seconds(), e.End.Sub(t0).Seconds()
			assert.InEpsilon(t, exact(b)-exact(a), float64(e.DeviceEnergy), 0.01, "epoch %d", e.N)
		}
	})
}

// TestOptionsChecked: a kind named twice counts once; an empty source list
// and a non-positive stop timeout are errors that say what to do.
func TestOptionsChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 100), cpu("cpu:0", 50)},
			tracker.WithComponents(power.KindGPU, power.KindGPU))...)
		require.NoError(t, err)
		require.Len(t, tr.Sources(), 1, "GPUs only, once")
		runEpochs(tr, 1, 10*time.Second)
		tr.Stop()
		assert.InDelta(t, 1000, float64(tr.Report().EpochRecords[0].DeviceEnergy), 1e-6, "100 W × 10 s, not twice")
	})

	_, err := tracker.New(1, tracker.WithSources([]power.Source{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no source")
	assert.Contains(t, err.Error(), "leave WithSources out")

	for _, d := range []time.Duration{0, -time.Second} {
		_, err = tracker.New(1, quiet([]power.Source{gpu("gpu:0", 100)}, tracker.WithStopTimeout(d))...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "stop timeout must be positive")
	}
	_, err = tracker.New(1, quiet([]power.Source{gpu("gpu:0", 100)}, tracker.WithPowerInterval(0))...)
	assert.ErrorContains(t, err, "power interval")
}

// TestIntervalNeverRefused: a RAPL-like counter with a short range used to
// make New refuse the interval, so that `run` never started its command.
func TestIntervalNeverRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := powertest.Constant("cpu:package-0", power.KindCPU, power.MethodCounter, 100, time.Now())
		src.Desc.Wraps, src.Desc.WrapEnergy, src.Desc.MaxPower = true, 16384, 1500 // ~11 s at 1500 W
		tr, err := tracker.New(1, quiet([]power.Source{src}, tracker.WithInterval(time.Minute))...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Minute)
		tr.Stop()
		assert.InDelta(t, 6000, float64(tr.Report().EpochRecords[0].DeviceEnergy), 1e-6)
	})
}

// TestFailedRunIsCounted: a run that ends before any epoch completes (a
// crash, a failed command) used to report 0 g; the whole run is the
// headline, and the epoch it was in is shown as interrupted.
func TestFailedRunIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(10, quiet([]power.Source{gpu("gpu:0", 360)}, tracker.WithLogDir(dir))...)
		require.NoError(t, err)
		time.Sleep(2 * time.Second) // loading data
		tr.EpochStart()
		time.Sleep(8 * time.Second) // then the crash
		tr.Stop()
		r := tr.Report()
		assert.Zero(t, r.Completed)
		assert.InDelta(t, 3600, float64(r.Run.DeviceEnergy), 1e-6, "360 W × 10 s")
		assert.InDelta(t, 0.1, r.Run.Grams, 1e-9, "1 Wh × 100 g/kWh")
		assert.InDelta(t, r.Run.Grams, tr.FinalEmissionsReported(), 1e-12)
		assert.InDelta(t, 2880, float64(r.InEpochs.DeviceEnergy), 1e-6, "the interrupted epoch")
		assert.Zero(t, r.Actual.DeviceEnergy)
		assert.InDelta(t, 720, float64(r.OutsideEpochs.DeviceEnergy), 1e-6, "before the epoch")
		assert.Equal(t, 2*time.Second, r.OutsideEpochs.Duration)

		out, err := filepath.Glob(filepath.Join(dir, "*_carbontracker_output.log"))
		require.NoError(t, err)
		require.Len(t, out, 1)
		data, err := os.ReadFile(out[0])
		require.NoError(t, err)
		s := string(data)
		assert.Contains(t, s, "Actual consumption for 0 epoch(s)")
		assert.Contains(t, s, "Measured consumption of the whole run:")
		assert.Contains(t, s, "CO2eq:\t0.100000000000 g")
		assert.Contains(t, s, "the interrupted epoch 0.000800000000 kWh")
		// No energy in completed epochs: the intensity used, not 0.00.
		assert.Contains(t, s, "Average carbon intensity during training was 100.00 gCO2/kWh.")
	})
}

// TestCheckpointsEveryIntervalWhateverTheEpochs: epoch boundaries every
// 9.9 s used to push the reads, and so the checkpoints, 19.8 s apart.
func TestCheckpointsEveryIntervalWhateverTheEpochs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := tracker.New(100, quiet([]power.Source{gpu("gpu:0", 100)}, tracker.WithLogDir(dir))...)
		require.NoError(t, err)
		t0 := time.Now()
		for range 10 {
			tr.EpochStart()
			time.Sleep(9900 * time.Millisecond)
			tr.EpochEnd()
			time.Sleep(9900 * time.Millisecond)
		}
		synctest.Wait()
		tr.Stop()
		_, _, jsonl := logFiles(t, dir)
		ckpts := jsonRecords(t, jsonl, "checkpoint")
		require.NotEmpty(t, ckpts)
		prev, maxGap := t0, time.Duration(0)
		for _, c := range ckpts {
			at, err := time.Parse(time.RFC3339Nano, c["at"].(string))
			require.NoError(t, err)
			maxGap, prev = max(maxGap, at.Sub(prev)), at
		}
		assert.LessOrEqual(t, maxGap, tracker.DefaultCheckpointInterval)
	})
}

package tracker_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srcs := []power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start),
			powertest.Constant("gpu:1", power.KindGPU, power.MethodCounter, 100, start),
		}
		tr, err := tracker.New(3, tracker.WithSources(srcs), tracker.WithFixedIntensity(500), tracker.WithPUE(1),
			tracker.WithConsole(nil), tracker.WithInterval(time.Second))
		require.NoError(t, err)
		defer tr.Stop()
		tr.EpochStart()
		time.Sleep(10*time.Second + 500*time.Millisecond)
		st := tr.Status()
		assert.Equal(t, 1, st.Started)
		assert.True(t, st.EpochOpen)
		assert.Zero(t, st.Completed)
		require.Len(t, st.Sources, 2)
		assert.InDelta(t, 3000, float64(st.Sources[0].DeviceEnergy), 1)
		assert.InDelta(t, 300, float64(st.Sources[0].Power), 1e-6)
		assert.InDelta(t, 4000, float64(st.DeviceEnergy), 1)
		assert.InDelta(t, 400, float64(st.Power), 1e-6)
		assert.InDelta(t, power.Joules(4000).KWh()*500, st.Grams, 1e-3)
		tr.EpochEnd()
		synctest.Wait() // the sampler reads the boundary; the projection follows
		st2 := st
		allocs := testing.AllocsPerRun(100, func() { tr.StatusInto(&st2) })
		assert.Zero(t, allocs)
		assert.Equal(t, 1, st2.Completed)
		assert.True(t, st2.HasProjection)
	})
}

// The status splits the power by kind, for status lines and scrapes.
func TestStatusPowerByKind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(1, quiet([]power.Source{gpu("gpu:0", 300), gpu("gpu:1", 100), cpu("cpu:0", 50)})...)
		require.NoError(t, err)
		runEpochs(tr, 1, time.Minute)
		synctest.Wait()
		st := tr.Status()
		tr.Stop()
		assert.InDelta(t, 400, float64(st.PowerByKind.GPU), 1e-6)
		assert.InDelta(t, 50, float64(st.PowerByKind.CPU), 1e-6)
		assert.Zero(t, st.PowerByKind.DRAM)
		assert.Equal(t, tracker.KindSet{GPU: true, CPU: true}, st.Kinds)
		assert.InDelta(t, float64(st.Power), float64(st.PowerByKind.GPU+st.PowerByKind.CPU), 1e-9)
	})
}

package tracker_test

import (
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
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// What a report needs to describe a run is in the JSON lines, and runlog
// reads it back: the label, the scope, the devices and their methods, where
// the intensity came from, the projection's interval and the work.
func TestLogDescribesTheRun(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		tr, err := tracker.New(4, tracker.WithSources([]power.Source{cpu("cpu:0", 50)}), tracker.WithVerbose(0), tracker.WithLogDir(dir),
			tracker.WithRunLabel("python train.py --lr 3e-4"), tracker.WithZone("FR"), tracker.WithWorkUnit("tokens"))
		require.NoError(t, err)
		for i := 0; i < 2; i++ {
			tr.EpochStart()
			time.Sleep(time.Duration(10+i) * time.Second)
			tr.EpochEndWork(1e6)
		}
		tr.Stop()
		rep := tr.Report()
		assert.Equal(t, "python train.py --lr 3e-4", rep.Label)
		assert.Equal(t, tracker.ScopeMachine, rep.Scope)
	})
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, "python train.py --lr 3e-4", r.Label)
	assert.Equal(t, "machine", r.Scope)
	require.Len(t, r.Devices, 1)
	assert.Equal(t, runlog.Device{Name: "cpu:0", Kind: "cpu", Model: r.Devices[0].Model, Method: r.Devices[0].Method}, r.Devices[0])
	assert.NotEmpty(t, r.Devices[0].Method)
	assert.Equal(t, "FR", r.Zone)
	assert.Equal(t, "static", r.IntensityProvider)
	assert.NotEmpty(t, r.IntensitySource)
	assert.Positive(t, r.IntensityYear)
	assert.Positive(t, r.Intensity)
	require.NotNil(t, r.Projection)
	assert.LessOrEqual(t, r.ProjectionLowG, r.Projection.Grams)
	assert.GreaterOrEqual(t, r.ProjectionHighG, r.Projection.Grams)
	assert.Greater(t, r.ProjectionHighG, r.ProjectionLowG, "two epochs of different lengths give a spread")
	assert.Equal(t, 2e6, r.Work)
	assert.Equal(t, "tokens", r.WorkUnit)
}

// A run killed before its final record is described by its last
// checkpoint: what it is (label, scope, zone, intensity and its source,
// PUE, the epochs announced) and its emissions interval, not only its
// totals. Before, its report said PUE 0 and every other thing "not
// recorded".
func TestCheckpointDescribesAKilledRun(t *testing.T) {
	dir, killed := t.TempDir(), t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		est := cpu("cpu:estimate", 50)
		est.Desc.Method, est.Desc.Uncertainty = power.MethodEstimated, 0.342
		tr, err := tracker.New(4, tracker.WithSources([]power.Source{est}), tracker.WithVerbose(0), tracker.WithLogDir(dir),
			tracker.WithRunLabel("python train.py"), tracker.WithZone("FR"), tracker.WithPUE(1.2))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(tracker.DefaultCheckpointInterval + time.Second)
		synctest.Wait()
		// What a kill -9 now would leave: the JSON lines so far.
		for _, f := range tr.Report().Files {
			if strings.HasSuffix(f, runlog.SuffixJSONLines) {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(killed, filepath.Base(f)), b, 0o644))
			}
		}
		tr.Stop()
	})
	runs, err := runlog.Read(killed)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.BasisCheckpoint, r.Basis)
	assert.Equal(t, "python train.py", r.Label)
	assert.Equal(t, "machine", r.Scope)
	assert.Equal(t, "FR", r.Zone)
	assert.Equal(t, "static", r.IntensityProvider)
	assert.NotEmpty(t, r.IntensitySource)
	assert.Positive(t, r.Intensity)
	assert.Equal(t, 1.2, r.PUE)
	assert.Equal(t, 4, r.Epochs, "the epochs announced")
	require.NotNil(t, r.Whole)
	assert.Less(t, r.EmissionsLowG, r.Whole.Grams)
	assert.Greater(t, r.EmissionsHighG, r.Whole.Grams)
	assert.Contains(t, r.EmissionsUncertainty, "±34 %")
}

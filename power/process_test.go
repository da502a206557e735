//go:build linux

package power_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

// TestCPUEstimateProcessShare runs against the real /proc: a busy child gets
// a share of the machine's estimated CPU power, an idle one nearly none.
func TestCPUEstimateProcessShare(t *testing.T) {
	share := func(t *testing.T, args ...string) (tree, machine power.Watts) {
		cmd := exec.Command(args[0], args[1:]...)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		dt, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()), power.WithProcess(cmd.Process.Pid))
		require.NoError(t, err)
		dm, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()))
		require.NoError(t, err)
		require.Len(t, dt.Sources, 1)
		require.Contains(t, dt.Sources[0].Info().Detail, "share of process tree")
		var rt, rm power.Reading
		require.NoError(t, dt.Sources[0].Read(t.Context(), &rt))
		require.NoError(t, dm.Sources[0].Read(t.Context(), &rm))
		time.Sleep(700 * time.Millisecond)
		require.NoError(t, dt.Sources[0].Read(t.Context(), &rt))
		require.NoError(t, dm.Sources[0].Read(t.Context(), &rm))
		return rt.Power, rm.Power
	}
	t.Run("busy child", func(t *testing.T) {
		tree, machine := share(t, "sh", "-c", "while :; do :; done")
		assert.Positive(t, float64(tree))
		assert.LessOrEqual(t, float64(tree), float64(machine)*1.05+0.01)
	})
	t.Run("idle child", func(t *testing.T) {
		tree, machine := share(t, "sleep", "30")
		assert.Less(t, float64(tree), 0.05*float64(machine)+0.01)
	})
}

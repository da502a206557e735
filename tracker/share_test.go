package tracker_test

import (
	"bytes"
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
)

// node returns a machine's sources as one tracker sees them: 4 GPUs of
// 100, 200, 300 and 400 W and a 50 W CPU.
func node() []power.Source {
	return []power.Source{gpu("gpu:0", 100), gpu("gpu:1", 200), gpu("gpu:2", 300), gpu("gpu:3", 400), cpu("cpu:0", 50)}
}

// Four ranks on one machine, each with a tracker that sees every device:
// together they count the machine once, each rank its own GPU, one of them
// the CPU.
func TestRanksShareTheMachine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		var trs []*tracker.Tracker
		for r := range 4 {
			tr, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(dir), tracker.WithRank(r, r),
				tracker.WithRunID("job1"), tracker.WithNode("n0"))...)
			require.NoError(t, err)
			trs = append(trs, tr)
		}
		for _, tr := range trs {
			tr.EpochStart()
		}
		time.Sleep(time.Hour)
		var total float64
		cpus := 0
		for r, tr := range trs {
			tr.EpochEnd()
			tr.Stop()
			rep := tr.Report()
			total += rep.Run.DeviceEnergy.KWh()
			assert.InDelta(t, 0.1*float64(r+1), rep.Run.ByKind.GPU.KWh(), 1e-9, "rank %d counts its own GPU", r)
			if rep.Run.ByKind.CPU > 0 {
				cpus++
			}
			elsewhere := 3 // the other ranks' GPUs
			if rep.Run.ByKind.CPU == 0 {
				elsewhere++ // and the CPU, counted by another rank
			}
			assert.Len(t, rep.Elsewhere, elsewhere, "rank %d", r)
			assert.Equal(t, tracker.Identity{RunID: "job1", Node: "n0", Rank: r, LocalRank: r, LocalSize: -1}, rep.Identity)
		}
		assert.Equal(t, 1, cpus, "the CPU is counted once")
		assert.InDelta(t, 1.0+0.05, total, 1e-9, "the machine's truth, not 4×")
	})
}

// Without ranks, the first tracker counts the machine and the second, which
// has nothing left to count, says who does.
func TestSecondTrackerCountsNothingTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(dir), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		b, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(dir), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		runEpochs(b, 1, time.Hour)
		b.Stop()
		a.Stop()
		rb := b.Report()
		assert.Zero(t, rb.Run.DeviceEnergy)
		require.Len(t, rb.Elsewhere, 5)
		assert.Contains(t, rb.Elsewhere[0].By, "pid ")
		assert.Equal(t, 1, rb.Completed, "the epochs are still recorded")
		assert.InDelta(t, 1.05, a.Report().Run.DeviceEnergy.KWh(), 1e-9)

		// After a stops, its devices are free again.
		c, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(dir), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		c.Stop()
		assert.Empty(t, c.Report().Elsewhere)
	})
}

// Trackers that cannot share a directory say the machine may be counted
// twice, and count it.
func TestNoLeaseDirectoryWarns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, writeFile(file))
		tr, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(filepath.Join(file, "leases")), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		tr.Stop()
		r := tr.Report()
		assert.Len(t, r.Sources, 5)
		assert.True(t, strings.Contains(r.SharingNote, "counted more than once"), r.SharingNote)
	})
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o644) }

// The launcher's environment says whether a tracker is one of several ranks
// on its machine; a local rank alone (a SLURM batch script) does not.
func TestRanksFromLaunchers(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		gpus float64 // kWh counted of the GPUs (100..400 W for 1 h)
	}{
		{"none", nil, 1.0},
		{"torchrun rank 2 of 4", map[string]string{"RANK": "6", "LOCAL_RANK": "2", "LOCAL_WORLD_SIZE": "4"}, 0.3},
		{"torchrun alone", map[string]string{"RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"}, 1.0},
		{"srun step", map[string]string{"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_STEP_TASKS_PER_NODE": "4(x2)"}, 0.2},
		{"sbatch script", map[string]string{"SLURM_PROCID": "0", "SLURM_LOCALID": "0"}, 1.0},
		{"open mpi", map[string]string{"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "3", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}, 0.4},
		// Two ranks on four GPUs: the two beyond the ranks are leased, here
		// by the only tracker, not left to ranks that do not exist.
		{"2 ranks, 4 GPUs", map[string]string{"RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}, 0.1 + 0.3 + 0.4},
		// srun's per-node list: this node (1) runs 2 tasks, the first runs 4.
		{"srun uneven nodes", map[string]string{"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
			"SLURM_STEP_TASKS_PER_NODE": "4,2"}, 0.2 + 0.3 + 0.4},
		{"srun uneven, no node id", map[string]string{"SLURM_PROCID": "5", "SLURM_LOCALID": "1",
			"SLURM_STEP_TASKS_PER_NODE": "4,2"}, 1.0},
		// A CUDA_VISIBLE_DEVICES of the rank's own: the leases decide.
		{"visible devices set", map[string]string{"RANK": "2", "LOCAL_RANK": "2", "LOCAL_WORLD_SIZE": "4",
			"CUDA_VISIBLE_DEVICES": "0,1,2,3"}, 1.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_PROCID", "SLURM_LOCALID",
				"SLURM_STEP_TASKS_PER_NODE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
				"PMI_RANK", "MPI_LOCALRANKID", "SLURM_NODEID"} {
				t.Setenv(k, tc.env[k])
			}
			if v, ok := tc.env["CUDA_VISIBLE_DEVICES"]; ok {
				t.Setenv("CUDA_VISIBLE_DEVICES", v)
			} else {
				t.Setenv("CUDA_VISIBLE_DEVICES", "")
				os.Unsetenv("CUDA_VISIBLE_DEVICES")
			}
			synctest.Test(t, func(t *testing.T) {
				tr, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(t.TempDir()))...)
				require.NoError(t, err)
				runEpochs(tr, 1, time.Hour)
				tr.Stop()
				assert.InDelta(t, tc.gpus, tr.Report().Run.ByKind.GPU.KWh(), 1e-9)
			})
		})
	}
}

// A tracker left with no device of its own says so, rather than listing
// none.
func TestNoComponentsSaid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a, err := tracker.New(1, quiet(node(), tracker.WithLeaseDir(dir), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		var console bytes.Buffer
		b, err := tracker.New(1, tracker.WithSources(node()), tracker.WithConsole(&console), tracker.WithPUE(1),
			tracker.WithFixedIntensity(100), tracker.WithLeaseDir(dir), tracker.WithRank(-1, -1))
		require.NoError(t, err)
		runEpochs(b, 1, time.Minute)
		b.Stop()
		a.Stop()
		out := console.String()
		assert.Contains(t, out, "No components are measured by this tracker.")
		assert.Contains(t, out, "Not counted here, counted by another tracker on this machine: gpu:0")
		assert.NotContains(t, out, "The following components were found:")
	})
}

//go:build linux && cgo

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// ranksReportDoc is the part of run's --report-file the rank tests read.
type ranksReportDoc struct {
	ExitCode   int     `json:"exit_code"`
	Mode       string  `json:"mode"`
	DurationS  float64 `json:"duration_s"`
	DeviceKWh  float64 `json:"device_energy_kwh"`
	Components []struct {
		Name      string  `json:"name"`
		Kind      string  `json:"kind"`
		Method    string  `json:"method"`
		EnergyJ   float64 `json:"device_energy_j"`
		AvgPowerW float64 `json:"avg_power_w"`
		Lost      bool    `json:"lost"`
	} `json:"components"`
	MeasuredElsewhere []struct {
		Name string `json:"name"`
		By   string `json:"by"`
	} `json:"measured_elsewhere"`
	SharingNote string `json:"sharing_note"`
	RunID       string `json:"run_id"`
	Node        string `json:"node"`
	Rank        *int   `json:"rank"`
}

// ranksEnv returns this process's environment without anything that would
// give carbontrack a rank, a run or other GPUs, plus extra.
func ranksEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SLURM_"), strings.HasPrefix(k, "OMPI_"),
			k == "LOCAL_RANK", k == "RANK", k == "LOCAL_WORLD_SIZE", k == "WORLD_SIZE", k == "PMI_RANK",
			k == "MPI_LOCALRANKID", k == "CUDA_VISIBLE_DEVICES", k == "TORCHELASTIC_RUN_ID",
			k == "CARBONTRACK_RUN_ID", k == "CARBONTRACK_NODE", k == powertest.EnvFakeNVMLConfig:
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Four tasks of an srun step on one machine of 4 GPUs (the stand-in
// libnvidia-ml.so.1, at 100, 200, 300 and 400 W), each its own
// "carbontrack run" sharing one lease directory: each report counts the GPU
// of its task's local rank, at its power; the 4 reports together count each
// GPU once and the CPU and RAM once, and name the rest as measured
// elsewhere, by whom.
//
// The rank comes from srun's environment: SLURM_LOCALID and SLURM_PROCID,
// with SLURM_STEP_TASKS_PER_NODE, which says the task is one of 4 on the
// machine (without it a local rank may be a batch script's, alone on the
// machine, and keeps every GPU: the leases alone then share the machine).
// The commands meet in a directory before they sleep 1.5 s, so the 4
// trackers (started before their command) surely overlap in time.
func TestRunRanksShareFakeGPUs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds carbontrack and runs it 4 times at once")
	}
	const ranks = 4
	gpus := make([]powertest.FakeGPU, ranks)
	for i := range gpus {
		g := powertest.DefaultFakeGPU(i)
		g.IdleW, g.BusyW = float64(100*(i+1)), float64(100*(i+1)) // constant: the truth is P × the window
		gpus[i] = g
	}
	fake, err := powertest.BuildFakeNVML(t.TempDir(), gpus...)
	if errors.Is(err, exec.ErrNotFound) {
		t.Skipf("no C compiler for the stand-in libnvidia-ml.so.1: %v", err)
	}
	require.NoError(t, err)
	c := buildCLI(t, t.TempDir())
	env, sysfs := noDevices(t) // an empty sysfs: the CPU and RAM estimates
	leases := filepath.Join(t.TempDir(), "leases")
	barrier := t.TempDir()
	const script = `touch "$1/$2"; n=0; while [ "$(ls "$1" | wc -l)" -lt 4 ] && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n+1)); done; sleep 1.5`

	cmds := make([]*exec.Cmd, ranks)
	reports := make([]string, ranks)
	outs := make([]*bytes.Buffer, ranks)
	for i := range ranks {
		reports[i] = filepath.Join(t.TempDir(), "report.json")
		// --lease-dir wins over CARBONTRACK_LEASE_DIR=off, which TestMain
		// sets for every other test.
		cmds[i] = exec.Command(c.bin, "run", "--sysfs-root", sysfs, "--nvml-lib", fake.Library, "--lease-dir", leases,
			"--log-dir", "", "--report-file", reports[i], "--intensity", "100",
			"--", "sh", "-c", script, "sh", barrier, strconv.Itoa(i))
		cmds[i].Env = ranksEnv(slices.Concat(env, []string{fake.Env(), "SLURM_JOB_ID=4242", "SLURM_STEP_TASKS_PER_NODE=4(x2)",
			"SLURM_LOCALID=" + strconv.Itoa(i), "SLURM_PROCID=" + strconv.Itoa(10+i)})...)
		cmds[i].Dir = t.TempDir()
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	launched := time.Now()
	for i, cmd := range cmds {
		require.NoError(t, cmd.Start(), "rank %d", i)
	}
	failed := false
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			failed = true
			t.Errorf("carbontrack run of rank %d: %v\n%s", i, err, outs[i])
		}
	}
	done := time.Now()
	require.False(t, failed)

	docs := make([]ranksReportDoc, ranks)
	for i := range ranks {
		b, err := os.ReadFile(reports[i])
		require.NoError(t, err, "rank %d:\n%s", i, outs[i])
		require.NoError(t, json.Unmarshal(b, &docs[i]), string(b))
		t.Logf("rank %d (pid %d): components %+v, measured elsewhere %+v", i, cmds[i].Process.Pid,
			docs[i].Components, docs[i].MeasuredElsewhere)
	}

	countedBy := map[string][]int{} // component name → the ranks that counted it
	for i, d := range docs {
		assert.Equal(t, 0, d.ExitCode, "rank %d", i)
		assert.Equal(t, "machine", d.Mode, "rank %d", i)
		assert.Equal(t, "4242", d.RunID, "rank %d: the run id is the SLURM job's", i)
		if assert.NotNil(t, d.Rank, "rank %d", i) {
			assert.Equal(t, 10+i, *d.Rank, "rank %d: the global rank is SLURM_PROCID", i)
		}
		assert.Empty(t, d.SharingNote, "rank %d", i)
		var gpuNames []string
		for _, comp := range d.Components {
			countedBy[comp.Name] = append(countedBy[comp.Name], i)
			assert.False(t, comp.Lost, "rank %d: %s", i, comp.Name)
			if comp.Kind != "gpu" {
				assert.Equal(t, "estimated", comp.Method, "rank %d: %s: an empty sysfs has no RAPL", i, comp.Name)
				continue
			}
			gpuNames = append(gpuNames, comp.Name)
			assert.Equal(t, "counter", comp.Method, "rank %d: %s", i, comp.Name)
			g, err := strconv.Atoi(strings.TrimPrefix(comp.Name, "gpu:"))
			if !assert.NoError(t, err, "rank %d: %s", i, comp.Name) || !assert.Less(t, g, ranks) {
				continue
			}
			p := gpus[g].BusyW
			// avg_power_w is the energy over the tracker's window, from
			// its start to its final reading: the GPU's constant power.
			// The counter is exact, but the window starts a moment before
			// the first reading (New stamps its start, starts its
			// goroutines, then reads): that moment is counted in the
			// window and not in the energy. With 4 race-enabled
			// processes starting at once on 2 cores it was up to 9 ms of
			// a ≥ 1.5 s window (0.55 %); 3 % leaves room for 45 ms. The
			// wrong GPU would be 25 % off or more, a GPU counted twice
			// 100 %.
			assert.InEpsilon(t, p, comp.AvgPowerW, 0.03, "rank %d: %s draws %v W", i, comp.Name, p)
			// The window holds the 1.5 s sleep and lies within the
			// processes' lives.
			assert.GreaterOrEqual(t, comp.EnergyJ, 0.99*p*1.5, "rank %d: %s", i, comp.Name)
			assert.LessOrEqual(t, comp.EnergyJ, p*done.Sub(launched).Seconds(), "rank %d: %s", i, comp.Name)
		}
		assert.Equal(t, []string{"gpu:" + strconv.Itoa(i)}, gpuNames, "rank %d counts the GPU of its local rank, and no other", i)
	}

	// Each device is counted by one report, and named by the others.
	for _, name := range []string{"gpu:0", "gpu:1", "gpu:2", "gpu:3", "cpu:estimate", "dram:estimate"} {
		by := countedBy[name]
		require.Len(t, by, 1, "%s is counted by exactly one report, not by ranks %v", name, by)
		w := by[0]
		for i, d := range docs {
			if i == w {
				continue
			}
			var names []string
			for _, e := range d.MeasuredElsewhere {
				if e.Name == name {
					names = append(names, e.By)
				}
			}
			require.Len(t, names, 1, "rank %d names %s as measured elsewhere", i, name)
			if strings.HasPrefix(name, "gpu:") {
				assert.Equal(t, "local rank "+strings.TrimPrefix(name, "gpu:"), names[0], "rank %d: %s", i, name)
				continue
			}
			// The CPU and RAM: the lease holder, the carbontrack process
			// of the report that counts them.
			assert.Contains(t, names[0], fmt.Sprintf("pid %d", cmds[w].Process.Pid), "rank %d: %s", i, name)
			assert.Contains(t, names[0], "run 4242", "rank %d: %s", i, name)
			assert.Contains(t, names[0], fmt.Sprintf("rank %d", 10+w), "rank %d: %s", i, name)
		}
	}
	assert.Len(t, countedBy, 6, "nothing else is counted: %v", countedBy)
}

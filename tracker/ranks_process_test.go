//go:build linux && cgo

package tracker_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// These tests run several trackers in several processes of this machine,
// the way the ranks of a distributed job do, against the stand-in
// libnvidia-ml.so.1 (powertest.BuildFakeNVML): go-nvml's real cgo path,
// GPUs whose exact energy is known. A process may load only one stand-in,
// so every tracker that discovers GPUs runs in a helper process: the test
// binary run again with -test.run=^TestRankHelperProcess$ and rpHelperEnv
// set. The parent never loads an NVML library.

// Environment of a helper process.
const (
	rpHelperEnv  = "CT_RANK_HELPER"  // what the helper does: "epoch" or "hold"
	rpOutEnv     = "CT_RANK_OUT"     // "epoch": where it writes its rpResult
	rpLibEnv     = "CT_RANK_LIB"     // the stand-in library
	rpSysfsEnv   = "CT_RANK_SYSFS"   // an empty sysfs root: no RAPL, the CPU and RAM estimates
	rpLeasesEnv  = "CT_RANK_LEASES"  // the lease directory the trackers share
	rpBarrierEnv = "CT_RANK_BARRIER" // "epoch": a directory where the helpers meet
	rpCountEnv   = "CT_RANK_COUNT"   // "epoch": how many helpers meet there
)

// rpEpoch is how long a helper's epoch lasts.
const rpEpoch = 1500 * time.Millisecond

// rpGPUs are the 4 GPUs of the machine: the default stand-in (1 Hz square
// wave, half busy, energy counter) at 50 / 150 W for GPU 0 up to 200 /
// 600 W for GPU 3, so that each GPU's energy also tells which one it is.
func rpGPUs() []powertest.FakeGPU {
	gpus := make([]powertest.FakeGPU, 4)
	for i := range gpus {
		g := powertest.DefaultFakeGPU(i)
		g.IdleW, g.BusyW = float64(50*(i+1)), float64(150*(i+1))
		gpus[i] = g
	}
	return gpus
}

// rpResult is what an "epoch" helper reports: its tracker's devices, the
// energy of each, and the wall times that delimit it.
type rpResult struct {
	PID int `json:"pid"`
	// Start is the tracker's start (Report.Start); Stop its final reading
	// (Status.Time after Stop); StopAt Report.Start + Run.Duration.
	Start, Stop, StopAt time.Time
	Identity            tracker.Identity
	Sources             []rpSource
	Elsewhere           []rpElsewhere
	SharingNote         string
	Unavailable         []string
	Misuse              int
	StopTimeouts        []string
}

type rpSource struct {
	Name, UUID string
	Kind       power.Kind
	Method     power.Method
	EnergyJ    float64
	Lost       bool
	Err        string
}

type rpElsewhere struct {
	Name, UUID string
	Kind       power.Kind
	By         string
}

// TestRankHelperProcess is the tracker of one helper process; in an
// ordinary run it does nothing.
func TestRankHelperProcess(t *testing.T) {
	mode := os.Getenv(rpHelperEnv)
	if mode == "" {
		t.Skip("helper process of the rank tests; runs only when started by them")
	}
	tr, err := tracker.New(1, tracker.WithNVMLLibrary(os.Getenv(rpLibEnv)), tracker.WithSysfsRoot(os.Getenv(rpSysfsEnv)),
		tracker.WithLeaseDir(os.Getenv(rpLeasesEnv)), tracker.WithVerbose(0), tracker.WithFixedIntensity(100),
		tracker.WithPUE(1))
	require.NoError(t, err)
	switch mode {
	case "hold":
		// Hold the machine until killed (at most a minute, should the
		// parent die first).
		fmt.Printf("ready %d %d\n", os.Getpid(), len(tr.Sources()))
		time.Sleep(time.Minute)
		tr.Stop()
		return
	case "epoch":
	default:
		tr.Stop()
		t.Fatalf("unknown helper mode %q", mode)
	}

	// Every helper's tracker holds its leases before any epoch starts:
	// they overlap in time however the processes were scheduled.
	barrier := os.Getenv(rpBarrierEnv)
	n, err := strconv.Atoi(os.Getenv(rpCountEnv))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(barrier, strconv.Itoa(os.Getpid())), nil, 0o644))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		entries, err := os.ReadDir(barrier)
		require.NoError(t, err)
		if len(entries) >= n {
			break
		}
		if time.Now().After(deadline) {
			tr.Stop()
			t.Fatalf("only %d of %d helpers met", len(entries), n)
		}
	}

	tr.EpochStart()
	time.Sleep(rpEpoch)
	tr.EpochEnd()
	tr.Stop()
	rep := tr.Report()
	st := tr.Status()
	res := rpResult{PID: os.Getpid(), Start: rep.Start, Stop: st.Time, StopAt: rep.Start.Add(rep.Run.Duration),
		Identity: rep.Identity, SharingNote: rep.SharingNote, Misuse: rep.Misuse, StopTimeouts: rep.StopTimeouts}
	for _, s := range rep.Sources {
		res.Sources = append(res.Sources, rpSource{Name: s.Info.Name, UUID: s.Info.UUID, Kind: s.Info.Kind,
			Method: s.Info.Method, EnergyJ: float64(s.DeviceEnergy), Lost: s.Lost, Err: s.Err})
	}
	for _, e := range rep.Elsewhere {
		res.Elsewhere = append(res.Elsewhere, rpElsewhere{Name: e.Source.Name, UUID: e.Source.UUID, Kind: e.Source.Kind, By: e.By})
	}
	for _, u := range rep.Unavailable {
		res.Unavailable = append(res.Unavailable, u.Name+": "+u.Reason())
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(os.Getenv(rpOutEnv), b, 0o644))
}

// rpEnv returns this process's environment without anything that would
// give a helper a rank, a run, GPUs or a lease directory of its own, plus
// extra.
func rpEnv(extra ...string) []string {
	drop := []string{"LOCAL_RANK", "RANK", "LOCAL_WORLD_SIZE", "WORLD_SIZE", "PMI_RANK", "MPI_LOCALRANKID",
		"CUDA_VISIBLE_DEVICES", "TORCHELASTIC_RUN_ID", powertest.EnvFakeNVMLConfig, power.EnvNVMLLibrary, "GORACE"}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SLURM_") || strings.HasPrefix(k, "OMPI_") || strings.HasPrefix(k, "CARBONTRACK_") ||
			strings.HasPrefix(k, "CT_RANK_") {
			continue
		}
		keep := true
		for _, d := range drop {
			keep = keep && k != d
		}
		if keep {
			env = append(env, kv)
		}
	}
	// A race-enabled binary otherwise sleeps a second on exit.
	return append(env, append([]string{"GORACE=atexit_sleep_ms=0"}, extra...)...)
}

// rpMachine is what every helper of a test shares: the stand-in library
// with its GPUs, an empty sysfs and a lease directory.
type rpMachine struct {
	gpus   []powertest.FakeGPU
	nvml   powertest.FakeNVML
	sysfs  string
	leases string
}

func newRPMachine(t *testing.T) rpMachine {
	t.Helper()
	gpus := rpGPUs()
	f, err := powertest.BuildFakeNVML(t.TempDir(), gpus...)
	if errors.Is(err, exec.ErrNotFound) {
		t.Skipf("no C compiler for the stand-in libnvidia-ml.so.1: %v", err)
	}
	require.NoError(t, err)
	return rpMachine{gpus: gpus, nvml: f, sysfs: t.TempDir(), leases: filepath.Join(t.TempDir(), "leases")}
}

// helper prepares a helper process in mode with extra environment.
func (m rpMachine) helper(t *testing.T, mode string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRankHelperProcess$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = rpEnv(append([]string{rpHelperEnv + "=" + mode, m.nvml.Env(), rpLibEnv + "=" + m.nvml.Library,
		rpSysfsEnv + "=" + m.sysfs, rpLeasesEnv + "=" + m.leases}, extra...)...)
	return cmd
}

// rpTolerance is how far a GPU's measured energy may be from the truth
// over its tracker's window [Report.Start, Status.Time after Stop]: 2 %
// plus 20 ms of the GPU's busy power. The stand-in's counter is the exact
// integral of its square wave (to the mJ) at the moment it is read, and
// the counter's reads telescope, so the only error is where the window's
// ends fall: Report.Start is stamped before New starts its goroutines and
// takes the first reading (that moment is in the window, not in the
// energy), and each reading is stamped just before the NVML call. Each ms
// there is worth at most BusyW × 1 ms (0.15 to 0.6 J here, out of ~130 to
// ~680 J). Idle, the offset is microseconds; 4 race-enabled helpers
// starting at once on 2 cores showed up to 3.1 J (0.8 %, ~7 ms), and 21 J
// (~68 ms) while the rest of the test suite ran with -race beside them. 2 %
// plus 100 ms leaves room for that: what this test checks is which tracker
// counts which GPU, and the wrong GPU (each differs from the next by a third
// or more) or a GPU counted twice is far outside (accuracy itself is tested
// on one process, in the NVML tests).
func rpTolerance(g powertest.FakeGPU, truth float64) float64 {
	return 0.02*truth + g.BusyW*0.100
}

// Four processes of one machine, local ranks 0 to 3, each with a tracker
// that discovers the machine's 4 GPUs (the library, in machine mode).
//
// Started by torchrun (LOCAL_RANK, RANK, LOCAL_WORLD_SIZE=4): each counts
// the GPU of its rank and no other. With a local rank but no number of
// ranks on the machine (what a batch script sees, SLURM_LOCALID=0 or a
// lone LOCAL_RANK: the tracker may be alone, so it keeps every GPU), the
// leases alone share the machine: the first tracker takes the GPUs.
// Either way every GPU is counted once, with its true energy, the CPU and
// RAM estimates by one helper each, and the 4 together count the machine's
// truth, not 4 times it.
func TestRanksProcessesShareFakeGPUs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 processes for 2 s")
	}
	t.Run("torchrun", func(t *testing.T) {
		rpRanks(t, true, func(i int) []string {
			return []string{"LOCAL_RANK=" + strconv.Itoa(i), "RANK=" + strconv.Itoa(i), "LOCAL_WORLD_SIZE=4", "WORLD_SIZE=4"}
		})
	})
	t.Run("local rank without local size", func(t *testing.T) {
		rpRanks(t, false, func(i int) []string {
			return []string{"LOCAL_RANK=" + strconv.Itoa(i), "RANK=" + strconv.Itoa(i)}
		})
	})
}

// rpRanks runs 4 "epoch" helpers at once, helper i with env(i), and checks
// what they counted; perRank: helper i must count GPU i.
func rpRanks(t *testing.T, perRank bool, env func(i int) []string) {
	m := newRPMachine(t)
	barrier := t.TempDir()
	const ranks = 4
	cmds := make([]*exec.Cmd, ranks)
	outs := make([]string, ranks)
	logs := make([]*strings.Builder, ranks)
	for i := range ranks {
		outs[i] = filepath.Join(t.TempDir(), "result.json")
		extra := append(env(i), rpOutEnv+"="+outs[i], rpBarrierEnv+"="+barrier, rpCountEnv+"="+strconv.Itoa(ranks))
		cmds[i] = m.helper(t, "epoch", extra...)
		logs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = logs[i], logs[i]
	}
	for i, c := range cmds {
		require.NoError(t, c.Start(), "helper %d", i)
	}
	failed := false
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			failed = true
			t.Errorf("helper of rank %d: %v\n%s", i, err, logs[i])
		}
	}
	require.False(t, failed)

	res := make([]rpResult, ranks)
	for i := range ranks {
		b, err := os.ReadFile(outs[i])
		require.NoError(t, err, "helper %d wrote no result:\n%s", i, logs[i])
		require.NoError(t, json.Unmarshal(b, &res[i]))
		t.Logf("rank %d (pid %d): %s", i, res[i].PID, b)
	}

	// The helpers overlapped: every tracker ran while all the others did.
	latestStart, earliestStop := res[0].Start, res[0].Stop
	for _, r := range res {
		if r.Start.After(latestStart) {
			latestStart = r.Start
		}
		if r.Stop.Before(earliestStop) {
			earliestStop = r.Stop
		}
	}
	require.True(t, latestStart.Before(earliestStop), "the trackers must overlap in time")

	gpuBy := map[string][]int{} // UUID → the ranks that counted it
	kindBy := map[power.Kind][]int{}
	var sumGot, sumTruth, sumTol float64
	for i, r := range res {
		assert.Equal(t, i, r.Identity.Rank, "rank %d: global rank from RANK", i)
		assert.Equal(t, i, r.Identity.LocalRank, "rank %d: local rank from LOCAL_RANK", i)
		assert.Empty(t, r.SharingNote, "rank %d", i)
		assert.Empty(t, r.StopTimeouts, "rank %d", i)
		assert.Zero(t, r.Misuse, "rank %d", i)
		var gpus []rpSource
		for _, s := range r.Sources {
			kindBy[s.Kind] = append(kindBy[s.Kind], i)
			assert.False(t, s.Lost, "rank %d: %s: %s", i, s.Name, s.Err)
			if s.Kind != power.KindGPU {
				assert.Equal(t, power.MethodEstimated, s.Method, "rank %d: %s: an empty sysfs has no RAPL", i, s.Name)
				assert.Positive(t, s.EnergyJ, "rank %d: %s", i, s.Name)
				continue
			}
			gpus = append(gpus, s)
			gpuBy[s.UUID] = append(gpuBy[s.UUID], i)
			assert.Equal(t, power.MethodCounter, s.Method, "rank %d: %s: the stand-in has an energy counter", i, s.Name)
			g := -1
			for j := range m.gpus {
				if m.gpus[j].UUID == s.UUID {
					g = j
				}
			}
			if !assert.GreaterOrEqual(t, g, 0, "rank %d: unknown GPU %s", i, s.UUID) {
				continue
			}
			assert.Equal(t, "gpu:"+strconv.Itoa(g), s.Name, "rank %d", i)
			truth := m.gpus[g].EnergyBetween(r.Start, r.Stop)
			tol := rpTolerance(m.gpus[g], truth)
			t.Logf("rank %d: GPU %d over %v: %.3f J, truth %.3f J, error %+.3f J (%+.3f %%), tolerance %.2f J; to Start+Run.Duration the truth is %.3f J",
				i, g, r.Stop.Sub(r.Start), s.EnergyJ, truth, s.EnergyJ-truth, 100*(s.EnergyJ-truth)/truth, tol,
				m.gpus[g].EnergyBetween(r.Start, r.StopAt))
			assert.InDelta(t, truth, s.EnergyJ, tol, "rank %d: GPU %d's energy is its truth over the tracker's window", i, g)
			sumGot += s.EnergyJ
			sumTruth += truth
			sumTol += tol
		}
		if perRank {
			require.Len(t, gpus, 1, "rank %d counts exactly one GPU", i)
			assert.Equal(t, m.gpus[i].UUID, gpus[0].UUID, "rank %d counts GPU %d", i, i)
		}
	}

	// Every GPU is counted once; the helpers that do not count it name it,
	// and who counts it.
	assert.Len(t, gpuBy, ranks, "no other GPU is counted: %v", gpuBy)
	for g := range m.gpus {
		by := gpuBy[m.gpus[g].UUID]
		require.Len(t, by, 1, "GPU %d is counted by exactly one helper, not by ranks %v", g, by)
		for i, r := range res {
			if i == by[0] {
				continue
			}
			var names []string
			for _, e := range r.Elsewhere {
				if e.Kind == power.KindGPU && e.UUID == m.gpus[g].UUID {
					names = append(names, e.By)
				}
			}
			require.Len(t, names, 1, "rank %d names GPU %d, counted elsewhere", i, g)
			if perRank {
				assert.Equal(t, "local rank "+strconv.Itoa(g), names[0], "rank %d: GPU %d is left to local rank %d", i, g, g)
			} else {
				assert.Contains(t, names[0], fmt.Sprintf("pid %d", res[by[0]].PID), "rank %d: GPU %d", i, g)
				assert.Contains(t, names[0], fmt.Sprintf("rank %d", by[0]), "rank %d: GPU %d", i, g)
			}
		}
	}

	// The CPU and the RAM estimates are one lease each: counted by one
	// helper (not necessarily the same one), named by the others with
	// the pid and rank of the one that counts it.
	for _, k := range []power.Kind{power.KindCPU, power.KindDRAM} {
		by := kindBy[k]
		require.Len(t, by, 1, "the %s is counted by exactly one helper, not by ranks %v", k, by)
		w := res[by[0]]
		for i, r := range res {
			if i == by[0] {
				continue
			}
			var names []string
			for _, e := range r.Elsewhere {
				if e.Kind == k {
					names = append(names, e.By)
				}
			}
			require.Len(t, names, 1, "rank %d names the %s, counted elsewhere", i, k)
			assert.Contains(t, names[0], fmt.Sprintf("pid %d", w.PID), "rank %d: %s", i, k)
			assert.Contains(t, names[0], fmt.Sprintf("rank %d", by[0]), "rank %d: %s", i, k)
		}
	}

	// Together: the truth of the 4 GPUs, each counted once, not 4 times.
	t.Logf("the 4 GPUs: %.3f J, truth %.3f J", sumGot, sumTruth)
	assert.InDelta(t, sumTruth, sumGot, sumTol, "the 4 GPUs' energy is their truth")
	assert.Less(t, sumGot, 1.5*sumTruth, "not counted several times")
}

// A tracker killed with SIGKILL hands the machine back at once: while it
// runs, another tracker (here in the parent, on scripted sources with the
// same lease keys: the stand-in GPUs' UUIDs, "cpu" and "dram") counts
// nothing and names the holder's pid; once it is killed, a new tracker
// counts every device.
func TestKilledTrackerFreesDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	m := newRPMachine(t)
	cmd := m.helper(t, "hold") // no LOCAL_RANK, no WithRank: it takes every device
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	pid := cmd.Process.Pid

	lines := bufio.NewScanner(stdout)
	var ready string
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "ready ") {
			ready = lines.Text()
			break
		}
		t.Logf("helper: %s", lines.Text())
	}
	require.NotEmpty(t, ready, "the helper never held the machine: %v\n%s", lines.Err(), &stderr)
	require.Equal(t, fmt.Sprintf("ready %d 6", pid), ready, "the helper counts the 4 GPUs, the CPU and the RAM")

	// The parent's sources: the same lease keys as the helper's devices.
	parentSources := func() []power.Source {
		var s []power.Source
		now := time.Now()
		for i := range m.gpus {
			g := powertest.Constant("gpu:"+strconv.Itoa(i), power.KindGPU, power.MethodCounter, 100, now)
			g.Desc.UUID = m.gpus[i].UUID
			s = append(s, g)
		}
		return append(s, powertest.Constant("cpu:estimate", power.KindCPU, power.MethodEstimated, 50, now),
			powertest.Constant("dram:estimate", power.KindDRAM, power.MethodEstimated, 10, now))
	}
	newParent := func() *tracker.Tracker {
		tr, err := tracker.New(1, quiet(parentSources(), tracker.WithLeaseDir(m.leases), tracker.WithRank(-1, -1))...)
		require.NoError(t, err)
		return tr
	}

	before := newParent()
	before.Stop()
	rb := before.Report()
	assert.Empty(t, rb.Sources, "the helper holds every device")
	assert.Zero(t, rb.Run.DeviceEnergy)
	require.Len(t, rb.Elsewhere, 6)
	for _, e := range rb.Elsewhere {
		assert.Contains(t, e.By, fmt.Sprintf("pid %d", pid), "%s is measured by the helper", e.Source.Name)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	werr := cmd.Wait()
	waited = true
	var ee *exec.ExitError
	require.ErrorAs(t, werr, &ee)
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the helper was killed by SIGKILL: %v\n%s", werr, &stderr)

	after := newParent()
	time.Sleep(50 * time.Millisecond)
	after.Stop()
	ra := after.Report()
	assert.Empty(t, ra.Elsewhere, "a killed tracker's leases are free at once")
	assert.Empty(t, ra.SharingNote)
	require.Len(t, ra.Sources, 6, "the new tracker counts the 4 GPUs, the CPU and the RAM")
	assert.Positive(t, ra.Run.ByKind.GPU)
	assert.Positive(t, ra.Run.ByKind.CPU)
	assert.Positive(t, ra.Run.ByKind.DRAM)
}

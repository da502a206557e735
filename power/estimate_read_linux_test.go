package power_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

// perVCPUWatts is the estimate for the 2-vCPU "AMD EPYC" of these tests (a
// model not in the TDP table): 2 × (0.74 + load × 2.76) W, linear in load.
func perVCPUWatts(load float64) float64 { return 2 * (0.74 + load*(3.5-0.74)) }

// epycSpec is a fake /proc for perVCPUWatts.
var epycSpec = procSpec{Model: "AMD EPYC", CPUs: 2, VM: true}

// writeStatFile replaces <dir>/stat with content (the same file, rewritten
// in place, as the kernel's is regenerated).
func writeStatFile(t testing.TB, dir, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(content), 0o644))
}

// statWithCPU is a /proc/stat whose aggregate line is cpuLine.
func statWithCPU(cpuLine string, btime int64) string {
	return cpuLine + "\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 12 0 0\nctxt 34\nbtime " + fmt.Sprint(btime) + "\nprocesses 56\n"
}

func discoverKind(t testing.TB, kind power.Kind, opts ...power.Option) (power.Source, *power.Discovery) {
	t.Helper()
	opts = append([]power.Option{power.WithKinds(kind), power.WithSysfsRoot(t.TempDir())}, opts...)
	d, err := power.Discover(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	require.Len(t, d.Sources, 1, "%v", d.Unavailable)
	return d.Sources[0], d
}

func read(t testing.TB, s power.Source) power.Reading {
	t.Helper()
	var r power.Reading
	require.NoError(t, s.Read(context.Background(), &r))
	return r
}

func TestCPUEstimateLineFormats(t *testing.T) {
	// Each kernel's line, from all zeros to counts whose load is given.
	tests := []struct {
		name       string
		zero, next string
		load       float64
	}{
		{"Linux 2.6.33+, 10 counts: guest is inside user, steal is not load",
			"cpu  0 0 0 0 0 0 0 0 0 0", "cpu  300 100 100 300 100 50 50 200 250 50", 600.0 / 1200},
		{"Linux 2.6.11, 8 counts", "cpu  0 0 0 0 0 0 0 0", "cpu  100 0 50 200 50 25 25 50", 200.0 / 500},
		{"Linux 2.6.0, 7 counts", "cpu 0 0 0 0 0 0 0", "cpu 500 0 100 300 100 0 0", 600.0 / 1000},
		{"Linux 2.4, 4 counts", "cpu 0 0 0 0", "cpu 100 0 100 200", 200.0 / 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := writeProc(t, epycSpec)
			writeStatFile(t, proc, statWithCPU(tt.zero, 1700000000))
			cpu, _ := discoverKind(t, power.KindCPU, power.WithProcRoot(proc))
			r := read(t, cpu)
			assert.True(t, r.Average)
			assert.InDelta(t, perVCPUWatts(0), float64(r.Power), 1e-9, "a first read has no interval: idle")
			writeStatFile(t, proc, statWithCPU(tt.next, 1700000000))
			r = read(t, cpu)
			assert.True(t, r.Average, "the mean since the previous read")
			assert.InDelta(t, perVCPUWatts(tt.load), float64(r.Power), 1e-9)
		})
	}
}

// TestCPUEstimateExactMeanBetweenReads: whatever the spacing of the reads,
// each one is the mean over its own interval, from the cumulative counters.
func TestCPUEstimateExactMeanBetweenReads(t *testing.T) {
	proc := writeProc(t, epycSpec)
	cpu, _ := discoverKind(t, power.KindCPU, power.WithProcRoot(proc))
	read(t, cpu) // primes at 0 ticks
	line := func(busy, idle int) string {
		return statWithCPU(fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0", busy, idle), 1700000000)
	}
	for _, step := range []struct {
		busy, idle int // cumulative ticks
		load       float64
	}{
		{37, 63, 0.37},                 // one second
		{37 + 61250, 63 + 61250, 0.5},  // ten minutes
		{37 + 61251, 63 + 61250, 1},    // one tick, busy
		{37 + 61551, 63 + 62150, 0.25}, // 12 s
	} {
		writeStatFile(t, proc, line(step.busy, step.idle))
		r := read(t, cpu)
		assert.True(t, r.Average)
		assert.InDelta(t, perVCPUWatts(step.load), float64(r.Power), 1e-9, "busy %d, idle %d", step.busy, step.idle)
	}
}

// TestCPUEstimateCountersBackwards: when the total stands still or goes back
// (iowait can decrease on tickless kernels), the last load is reported again
// and the new values become the base, as the gopsutil-based estimate did.
func TestCPUEstimateCountersBackwards(t *testing.T) {
	proc := writeProc(t, epycSpec)
	cpu, _ := discoverKind(t, power.KindCPU, power.WithProcRoot(proc))
	setStat(t, proc, 100, 100)
	read(t, cpu)
	setStat(t, proc, 150, 150)
	assert.InDelta(t, perVCPUWatts(0.5), float64(read(t, cpu).Power), 1e-9)

	setStat(t, proc, 120, 120) // the total went back
	r := read(t, cpu)
	assert.True(t, r.Average)
	assert.InDelta(t, perVCPUWatts(0.5), float64(r.Power), 1e-9, "the last load again")
	assert.InDelta(t, perVCPUWatts(0.5), float64(read(t, cpu).Power), 1e-9, "no change: the last load again")

	setStat(t, proc, 220, 120) // from the new base: 100 busy of 100
	assert.InDelta(t, perVCPUWatts(1), float64(read(t, cpu).Power), 1e-9)

	setStat(t, proc, 200, 300) // busy went back, the total on: nothing busy
	assert.InDelta(t, perVCPUWatts(0), float64(read(t, cpu).Power), 1e-9)
}

func TestCPUEstimateBadStat(t *testing.T) {
	proc := writeProc(t, epycSpec)
	writeStatFile(t, proc, "intr 0\nbtime 1700000000\n")
	d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()), power.WithProcRoot(proc))
	require.NoError(t, err)
	assert.Empty(t, d.Sources)
	i := slices.IndexFunc(d.Unavailable, func(u power.Unavailable) bool { return u.Name == "cpu:estimate" })
	require.GreaterOrEqual(t, i, 0, "%v", d.Unavailable)
	assert.Contains(t, d.Unavailable[i].Reason(), filepath.Join(proc, "stat"))

	proc = writeProc(t, epycSpec)
	cpu, _ := discoverKind(t, power.KindCPU, power.WithProcRoot(proc))
	read(t, cpu)
	writeStatFile(t, proc, "cpu  1 2 x 4\n")
	var r power.Reading
	err = cpu.Read(t.Context(), &r)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "power: cpu estimate: "+filepath.Join(proc, "stat"))
}

// TestCPUEstimateKeepsStatOpen: /proc/stat is opened once; a read goes on
// with the open file after the path is gone, and Close releases it.
func TestCPUEstimateKeepsStatOpen(t *testing.T) {
	proc := writeProc(t, epycSpec)
	cpu, d := discoverKind(t, power.KindCPU, power.WithProcRoot(proc))
	read(t, cpu)
	setStat(t, proc, 3, 1)
	f, err := os.Open(filepath.Join(proc, "stat")) // the same inode as the source's
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, os.Remove(filepath.Join(proc, "stat")))
	assert.InDelta(t, perVCPUWatts(0.75), float64(read(t, cpu).Power), 1e-9, "read through the file opened at discovery")

	c, ok := cpu.(power.Closer)
	require.True(t, ok, "the CPU estimate holds a file: it is a Closer")
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "idempotent")
	require.NoError(t, c.Close(), "idempotent")
	var r power.Reading
	err = cpu.Read(t.Context(), &r)
	require.ErrorIs(t, err, os.ErrClosed)
}

func TestEstimatesAreRareCadence(t *testing.T) {
	proc := writeProc(t, epycSpec)
	for _, opts := range [][]power.Option{
		{power.WithProcRoot(proc)},
		{power.WithProcRoot(proc), power.WithProcess(1)},
	} {
		d, err := power.Discover(t.Context(), append([]power.Option{power.WithKinds(power.KindCPU, power.KindDRAM),
			power.WithSysfsRoot(t.TempDir())}, opts...)...)
		require.NoError(t, err)
		require.Len(t, d.Sources, 2, "%v", d.Unavailable)
		for _, s := range d.Sources {
			assert.Equal(t, power.CadenceRare, s.Info().Cadence, s.Info().Name)
			assert.Equal(t, power.CadenceRare, s.Info().ResolveCadence(), s.Info().Name)
		}
		require.NoError(t, d.Close())
	}
}

// fakeProcess is a /proc/<pid>/stat of a fake /proc.
type fakeProcess struct {
	pid, ppid                    int
	comm                         string
	utime, stime, cutime, cstime uint64
	startTicks, rssPages         uint64
}

// writeProcess writes p's /proc/<pid>/stat and statm under dir as Linux 6.x
// prints them.
func writeProcess(t testing.TB, dir string, p fakeProcess) {
	t.Helper()
	d := filepath.Join(dir, fmt.Sprint(p.pid))
	require.NoError(t, os.MkdirAll(d, 0o755))
	comm := p.comm
	if comm == "" {
		comm = "python3"
	}
	stat := fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194304 1200 0 3 0 %d %d %d %d 20 0 4 0 %d 3133440 %d 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		p.pid, comm, p.ppid, p.pid, p.pid, p.utime, p.stime, p.cutime, p.cstime, p.startTicks, p.rssPages)
	require.NoError(t, os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644))
	// statm (size, resident, shared, text, lib, data, dt in pages), which
	// the gopsutil-based estimate read.
	statm := fmt.Sprintf("%d %d 0 0 0 0 0\n", p.rssPages*2, p.rssPages)
	require.NoError(t, os.WriteFile(filepath.Join(d, "statm"), []byte(statm), 0o644))
}

// TestRAMEstimateMachineIsConstantMean: installed memory does not change, so
// the mean since the previous read is the constant power, exactly.
func TestRAMEstimateMachineIsConstantMean(t *testing.T) {
	proc := writeProc(t, procSpec{Model: "AMD EPYC", CPUs: 2, MemKB: 24_683_656})
	ram, _ := discoverKind(t, power.KindDRAM, power.WithProcRoot(proc))
	for range 3 {
		r := read(t, ram)
		assert.True(t, r.Average)
		assert.InDelta(t, 24_683_656*1024/1e9*0.392, float64(r.Power), 1e-9)
	}
	require.NoError(t, ram.(power.Closer).Close())
	require.NoError(t, ram.(power.Closer).Close(), "idempotent")
}

// integrate is the sampler's rule for a reading: one marked Average is the
// mean power over the interval since the previous reading, any other the
// power at its instant, joined to the previous by the trapezoidal rule.
func integrate(prev, cur power.Reading, dt time.Duration) power.Joules {
	if cur.Average {
		return cur.Power.For(dt)
	}
	return ((prev.Power + cur.Power) / 2).For(dt)
}

// TestRAMEstimateProcessTreeIsInstantaneous: the tree's resident memory is
// the power of now, not a mean over the past interval. The estimate used to
// mark it Average, so a tree growing from 1 GB to 3 GB over 10 s counted 3 GB
// for all 10 s.
func TestRAMEstimateProcessTreeIsInstantaneous(t *testing.T) {
	page := uint64(os.Getpagesize())
	gbPages := uint64(1e9) / page
	// The pids are of live processes (the fake /proc gives them their
	// parents and memory), because the gopsutil-based estimate, which this
	// test caught, only looked at pids that exist.
	worker := exec.Command("sleep", "60")
	require.NoError(t, worker.Start())
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	root, child, sibling := os.Getpid(), worker.Process.Pid, os.Getppid()
	proc := writeProc(t, epycSpec)
	writeProcess(t, proc, fakeProcess{pid: 1, comm: "init", rssPages: 10 * gbPages})
	writeProcess(t, proc, fakeProcess{pid: root, ppid: 1, rssPages: gbPages / 2})
	writeProcess(t, proc, fakeProcess{pid: child, ppid: root, comm: "pt_data_worker", rssPages: gbPages / 2})
	writeProcess(t, proc, fakeProcess{pid: sibling, ppid: 1, comm: "(sd-pam)", rssPages: 7 * gbPages})
	ram, _ := discoverKind(t, power.KindDRAM, power.WithProcRoot(proc), power.WithProcess(root))
	assert.Contains(t, ram.Info().Detail, fmt.Sprintf("resident memory of process tree %d", root))

	gb := func(n float64) float64 { return n * float64(gbPages*page) / 1e9 * 0.392 }
	r0 := read(t, ram)
	assert.InDelta(t, gb(1), float64(r0.Power), 1e-9, "the tree's 1 GB, not init's nor its sibling's")
	assert.False(t, r0.Average, "the power of now")

	writeProcess(t, proc, fakeProcess{pid: root, ppid: 1, rssPages: 2 * gbPages})
	writeProcess(t, proc, fakeProcess{pid: child, ppid: root, comm: "pt_data_worker", rssPages: gbPages})
	r1 := read(t, ram)
	assert.InDelta(t, gb(3), float64(r1.Power), 1e-9)
	assert.False(t, r1.Average, "not to be applied backwards over the past interval")
	assert.InDelta(t, gb(2)*10, float64(integrate(r0, r1, 10*time.Second)), 1e-9,
		"a linear growth from 1 GB to 3 GB over 10 s is 2 GB for 10 s")
}

// TestCPUEstimateProcessTree follows a tree through children born, reaped
// and orphaned, on a fake /proc with a fake clock (the tree is walked at
// most every 2 s).
func TestCPUEstimateProcessTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proc := writeProc(t, epycSpec)
		boot := time.Now().Unix() - 1000 // booted 1000 s before the first read
		const start = 1000 * 100         // the first read, in ticks since boot
		writeStatFile(t, proc, statWithCPU("cpu  0 0 0 0 0 0 0 0 0 0", boot))
		writeProcess(t, proc, fakeProcess{pid: 1, comm: "init", utime: 9000})
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, comm: "python3 (train)", utime: 1000, cutime: 300, startTicks: 50_000})
		writeProcess(t, proc, fakeProcess{pid: 300, ppid: 1, comm: "other", utime: 5000})
		cpu, _ := discoverKind(t, power.KindCPU, power.WithProcRoot(proc), power.WithProcess(100))
		assert.Contains(t, cpu.Info().Detail, "share of process tree 100")
		assert.Zero(t, float64(read(t, cpu).Power), "the first read primes")

		step := func(busyS, idleS float64) float64 {
			t.Helper()
			time.Sleep(3 * time.Second)
			setStat(t, proc, busyS, idleS)
			r := read(t, cpu)
			require.True(t, r.Average)
			return float64(r.Power)
		}

		// The root works 100 ticks; child 101, born since the first read,
		// 50 (all counted); 104, running before the first read, joins the
		// tree (counted from now on); 300 is not in the tree. The machine:
		// 400 busy ticks of 800.
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1100, cutime: 300, startTicks: 50_000})
		writeProcess(t, proc, fakeProcess{pid: 101, ppid: 100, utime: 40, stime: 10, startTicks: start + 100})
		writeProcess(t, proc, fakeProcess{pid: 104, ppid: 100, utime: 500, startTicks: start - 10_000})
		writeProcess(t, proc, fakeProcess{pid: 300, ppid: 1, utime: 9000})
		assert.InDelta(t, perVCPUWatts(0.5)*150/400, step(4, 4), 1e-9)

		// 101 works 30 more ticks, waits for a grandchild that lived 10
		// ticks between two reads (never seen), exits and is waited for by
		// the root: the root's children's times grow by 101's 90. The root
		// works 20 ticks, 104 10. The machine: 200 busy of 400.
		require.NoError(t, os.RemoveAll(filepath.Join(proc, "101")))
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1120, cutime: 300 + 90, startTicks: 50_000})
		writeProcess(t, proc, fakeProcess{pid: 104, ppid: 100, utime: 510, startTicks: start - 10_000})
		assert.InDelta(t, perVCPUWatts(0.5)*(20+30+10+10)/200, step(6, 6), 1e-9)

		// 104 exits without being waited for (its parent ignores SIGCHLD):
		// nothing moves into the root, nothing is taken back. The root
		// works 40 ticks of the machine's 200.
		require.NoError(t, os.RemoveAll(filepath.Join(proc, "104")))
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1160, cutime: 390, startTicks: 50_000})
		assert.InDelta(t, perVCPUWatts(0.5)*40/200, step(8, 8), 1e-9)

		// The machine's busy time stands still: the last share, and the
		// tree's 10 ticks are owed to the next interval.
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1170, cutime: 390, startTicks: 50_000})
		assert.InDelta(t, perVCPUWatts(0.5)*40/200, step(8, 8), 1e-9)
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1200, cutime: 390, startTicks: 50_000})
		assert.InDelta(t, perVCPUWatts(1)*40/100, step(9, 8), 1e-9)

		// More than the machine's busy time (accounting granularity): at
		// most the whole machine.
		writeProcess(t, proc, fakeProcess{pid: 100, ppid: 1, utime: 1400, cutime: 390, startTicks: 50_000})
		assert.InDelta(t, perVCPUWatts(1), step(10, 8), 1e-9)
	})
}

// TestProcessViewFilesClosed: the process view keeps each process's stat
// file open while it lives and closes all at Close.
func TestProcessViewFilesClosed(t *testing.T) {
	proc := writeProc(t, epycSpec)
	writeProcess(t, proc, fakeProcess{pid: 1, comm: "init"})
	writeProcess(t, proc, fakeProcess{pid: 7, ppid: 1, utime: 5, rssPages: 100})
	writeProcess(t, proc, fakeProcess{pid: 8, ppid: 1, utime: 5, rssPages: 100})
	d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU, power.KindDRAM), power.WithSysfsRoot(t.TempDir()),
		power.WithProcRoot(proc), power.WithProcess(7))
	require.NoError(t, err)
	for _, s := range d.Sources {
		read(t, s)
	}
	assert.ElementsMatch(t, []string{"stat", "7/stat", "7/stat"}, openUnder(t, proc),
		"/proc/stat, and /proc/7/stat for each of the two sources")
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	assert.Empty(t, openUnder(t, proc))
}

// openUnder returns the files under dir that this process holds open,
// relative to dir.
func openUnder(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var open []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(dir, target); err == nil && !strings.HasPrefix(rel, "..") {
			open = append(open, rel)
		}
	}
	return open
}

// TestEstimateReadsAllocateNothing: the machine-wide reads, and the process
// view's between two walks of the process table.
func TestEstimateReadsAllocateNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // the clock stands still: no walk
		proc := writeProc(t, epycSpec)
		writeProcess(t, proc, fakeProcess{pid: 1, comm: "init"})
		writeProcess(t, proc, fakeProcess{pid: 7, ppid: 1, utime: 5, rssPages: 100})
		writeProcess(t, proc, fakeProcess{pid: 8, ppid: 7, utime: 5, rssPages: 100})
		for _, kind := range []power.Kind{power.KindCPU, power.KindDRAM} {
			for _, view := range [][]power.Option{{}, {power.WithProcess(7)}} {
				src, _ := discoverKind(t, kind, append(view, power.WithProcRoot(proc))...)
				read(t, src) // opens the process files
				var r power.Reading
				allocs := testing.AllocsPerRun(100, func() { _ = src.Read(context.Background(), &r) })
				assert.Zero(t, allocs, "%s", src.Info().Detail)
			}
		}
	})
}

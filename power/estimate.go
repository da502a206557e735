package power

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/mem"
	"github.com/shirou/gopsutil/v3/process"
)

// teadsLoadCurve is CPU package power as a fraction of TDP at a given load
// (percent), measured by Teads on SPECpower-like runs and published by
// Benjamin Davy, "Building an AWS EC2 carbon emissions dataset" (Teads
// Engineering, 2021), also used by Boavizta: 12 % of TDP idle, 32 % at 10 %
// load, 75 % at 50 %, 102 % at 100 %. We interpolate linearly between these
// points. Unlike "TDP × load" it keeps the idle floor that a real package
// draws and the concave rise at low load; unlike a constant it follows the
// training loop's phases.
var teadsLoadCurve = [...]struct{ load, fraction float64 }{
	{0, 0.12}, {10, 0.32}, {50, 0.75}, {100, 1.02},
}

// teadsFraction returns the fraction of TDP drawn at load (0..1).
func teadsFraction(load float64) float64 {
	pct := min(max(load*100, 0), 100)
	c := teadsLoadCurve
	for i := 1; i < len(c); i++ {
		if pct <= c[i].load {
			f := (pct - c[i-1].load) / (c[i].load - c[i-1].load)
			return c[i-1].fraction + f*(c[i].fraction-c[i-1].fraction)
		}
	}
	return c[len(c)-1].fraction
}

// Per-vCPU power used when the CPU model is unknown or a VM's share of its
// host cannot be told from its name: Cloud Carbon Footprint's AWS averages,
// 0.74 W per vCPU at idle and 3.5 W at full load (CCF methodology, compute
// coefficients from SPECpower results, 2021), interpolated linearly.
const (
	vCPUIdleWatts Watts = 0.74
	vCPUMaxWatts  Watts = 3.5
)

// ramWattsPerGB is the power of DRAM per GB (10^9 bytes) installed or used:
// 0.392 W/GB, Cloud Carbon Footprint methodology (memory coefficient, 2021,
// from Micron and Crucial DDR4 figures). Used only where RAPL has no DRAM
// domain.
const ramWattsPerGB = 0.392

// cpuPowerModel turns a load (0..1) into watts.
type cpuPowerModel struct {
	tdp     Watts   // per package; zero for the per-vCPU model
	scale   float64 // packages (or share of one) the TDP applies to
	vcpus   int
	summary string
}

func (m cpuPowerModel) at(load float64) Watts {
	if m.tdp > 0 {
		return Watts(float64(m.tdp) * m.scale * teadsFraction(load))
	}
	load = min(max(load, 0), 1)
	return Watts(float64(m.vcpus) * (float64(vCPUIdleWatts) + load*float64(vCPUMaxWatts-vCPUIdleWatts)))
}

// chooseCPUModel picks the power model for a CPU: TDP × sockets on bare metal
// with a known model; in a VM, the TDP times the share of the host package
// that the vCPUs represent when the model name gives its core count (2
// threads a core); otherwise the per-vCPU figures.
func chooseCPUModel(modelName string, sockets, vcpus int, vm bool) cpuPowerModel {
	m, ok := LookupCPU(modelName)
	sockets = max(sockets, 1)
	switch {
	case ok && !vm:
		return cpuPowerModel{tdp: m.TDP, scale: float64(sockets), vcpus: vcpus,
			summary: fmt.Sprintf("TDP %g W (%s) × %d socket(s), Teads load curve", float64(m.TDP), m.Name, sockets)}
	case ok && vm && m.Cores > 0:
		share := min(float64(vcpus)/float64(2*m.Cores), float64(sockets))
		return cpuPowerModel{tdp: m.TDP, scale: share, vcpus: vcpus,
			summary: fmt.Sprintf("TDP %g W (%s) × %d vCPU / %d threads of the host package (VM), Teads load curve", float64(m.TDP), m.Name, vcpus, 2*m.Cores)}
	default:
		why := "CPU model not in the TDP table"
		if ok {
			why = "VM whose share of the host CPU is unknown"
		}
		return cpuPowerModel{vcpus: vcpus,
			summary: fmt.Sprintf("%s: %d vCPU × %g–%g W by load (Cloud Carbon Footprint averages)", why, vcpus, float64(vCPUIdleWatts), float64(vCPUMaxWatts))}
	}
}

// procEnv returns gopsutil's environment override for a /proc root, or nil.
func procEnv(procRoot string) common.EnvMap {
	if procRoot == "" || procRoot == "/proc" {
		return nil
	}
	return common.EnvMap{common.HostProcEnvKey: procRoot}
}

func withEnv(ctx context.Context, env common.EnvMap) context.Context {
	if env == nil {
		return ctx
	}
	return context.WithValue(ctx, common.EnvKey, env)
}

// CPUEstimate estimates CPU power from load (gopsutil, /proc/stat) and a power
// model: TDP from the embedded table (see LookupCPU) on Teads' load curve, or
// per-vCPU figures when the model is unknown. With a process tree it reports
// the tree's share of the machine's busy CPU time times the machine's
// estimated power. Its method is always MethodEstimated.
//
// A CPUEstimate is read by one goroutine at a time; Info is safe for
// concurrent use.
type CPUEstimate struct {
	info  Info
	model cpuPowerModel
	env   common.EnvMap

	primed     bool
	busy, tot  float64
	tree       *procTree
	procPrev   map[int32]float64
	procStart  int64 // unix ms of the first read
	lastLoad   float64
	lastShare  float64
	scratchIDs []int32
}

var _ Source = (*CPUEstimate)(nil)

func newCPUEstimate(ctx context.Context, procRoot string, tree *procTree) (*CPUEstimate, error) {
	env := procEnv(procRoot)
	ectx := withEnv(ctx, env)
	infos, err := cpu.InfoWithContext(ectx)
	if err != nil || len(infos) == 0 {
		if err == nil {
			err = errors.New("no processor in cpuinfo")
		}
		return nil, fmt.Errorf("power: cpu estimate: reading cpuinfo: %w", err)
	}
	sockets := map[string]bool{}
	vm := false
	for _, in := range infos {
		sockets[in.PhysicalID] = true
		if slices.Contains(in.Flags, "hypervisor") {
			vm = true
		}
	}
	vcpus := len(infos)
	model := chooseCPUModel(infos[0].ModelName, len(sockets), vcpus, vm)
	c := &CPUEstimate{
		info: Info{Name: "cpu:estimate", Kind: KindCPU, Device: infos[0].ModelName, Index: -1,
			Method: MethodEstimated, Detail: model.summary},
		model: model, env: env,
	}
	if tree != nil {
		c.tree = tree
		c.procPrev = map[int32]float64{}
		c.info.Detail += "; share of process tree " + strconv.Itoa(int(tree.root))
	}
	if _, err := cpu.TimesWithContext(ectx, false); err != nil {
		return nil, fmt.Errorf("power: cpu estimate: reading /proc/stat: %w", err)
	}
	return c, nil
}

// Info describes the estimate.
func (c *CPUEstimate) Info() Info { return c.info }

// Read returns the mean estimated power since the previous Read.
func (c *CPUEstimate) Read(ctx context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0], Average: true}
	ectx := withEnv(ctx, c.env)
	ts, err := cpu.TimesWithContext(ectx, false)
	if err != nil || len(ts) == 0 {
		if err == nil {
			err = errors.New("empty /proc/stat")
		}
		return fmt.Errorf("power: cpu estimate: %w", err)
	}
	t := ts[0]
	// Steal is time the hypervisor gave to other guests: not this
	// machine's work, so it counts towards the total but not the load.
	busy := t.User + t.Nice + t.System + t.Irq + t.Softirq
	tot := busy + t.Idle + t.Iowait + t.Steal
	load, dBusy := c.lastLoad, 0.0
	if c.primed && tot > c.tot {
		dBusy = busy - c.busy
		load = dBusy / (tot - c.tot)
	}
	machine := c.model.at(load)
	if c.tree != nil {
		share := c.procShare(ectx, dBusy)
		machine = Watts(float64(machine) * share)
	}
	c.primed, c.busy, c.tot, c.lastLoad = true, busy, tot, load
	r.Power = machine
	return nil
}

// procShare returns the tree's part of dBusy, the machine's busy CPU seconds
// since the previous read.
func (c *CPUEstimate) procShare(ctx context.Context, dBusy float64) float64 {
	if c.procStart == 0 {
		c.procStart = time.Now().UnixMilli()
	}
	var d float64
	members := c.tree.procs(ctx)
	for pid, p := range members {
		times, err := p.TimesWithContext(ctx)
		if err != nil {
			continue
		}
		cur := times.User + times.System
		if prev, ok := c.procPrev[pid]; ok {
			d += max(cur-prev, 0)
		} else if created, err := p.CreateTimeWithContext(ctx); err == nil && created >= c.procStart {
			d += cur // born since we started: all its time is ours
		}
		c.procPrev[pid] = cur
	}
	for pid := range c.procPrev {
		if _, ok := members[pid]; !ok {
			delete(c.procPrev, pid)
		}
	}
	if dBusy <= 0 {
		return c.lastShare
	}
	c.lastShare = min(max(d/dBusy, 0), 1)
	return c.lastShare
}

// RAMEstimate estimates DRAM power as 0.392 W per GB (Cloud Carbon Footprint,
// 2021) of installed memory, or of the process tree's resident memory. Its
// method is always MethodEstimated; it is used only where RAPL has no DRAM
// domain.
//
// A RAMEstimate is read by one goroutine at a time; Info is safe for
// concurrent use.
type RAMEstimate struct {
	info  Info
	env   common.EnvMap
	tree  *procTree
	total uint64
}

var _ Source = (*RAMEstimate)(nil)

func newRAMEstimate(ctx context.Context, procRoot string, tree *procTree) (*RAMEstimate, error) {
	env := procEnv(procRoot)
	vm, err := mem.VirtualMemoryWithContext(withEnv(ctx, env))
	if err != nil {
		return nil, fmt.Errorf("power: ram estimate: reading meminfo: %w", err)
	}
	r := &RAMEstimate{env: env, total: vm.Total, info: Info{
		Name: "dram:estimate", Kind: KindDRAM, Index: -1, Method: MethodEstimated,
		Device: fmt.Sprintf("%.1f GB RAM", float64(vm.Total)/1e9),
		Detail: fmt.Sprintf("%g W/GB (Cloud Carbon Footprint) × installed memory", ramWattsPerGB),
	}}
	if tree != nil {
		r.tree = tree
		r.info.Detail = fmt.Sprintf("%g W/GB (Cloud Carbon Footprint) × resident memory of process tree %d", ramWattsPerGB, tree.root)
	}
	return r, nil
}

// Info describes the estimate.
func (m *RAMEstimate) Info() Info { return m.info }

// Read returns the estimated power now.
func (m *RAMEstimate) Read(ctx context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0], Average: true}
	bytes := m.total
	if m.tree != nil {
		bytes = 0
		ectx := withEnv(ctx, m.env)
		for _, p := range m.tree.procs(ectx) {
			if mi, err := p.MemoryInfoWithContext(ectx); err == nil {
				bytes += mi.RSS
			}
		}
	}
	r.Power = Watts(float64(bytes) / 1e9 * ramWattsPerGB)
	return nil
}

// procTree tracks the processes descending from a root pid, refreshing the
// membership at most every procTreeRefresh. One tree serves all the sources
// of a process view; it is safe for concurrent use.
type procTree struct {
	mu        sync.Mutex
	root      int32
	env       common.EnvMap
	members   map[int32]*process.Process
	refreshed time.Time
}

// procTreeRefresh bounds how often the process table is walked (one read of
// /proc/<pid>/stat per process on the machine).
const procTreeRefresh = 2 * time.Second

func newProcTree(pid int, procRoot string) *procTree {
	return &procTree{root: int32(pid), env: procEnv(procRoot), members: map[int32]*process.Process{}}
}

// procs returns the tree's processes; ctx must carry the tree's environment.
func (t *procTree) procs(ctx context.Context) map[int32]*process.Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.refreshed) < procTreeRefresh && len(t.members) > 0 {
		return t.members
	}
	t.refreshed = time.Now()
	ctx = withEnv(ctx, t.env)
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return t.members
	}
	parent := make(map[int32]int32, len(pids))
	for _, pid := range pids {
		if p, ok := t.members[pid]; ok {
			if pp, err := p.PpidWithContext(ctx); err == nil {
				parent[pid] = pp
			}
			continue
		}
		if pp, err := ppid(ctx, pid); err == nil {
			parent[pid] = pp
		}
	}
	in := map[int32]bool{t.root: true}
	var walk func(pid int32) bool
	walk = func(pid int32) bool {
		if v, ok := in[pid]; ok {
			return v
		}
		in[pid] = false // breaks cycles
		pp, ok := parent[pid]
		if !ok || pp == pid || pp == 0 {
			return false
		}
		in[pid] = walk(pp)
		return in[pid]
	}
	next := make(map[int32]*process.Process, len(t.members))
	for pid := range parent {
		if !walk(pid) {
			continue
		}
		if p, ok := t.members[pid]; ok {
			next[pid] = p
		} else if p, err := process.NewProcessWithContext(ctx, pid); err == nil {
			next[pid] = p
		}
	}
	t.members = next
	return next
}

// pids returns the tree's pids.
func (t *procTree) pids(ctx context.Context) map[int32]*process.Process { return t.procs(ctx) }

func ppid(ctx context.Context, pid int32) (int32, error) {
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return 0, err
	}
	return p.PpidWithContext(ctx)
}

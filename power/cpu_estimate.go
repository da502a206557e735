package power

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
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

// The CPU estimate's uncertainty (Info.Uncertainty), from CodeCarbon's
// published load profiles: package power measured with RAPL against CPU load
// on 4 CPU models and 5 machines, 106 points (data/cpu_load_profiles.csv,
// MIT licence). TestCPUEstimateAccuracy recomputes every figure here from
// that file.
//
// cpuEstimateUncertainty is the TDP model's: the median of |measured /
// estimate − 1| over the 106 points is 0.342 (worst 0.756), so half the
// measurements lay within the estimate ± 34.2 %. Measured against RAPL the
// other way round, |estimate / measured − 1|, the median is 35.6 % and the
// worst 311 % (a Xeon E3-1240 V2 at 32.5 % load that drew 9.4 W where 38.8
// W was estimated: its package stays near idle power up to half load, and
// the curve assumes a steep rise at low load). The same CPU name drew
// 49.5 W and 96.6 W at full load on two machines (the Xeon E3-1240 V2), so no
// curve that knows only the model can promise much better.
//
// cpuCalibratedUncertainty is the calibrated model's (CPUCalibration): each
// machine's own idle and full-load power on the Teads curve's shape, checked
// on the 87 points that are neither (load above 5 % and below 99 %): median
// 0.183, worst 0.699. It holds for a calibration made on the same machine
// type; carried to another machine with the same CPU name (the two Xeon
// E3-1240 V2) the median error is 48 % and 98 %, no better than TDP.
const (
	cpuEstimateUncertainty   = 0.342
	cpuCalibratedUncertainty = 0.183
)

// Texts for Info.UncertaintySource.
const (
	cpuEstimateUncertaintySource = "median error of the TDP model against RAPL on CodeCarbon's published load profiles (106 points, 4 CPUs)"
	cpuVCPUUncertaintySource     = "not quantified: the per-vCPU figures (Cloud Carbon Footprint) have not been checked against a measurement"
	cpuCalibratedUncertainySrc   = "median error of idle/full-load calibrations on the same machine, CodeCarbon's published load profiles (87 points, 4 CPUs); not valid for other hardware"
)

// cpuPowerModel turns a load (0..1) into watts.
type cpuPowerModel struct {
	tdp     Watts   // per package; zero for the per-vCPU and calibrated models
	scale   float64 // packages (or share of one) the TDP or calibration applies to
	vcpus   int
	summary string

	calibrated bool
	idle, full Watts // calibrated: all packages, idle and full load

	uncertainty       float64
	uncertaintySource string
}

// teadsShape is the Teads curve rescaled to run from 0 at idle to 1 at full
// load: the shape a calibrated model puts between its idle and full power.
func teadsShape(load float64) float64 {
	lo, hi := teadsFraction(0), teadsFraction(1)
	return (teadsFraction(load) - lo) / (hi - lo)
}

func (m cpuPowerModel) at(load float64) Watts {
	if m.calibrated {
		return Watts(m.scale * (float64(m.idle) + float64(m.full-m.idle)*teadsShape(load)))
	}
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
//
// A calibration (cal, not nil) for the same model and sockets wins over all
// of these: its idle and full-load power on the shape of the Teads curve,
// times the share of the calibrated machine's logical CPUs that this one
// sees (at most 1).
func chooseCPUModel(modelName string, sockets, vcpus int, vm bool, cal *CPUCalibration) cpuPowerModel {
	sockets = max(sockets, 1)
	if cal != nil && cal.Matches(modelName, sockets) {
		share := 1.0
		if cal.LogicalCPUs > 0 && vcpus > 0 {
			share = min(float64(vcpus)/float64(cal.LogicalCPUs), 1)
		}
		summary := fmt.Sprintf("calibrated on %s: idle %.1f W, full load %.1f W (%d socket(s), RAPL), Teads curve shape",
			cal.MeasuredAt.UTC().Format(time.DateOnly), cal.IdleW, cal.FullW, cal.Sockets)
		if share < 1 {
			summary += fmt.Sprintf(" × %d of %d logical CPUs", vcpus, cal.LogicalCPUs)
		}
		return cpuPowerModel{calibrated: true, idle: Watts(cal.IdleW), full: Watts(cal.FullW), scale: share, vcpus: vcpus,
			summary: summary, uncertainty: cpuCalibratedUncertainty, uncertaintySource: cpuCalibratedUncertainySrc}
	}
	m, ok := LookupCPU(modelName)
	switch {
	case ok && !vm:
		return cpuPowerModel{tdp: m.TDP, scale: float64(sockets), vcpus: vcpus,
			summary:     fmt.Sprintf("TDP %g W (%s) × %d socket(s), Teads load curve", float64(m.TDP), m.Name, sockets),
			uncertainty: cpuEstimateUncertainty, uncertaintySource: cpuEstimateUncertaintySource}
	case ok && vm && m.Cores > 0:
		share := min(float64(vcpus)/float64(2*m.Cores), float64(sockets))
		return cpuPowerModel{tdp: m.TDP, scale: share, vcpus: vcpus,
			summary:     fmt.Sprintf("TDP %g W (%s) × %d vCPU / %d threads of the host package (VM), Teads load curve", float64(m.TDP), m.Name, vcpus, 2*m.Cores),
			uncertainty: cpuEstimateUncertainty, uncertaintySource: cpuEstimateUncertaintySource}
	default:
		why := "CPU model not in the TDP table"
		if ok {
			why = "VM whose share of the host CPU is unknown"
		}
		return cpuPowerModel{vcpus: vcpus,
			summary:           fmt.Sprintf("%s: %d vCPU × %g–%g W by load (Cloud Carbon Footprint averages)", why, vcpus, float64(vCPUIdleWatts), float64(vCPUMaxWatts)),
			uncertaintySource: cpuVCPUUncertaintySource}
	}
}

// CPUEstimate estimates CPU power from load and a power model: TDP from the
// embedded table (see LookupCPU) on Teads' load curve, or per-vCPU figures
// when the model is unknown. Its method is always MethodEstimated.
//
// It is a model, not a measurement: against RAPL on CodeCarbon's published
// load profiles (106 points, 4 CPUs) half the measured powers lay within its
// estimate ± 34.2 %, which Info.Uncertainty says (0.342). Where a
// CPUCalibration of the same model and sockets exists (WithCPUCalibration,
// CARBONTRACK_CPU_CALIBRATION, DefaultCPUCalibrationPath; "carbontrack
// calibrate" writes one where RAPL is readable), the estimate uses its
// measured idle and full-load power instead of the TDP, Info.Detail says
// "calibrated on <date>" and Info.Uncertainty is 0.183.
//
// The load is the busy fraction of the machine's CPU time since the previous
// Read, from the cumulative tick counters of /proc/stat's aggregate "cpu"
// line: user, nice, system, irq and softirq are busy, idle and iowait idle;
// steal (time the hypervisor gave to other guests) counts towards the total
// but not the load. Each Read reports the mean power over the interval since
// the previous one (Reading.Average), exact at any spacing of the reads, so
// Info.Cadence is CadenceRare. A first Read, or one within a tick of the
// previous, reports the power at the last load known (idle at first). A
// counter that goes backwards (iowait can, on tickless kernels) is taken as
// the new base and the last load is reported again.
//
// On Linux /proc/stat is opened once and re-read with pread into a buffer the
// estimate owns: a machine-wide Read opens no file and allocates nothing.
// Elsewhere gopsutil reads the counters, and Read allocates.
//
// With a process tree (WithProcess) it reports the tree's share of the
// machine's busy CPU time over the interval times the machine's estimated
// power. The tree's CPU time is that of its processes together with the
// children they have waited for (cutime and cstime in /proc/<pid>/stat), so a
// process of the tree that exits and is reaped by its parent between two
// reads is counted to its end, even when it lived too briefly to be seen; one
// that ends without being waited for inside the tree (its parent ignores
// SIGCHLD, or it was orphaned) loses its time since the previous Read.
// Processes born since the first Read count whole, older ones from the first
// Read on. The share is at most 1. A Read of the process view allocates when the process table is
// walked for the tree's membership (at most every 2 s, shared with the other
// sources of the view: one open and read of /proc/<pid>/stat per process of
// the machine) and when a process joins the tree (its stat file is opened and
// kept open while it lives); otherwise it is one pread a process of the tree,
// allocation-free.
//
// A CPUEstimate is read by one goroutine at a time; Info is safe for
// concurrent use, and Close may be called at any time. Close it (Discovery
// does) to release its files; a Read after Close returns an error wrapping
// os.ErrClosed.
type CPUEstimate struct {
	info  Info
	model cpuPowerModel

	mu       sync.Mutex // serialises Read and Close
	times    *cpuTimesReader
	closed   bool
	primed   bool
	busy     uint64 // busy ticks at the previous read
	total    uint64 // total ticks at the previous read
	lastLoad float64

	tree *treeCPUTime // nil for the machine
}

var (
	_ Source = (*CPUEstimate)(nil)
	_ Closer = (*CPUEstimate)(nil)
)

func newCPUEstimate(ctx context.Context, procRoot string, tree *procTree, cal *CPUCalibration) (*CPUEstimate, error) {
	ectx := withEnv(ctx, procEnv(procRoot))
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
	model := chooseCPUModel(infos[0].ModelName, len(sockets), vcpus, vm, cal)
	c := &CPUEstimate{
		info: Info{Name: "cpu:estimate", Kind: KindCPU, Device: infos[0].ModelName, Index: -1,
			Method: MethodEstimated, Detail: model.summary, Cadence: CadenceRare,
			Uncertainty: model.uncertainty, UncertaintySource: model.uncertaintySource},
		model: model,
	}
	if c.times, err = newCPUTimesReader(procRoot); err != nil {
		return nil, err
	}
	if _, err := c.times.read(ctx); err != nil {
		_ = c.times.close()
		return nil, fmt.Errorf("power: cpu estimate: %w", err)
	}
	if tree != nil {
		pids, err := newPIDStatReader(tree)
		if err != nil {
			_ = c.times.close()
			return nil, err
		}
		c.tree = &treeCPUTime{tree: tree, pids: pids, members: map[int32]*treeMember{}, now: time.Now}
		c.info.Detail += "; share of process tree " + strconv.Itoa(int(tree.root))
	}
	return c, nil
}

// Info describes the estimate.
func (c *CPUEstimate) Info() Info { return c.info }

// Read returns the mean estimated power since the previous Read.
func (c *CPUEstimate) Read(ctx context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0], Average: true}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("power: cpu estimate: %w", os.ErrClosed)
	}
	t, err := c.times.read(ctx)
	if err != nil {
		return fmt.Errorf("power: cpu estimate: %w", err)
	}
	busy, total := t.busy(), t.total()
	load, dBusy := c.lastLoad, uint64(0)
	if c.primed && total > c.total {
		if busy > c.busy {
			dBusy = busy - c.busy
		}
		load = float64(dBusy) / float64(total-c.total)
	}
	machine := c.model.at(load)
	if c.tree != nil {
		machine = Watts(float64(machine) * c.tree.share(ctx, dBusy))
	}
	c.primed, c.busy, c.total, c.lastLoad = true, busy, total, load
	r.Power = machine
	return nil
}

// Close releases /proc/stat and the process files. It is idempotent.
func (c *CPUEstimate) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.times.close()
	if c.tree != nil {
		err = errors.Join(err, c.tree.pids.close())
	}
	if err != nil {
		return fmt.Errorf("power: cpu estimate: close: %w", err)
	}
	return nil
}

// treeCPUTime counts a process tree's CPU ticks between reads. It is not safe
// for concurrent use.
type treeCPUTime struct {
	tree        *procTree
	pids        *pidStatReader
	members     map[int32]*treeMember
	gen         uint64           // read generation, for treeMember.seen
	now         func() time.Time // the clock: time.Now
	startMillis int64            // unix ms of the first read; 0 before it
	carryTicks  uint64           // counted while the machine's busy time stood still
	lastShare   float64
}

// treeMember is a process of the tree as of its last successful read.
type treeMember struct {
	ticks    uint64 // pidStat.cpuTicks
	children uint64 // cutime + cstime
	ppid     int32
	seen     uint64 // generation of the last successful read
	// reaped is how much of the growth of its children's times this read
	// counted and no gone descendant has yet been matched with: the most
	// that the descendants gone since the previous read can have moved into
	// it.
	reaped uint64
}

// share returns the tree's part of dBusy, the machine's busy ticks since the
// previous read; the last share when dBusy is zero.
func (v *treeCPUTime) share(ctx context.Context, dBusy uint64) float64 {
	d := v.carryTicks + v.ticks(ctx)
	if dBusy == 0 {
		v.carryTicks = d // owed to the next interval
		return v.lastShare
	}
	v.carryTicks = 0
	v.lastShare = min(float64(d)/float64(dBusy), 1)
	return v.lastShare
}

// ticks returns the tree's CPU ticks since the previous call.
func (v *treeCPUTime) ticks(ctx context.Context) uint64 {
	if v.startMillis == 0 {
		v.startMillis = v.now().UnixMilli()
	}
	v.gen++
	var d uint64
	procs := v.tree.procs(ctx)
	for pid := range procs {
		st, err := v.pids.read(ctx, pid)
		if err != nil {
			continue // exited: dealt with below
		}
		cur, children := st.cpuTicks(), st.cutime+st.cstime
		m, ok := v.members[pid]
		switch {
		case ok:
			m.reaped = 0
			if cur > m.ticks {
				d += cur - m.ticks
				if children > m.children {
					m.reaped = min(children-m.children, cur-m.ticks)
				}
			}
		case st.startMillis >= v.startMillis:
			// Born since the first read: all its time is the tree's.
			m = &treeMember{reaped: children}
			v.members[pid] = m
			d += cur
		default:
			// Running before the first read: counted from now on.
			m = &treeMember{}
			v.members[pid] = m
		}
		m.ticks, m.children, m.ppid, m.seen = cur, children, st.ppid, v.gen
	}
	// A process gone since the previous read and waited for by its parent
	// has moved all its ticks into the parent's children's times, counted
	// above as the parent's: take back what was counted of it already. A
	// parent gone too handed them on to its own parent, so the nearest live
	// ancestor took them. A process reaped without a wait (its parent
	// ignored SIGCHLD, or it was orphaned) moved nothing, which the
	// ancestor's unchanged children's times show.
	for _, m := range v.members {
		if m.seen == v.gen {
			continue
		}
		if a := v.liveAncestor(m); a != nil {
			take := min(m.ticks, a.reaped)
			a.reaped -= take
			d -= take
		}
	}
	for pid, m := range v.members {
		if m.seen != v.gen {
			delete(v.members, pid)
		}
	}
	v.pids.prune(procs)
	return d
}

// liveAncestor returns the nearest ancestor of m read this time, or nil.
func (v *treeCPUTime) liveAncestor(m *treeMember) *treeMember {
	p := m.ppid
	for range len(v.members) {
		a, ok := v.members[p]
		if !ok {
			return nil
		}
		if a.seen == v.gen {
			return a
		}
		p = a.ppid
	}
	return nil
}

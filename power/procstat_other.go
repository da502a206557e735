//go:build !linux

package power

import (
	"context"
	"fmt"
	"math"

	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/process"
)

// cpuTimesReader reads the machine's cumulative CPU times through gopsutil
// where there is no /proc/stat to keep open; its reads allocate. It is not
// safe for concurrent use.
type cpuTimesReader struct{ env common.EnvMap }

func newCPUTimesReader(procRoot string) (*cpuTimesReader, error) {
	return &cpuTimesReader{env: procEnv(procRoot)}, nil
}

// toTicks converts gopsutil's seconds back to USER_HZ ticks.
func toTicks(s float64) uint64 { return uint64(math.Round(max(s, 0) * userHz)) }

// read returns the current aggregate CPU times.
func (r *cpuTimesReader) read(ctx context.Context) (cpuJiffies, error) {
	ts, err := cpu.TimesWithContext(withEnv(ctx, r.env), false)
	if err != nil || len(ts) == 0 {
		if err == nil {
			err = errNoCPULine
		}
		return cpuJiffies{}, fmt.Errorf("cpu times: %w", err)
	}
	t := ts[0]
	return cpuJiffies{user: toTicks(t.User), nice: toTicks(t.Nice), system: toTicks(t.System), idle: toTicks(t.Idle),
		iowait: toTicks(t.Iowait), irq: toTicks(t.Irq), softirq: toTicks(t.Softirq), steal: toTicks(t.Steal),
		guest: toTicks(t.Guest), guestNice: toTicks(t.GuestNice)}, nil
}

func (r *cpuTimesReader) close() error { return nil }

// pidStatReader reads processes through gopsutil; its reads allocate and
// the children's times (cutime, cstime) are not available. It is not safe
// for concurrent use.
type pidStatReader struct {
	env   common.EnvMap
	procs map[int32]*process.Process
}

func newPIDStatReader(tree *procTree) (*pidStatReader, error) {
	return &pidStatReader{env: procEnv(tree.procRoot), procs: map[int32]*process.Process{}}, nil
}

// read returns pid's stat.
func (r *pidStatReader) read(ctx context.Context, pid int32) (pidStat, error) {
	ctx = withEnv(ctx, r.env)
	p, ok := r.procs[pid]
	if !ok {
		var err error
		if p, err = process.NewProcessWithContext(ctx, pid); err != nil {
			return pidStat{}, err
		}
		r.procs[pid] = p
	}
	times, err := p.TimesWithContext(ctx)
	if err != nil {
		r.forget(pid)
		return pidStat{}, err
	}
	var s pidStat
	s.utime, s.stime = toTicks(times.User), toTicks(times.System)
	if pp, err := p.PpidWithContext(ctx); err == nil {
		s.ppid = pp
	}
	if created, err := p.CreateTimeWithContext(ctx); err == nil {
		s.startMillis = created
	}
	if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
		s.rssBytes = mi.RSS
	}
	return s, nil
}

// forget drops pid.
func (r *pidStatReader) forget(pid int32) { delete(r.procs, pid) }

// prune drops the processes not in members.
func (r *pidStatReader) prune(members map[int32]int32) {
	for pid := range r.procs {
		if _, ok := members[pid]; !ok {
			delete(r.procs, pid)
		}
	}
}

func (r *pidStatReader) close() error { clear(r.procs); return nil }

// listProcs calls fn with the pid and parent pid of every process.
func listProcs(ctx context.Context, procRoot string, _ []byte, fn func(pid, ppid int32)) error {
	ctx = withEnv(ctx, procEnv(procRoot))
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		p, err := process.NewProcessWithContext(ctx, pid)
		if err != nil {
			continue
		}
		if pp, err := p.PpidWithContext(ctx); err == nil {
			fn(pid, pp)
		}
	}
	return nil
}

package tracker

import (
	"context"
	"slices"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
)

// Epoch boundaries: the tracker marks them, the sampler reads them, each tick
// places them source by source and closes the epochs; callers that report
// wait for them.

// tick runs on the sampler's goroutine after each sample: it reads the
// epoch boundaries waiting for this sample, then adds each source's energy,
// and its grams at the current intensity.
func (t *Tracker) tick(tk *sampler.Tick) {
	t.mu.Lock()
	if t.frozen {
		// A reading that returned after Stop gave up waiting for it.
		t.mu.Unlock()
		return
	}
	closed, fire := t.resolveLocked(tk)
	if tk.Event {
		t.eventAt = latest(t.eventAt, tk.Time)
	}
	for i, d := range tk.Delta {
		if !tk.Read[i] {
			continue
		}
		t.cumE[i] += d
		t.cumG[i] += t.gramsLocked(d, t.readAt[i], tk.Time)
		fresh := false
		if prev := t.readAt[i]; !prev.IsZero() && tk.Time.After(prev) {
			t.lastPow[i], fresh = d.Over(tk.Time.Sub(prev)), true
		}
		if t.series != nil {
			t.freshPow[i] = fresh
		}
		t.readAt[i] = latest(t.readAt[i], tk.Time)
	}
	if t.series != nil {
		t.series.add(tk, tk.Time.Sub(t.start), t.lastPow, t.freshPow)
	}
	if !tk.Time.Before(t.lastTick) {
		t.lastTick = tk.Time
	}
	t.wakeWaitersLocked(false)
	if t.w != nil && t.w.checkpoints && tk.Time.Sub(t.lastCkpt) >= t.opts.checkpoint {
		t.lastCkpt, t.ckptDue, closed = tk.Time, true, true
	}
	fire = t.checkBudgetLocked(false) || fire
	t.mu.Unlock()
	if closed {
		t.wakeWriter()
	}
	if fire {
		t.fireBudget()
	}
}

// resolveLocked places the pending boundaries that tk's reads bracket,
// before tk's energy is added: a source's energy at a boundary is its
// energy at its previous read plus the share of the interval's energy
// before the boundary. In an event sample (every source asked for), a
// source not read (lost, failing) is placed at the energy read so far; so
// is every source when tk is nil (Stop, when no more reads will come).
// Boundaries placed for every source are then applied, in order. It says
// whether an epoch was closed and whether the budget fired.
func (t *Tracker) resolveLocked(tk *sampler.Tick) (closed, fire bool) {
	if t.markHead == len(t.marks) {
		return false, false
	}
	n := t.nsrc
	for i := range t.cumE {
		read := tk != nil && tk.Read[i]
		if !read && tk != nil && !tk.Event {
			continue
		}
		for j := t.placed[i]; j < len(t.marks); j++ {
			m := &t.marks[j]
			if tk != nil && m.at.After(tk.Time) {
				break
			}
			var part power.Joules
			if prev := t.readAt[i]; read && !prev.IsZero() {
				if span := tk.Time.Sub(prev); span > 0 {
					frac := min(max(float64(m.at.Sub(prev))/float64(span), 0), 1)
					part = tk.Delta[i] * power.Joules(frac)
				}
			}
			t.markE[j*n+i] = t.cumE[i] + part
			t.markG[j*n+i] = t.cumG[i] + t.gramsLocked(part, t.readAt[i], m.at)
			t.placed[i] = j + 1
		}
	}
	for t.markHead < len(t.marks) && t.placedLocked(t.markHead) {
		j := t.markHead
		m := t.marks[j]
		t.markHead++
		copy(t.tmpE, t.markE[j*n:(j+1)*n])
		copy(t.tmpG, t.markG[j*n:(j+1)*n])
		if !m.end {
			copy(t.startE, t.tmpE)
			copy(t.startG, t.tmpG)
			t.rOpen, t.openStart = true, m.at
			continue
		}
		closed = true
		if t.closeEndLocked(m) {
			fire = true
		}
	}
	if t.markHead == len(t.marks) {
		t.marks, t.markE, t.markG, t.markHead = t.marks[:0], t.markE[:0], t.markG[:0], 0
		clear(t.placed)
	}
	return closed, fire
}

// placedLocked says whether mark j is placed for every source.
func (t *Tracker) placedLocked(j int) bool {
	for _, p := range t.placed {
		if p <= j {
			return false
		}
	}
	return true
}

// markLocked appends a boundary for the sampler to read; it allocates
// only when the pending boundaries outgrow every earlier burst.
func (t *Tracker) markLocked(m mark) {
	t.marks = append(t.marks, m)
	n := len(t.markE) + t.nsrc
	if n > cap(t.markE) {
		t.markE = slices.Grow(t.markE, max(n, 2*cap(t.markE))-len(t.markE))
		t.markG = slices.Grow(t.markG, max(n, 2*cap(t.markG))-len(t.markG))
	}
	t.markE, t.markG = t.markE[:n], t.markG[:n]
}

// gramsLocked returns the grams CO2e (PUE included) of energy d drawn
// between from and to: at the intensity before the latest change for the
// part of the interval before it, at the current one after.
func (t *Tracker) gramsLocked(d power.Joules, from, to time.Time) float64 {
	kNew, kOld := t.opts.pue*float64(t.curI), t.opts.pue*float64(t.prevI)
	switch {
	case t.changeAt.IsZero() || from.IsZero() || !from.Before(t.changeAt):
		return d.KWh() * kNew
	case !to.After(t.changeAt):
		return d.KWh() * kOld
	}
	frac := float64(t.changeAt.Sub(from)) / float64(to.Sub(from))
	return d.KWh() * (frac*kOld + (1-frac)*kNew)
}

// closeEndLocked records the epoch that the end boundary m closes, from
// tmpE/tmpG; from WithEpochsBeforePred epochs on it remakes the projection
// and checks the budget against it. It says whether the budget fired.
func (t *Tracker) closeEndLocked(m mark) bool {
	n := t.closeEpochLocked(m.at, m.interrupted, m.work)
	if m.interrupted {
		return false
	}
	projected := false
	if t.predAt > 0 && t.completed >= t.predAt {
		t.proj, t.hasProj = t.stats.projection(t.epochs), true
		t.projGen++
		projected = true
		if t.completed == t.predAt {
			t.firstProj, t.firstAt = t.proj, m.at
			t.startAdviceLocked(m.at)
		}
	}
	if n == t.monitor {
		t.actual = actualMark{set: true, at: m.at}
	}
	return t.checkBudgetLocked(projected)
}

// Refresh asks the sampler to read every source now and waits, until ctx
// is done, for that read to be counted, so that Status reflects this
// moment rather than the latest read on the sources' own cadence (counters
// are read every WithInterval). Status lines and metrics scrapes call it;
// the training loop need not. It returns ctx's error if the read did not
// come in time, and nil at once after Stop.
func (t *Tracker) Refresh(ctx context.Context) error {
	return t.awaitTick(ctx, waiter{at: t.opts.now()})
}

// awaitMarks waits, at most d, until the sampler has read every boundary
// marked so far. It is for the calls that report (Report, Projection,
// FinalEmissionsReported, the question of WithStopAndConfirm), never for
// EpochStart or EpochEnd.
func (t *Tracker) awaitMarks(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = t.awaitTick(ctx, waiter{marks: true})
}

// waiter is a caller of Refresh or awaitMarks, woken by the tick that
// satisfies it (or by Stop).
type waiter struct {
	at    time.Time // Refresh: an event sample at or after at
	marks bool      // awaitMarks: no boundary pending
	ch    chan struct{}
}

func (t *Tracker) awaitTick(ctx context.Context, w waiter) error {
	t.mu.Lock()
	if t.frozen || t.satisfiedLocked(&w) {
		t.mu.Unlock()
		return nil
	}
	w.ch = make(chan struct{})
	t.waiters = append(t.waiters, w)
	t.mu.Unlock()
	t.smp.Request()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		t.waiters = slices.DeleteFunc(t.waiters, func(x waiter) bool { return x.ch == w.ch })
		t.mu.Unlock()
		return ctx.Err()
	}
}

func (t *Tracker) satisfiedLocked(w *waiter) bool {
	if w.marks {
		return t.markHead == len(t.marks)
	}
	return !t.eventAt.IsZero() && !t.eventAt.Before(w.at)
}

// wakeWaitersLocked wakes the waiters a tick satisfied (all of them when
// all is set: Stop); it allocates nothing.
func (t *Tracker) wakeWaitersLocked(all bool) {
	if len(t.waiters) == 0 {
		return
	}
	keep := t.waiters[:0]
	for _, w := range t.waiters {
		if all || t.satisfiedLocked(&w) {
			close(w.ch)
			continue
		}
		keep = append(keep, w)
	}
	clear(t.waiters[len(keep):])
	t.waiters = keep
}

// closeEpochLocked records the open epoch, ending at now, from tmpE/tmpG,
// with its work (EpochEndWork; 0 for none), and returns the number of
// epochs recorded.
func (t *Tracker) closeEpochLocked(now time.Time, interrupted bool, work float64) int {
	r := epochRec{start: t.openStart.Sub(t.start), end: now.Sub(t.start), interrupted: interrupted, work: work}
	if len(t.recs) == cap(t.recs) {
		// Double: the amortised cost per epoch stays low however long the
		// run (append grows large slices by 1.25 only).
		t.recs = slices.Grow(t.recs, len(t.recs))
		t.devE = slices.Grow(t.devE, len(t.devE))
	}
	for i := range t.tmpE {
		e := max(t.tmpE[i]-t.startE[i], 0)
		r.energy += e
		r.byKind.add(t.infos[i].Kind, e)
		r.grams += max(t.tmpG[i]-t.startG[i], 0)
		t.devE = append(t.devE, e)
		t.devSum[i] += e
	}
	t.recs = append(t.recs, r)
	t.sumD += r.duration()
	t.sumE += r.energy
	t.sumK.GPU += r.byKind.GPU
	t.sumK.CPU += r.byKind.CPU
	t.sumK.DRAM += r.byKind.DRAM
	t.sumG += r.grams
	if work > 0 {
		t.work += work
		t.workN++
		t.workT.Duration += r.duration()
		t.workT.DeviceEnergy += r.energy
		t.workT.ByKind.GPU += r.byKind.GPU
		t.workT.ByKind.CPU += r.byKind.CPU
		t.workT.ByKind.DRAM += r.byKind.DRAM
		t.workT.Grams += r.grams
	}
	if !interrupted {
		t.completed++
		t.compD += r.duration()
		t.compE += r.energy
		t.compK.GPU += r.byKind.GPU
		t.compK.CPU += r.byKind.CPU
		t.compK.DRAM += r.byKind.DRAM
		t.compG += r.grams
		t.stats.add(r.duration().Seconds(), float64(r.energy)*t.opts.pue, r.grams)
	}
	t.rOpen = false
	return len(t.recs)
}

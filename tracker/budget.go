package tracker

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/power"
)

// The budget (a callback and a cancel, run once off every lock) and
// WithStopAndConfirm's question.

// totalsLocked returns the whole run's grams and facility energy so far:
// what the budget and FinalEmissionsReported count.
func (t *Tracker) totalsLocked() (grams float64, facility power.Joules) {
	for i := range t.cumE {
		facility += t.cumE[i]
		grams += t.cumG[i]
	}
	return grams, facility * power.Joules(t.opts.pue)
}

// checkBudgetLocked says whether the budget has just been passed, by the
// actual consumption or (withProj) the latest projection, and then records
// the event (budgetEv) for the budget goroutine and the writer.
func (t *Tracker) checkBudgetLocked(withProj bool) bool {
	o := &t.opts
	if t.budgetFired || (o.budgetGrams == 0 && o.budgetKWh == 0) {
		return false
	}
	over := func(g, kwh float64) bool {
		return (o.budgetGrams > 0 && g > o.budgetGrams) || (o.budgetKWh > 0 && kwh > o.budgetKWh)
	}
	ev := BudgetEvent{BudgetGrams: o.budgetGrams, BudgetKWh: o.budgetKWh}
	g, e := t.totalsLocked()
	switch {
	case over(g, e.KWh()):
		ev.Grams, ev.KWh = g, e.KWh()
	case withProj && t.hasProj && over(t.proj.Grams, t.proj.FacilityEnergy.KWh()):
		ev.Projected, ev.Grams, ev.KWh = true, t.proj.Grams, t.proj.FacilityEnergy.KWh()
	default:
		return false
	}
	t.budgetFired, t.budgetEv = true, ev
	return true
}

// fireBudget hands the budget event to the budget goroutine and the writer;
// it never blocks (the event happens once; the channel has room for it).
func (t *Tracker) fireBudget() {
	t.mu.Lock()
	ev := t.budgetEv
	t.mu.Unlock()
	select {
	case t.budgetCh <- ev:
	default:
	}
	t.wakeWriter()
}

// budgetLoop waits for the budget event (or Stop), logs it and runs the
// budget and cancel functions, then ends: the budget fires once.
func (t *Tracker) budgetLoop() {
	defer close(t.budgetDone)
	select {
	case ev := <-t.budgetCh:
		t.runBudget(ev)
	case <-t.budgetQuit:
		select {
		case ev := <-t.budgetCh:
			t.runBudget(ev)
		default:
		}
	}
}

func (t *Tracker) runBudget(ev BudgetEvent) {
	t.inCallback.Add(1)
	defer t.inCallback.Add(-1)
	what := "actual"
	if ev.Projected {
		what = "projected"
	}
	t.logger.Warn("tracker: budget exceeded", "by", what, "grams", ev.Grams, "kwh", ev.KWh,
		"budget_grams", ev.BudgetGrams, "budget_kwh", ev.BudgetKWh)
	if f := t.opts.onBudget; f != nil {
		t.safeCall(func() { f(ev) })
	}
	if c := t.opts.cancel; c != nil {
		t.safeCall(func() { c(ErrBudgetExceeded) })
	}
}

func (t *Tracker) safeCall(f func()) {
	defer func() {
		if v := recover(); v != nil {
			t.logger.Error("tracker: callback panicked", "panic", fmt.Sprint(v))
		}
	}()
	f()
}

// confirm asks "Continue training (y/n)?" once the projection is printed.
func (t *Tracker) confirm() {
	in := bufio.NewReader(t.opts.confirm)
	t.ask("Continue training (y/n)?")
	for {
		line, err := in.ReadString('\n')
		ans := strings.ToLower(strings.TrimSpace(line))
		switch {
		case ans == "y":
			t.ask("Continuing...")
			return
		case ans == "n" || (err != nil && ans == ""):
			// End of input counts as "n": nobody can confirm.
			t.mu.Lock()
			t.userStop = true
			t.mu.Unlock()
			t.ask("Quitting...")
			t.logger.Info("tracker: session ended by user")
			if t.opts.cancel != nil {
				t.safeCall(func() { t.opts.cancel(ErrStoppedByUser) })
			}
			return
		}
		t.ask("Input not recognized. Try again (y/n):")
	}
}

// ask has the writer print a line of the question on the console, whatever
// the verbosity (stderr without a console), and in the output log, after
// everything before it (the projection), and waits for it (at most the stop
// timeout; then the message is counted as dropped).
func (t *Tracker) ask(msg string) {
	if t.w == nil {
		return // unreachable: New makes a writer for the question
	}
	m := ctlMsg{at: t.opts.now(), say: msg, done: make(chan struct{})}
	timer := time.NewTimer(t.opts.stopTimeout)
	defer timer.Stop()
	select {
	case t.w.ctl <- m:
		select {
		case <-m.done:
			return
		case <-timer.C:
		}
	case <-t.w.done:
	case <-timer.C:
	}
	t.mu.Lock()
	t.dropped++
	t.mu.Unlock()
	t.logger.Warn("tracker: writer behind; console message dropped", "message", msg)
}

package tracker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
)

// epochRec is an epoch as stored; its devices' energies live in
// Tracker.devE at [i*nsrc, (i+1)*nsrc).
type epochRec struct {
	n           int
	start, end  time.Time
	energy      power.Joules
	byKind      Components
	grams       float64
	interrupted bool
}

// Tracker measures the energy and emissions of a training run, epoch by
// epoch, like carbontracker's CarbonTracker. Create it with New, call
// EpochStart and EpochEnd around each epoch and Stop at the end (always:
// defer it). All methods are safe for concurrent use; EpochStart, EpochEnd
// and Stop never panic, and EpochStart and EpochEnd do no I/O (records are
// written by a goroutine the tracker owns). The zero value is not usable.
type Tracker struct {
	opts    options
	epochs  int
	predAt  int
	monitor int
	infos   []power.Info
	nsrc    int
	smp     *sampler.Sampler
	disc    *power.Discovery
	unavail []power.Unavailable
	logger  *slog.Logger
	start   time.Time

	refreshCancel context.CancelFunc
	refreshDone   chan struct{}

	out     chan record
	outDone chan struct{}

	budgetFired bool // guarded by mu

	mu sync.Mutex // guards everything below
	// Sampled state, updated by the tick function.
	cumE     []power.Joules
	cumG     []float64
	lastPow  []power.Watts
	lastTick time.Time
	curI     factor.GramsPerKWh
	intens   factor.Intensity
	nIntens  int
	nIErr    int
	// Epoch state.
	open       bool
	openN      int
	openStart  time.Time
	startE     []power.Joules
	startG     []float64
	recs       []epochRec
	sumE       power.Joules // devices' energy of the closed epochs
	sumG       float64      // grams of the closed epochs
	devE       []power.Joules
	tmpE       []power.Joules
	tmpG       []float64
	proj       *Projection
	monitoring bool // false once monitor epochs are done
	stopped    bool
	stopping   bool
	misuse     int
	dropped    int
	writeErrs  int
	userStop   bool
	files      []string
	lost       []bool
	lostErr    []string
	statusSnap sampler.Snapshot // reused by StatusInto
}

// New returns a tracker for a run of epochs epochs and starts measuring: it
// discovers the devices (or takes WithSources), fetches the emission factor
// once (bounded by 10 s; the world average if that fails), starts the
// sampler, the factor's refresh goroutine and, with WithLogDir, the writer.
// New is the only call that may block on I/O.
func New(epochs int, opts ...Option) (*Tracker, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if epochs < 1 {
		return nil, fmt.Errorf("tracker: epochs must be at least 1, got %d", epochs)
	}
	predAt := o.epochsBeforePred
	if predAt < 0 {
		predAt = epochs
	}
	monitor := o.monitorEpochs
	if monitor < 0 {
		monitor = epochs
	}
	switch {
	case monitor == 0 || monitor < predAt:
		return nil, fmt.Errorf("tracker: monitor epochs expected -1, > 0 and >= epochs before prediction (%d), got %d", predAt, o.monitorEpochs)
	case o.interval <= 0:
		return nil, fmt.Errorf("tracker: interval must be positive, got %v", o.interval)
	case o.refresh <= 0:
		return nil, fmt.Errorf("tracker: intensity refresh must be positive, got %v", o.refresh)
	case !(o.pue >= 1) || o.pue > 5:
		return nil, fmt.Errorf("tracker: PUE must be in [1, 5], got %v", o.pue)
	case o.precision < 0 || o.precision > 20:
		return nil, fmt.Errorf("tracker: precision must be in [0, 20], got %d", o.precision)
	case o.budgetGrams < 0 || o.budgetKWh < 0:
		return nil, errors.New("tracker: budget must not be negative")
	case o.now == nil:
		return nil, errors.New("tracker: nil clock")
	}
	if o.console == nil {
		o.console = io.Discard
	}
	if o.provider == nil {
		o.provider = factor.Static(o.zone)
	}
	t := &Tracker{opts: o, epochs: epochs, predAt: predAt, monitor: monitor, logger: o.logger, monitoring: true}

	sources := o.sources
	if sources == nil {
		dopts := []power.Option{power.WithLogger(o.logger)}
		if len(o.kinds) > 0 {
			dopts = append(dopts, power.WithKinds(o.kinds...))
		}
		if o.pid > 0 {
			dopts = append(dopts, power.WithProcess(o.pid))
		}
		if o.sysfsRoot != "" {
			dopts = append(dopts, power.WithSysfsRoot(o.sysfsRoot))
		}
		if o.nvmlLibrary != "" {
			dopts = append(dopts, power.WithNVMLLibrary(o.nvmlLibrary))
		}
		d, err := power.Discover(context.Background(), dopts...)
		if err != nil {
			return nil, fmt.Errorf("tracker: %w", err)
		}
		t.disc, sources, t.unavail = d, d.Sources, d.Unavailable
	} else if len(o.kinds) > 0 {
		keep := sources[:0:0]
		for _, s := range sources {
			for _, k := range o.kinds {
				if s.Info().Kind == k {
					keep = append(keep, s)
				}
			}
		}
		sources = keep
	}
	if len(sources) == 0 {
		t.closeDiscovery()
		return nil, errors.New("tracker: no power source available (see power.Discover's Unavailable)")
	}
	n := len(sources)
	t.nsrc = n
	t.cumE, t.cumG, t.lastPow = make([]power.Joules, n), make([]float64, n), make([]power.Watts, n)
	t.startE, t.startG = make([]power.Joules, n), make([]float64, n)
	t.tmpE, t.tmpG = make([]power.Joules, n), make([]float64, n)
	t.lost, t.lostErr = make([]bool, n), make([]string, n)
	t.recs = make([]epochRec, 0, epochs+1)
	t.devE = make([]power.Joules, 0, (epochs+1)*n)

	smp, err := sampler.New(sources, sampler.WithInterval(o.interval), sampler.WithLogger(o.logger),
		sampler.WithClock(o.now), sampler.WithTickFunc(t.tick))
	if err != nil {
		t.closeDiscovery()
		return nil, fmt.Errorf("tracker: %w", err)
	}
	t.smp = smp
	t.infos = smp.Sources()

	// The first intensity, before any tick needs it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.fetchIntensity(ctx)
	cancel()

	if o.logDir != "" {
		w, err := newWriter(t)
		if err != nil {
			t.closeDiscovery()
			return nil, err
		}
		t.files = w.files()
		t.out = make(chan record, writeQueue)
		t.outDone = make(chan struct{})
		go w.run(t.out, t.outDone)
	} else if o.verbose > 0 {
		t.out = make(chan record, writeQueue)
		t.outDone = make(chan struct{})
		go (&writer{t: t}).run(t.out, t.outDone)
	}

	rctx, rcancel := context.WithCancel(context.Background())
	t.refreshCancel, t.refreshDone = rcancel, make(chan struct{})
	go t.refreshLoop(rctx)

	t.start = o.now()
	if err := smp.Start(context.Background()); err != nil {
		t.shutdown()
		return nil, fmt.Errorf("tracker: %w", err)
	}
	t.send(record{kind: recStart, at: t.start})
	return t, nil
}

func (t *Tracker) closeDiscovery() {
	if t.disc != nil {
		_ = t.disc.Close()
	}
}

// fetchIntensity asks the provider and caches the answer; on failure the
// previous value is kept (the world average if there is none).
func (t *Tracker) fetchIntensity(ctx context.Context) {
	v, err := t.opts.provider.Intensity(ctx, t.opts.now())
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.nIErr++
		if t.nIntens == 0 && t.intens.Provider == "" {
			t.intens = factor.Intensity{Value: factor.WorldAverage, At: t.opts.now(), Zone: "world", Provider: "tracker",
				Year: factor.WorldAverageYear, Fallback: "the emission factor provider failed; using the world average",
				Cause: err}
			t.curI = factor.WorldAverage
		}
		t.logger.Warn("tracker: emission factor unavailable; keeping the previous value", "err", err, "value", float64(t.curI))
		return
	}
	t.nIntens++
	t.intens, t.curI = v, v.Value
	if v.Fallback != "" {
		t.logger.Info("tracker: emission factor fallback", "fallback", v.Fallback)
	}
}

func (t *Tracker) refreshLoop(ctx context.Context) {
	defer close(t.refreshDone)
	tk := time.NewTicker(t.opts.refresh)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			fctx, cancel := context.WithTimeout(ctx, min(t.opts.refresh, 30*time.Second))
			t.fetchIntensity(fctx)
			cancel()
		}
	}
}

// tick runs on the sampler's goroutine after each sample: it adds each
// source's energy, and its grams at the current intensity.
func (t *Tracker) tick(now time.Time, delta []power.Joules) {
	t.mu.Lock()
	k := t.opts.pue * float64(t.curI)
	dt := now.Sub(t.lastTick)
	for i, d := range delta {
		t.cumE[i] += d
		t.cumG[i] += d.KWh() * k
		if !t.lastTick.IsZero() && dt > 0 {
			t.lastPow[i] = d.Over(dt)
		}
	}
	if !now.Before(t.lastTick) {
		t.lastTick = now
	}
	fire, ev := t.checkBudgetLocked(false)
	t.mu.Unlock()
	if fire {
		t.fireBudget(ev)
	}
}

// boundaryLocked fills tmpE and tmpG with each source's cumulative energy
// and grams at now, extrapolating the latest power since the last sample
// (at most two intervals) so that epoch boundaries fall between samples.
func (t *Tracker) boundaryLocked(now time.Time) {
	gap := time.Duration(0)
	if !t.lastTick.IsZero() && now.After(t.lastTick) {
		gap = min(now.Sub(t.lastTick), 2*t.opts.interval)
	}
	k := t.opts.pue * float64(t.curI)
	for i := range t.cumE {
		extra := t.lastPow[i].For(gap)
		t.tmpE[i] = t.cumE[i] + extra
		t.tmpG[i] = t.cumG[i] + extra.KWh()*k
	}
}

// EpochStart marks the start of an epoch. Calling it while an epoch is open
// (or after Stop, or after the monitored epochs) is misuse: logged, counted
// in the Report, ignored.
func (t *Tracker) EpochStart() {
	now := t.opts.now()
	t.mu.Lock()
	switch {
	case t.stopped || t.stopping:
		t.misuseLocked("EpochStart after Stop")
		t.mu.Unlock()
		return
	case !t.monitoring:
		t.mu.Unlock()
		return
	case t.open:
		t.misuseLocked("EpochStart while an epoch is open")
		t.mu.Unlock()
		return
	}
	t.boundaryLocked(now)
	copy(t.startE, t.tmpE)
	copy(t.startG, t.tmpG)
	t.open, t.openStart = true, now
	t.openN = len(t.recs) + 1
	t.mu.Unlock()
}

func (t *Tracker) misuseLocked(what string) {
	t.misuse++
	t.logger.Warn("tracker: misuse ignored", "call", what, "count", t.misuse)
}

// EpochEnd marks the end of the open epoch: it records the epoch, hands it
// to the writer, makes the projection after the configured number of epochs
// and checks the budget. EpochEnd without EpochStart (or after Stop) is
// misuse: logged, counted, ignored. It does no I/O, except that with
// WithStopAndConfirm it waits for the answer after the projection.
func (t *Tracker) EpochEnd() {
	now := t.opts.now()
	t.mu.Lock()
	switch {
	case t.stopped || t.stopping:
		t.misuseLocked("EpochEnd after Stop")
		t.mu.Unlock()
		return
	case !t.monitoring:
		t.mu.Unlock()
		return
	case !t.open:
		t.misuseLocked("EpochEnd without EpochStart")
		t.mu.Unlock()
		return
	}
	t.boundaryLocked(now)
	n := t.closeEpochLocked(now, false)
	var pred, actual bool
	if n == t.predAt {
		t.projectLocked()
		pred = true
	}
	if n == t.monitor {
		t.monitoring = false
		actual = true
	}
	fire, ev := t.checkBudgetLocked(pred)
	t.mu.Unlock()

	t.send(record{kind: recEpoch, at: now, n: n})
	if pred {
		t.send(record{kind: recPred, at: now, n: n})
	}
	if actual {
		t.send(record{kind: recActual, at: now, n: n})
	}
	if fire {
		t.fireBudget(ev)
	}
	if pred && t.opts.confirm != nil {
		t.confirm()
	}
}

// closeEpochLocked records the open epoch, ending at now, from tmpE/tmpG.
func (t *Tracker) closeEpochLocked(now time.Time, interrupted bool) int {
	r := epochRec{n: t.openN, start: t.openStart, end: now, interrupted: interrupted}
	for i := range t.tmpE {
		e := max(t.tmpE[i]-t.startE[i], 0)
		r.energy += e
		r.byKind.add(t.infos[i].Kind, e)
		r.grams += max(t.tmpG[i]-t.startG[i], 0)
		t.devE = append(t.devE, e)
	}
	t.recs = append(t.recs, r)
	t.sumE += r.energy
	t.sumG += r.grams
	t.open = false
	return r.n
}

func (t *Tracker) projectLocked() {
	k := 0
	for _, r := range t.recs {
		if !r.interrupted {
			k++
		}
	}
	durs, es, gs := make([]float64, 0, k), make([]float64, 0, k), make([]float64, 0, k)
	for _, r := range t.recs {
		if r.interrupted {
			continue
		}
		durs = append(durs, r.end.Sub(r.start).Seconds())
		es = append(es, float64(r.energy)*t.opts.pue)
		gs = append(gs, r.grams)
	}
	p := project(t.epochs, durs, es, gs)
	t.proj = &p
}

func (t *Tracker) totalsLocked() (grams float64, facility power.Joules) {
	grams, facility = t.sumG, t.sumE
	if t.open {
		for i := range t.cumE {
			facility += max(t.cumE[i]-t.startE[i], 0)
			grams += max(t.cumG[i]-t.startG[i], 0)
		}
	}
	return grams, facility * power.Joules(t.opts.pue)
}

// checkBudgetLocked says whether the budget has just been passed, by the
// actual consumption or (withProj) the projection.
func (t *Tracker) checkBudgetLocked(withProj bool) (bool, BudgetEvent) {
	o := &t.opts
	if t.budgetFired || (o.budgetGrams == 0 && o.budgetKWh == 0) {
		return false, BudgetEvent{}
	}
	over := func(g, kwh float64) bool {
		return (o.budgetGrams > 0 && g > o.budgetGrams) || (o.budgetKWh > 0 && kwh > o.budgetKWh)
	}
	ev := BudgetEvent{BudgetGrams: o.budgetGrams, BudgetKWh: o.budgetKWh}
	g, e := t.totalsLocked()
	switch {
	case over(g, e.KWh()):
		ev.Grams, ev.KWh = g, e.KWh()
	case withProj && t.proj != nil && over(t.proj.Grams, t.proj.Energy.KWh()):
		ev.Projected, ev.Grams, ev.KWh = true, t.proj.Grams, t.proj.Energy.KWh()
	default:
		return false, BudgetEvent{}
	}
	t.budgetFired = true
	what := "actual"
	if ev.Projected {
		what = "projected"
	}
	t.logger.Warn("tracker: budget exceeded", "by", what, "grams", ev.Grams, "kwh", ev.KWh,
		"budget_grams", o.budgetGrams, "budget_kwh", o.budgetKWh)
	return true, ev
}

// fireBudget runs the budget callbacks; never under the lock.
func (t *Tracker) fireBudget(ev BudgetEvent) {
	t.safeCall(func() {
		if t.opts.onBudget != nil {
			t.opts.onBudget(ev)
		}
	})
	if t.opts.cancel != nil {
		t.safeCall(func() { t.opts.cancel(ErrBudgetExceeded) })
	}
	t.send(record{kind: recBudget, at: t.opts.now(), budget: ev})
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
	t.flush()
	in := bufio.NewReader(t.opts.confirm)
	t.say("Continue training (y/n)?")
	for {
		line, err := in.ReadString('\n')
		ans := strings.ToLower(strings.TrimSpace(line))
		switch {
		case ans == "y":
			t.say("Continuing...")
			return
		case ans == "n" || (err != nil && ans == ""):
			// End of input counts as "n": nobody can confirm.
			t.mu.Lock()
			t.userStop = true
			t.mu.Unlock()
			t.say("Quitting...")
			t.logger.Info("tracker: session ended by user")
			if t.opts.cancel != nil {
				t.safeCall(func() { t.opts.cancel(ErrStoppedByUser) })
			}
			return
		}
		t.say("Input not recognized. Try again (y/n):")
	}
}

// say prints a console message through the writer, and waits for it.
func (t *Tracker) say(msg string) {
	t.send(record{kind: recSay, at: t.opts.now(), msg: msg})
	t.flush()
}

// flush waits until the writer has handled everything sent so far.
func (t *Tracker) flush() {
	if t.out == nil {
		return
	}
	done := make(chan struct{})
	select {
	case t.out <- record{kind: recFlush, done: done}:
	case <-time.After(t.opts.stopTimeout):
		return
	}
	select {
	case <-done:
	case <-time.After(t.opts.stopTimeout):
	}
}

// send hands r to the writer without blocking; a full queue drops it and
// counts it.
func (t *Tracker) send(r record) {
	if t.out == nil {
		return
	}
	select {
	case t.out <- r:
	default:
		t.mu.Lock()
		t.dropped++
		t.mu.Unlock()
		t.logger.Warn("tracker: writer behind; record dropped", "kind", int(r.kind), "epoch", r.n)
	}
}

// Stop ends the run: it takes a final reading, records an open epoch as
// interrupted, reports the actual consumption (unless already reported after
// the monitored epochs), and waits (at most WithStopTimeout) for the records
// to be written and the goroutines to end. It is idempotent; the Report
// stays readable afterwards.
func (t *Tracker) Stop() {
	t.mu.Lock()
	if t.stopped || t.stopping {
		t.mu.Unlock()
		return
	}
	t.stopping = true
	t.mu.Unlock()

	t.smp.Stop() // final reading, through tick
	now := t.opts.now()
	t.mu.Lock()
	interrupted := t.monitoring
	wasOpen := t.open
	if t.open {
		t.boundaryLocked(now)
		t.closeEpochLocked(now, true)
	}
	n := len(t.recs)
	monitoring := t.monitoring
	t.monitoring = false
	snap := t.smp.Snapshot()
	for i, s := range snap.Sources {
		t.lost[i] = s.Lost
		if s.Err != nil {
			t.lostErr[i] = s.Err.Error()
		}
	}
	fire, ev := t.checkBudgetLocked(false)
	t.mu.Unlock()
	if fire {
		t.fireBudget(ev)
	}
	if wasOpen {
		t.send(record{kind: recEpoch, at: now, n: n})
	}
	if monitoring {
		t.send(record{kind: recActual, at: now, n: n, interrupted: interrupted})
	}
	t.shutdown()
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// shutdown stops the refresh goroutine and the writer, bounded by the stop
// timeout, and closes discovered sources.
func (t *Tracker) shutdown() {
	if t.refreshCancel != nil {
		t.refreshCancel()
		<-t.refreshDone
	}
	if t.out != nil {
		stop := time.NewTimer(t.opts.stopTimeout)
		defer stop.Stop()
		select {
		case t.out <- record{kind: recFinal, at: t.opts.now()}:
			select {
			case <-t.outDone:
			case <-stop.C:
				t.logger.Error("tracker: writer did not finish in time; records may be incomplete")
			}
		case <-stop.C:
			t.logger.Error("tracker: writer did not finish in time; records may be incomplete")
		}
	}
	t.closeDiscovery()
}

// FinalEmissionsReported returns the emissions of the monitored epochs in
// grams CO2e (PUE included); before Stop, those so far, including the open
// epoch up to the latest sample.
func (t *Tracker) FinalEmissionsReported() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, _ := t.totalsLocked()
	return g
}

// Projection returns the projection, and false before it is made.
func (t *Tracker) Projection() (Projection, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.proj == nil {
		return Projection{}, false
	}
	return *t.proj, true
}

// Report returns a copy of everything the tracker knows.
func (t *Tracker) Report() Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reportLocked()
}

func (t *Tracker) reportLocked() Report {
	r := Report{
		Epochs: t.epochs, Stopped: t.stopped || t.stopping, Start: t.start, PUE: t.opts.pue,
		Intensity: t.intens, Intensities: t.nIntens, IntensityErrors: t.nIErr,
		Misuse: t.misuse, Dropped: t.dropped, WriteErrors: t.writeErrs,
		BudgetExceeded: t.budgetFired, StoppedByUser: t.userStop,
		Unavailable: append([]power.Unavailable(nil), t.unavail...),
		Files:       append([]string(nil), t.files...),
	}
	devEpoch := make([]power.Joules, t.nsrc)
	for i, rec := range t.recs {
		e := Epoch{N: rec.n, Start: rec.start, End: rec.end, Duration: rec.end.Sub(rec.start), Energy: rec.energy,
			ByKind: rec.byKind, Grams: rec.grams, Interrupted: rec.interrupted,
			Devices: append([]power.Joules(nil), t.devE[i*t.nsrc:(i+1)*t.nsrc]...)}
		if fe := rec.energy.KWh() * t.opts.pue; fe > 0 {
			e.Intensity = factor.GramsPerKWh(rec.grams / fe)
		}
		r.EpochRecords = append(r.EpochRecords, e)
		if !rec.interrupted {
			r.Completed++
		} else {
			r.Interrupted = true
		}
		r.Duration += e.Duration
		r.Energy += rec.energy
		r.ByKind.GPU += rec.byKind.GPU
		r.ByKind.CPU += rec.byKind.CPU
		r.ByKind.DRAM += rec.byKind.DRAM
		r.Grams += rec.grams
		r.End = rec.end
		for j := range devEpoch {
			devEpoch[j] += e.Devices[j]
		}
	}
	if r.Stopped && t.monitoring {
		r.Interrupted = true
	}
	if t.stopped && r.Completed < t.monitor {
		r.Interrupted = true
	}
	r.FacilityEnergy = r.Energy * power.Joules(t.opts.pue)
	if kwh := r.FacilityEnergy.KWh(); kwh > 0 {
		r.MeanIntensity = factor.GramsPerKWh(r.Grams / kwh)
	}
	for i, info := range t.infos {
		r.Sources = append(r.Sources, SourceReport{Info: info, Energy: devEpoch[i], RunEnergy: t.cumE[i],
			Lost: t.lost[i], Err: t.lostErr[i]})
		r.RunEnergy += t.cumE[i]
	}
	if t.proj != nil {
		p := *t.proj
		r.Projection = &p
	}
	r.Equivalents = Equivalents(r.Grams)
	return r
}

// Sources returns the measured devices.
func (t *Tracker) Sources() []power.Info { return append([]power.Info(nil), t.infos...) }

// Intensity returns the emission factor in use now.
func (t *Tracker) Intensity() factor.Intensity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.intens
}

// newLogID returns carbontracker's logger id: a random number in [1, 999999].
func newLogID() int { return 1 + rand.IntN(999999) }

package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/sampler"
	"github.com/carbontrack/carbontrack/tracker/internal/lease"
)

// epochRec is an epoch as stored, pointer-free so that a long run's slice
// costs the garbage collector nothing: epoch i (from 0) is number i+1, its
// times are offsets from Tracker.start and its devices' energies live in
// Tracker.devE at [i*nsrc, (i+1)*nsrc).
type epochRec struct {
	start, end  time.Duration // since Tracker.start
	energy      power.Joules
	byKind      Components
	grams       float64
	interrupted bool
	work        float64 // EpochEndWork's work; 0 for none
}

// duration returns the epoch's duration.
func (r *epochRec) duration() time.Duration { return r.end - r.start }

// Tracker measures the energy and emissions of a training run, epoch by
// epoch, like carbontracker's CarbonTracker. Create it with New, call
// EpochStart and EpochEnd around each epoch and Stop at the end (always:
// defer it). All methods are safe for concurrent use; EpochStart, EpochEnd
// and Stop never panic, and EpochStart and EpochEnd do no I/O and allocate
// nothing in steady state (records are written by a goroutine the tracker
// owns, which they only wake). The zero value is not usable.
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
	// Sharing the machine with other trackers.
	id        Identity
	elsewhere []Elsewhere // devices counted by another tracker
	shareNote string      // why the devices may be counted twice, or a rank has none
	leases    *lease.Set  // the devices' leases held; nil without coordination
	logger    *slog.Logger
	start     time.Time
	promptW   io.Writer // where WithStopAndConfirm's question goes

	refreshCancel context.CancelFunc
	refreshDone   chan struct{}
	// Asked by the refresh goroutine as soon as it starts.
	probeCloud  bool          // the cloud metadata services, for the region
	liveFirst   bool          // the live provider, whose table value is in use meanwhile
	located     chan struct{} // closed once the zone is final
	locByAnswer bool          // the zone is the caller's live provider's answer's

	w *writer // nil without a log directory, a console or a question

	// The budget goroutine: it runs the budget function and the cancel
	// function once, off the sampler's goroutine and every lock.
	budgetCh   chan BudgetEvent // 1-buffered: the budget fires once
	budgetQuit chan struct{}
	budgetDone chan struct{}
	inCallback atomic.Int32 // > 0 while the budget goroutine runs user code

	mu sync.Mutex // guards everything below
	// Sampled state, updated by the tick function.
	cumE      []power.Joules
	cumG      []float64
	lastPow   []power.Watts
	readAt    []time.Time // each source's latest successful read
	lastTick  time.Time
	eventAt   time.Time // the latest sample that read every source
	waiters   []waiter  // callers of Refresh and awaitMarks
	lastCkpt  time.Time // when the latest checkpoint was asked of the writer
	ckptDue   bool      // a checkpoint is due: the writer takes it
	curI      factor.GramsPerKWh
	prevI     factor.GramsPerKWh // the intensity before changeAt
	changeAt  time.Time          // when curI was fetched (zero: from the start)
	intens    factor.Intensity
	provider  factor.Provider // the provider asked; replaced when the cloud names the region
	loc       factor.Location
	nIntens   int
	nIErr     int
	failNoted bool   // the provider's first failure is in intens.Fallback
	warnNote  string // a warning for the writer to print (the first misuse)
	frozen    bool   // Stop took the final accounting: later ticks are ignored
	// Epoch state as called: EpochStart and EpochEnd decide misuse and
	// monitoring from it at once.
	open     bool
	ended    int       // epochs ended by EpochEnd
	lastMark time.Time // the latest epoch boundary, which time never goes before
	// Boundaries marked but not applied yet, oldest first from markHead:
	// the sampler's goroutine reads every source when asked (Request), and
	// each tick places the boundaries its reads bracket, source by source
	// (sources are read on their own cadence): mark j's energy and grams
	// for source i go to markE/markG[j*nsrc+i], and placed[i] counts the
	// marks placed for source i. A mark placed for every source is
	// applied. The slices are reused once drained.
	marks    []mark
	markE    []power.Joules
	markG    []float64
	placed   []int
	markHead int
	// Epoch state as resolved: the boundaries read so far.
	rOpen     bool
	openStart time.Time
	startE    []power.Joules
	startG    []float64
	recs      []epochRec
	// Running totals of the closed epochs (sumX), and of the completed ones
	// (compX): the Report's and the actual consumption's, in constant time.
	sumD       time.Duration
	sumE       power.Joules // devices' energy
	sumK       Components
	sumG       float64 // grams
	devSum     []power.Joules
	completed  int
	compD      time.Duration
	compE      power.Joules
	compK      Components
	compG      float64
	work       float64 // the epochs' work (EpochEndWork), summed
	workN      int     // the epochs with work
	workT      Totals  // their totals, FacilityEnergy left to the Report
	devE       []power.Joules
	tmpE       []power.Joules
	tmpG       []float64
	stats      projStats
	proj       Projection // the latest projection, when hasProj
	hasProj    bool
	projGen    int        // counts projections, for the writer
	firstProj  Projection // the projection printed, made after predAt epochs
	firstAt    time.Time
	monitoring bool // false once monitor epochs are done
	stopped    bool
	stopping   bool
	stopAt     time.Time // when Stop took the final accounting
	// interrupted: Stop came before the monitored epochs ended.
	interrupted bool
	actual      actualMark // the actual consumption is due
	budgetFired bool
	budgetEv    BudgetEvent
	advice      string // the carbon-aware advice, once adviceSet
	adviceSet   bool
	adviceStop  context.CancelFunc
	adviceDone  chan struct{}
	misuse      int
	dropped     int
	writeErrs   int
	userStop    bool
	timeouts    []string
	files       []string
	lost        []bool
	lostErr     []string
	statusSnap  sampler.Snapshot // reused by StatusInto
	series      *seriesAcc       // the power series being built; nil without one (sink_power.go)
	freshPow    []bool           // the tick's sources whose power it read (scratch)
}

// mark is an epoch boundary waiting for the sampler's read.
type mark struct {
	at          time.Time
	end         bool
	interrupted bool    // an end made by Stop
	work        float64 // the work of the epoch it ends (EpochEndWork)
}

// actualMark says that the actual consumption is to be written, at at.
type actualMark struct {
	set         bool
	at          time.Time
	interrupted bool
}

// reportWait bounds how long the calls that report wait for the epoch
// boundaries marked before them to be read (microseconds, unless a sensor
// read hangs).
const reportWait = time.Second

// initialEpochs is the number of epochs storage is made for in New; it
// grows by doubling (amortised: no allocation per epoch in steady state).
const initialEpochs = 16

// New returns a tracker for a run of epochs epochs and starts measuring: it
// checks the zone and sets the emission factor from the zone's table value
// (without the network: a live provider and the cloud metadata services
// are asked in the background), discovers the devices (or takes
// WithSources) and shares them with the machine's other trackers, starts
// the sampler, the factor's refresh goroutine, with a budget the budget
// goroutine, and, with WithLogDir, a console or WithStopAndConfirm, the
// writer. New is the only call that may block on I/O (device discovery).
// Memory grows with the epochs run, not with epochs.
func New(epochs int, opts ...Option) (*Tracker, error) {
	return NewContext(context.Background(), epochs, opts...)
}

// NewContext is New with a context that bounds the discovery of the
// devices (NVML's initialisation can be slow): a done context ends it with
// the context's error. The context is not kept.
func NewContext(ctx context.Context, epochs int, opts ...Option) (*Tracker, error) {
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
	case o.powerInterval <= 0:
		return nil, fmt.Errorf("tracker: power interval must be positive, got %v", o.powerInterval)
	case o.checkpoint <= 0:
		return nil, fmt.Errorf("tracker: checkpoint interval must be positive, got %v", o.checkpoint)
	case o.stopTimeout <= 0:
		return nil, fmt.Errorf("tracker: stop timeout must be positive, got %v (it bounds how long Stop waits for the final reading and the logs)", o.stopTimeout)
	case o.now == nil:
		return nil, errors.New("tracker: nil clock")
	case o.sourcesSet && len(o.sources) == 0:
		return nil, errors.New("tracker: WithSources was given no source; pass at least one, or leave WithSources out to measure this machine")
	}
	o.kinds = uniqueKinds(o.kinds)
	promptW := o.console
	if o.console == nil || o.console == io.Discard {
		// The question must be seen: EpochEnd waits for its answer.
		promptW = os.Stderr
	}
	if o.console == nil {
		o.console = io.Discard
	}
	t := &Tracker{opts: o, epochs: epochs, predAt: predAt, monitor: monitor, logger: o.logger, monitoring: true,
		promptW: promptW}
	// The zone and the first intensity, without the network: an unknown
	// zone fails here, before any device is opened.
	if err := t.setupFactor(); err != nil {
		return nil, err
	}

	declared, err := o.declaredSources()
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	sources := o.sources
	if !o.sourcesSet {
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
		if o.gpuSampling {
			dopts = append(dopts, power.WithGPUPowerSampling())
		}
		d, err := power.Discover(ctx, dopts...)
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
	sources = t.declare(sources, declared)
	t.id = o.identity()
	if o.pid == 0 {
		sources = t.share(sources, o.leasesWanted())
	}
	if len(sources) == 0 && len(t.elsewhere) == 0 {
		t.closeDiscovery()
		var why []string
		for _, u := range t.unavail {
			why = append(why, u.Name+": "+u.Reason())
		}
		if len(why) == 0 {
			return nil, errors.New("tracker: no power source given")
		}
		return nil, fmt.Errorf("tracker: no power source available here (%s)", strings.Join(why, "; "))
	}
	n := len(sources)
	t.nsrc = n
	t.cumE, t.cumG, t.lastPow = make([]power.Joules, n), make([]float64, n), make([]power.Watts, n)
	t.startE, t.startG = make([]power.Joules, n), make([]float64, n)
	t.tmpE, t.tmpG, t.devSum = make([]power.Joules, n), make([]float64, n), make([]power.Joules, n)
	t.lost, t.lostErr = make([]bool, n), make([]string, n)
	t.readAt, t.placed = make([]time.Time, n), make([]int, n)
	capEpochs := min(epochs+1, initialEpochs)
	t.recs = make([]epochRec, 0, capEpochs)
	t.devE = make([]power.Joules, 0, capEpochs*n)

	interval := o.interval
	if o.logDir != "" {
		interval = min(interval, o.checkpoint) // a checkpoint needs a fresh read
	}
	smp, err := sampler.New(sources, sampler.WithInterval(interval), sampler.WithPowerInterval(o.powerInterval),
		sampler.WithLogger(o.logger), sampler.WithClock(o.now), sampler.WithTickFunc(t.tick))
	if err != nil {
		t.closeDiscovery()
		return nil, fmt.Errorf("tracker: %w", err)
	}
	t.smp = smp
	t.infos = smp.Sources()
	if o.powerSeries && o.logDir != "" {
		t.series, t.freshPow = newSeriesAcc(t.infos), make([]bool, n)
	}

	switch {
	case o.logDir != "":
		w, err := newWriter(t)
		if err != nil {
			t.closeDiscovery()
			return nil, err
		}
		t.files = w.files()
		t.w = w
	case o.verbose > 0 || o.confirm != nil:
		t.w = newConsoleWriter(t)
	}

	t.start = o.now()
	t.lastMark, t.lastCkpt = t.start, t.start
	if t.w != nil {
		go t.w.run(t.start)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	t.refreshCancel, t.refreshDone = rcancel, make(chan struct{})
	go t.refreshLoop(rctx)
	if o.budgetGrams > 0 || o.budgetKWh > 0 {
		t.budgetCh, t.budgetQuit, t.budgetDone = make(chan BudgetEvent, 1), make(chan struct{}), make(chan struct{})
		go t.budgetLoop()
	}

	if err := smp.Start(context.Background()); err != nil {
		t.Stop()
		return nil, fmt.Errorf("tracker: %w", err)
	}
	return t, nil
}

// uniqueKinds returns kinds without repeats, in their first order: a kind
// named twice must not count its devices twice.
func uniqueKinds(kinds []power.Kind) []power.Kind {
	var out []power.Kind
	for _, k := range kinds {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (t *Tracker) closeDiscovery() {
	if t.disc != nil {
		_ = t.disc.Close()
	}
	t.closeLeases()
}

// closeLeases hands the devices back to the other trackers of the machine.
func (t *Tracker) closeLeases() {
	if t.leases != nil {
		_ = t.leases.Close()
	}
}

// lockNow reads the clock, then locks t.mu and returns the time read, never
// before the latest epoch boundary: a call that read the clock before a
// concurrent call marked a boundary reads it again (once; then it takes the
// boundary's time), so that no epoch ends before it started. The clock is
// never called under the lock.
func (t *Tracker) lockNow() time.Time {
	now := t.opts.now()
	t.mu.Lock()
	if !now.Before(t.lastMark) {
		return now
	}
	t.mu.Unlock()
	now = t.opts.now()
	t.mu.Lock()
	return latest(now, t.lastMark)
}

func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// EpochStart marks the start of an epoch. Calling it while an epoch is open
// (or after Stop, or after the monitored epochs) is misuse: logged, counted
// in the Report, ignored.
func (t *Tracker) EpochStart() {
	now := t.lockNow()
	var what string
	switch {
	case t.stopping:
		what = "EpochStart after Stop"
	case !t.monitoring:
		t.mu.Unlock()
		return
	case t.open:
		what = "EpochStart while an epoch is open"
	}
	if what != "" {
		t.misuseUnlock(what)
		return
	}
	t.open, t.lastMark = true, now
	t.markLocked(mark{at: now})
	t.mu.Unlock()
	t.smp.Request()
}

// misuseUnlock counts an ignored call, releases t.mu and logs it: never
// under the lock (the handler is the user's).
func (t *Tracker) misuseUnlock(what string) {
	t.misuse++
	count := t.misuse
	if count == 1 {
		// Said once on the console and in the output log too, by the
		// writer: the default logger discards.
		t.warnNote = what + " ignored (misuse: see Report.Misuse for how often)."
	}
	t.mu.Unlock()
	if count == 1 {
		t.wakeWriter()
	}
	t.logger.Warn("tracker: misuse ignored", "call", what, "count", count)
}

// EpochEnd marks the end of the open epoch: it records the epoch, wakes the
// writer, from WithEpochsBeforePred epochs on remakes the projection and
// checks the budget against it and the actual consumption. EpochEnd without
// EpochStart (or after Stop) is misuse: logged, counted, ignored. It never
// blocks on the writer and does no I/O, except that with WithStopAndConfirm
// it asks its question after the first projection and waits for the
// answer.
func (t *Tracker) EpochEnd() { t.epochEnd(0, false) }

// EpochEndWork is EpochEnd that also records the work the epoch did, in the
// unit of WithWorkUnit (samples, tokens, ...): the Report then gives energy
// and emissions per unit of work (Report.FacilityKWhPerMillionWork,
// Report.GramsPerMillionWork), over the epochs that have work. Like
// EpochEnd it allocates nothing and does no I/O. Negative or non-finite
// work is misuse (logged, counted in Report.Misuse): the epoch still ends,
// without work; so does an epoch ended with work 0.
func (t *Tracker) EpochEndWork(work float64) {
	bad := work < 0 || math.IsNaN(work) || math.IsInf(work, 0)
	if bad {
		work = 0
	}
	t.epochEnd(work, bad)
}

func (t *Tracker) epochEnd(work float64, badWork bool) {
	now := t.lockNow()
	var what string
	switch {
	case t.stopping:
		what = "EpochEnd after Stop"
	case !t.monitoring:
		t.mu.Unlock()
		return
	case !t.open:
		what = "EpochEnd without EpochStart"
	}
	if what != "" {
		t.misuseUnlock(what)
		return
	}
	t.open, t.lastMark = false, now
	t.ended++
	if t.ended == t.monitor {
		t.monitoring = false
	}
	t.markLocked(mark{at: now, end: true, work: work})
	first := t.ended == t.predAt
	if badWork {
		t.misuseUnlock("EpochEndWork's negative or non-finite work")
	} else {
		t.mu.Unlock()
	}
	t.smp.Request()
	if first && t.opts.confirm != nil {
		// The question follows the projection, which needs this epoch read.
		t.awaitMarks(t.opts.stopTimeout)
		t.confirm()
	}
}

// startAdviceLocked starts the goroutine that asks the provider's forecast
// when a run like the projected one would emit least, if there is a
// forecast and somewhere to write the advice. Stop cancels it and waits for
// it.
func (t *Tracker) startAdviceLocked(now time.Time) {
	if t.w == nil || t.adviceStop != nil {
		return
	}
	prov := t.provider
	if _, ok := prov.(factor.Forecaster); !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.adviceStop, t.adviceDone = cancel, make(chan struct{})
	go t.adviceLoop(ctx, t.adviceDone, prov, t.firstProj, now)
}

func (t *Tracker) adviceLoop(ctx context.Context, done chan<- struct{}, prov factor.Provider, p Projection, now time.Time) {
	defer close(done)
	defer func() {
		if v := recover(); v != nil {
			t.logger.Error("tracker: carbon-aware advice panicked", "panic", fmt.Sprint(v))
		}
	}()
	msg := carbonAdvice(ctx, prov, p, now)
	if ctx.Err() != nil || msg == "" {
		return // Stop came first: the run is over
	}
	t.mu.Lock()
	t.advice, t.adviceSet = msg, true
	t.mu.Unlock()
	t.wakeWriter()
}

// wakeWriter tells the writer there is something to write; it never
// blocks: the writer writes everything new when it wakes.
func (t *Tracker) wakeWriter() {
	if t.w == nil {
		return
	}
	select {
	case t.w.wake <- struct{}{}:
	default:
	}
}

// Stop ends the run: it takes a final reading, records an open epoch as
// interrupted, reports the actual consumption (unless already reported after
// the monitored epochs), and waits for the sampler, the budget goroutine,
// the advice, the intensity goroutine and the writer to end, at most
// WithStopTimeout in all: what did not end in time is logged and named in
// Report.StopTimeouts, and Stop goes on. It is idempotent, and may be called
// from the budget function (it then does not wait for that function, which
// it is called from; nor, from elsewhere, for one already running). The
// Report stays readable afterwards.
func (t *Tracker) Stop() {
	t.mu.Lock()
	if t.stopping {
		t.mu.Unlock()
		return
	}
	t.stopping = true
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.stopTimeout)
	defer cancel()

	// The final reading, through tick; a hung sensor read must not hold
	// Stop longer than the stop timeout.
	smpDone := make(chan struct{})
	go func() {
		defer close(smpDone)
		t.smp.Stop()
	}()
	smpStopped := t.await(ctx, "sampler", smpDone)

	now := t.opts.now()
	t.mu.Lock()
	t.frozen = true
	now = latest(now, t.lastMark)
	interrupted := t.monitoring
	if t.open {
		t.open = false
		t.markLocked(mark{at: now, end: true, interrupted: true})
	}
	// The final reading placed every boundary before it; what is left (the
	// cut epoch's end, or all when that reading hung) is placed at the
	// energies read so far.
	t.resolveLocked(nil)
	t.wakeWaitersLocked(true)
	if t.monitoring {
		t.actual = actualMark{set: true, at: now, interrupted: true}
	}
	t.monitoring = false
	t.interrupted = interrupted
	t.stopAt = now
	snap := t.smp.Snapshot()
	for i, s := range snap.Sources {
		t.lost[i] = s.Lost
		if s.Err != nil {
			t.lostErr[i] = s.Err.Error()
		}
	}
	fire := t.checkBudgetLocked(false)
	adviceStop, adviceDone := t.adviceStop, t.adviceDone
	t.mu.Unlock()
	if fire {
		t.fireBudget()
	}
	t.wakeWriter()

	if t.budgetQuit != nil {
		close(t.budgetQuit)
		// A budget function that is running may be the caller: do not wait
		// for it.
		if t.inCallback.Load() == 0 {
			t.await(ctx, "budget callback", t.budgetDone)
		}
	}
	if adviceStop != nil {
		adviceStop()
		t.await(ctx, "advice", adviceDone)
	}
	t.refreshCancel()
	t.await(ctx, "intensity refresh", t.refreshDone)
	if t.w != nil {
		close(t.w.quit)
		t.await(ctx, "writer", t.w.done)
	}
	switch {
	case smpStopped:
		t.closeDiscovery()
	case t.disc != nil:
		// Closing the devices under a read in flight could crash a driver.
		t.logger.Error("tracker: discovered sources left open: a read is still in flight")
		t.closeLeases()
	default:
		t.closeLeases()
	}
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// await waits for done until ctx is done; then it logs, records what in
// the Report and returns false.
func (t *Tracker) await(ctx context.Context, what string, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	t.mu.Lock()
	t.timeouts = append(t.timeouts, what)
	t.mu.Unlock()
	t.logger.Error("tracker: stop timeout; going on without waiting", "for", what, "timeout", t.opts.stopTimeout)
	return false
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

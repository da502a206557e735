package sampler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/power"
)

// Defaults.
const (
	// DefaultInterval is how often sources that can be read rarely
	// (power.CadenceRare: energy counters, estimates from cumulative CPU
	// times) are read between events. A counter read every 30 s integrates
	// exactly as one read every 100 ms; what frequent reads would buy, the
	// split at epoch boundaries, comes from reads at the boundaries
	// themselves (Request), and a fresh status from reads on demand.
	// Wrapping counters are read more often where their range demands it.
	// Each wake-up of a Go process costs about 0.3 ms of CPU on a small VM:
	// 30 s keeps the tracker near 0.2 CPU s per hour tracked.
	DefaultInterval = 30 * time.Second
	// DefaultPowerInterval is how often instantaneous power readings
	// (power.CadenceFast) are taken: 100 ms keeps a 1 Hz square-wave load
	// within 1 % (the README says how that was measured).
	DefaultPowerInterval = 100 * time.Millisecond
	// BufferedInterval is how often a device's own buffer of power readings
	// (power.CadenceBuffered, NVML's sample buffer) is drained, at most: the
	// buffer holds a few seconds of readings.
	BufferedInterval = time.Second
	// DefaultRingSize is the number of recent points kept per source.
	DefaultRingSize = 600
	// DefaultMaxFailures is the number of consecutive failed reads after
	// which a source is marked lost.
	DefaultMaxFailures = 10
	// samplesCapacity is the initial room for the power samples of one read;
	// NVML's buffer holds fewer, so the slice does not grow in practice.
	samplesCapacity = 512
	// resetWindow is the shortest interval over which a counter delta is
	// compared with Info.MaxPower: counters update in steps (RAPL about every
	// 1 ms, NVML's energy counter more coarsely), so a short interval can
	// legitimately show a burst.
	resetWindow = time.Second
	// alignSlack is the fraction of its period by which a source may be read
	// early, so that sources due at nearly the same time share one wake-up.
	alignSlack = 4
)

// ErrAlreadyStarted is returned by Start on a sampler that was started before.
var ErrAlreadyStarted = errors.New("sampler: already started")

// Option configures New.
type Option func(*options)

type options struct {
	interval    time.Duration
	powerEvery  time.Duration
	ringSize    int
	maxFailures int
	logger      *slog.Logger
	onTick      func(*Tick)
	now         func() time.Time
}

func defaultOptions() options {
	return options{
		interval:    DefaultInterval,
		powerEvery:  DefaultPowerInterval,
		ringSize:    DefaultRingSize,
		maxFailures: DefaultMaxFailures,
		logger:      slog.New(slog.DiscardHandler),
		now:         time.Now,
	}
}

// WithInterval sets how often sources that can be read rarely
// (power.CadenceRare) are read between events (default DefaultInterval).
// A wrapping counter is read at least twice per wrap whatever d.
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithPowerInterval sets how often instantaneous power readings
// (power.CadenceFast) are taken (default DefaultPowerInterval). Longer
// periods alias on loads that change faster than twice the period: New
// logs a warning above DefaultPowerInterval.
func WithPowerInterval(d time.Duration) Option { return func(o *options) { o.powerEvery = d } }

// WithRingSize sets how many recent points are kept per source (default
// DefaultRingSize).
func WithRingSize(n int) Option { return func(o *options) { o.ringSize = n } }

// WithMaxFailures sets after how many consecutive failed reads a source is
// marked lost (default DefaultMaxFailures). A source reporting power.ErrLost
// is marked lost at once.
func WithMaxFailures(n int) Option { return func(o *options) { o.maxFailures = n } }

// WithLogger logs failures, lost sources and counter resets to l (default:
// discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithClock sets the clock that stamps the samples (default time.Now). The
// schedule of reads runs on the process's clock, as its timers do: a clock
// of the caller's that stops, or jumps at every call, must not stop the
// reads or make them spin. Tests that need time to pass quickly use
// testing/synctest, which fakes both. The power samples a device
// timestamps itself (NVML's buffer) are moved onto this clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTickFunc calls f after every sample with what it read. f runs on the
// sampler's goroutine (or SampleAt's caller) after the snapshot state is
// updated, with the snapshot's lock released but the sampling lock held
// (samples are serialised, and the Tick is the sample's): it may call
// Snapshot, Energies, Recent and Request; it must not call Sample or
// SampleAt, which would deadlock. The Tick and its slices are reused: f must not keep them. f
// must be quick: it delays the next sample.
func WithTickFunc(f func(*Tick)) Option {
	return func(o *options) { o.onTick = f }
}

// Tick is what one sample read, as passed to the WithTickFunc function.
// Sources are read on their own cadence, so a sample reads some of them:
// all at Start, at Request and at Stop; those due otherwise.
type Tick struct {
	// Time is when the sample was taken, on the sampler's clock.
	Time time.Time
	// Delta is the energy each source drew since its previous successful
	// read, indexed like the sources; 0 for a source not read.
	Delta []power.Joules
	// Read says which sources were read successfully in this sample: the
	// interval of Delta[i] runs from source i's previous successful read to
	// Time.
	Read []bool
	// Lost says which sources are no longer read (power.ErrLost, or too
	// many failures in a row), indexed like the sources: a sample that
	// read every source not lost read the whole set.
	Lost []bool
	// Event is true for a sample asked for (Start, Request, Stop, SampleAt)
	// rather than one that came due.
	Event bool
}

// Point is one sampled interval of one source.
type Point struct {
	// Time is when the interval ended.
	Time time.Time
	// Power is the mean power over the interval.
	Power power.Watts
	// Energy is the source's cumulative energy at Time.
	Energy power.Joules
}

// SourceStats is the state of one source in a Snapshot.
type SourceStats struct {
	Info power.Info
	// Energy is the energy drawn since the sampler started.
	Energy power.Joules
	// AvgPower is Energy over the source's live time: from its first
	// successful read to its latest (a source lost mid-run, or late to
	// answer, is not diluted by the time it was not read).
	AvgPower power.Watts
	// Power is the mean power over the latest sampled interval.
	Power power.Watts
	// Reads and Failures count the reads and the failed ones; Resets counts
	// the counter intervals skipped as resets and the power readings
	// rejected as implausible (negative, NaN, above Info.MaxPower).
	Reads, Failures, Resets int
	// Lost is true once the source is no longer read; Err says why.
	Lost bool
	// Err is the latest error, or nil.
	Err error
}

// Snapshot is a copy of the sampler's state.
type Snapshot struct {
	// Start is when sampling started; Time is when the latest sample was
	// taken.
	Start, Time time.Time
	// Sources are in the order given to New.
	Sources []SourceStats
}

// Total returns the energy of all sources.
func (s Snapshot) Total() power.Joules {
	var t power.Joules
	for _, src := range s.Sources {
		t += src.Energy
	}
	return t
}

// ByKind returns the energy of the sources of one kind.
func (s Snapshot) ByKind(k power.Kind) power.Joules {
	var t power.Joules
	for _, src := range s.Sources {
		if src.Info.Kind == k {
			t += src.Energy
		}
	}
	return t
}

// Sampler reads a set of sources and integrates their energy over time:
// counter sources by exact deltas (with resets detected and skipped), power
// sources by the trapezoidal rule over every reading, including the readings
// a device buffers between polls.
//
// Reads follow events, not a fast clock. Each source is read on its own
// cadence (power.Info.Cadence): counters and cumulative estimates every
// WithInterval (30 s by default, more often where a wrapping counter needs
// it), a device's sample buffer every BufferedInterval, instantaneous power
// readings every WithPowerInterval (100 ms). On top of that, Request wakes
// the goroutine to read every source at once: the tracker does so at each
// epoch boundary, so a boundary is read, not extrapolated. The goroutine
// sleeps on one timer until the next source is due and on the request
// channel; it wakes for nothing else. With only counters and estimates, that
// is one wake-up per interval plus one per event.
//
// Memory is bounded: a fixed ring of recent points per source, nothing that
// grows with the run. A Sampler is safe for concurrent use: one goroutine
// samples (Start's, or callers of SampleAt, serialised) while any number read
// Snapshot, Energies and Recent, or call Request.
type Sampler struct {
	opts    options
	sources []power.Source
	req     chan struct{} // 1-buffered: a read of every source is wanted

	tickMu sync.Mutex // serialises sampling; guards priv, tick and offset
	priv   []private
	tick   Tick
	offset time.Duration // the sampler's clock minus wall-clock time

	mu       sync.Mutex // guards everything below
	stats    []SourceStats
	rings    [][]Point
	ringNext []int
	ringLen  []int
	start    time.Time
	last     time.Time
	started  bool
	stopped  bool
	cancel   context.CancelFunc // cancels the loop's reads at Stop
	stop     chan struct{}
	done     chan struct{}
}

// private is the sampling goroutine's per-source state.
type private struct {
	reading  power.Reading
	period   time.Duration // how often the source is read between events
	next     time.Time     // when it is due, on the process's clock
	primed   bool
	lastE    power.Joules
	lastT    time.Time   // time of the last integrated point
	lastP    power.Watts // power at lastT, for the trapezoid
	meanP    power.Watts // mean power over the latest interval, for status
	firstOK  time.Time   // the first and latest successful reads
	lastOK   time.Time
	fails    int
	lost     bool
	reads    int
	failures int
	resets   int
	err      error
}

// New returns a sampler over sources. It does not read them until Start or
// SampleAt. It never refuses an interval: a wrapping counter is read as
// often as its range needs, and a power interval that may alias is logged.
func New(sources []power.Source, opts ...Option) (*Sampler, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.interval <= 0:
		return nil, fmt.Errorf("sampler: interval must be positive, got %v", o.interval)
	case o.powerEvery <= 0:
		return nil, fmt.Errorf("sampler: power interval must be positive, got %v", o.powerEvery)
	case o.ringSize < 1:
		return nil, fmt.Errorf("sampler: ring size must be at least 1, got %d", o.ringSize)
	case o.maxFailures < 1:
		return nil, fmt.Errorf("sampler: max failures must be at least 1, got %d", o.maxFailures)
	case o.now == nil:
		return nil, errors.New("sampler: nil clock")
	}
	for i, s := range sources {
		if s == nil {
			return nil, fmt.Errorf("sampler: source %d is nil", i)
		}
	}
	n := len(sources)
	s := &Sampler{
		opts:     o,
		sources:  append([]power.Source(nil), sources...),
		req:      make(chan struct{}, 1),
		priv:     make([]private, n),
		tick:     Tick{Delta: make([]power.Joules, n), Read: make([]bool, n), Lost: make([]bool, n)},
		stats:    make([]SourceStats, n),
		rings:    make([][]Point, n),
		ringNext: make([]int, n),
		ringLen:  make([]int, n),
	}
	warned := false
	for i, src := range s.sources {
		info := src.Info()
		s.stats[i].Info = info
		s.rings[i] = make([]Point, o.ringSize)
		s.priv[i].reading.Samples = make([]power.PowerSample, 0, samplesCapacity)
		s.priv[i].period = period(info, &o)
		if info.ResolveCadence() == power.CadenceFast && o.powerEvery > DefaultPowerInterval && !warned {
			warned = true
			o.logger.Warn("sampler: power readings taken less often than every 100 ms may alias on loads that change faster than twice the period (±33 % seen on a 1 Hz load at 1 s)",
				"source", info.Name, "power_interval", o.powerEvery, "suggested", DefaultPowerInterval)
		}
	}
	return s, nil
}

// period returns how often the source described by info is read between
// events.
func period(info power.Info, o *options) time.Duration {
	switch info.ResolveCadence() {
	case power.CadenceFast:
		return o.powerEvery
	case power.CadenceBuffered:
		return min(o.interval, BufferedInterval)
	}
	d := o.interval
	// A wrapping counter read less often than it can wrap loses whole wraps
	// without a trace; half the shortest wrap time is safe.
	if info.WrapEnergy > 0 && info.MaxPower > 0 {
		wrap := time.Duration(float64(info.WrapEnergy) / float64(info.MaxPower) * float64(time.Second))
		if half := wrap / 2; half > 0 && half < d {
			o.logger.Debug("sampler: wrapping counter read more often than the interval", "source", info.Name,
				"every", half, "interval", d)
			d = half
		}
	}
	return d
}

// Interval returns how often sources that can be read rarely are read
// between events (WithInterval).
func (s *Sampler) Interval() time.Duration { return s.opts.interval }

// PowerInterval returns how often instantaneous power readings are taken
// (WithPowerInterval).
func (s *Sampler) PowerInterval() time.Duration { return s.opts.powerEvery }

// Period returns how often source i is read between events, or 0 for an
// index out of range.
func (s *Sampler) Period(i int) time.Duration {
	if i < 0 || i >= len(s.priv) {
		return 0
	}
	return s.priv[i].period
}

// Sources returns the sources' descriptions, in order.
func (s *Sampler) Sources() []power.Info {
	out := make([]power.Info, len(s.sources))
	for i, src := range s.sources {
		out[i] = src.Info()
	}
	return out
}

// Start takes a first reading of every source and starts the sampling
// goroutine, which runs until Stop or until ctx is done. Start returns
// ErrAlreadyStarted if called twice.
func (s *Sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return ErrAlreadyStarted
	}
	s.started = true
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	// Stop cancels the reads in flight (a sensor that stopped answering
	// must not hold it); the final read has a context of its own.
	lctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.mu.Unlock()

	// A request made before Start is served by the first reading.
	select {
	case <-s.req:
	default:
	}
	s.SampleAt(lctx, s.opts.now())
	go s.loop(lctx)
	return nil
}

// Request asks the sampling goroutine to read every source now; it never
// blocks and allocates nothing. Requests made while one is pending are
// served by the same read. Without a running goroutine (before Start,
// after Stop) it does nothing.
func (s *Sampler) Request() {
	select {
	case s.req <- struct{}{}:
	default:
	}
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(s.untilDue())
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			s.sample(ctx, s.opts.now(), false)
		case <-s.req:
			s.sample(ctx, s.opts.now(), true)
		case <-s.stop:
			s.finalSample(ctx)
			return
		case <-ctx.Done():
			s.finalSample(ctx)
			return
		}
		timer.Reset(s.untilDue())
	}
}

// untilDue returns the time until the next source is due (an hour when
// every source is lost).
func (s *Sampler) untilDue() time.Duration {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	var next time.Time
	for i := range s.priv {
		p := &s.priv[i]
		if !p.lost && (next.IsZero() || p.next.Before(next)) {
			next = p.next
		}
	}
	if next.IsZero() {
		return time.Hour
	}
	return max(time.Until(next), 0)
}

// finalReadTimeout bounds the final reading's context: Stop must not hang on
// a sensor that stopped answering (sources honour their context).
const finalReadTimeout = 5 * time.Second

// finalSample takes the last reading, with a context that outlives the
// caller's cancellation but not finalReadTimeout.
func (s *Sampler) finalSample(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalReadTimeout)
	defer cancel()
	s.SampleAt(fctx, s.opts.now())
}

// Stop stops sampling, waits for the goroutine to take a final reading and
// return. It is idempotent, and a no-op on a sampler never started. The final
// reading's context expires after 5 s, so a source that honours its context
// cannot make Stop hang; a source that ignores it (a hung driver call) can,
// and callers that must not wait (the tracker) bound their wait themselves.
func (s *Sampler) Stop() {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return
	}
	if !s.stopped {
		s.stopped = true
		close(s.stop)
		s.cancel()
	}
	done := s.done
	s.mu.Unlock()
	<-done
}

// Sample reads every source now, on the sampler's clock (WithClock). It is
// SampleAt(ctx, now()).
func (s *Sampler) Sample(ctx context.Context) { s.SampleAt(ctx, s.opts.now()) }

// SampleAt reads every source that is not lost and integrates up to now, the
// time the readings are taken. Calls are serialised; now should not go
// backwards. It allocates nothing in steady state beyond what the sources'
// reads allocate.
func (s *Sampler) SampleAt(ctx context.Context, now time.Time) { s.sample(ctx, now, true) }

// slack returns how early a source may be read at a wake-up meant for
// another, so that sources due at nearly the same time share it: a quarter
// of its period, at most half the power interval.
func (s *Sampler) slack(p *private) time.Duration {
	return min(p.period/alignSlack, s.opts.powerEvery/2)
}

// sample reads the sources that are due (all of them when all is set) and
// integrates up to now.
func (s *Sampler) sample(ctx context.Context, now time.Time, all bool) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	// The schedule runs on the process's clock, as the timers do (a clock
	// of the caller's that stops or races would stop the reads or spin);
	// the offset maps the devices' own timestamps, which are wall-clock
	// time too, onto the sampler's clock.
	wall := time.Now()
	s.offset = now.Sub(wall)
	tk := &s.tick
	tk.Time, tk.Event = now, all
	for i := range s.priv {
		tk.Delta[i], tk.Read[i] = 0, false
		p := &s.priv[i]
		due := p.next.Sub(wall) <= s.slack(p)
		if p.lost || (!all && !due) {
			continue
		}
		if due {
			// An event read (a boundary, a scrape) leaves the schedule as
			// it is: a source due every interval is read every interval
			// however the events fall (checkpoints rely on it).
			p.next = wall.Add(p.period)
		}
		err := readSafe(ctx, s.sources[i], &p.reading)
		p.reads++
		if err != nil {
			s.fail(ctx, i, p, err)
			continue
		}
		p.fails = 0
		if p.firstOK.IsZero() {
			p.firstOK = now
		}
		p.lastOK = now
		tk.Delta[i] = s.integrate(ctx, i, p, now)
		tk.Read[i] = true
	}
	for i := range s.priv {
		tk.Lost[i] = s.priv[i].lost
	}

	s.mu.Lock()
	if s.start.IsZero() {
		s.start = now
	}
	newPoint := s.last.IsZero() || now.After(s.last)
	s.last = now
	for i := range s.priv {
		p, st := &s.priv[i], &s.stats[i]
		st.Energy += tk.Delta[i]
		st.Reads, st.Failures, st.Resets = p.reads, p.failures, p.resets
		st.Lost, st.Err = p.lost, p.err
		// The average over the source's live time: a source lost mid-run
		// is not diluted by the time after it was lost.
		if el := p.lastOK.Sub(p.firstOK); el > 0 {
			st.AvgPower = st.Energy.Over(el)
		}
		if p.lost {
			st.Power = 0
			continue
		}
		st.Power = p.meanP
		if !newPoint || !tk.Read[i] {
			continue
		}
		r := s.rings[i]
		r[s.ringNext[i]] = Point{Time: now, Power: p.meanP, Energy: st.Energy}
		s.ringNext[i] = (s.ringNext[i] + 1) % len(r)
		s.ringLen[i] = min(s.ringLen[i]+1, len(r))
	}
	s.mu.Unlock()

	if s.opts.onTick != nil {
		s.opts.onTick(tk)
	}
}

// readSafe reads src, turning a panic into an error: a broken sensor must
// never take down the training run.
func readSafe(ctx context.Context, src power.Source, r *power.Reading) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sampler: %s: read panicked: %v", src.Info().Name, v)
		}
	}()
	return src.Read(ctx, r)
}

func (s *Sampler) fail(ctx context.Context, i int, p *private, err error) {
	p.fails++
	p.failures++
	p.err = err
	name := s.stats[i].Info.Name
	if errors.Is(err, power.ErrLost) || p.fails >= s.opts.maxFailures {
		p.lost = true
		p.meanP = 0
		s.opts.logger.ErrorContext(ctx, "power source lost; its energy so far is kept", "source", name, "consecutive_failures", p.fails, "err", err)
		return
	}
	if p.fails == 1 {
		s.opts.logger.WarnContext(ctx, "power source read failed", "source", name, "err", err)
	}
}

// integrate turns the reading just taken into the energy of the interval
// ending at now.
func (s *Sampler) integrate(ctx context.Context, i int, p *private, now time.Time) power.Joules {
	info := &s.stats[i].Info
	r := &p.reading
	if info.Method == power.MethodCounter {
		if !p.primed {
			p.primed, p.lastE, p.lastT = true, r.Energy, now
			return 0
		}
		d := r.Energy - p.lastE
		dt := now.Sub(p.lastT)
		p.lastE, p.lastT = r.Energy, now
		window := max(dt, resetWindow)
		if r.Reset || d < 0 || (info.MaxPower > 0 && d.Over(window) > info.MaxPower) {
			p.resets++
			s.opts.logger.WarnContext(ctx, "energy counter reset or implausible jump; interval skipped",
				"source", info.Name, "delta_j", float64(d), "interval", dt, "max_power_w", float64(info.MaxPower))
			return 0
		}
		if dt > 0 {
			p.meanP = d.Over(dt)
		}
		return d
	}

	var e power.Joules
	start, wasPrimed := p.lastT, p.primed
	switch {
	case len(r.Samples) > 0:
		for _, smp := range r.Samples {
			if !s.plausible(ctx, info, p, smp.Power) {
				continue
			}
			// Device timestamps are wall-clock time; move them to the
			// sampler's clock, which may be injected.
			e += p.point(time.UnixMicro(smp.TimeMicros).Add(s.offset), smp.Power)
		}
	case !s.plausible(ctx, info, p, r.Power):
		return 0
	case r.Average:
		if !p.primed {
			p.primed, p.lastT, p.lastP, p.meanP = true, now, r.Power, r.Power
			return 0
		}
		if dt := now.Sub(p.lastT); dt > 0 {
			p.lastT, p.lastP = now, r.Power
			e = r.Power.For(dt)
		}
	default:
		e = p.point(now, r.Power)
	}
	if d := p.lastT.Sub(start); wasPrimed && d > 0 {
		p.meanP = e.Over(d)
	} else if !wasPrimed {
		p.meanP = p.lastP
	}
	return e
}

// plausible reports whether a power reading can be integrated: finite, not
// negative, and not above the device's plausible maximum. A rejected reading
// is counted with the resets and logged.
func (s *Sampler) plausible(ctx context.Context, info *power.Info, p *private, w power.Watts) bool {
	if w >= 0 && !math.IsInf(float64(w), 1) && (info.MaxPower <= 0 || w <= info.MaxPower) {
		return true
	}
	p.resets++
	s.opts.logger.WarnContext(ctx, "implausible power reading skipped", "source", info.Name,
		"power_w", float64(w), "max_power_w", float64(info.MaxPower))
	return false
}

// point adds an instantaneous reading: the trapezoid from the previous point.
// Points not newer than the previous one are dropped.
func (p *private) point(t time.Time, w power.Watts) power.Joules {
	if !p.primed {
		p.primed, p.lastT, p.lastP = true, t, w
		return 0
	}
	dt := t.Sub(p.lastT)
	if dt <= 0 {
		return 0
	}
	e := ((p.lastP + w) / 2).For(dt)
	p.lastT, p.lastP = t, w
	return e
}

// Snapshot returns a copy of the sampler's state.
func (s *Sampler) Snapshot() Snapshot {
	var snap Snapshot
	s.SnapshotInto(&snap)
	return snap
}

// SnapshotInto copies the sampler's state into dst, reusing dst.Sources; it
// allocates nothing when dst.Sources has room.
func (s *Sampler) SnapshotInto(dst *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dst.Start, dst.Time = s.start, s.last
	dst.Sources = append(dst.Sources[:0], s.stats...)
}

// Energies copies each source's cumulative energy into dst (grown if needed)
// and returns it with the time of the latest sample. It allocates nothing when
// dst has room: cheap enough for an epoch boundary.
func (s *Sampler) Energies(dst []power.Joules) ([]power.Joules, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = dst[:0]
	for i := range s.stats {
		dst = append(dst, s.stats[i].Energy)
	}
	return dst, s.last
}

// Recent appends the recent points of source i, oldest first, to dst and
// returns it; at most the ring size are kept.
func (s *Sampler) Recent(i int, dst []Point) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.rings) {
		return dst
	}
	r, n := s.rings[i], s.ringLen[i]
	first := (s.ringNext[i] - n + len(r)) % len(r)
	for k := 0; k < n; k++ {
		dst = append(dst, r[(first+k)%len(r)])
	}
	return dst
}

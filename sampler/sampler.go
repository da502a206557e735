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
	// DefaultInterval is the sampling period. 100 ms keeps power-only
	// sources within 1 % on a 1 Hz square-wave load (the README says how that
	// was measured) and costs a few microseconds a tick beyond the sensor
	// reads.
	DefaultInterval = 100 * time.Millisecond
	// DefaultRingSize is the number of recent points kept per source (one
	// minute at the default interval).
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
)

// ErrAlreadyStarted is returned by Start on a sampler that was started before.
var ErrAlreadyStarted = errors.New("sampler: already started")

// Option configures New.
type Option func(*options)

type options struct {
	interval    time.Duration
	ringSize    int
	maxFailures int
	logger      *slog.Logger
	onTick      func(now time.Time, delta []power.Joules)
	now         func() time.Time
}

func defaultOptions() options {
	return options{
		interval:    DefaultInterval,
		ringSize:    DefaultRingSize,
		maxFailures: DefaultMaxFailures,
		logger:      slog.New(slog.DiscardHandler),
		now:         time.Now,
	}
}

// WithInterval sets the sampling period (default DefaultInterval).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

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

// WithClock sets the clock the sampling goroutine uses (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTickFunc calls f after every sample with the energy each source drew
// since the previous sample, indexed like the sources. f runs on the
// sampler's goroutine (or SampleAt's caller) after the snapshot state is
// updated and unlocked, so it may call Snapshot, Energies and Recent; it must
// not call SampleAt (samples are serialised: that would deadlock). delta is
// reused: f must not keep it. f must be quick: it delays the next sample.
func WithTickFunc(f func(now time.Time, delta []power.Joules)) Option {
	return func(o *options) { o.onTick = f }
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
	// AvgPower is Energy over the time since the sampler started.
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

// Sampler reads a set of sources periodically and integrates their energy
// over time: counter sources by exact deltas (with resets detected and
// skipped), power sources by the trapezoidal rule over every reading,
// including the readings a device buffers between polls.
//
// Memory is bounded: a fixed ring of recent points per source, nothing that
// grows with the run. A Sampler is safe for concurrent use: one goroutine
// samples (Start's, or callers of SampleAt, serialised) while any number read
// Snapshot, Energies and Recent.
type Sampler struct {
	opts    options
	sources []power.Source

	tickMu sync.Mutex // serialises sampling; guards priv, delta and offset
	priv   []private
	delta  []power.Joules
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
	stop     chan struct{}
	done     chan struct{}
}

// private is the sampling goroutine's per-source state.
type private struct {
	reading  power.Reading
	primed   bool
	lastE    power.Joules
	lastT    time.Time   // time of the last integrated point
	lastP    power.Watts // power at lastT, for the trapezoid
	meanP    power.Watts // mean power over the latest interval, for status
	fails    int
	lost     bool
	reads    int
	failures int
	resets   int
	err      error
}

// New returns a sampler over sources. It does not read them until Start or
// SampleAt.
func New(sources []power.Source, opts ...Option) (*Sampler, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.interval <= 0:
		return nil, fmt.Errorf("sampler: interval must be positive, got %v", o.interval)
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
		// A wrapping counter read less often than it can wrap loses whole
		// wraps without a trace; half the shortest wrap time is safe.
		if info := s.Info(); info.WrapEnergy > 0 && info.MaxPower > 0 {
			wrap := time.Duration(float64(info.WrapEnergy) / float64(info.MaxPower) * float64(time.Second))
			if o.interval > wrap/2 {
				return nil, fmt.Errorf("sampler: interval %v is too long for %s: its counter wraps after %.0f J, %v at its plausible maximum of %g W; use an interval of at most %v",
					o.interval, info.Name, float64(info.WrapEnergy), wrap.Round(100*time.Millisecond), float64(info.MaxPower), (wrap / 2).Round(100*time.Millisecond))
			}
		}
	}
	n := len(sources)
	s := &Sampler{
		opts:     o,
		sources:  append([]power.Source(nil), sources...),
		priv:     make([]private, n),
		delta:    make([]power.Joules, n),
		stats:    make([]SourceStats, n),
		rings:    make([][]Point, n),
		ringNext: make([]int, n),
		ringLen:  make([]int, n),
	}
	for i, src := range s.sources {
		s.stats[i].Info = src.Info()
		s.rings[i] = make([]Point, o.ringSize)
		s.priv[i].reading.Samples = make([]power.PowerSample, 0, samplesCapacity)
	}
	return s, nil
}

// Interval returns the sampling period.
func (s *Sampler) Interval() time.Duration { return s.opts.interval }

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
	s.mu.Unlock()

	s.SampleAt(ctx, s.opts.now())
	go s.loop(ctx)
	return nil
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.opts.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.SampleAt(ctx, s.opts.now())
		case <-s.stop:
			s.finalSample(ctx)
			return
		case <-ctx.Done():
			s.finalSample(ctx)
			return
		}
	}
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
	}
	done := s.done
	s.mu.Unlock()
	<-done
}

// Sample reads every source now. It is SampleAt(ctx, time.Now()).
func (s *Sampler) Sample(ctx context.Context) { s.SampleAt(ctx, time.Now()) }

// SampleAt reads every source that is not lost and integrates up to now, the
// time the readings are taken. Calls are serialised; now should not go
// backwards. It allocates nothing in steady state beyond what the sources'
// reads allocate.
func (s *Sampler) SampleAt(ctx context.Context, now time.Time) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	s.offset = now.Sub(time.Now())
	for i := range s.priv {
		s.delta[i] = 0
		p := &s.priv[i]
		if p.lost {
			continue
		}
		err := readSafe(ctx, s.sources[i], &p.reading)
		p.reads++
		if err != nil {
			s.fail(ctx, i, p, err)
			continue
		}
		p.fails = 0
		s.delta[i] = s.integrate(ctx, i, p, now)
	}

	s.mu.Lock()
	if s.start.IsZero() {
		s.start = now
	}
	newPoint := s.last.IsZero() || now.After(s.last)
	s.last = now
	for i := range s.priv {
		p, st := &s.priv[i], &s.stats[i]
		st.Energy += s.delta[i]
		st.Reads, st.Failures, st.Resets = p.reads, p.failures, p.resets
		st.Lost, st.Err = p.lost, p.err
		if el := now.Sub(s.start); el > 0 {
			st.AvgPower = st.Energy.Over(el)
		}
		if p.lost {
			st.Power = 0
			continue
		}
		st.Power = p.meanP
		if !newPoint {
			continue
		}
		r := s.rings[i]
		r[s.ringNext[i]] = Point{Time: now, Power: p.meanP, Energy: st.Energy}
		s.ringNext[i] = (s.ringNext[i] + 1) % len(r)
		s.ringLen[i] = min(s.ringLen[i]+1, len(r))
	}
	s.mu.Unlock()

	if s.opts.onTick != nil {
		s.opts.onTick(now, s.delta)
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

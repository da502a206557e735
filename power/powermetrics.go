package power

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// pmInterval is powermetrics' sample interval (its -i, in ms). Each sample
// is the energy of its whole interval (the SoC's energy counters), so the
// interval does not change the total, only how late a sample arrives: half a
// second keeps epoch boundaries close while powermetrics, which walks every
// CPU's frequency states each time, stays cheap.
const pmInterval = 500 * time.Millisecond

// pmMaxPower is the most one part of an Apple SoC (CPU, GPU or Neural
// Engine) can plausibly draw, in watts: Apple's largest SoC, the M2 Ultra,
// draws at most 295 W for the whole Mac Studio (Apple's power consumption
// figures), so 1000 W leaves 3× headroom while rejecting a misread value.
const pmMaxPower Watts = 1000

// pmMaxPending is the most intervals kept per source between two reads;
// beyond it, neighbouring intervals are merged (energy kept exactly), so a
// source nobody reads holds bounded memory.
const pmMaxPending = 256

// powermetricsBackend measures the CPU, the GPU and the Neural Engine of an
// Apple Silicon Mac through macOS's powermetrics (powermetrics_darwin.go;
// powermetrics_other.go reports nothing elsewhere, where its absence is not
// news). It comes before the estimates: with it the CPU is measured, not
// estimated.
type powermetricsBackend struct{}

func (powermetricsBackend) discover(ctx context.Context, o *options, _ *found) ([]Source, []Unavailable) {
	if !o.kinds[KindCPU] && !o.kinds[KindGPU] {
		return nil, nil
	}
	return discoverPowermetrics(ctx, o)
}

// slow: discovery waits for powermetrics' first sample, about pmInterval.
func (powermetricsBackend) slow() bool { return true }

// pmSegment is one powermetrics sample of one part: its mean power over
// (start, end], times in microseconds since the Unix epoch.
type pmSegment struct {
	start, end int64
	power      Watts
}

// pmFeed receives powermetrics' samples (run, on its own goroutine) and
// hands them to the sources of the parts (read). It lays the samples end to
// end from the first one's start: each sample's elapsed_ns is the exact
// interval since the previous one, so the timeline has no gaps and no
// overlaps, and Σ power × elapsed is the energy whatever the reads' timing.
// Its methods are safe for concurrent use.
type pmFeed struct {
	first chan struct{} // closed at the first sample
	ended chan struct{} // closed when the stream ends

	mu        sync.Mutex
	anchored  bool
	endNanos  int64 // end of the latest sample, ns since the Unix epoch
	sample    pmSample
	pending   [pmParts][]pmSegment
	primed    [pmParts]bool
	lastEnd   [pmParts]int64 // µs: the newest point handed out
	lastPower [pmParts]Watts
	samples   int   // samples received
	skipped   int   // documents skipped
	skipErr   error // why the latest was skipped
	err       error // why the stream ended
}

func newPMFeed() *pmFeed {
	return &pmFeed{first: make(chan struct{}), ended: make(chan struct{})}
}

// run reads the stream until it ends, adding each sample at the time now
// returns when it arrives.
func (f *pmFeed) run(r io.Reader, now func() time.Time) {
	sc := newPMScanner(r)
	for {
		s, err := sc.Next()
		switch {
		case err == nil:
			f.add(s, now())
		case errors.Is(err, errPMDocument):
			f.mu.Lock()
			f.skipped++
			f.skipErr = err
			f.mu.Unlock()
		default:
			f.mu.Lock()
			f.err = err
			f.mu.Unlock()
			close(f.ended)
			return
		}
	}
}

// add lays s after the previous sample; the first one ends at recv.
func (f *pmFeed) add(s pmSample, recv time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.anchored {
		f.anchored = true
		f.endNanos = recv.UnixNano() - int64(s.Elapsed)
	}
	start := f.endNanos
	f.endNanos += int64(s.Elapsed)
	f.sample = s
	f.samples++
	for p := range pmParts {
		w, ok := s.power(p)
		if !ok {
			continue
		}
		seg := pmSegment{start: start / 1e3, end: f.endNanos / 1e3, power: w}
		if len(f.pending[p]) == pmMaxPending {
			f.pending[p] = mergePMSegments(f.pending[p])
		}
		f.pending[p] = append(f.pending[p], seg)
	}
	if f.samples == 1 {
		close(f.first)
	}
}

// mergePMSegments merges neighbouring segments pairwise, each pair into one
// at their mean power weighted by duration: the energy is unchanged.
func mergePMSegments(segs []pmSegment) []pmSegment {
	n := 0
	for i := 0; i < len(segs); i += 2 {
		m := segs[i]
		if i+1 < len(segs) {
			b := segs[i+1]
			da, db := float64(m.end-m.start), float64(b.end-b.start)
			if da+db > 0 {
				m.power = Watts((float64(m.power)*da + float64(b.power)*db) / (da + db))
			}
			m.end = b.end
		}
		segs[n] = m
		n++
	}
	return segs[:n]
}

// read appends to r.Samples the power of part p since the previous read, as
// points for the trapezoidal rule that integrate to each sample's power ×
// elapsed: a point at the start of each sample (1 µs after the previous
// one's end, where the step from the previous power falls) and one at its
// end. The first read starts from the end of the newest sample, so what
// powermetrics measured before it is not counted. A read with nothing new
// repeats the newest point, which the sampler ignores as not newer. It
// reports ErrLost once the stream has ended and every sample is handed out.
func (f *pmFeed) read(p pmPart, r *Reading) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	segs := f.pending[p]
	f.pending[p] = segs[:0]
	if !f.primed[p] {
		if len(segs) > 0 {
			last := segs[len(segs)-1]
			f.primed[p], f.lastEnd[p], f.lastPower[p] = true, last.end, last.power
			r.Samples = append(r.Samples, PowerSample{TimeMicros: last.end, Power: last.power})
		}
		return f.endErr(len(segs) == 0)
	}
	for _, g := range segs {
		if g.end-g.start > 1 {
			r.Samples = append(r.Samples, PowerSample{TimeMicros: g.start + 1, Power: g.power})
		}
		r.Samples = append(r.Samples, PowerSample{TimeMicros: g.end, Power: g.power})
		f.lastEnd[p], f.lastPower[p] = g.end, g.power
	}
	if len(segs) == 0 {
		r.Samples = append(r.Samples, PowerSample{TimeMicros: f.lastEnd[p], Power: f.lastPower[p]})
	}
	return f.endErr(len(segs) == 0)
}

// endErr returns ErrLost when the stream has ended and nothing new was read.
func (f *pmFeed) endErr(empty bool) error {
	if !empty {
		return nil
	}
	select {
	case <-f.ended:
		return errorf(ErrLost, "power: powermetrics: its output ended: %v", f.err)
	default:
		return nil
	}
}

// pmSession is one running powermetrics shared by the sources of the parts
// it measures: the last one closed stops it.
type pmSession struct {
	feed *pmFeed
	stop func() // stops powermetrics and reaps it; never blocks for long

	mu   sync.Mutex
	refs int
}

// release drops one source's hold; the last one stops powermetrics.
func (s *pmSession) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last && s.stop != nil {
		s.stop()
	}
}

// pmSource is one part of an Apple SoC (CPU, GPU or Neural Engine) as
// powermetrics measures it (MethodSampled: each sample is the part's mean
// power over the sample's interval). The Neural Engine is a KindGPU source
// named "gpu:apple-ane": an accelerator that runs models, counted with the
// GPUs since Kind has no class of its own for it.
//
// Info is safe for concurrent use; Read is used by one goroutine at a time;
// Close is idempotent and safe for concurrent use.
type pmSource struct {
	info   Info
	part   pmPart
	sess   *pmSession
	closed atomic.Bool
}

var (
	_ Source = (*pmSource)(nil)
	_ Closer = (*pmSource)(nil)
)

// Info describes the source.
func (s *pmSource) Info() Info { return s.info }

// Read hands out the samples powermetrics gave since the previous Read
// (pmFeed.read).
func (s *pmSource) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	if s.closed.Load() {
		return errorf(ErrLost, "power: powermetrics: %s: read after Close", s.info.Name)
	}
	return s.sess.feed.read(s.part, r)
}

// Close releases the source; the last source of a session stops
// powermetrics. It never blocks for long.
func (s *pmSource) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.sess.release()
	}
	return nil
}

// pmPartInfo returns the Info of part p of the SoC named chip (such as
// "Apple M2 Pro").
func pmPartInfo(p pmPart, chip string) Info {
	i := Info{Index: -1, Method: MethodSampled, MaxPower: pmMaxPower, Cadence: CadenceBuffered,
		Detail: "powermetrics cpu_power, gpu_power, ane_power (mean power per sample, every " + pmInterval.String() + ")"}
	switch p {
	case pmCPU:
		i.Name, i.Kind, i.Device = "cpu:apple", KindCPU, chip+" CPU"
	case pmGPU:
		i.Name, i.Kind, i.Device = "gpu:apple", KindGPU, chip+" GPU"
	case pmANE:
		i.Name, i.Kind, i.Device = "gpu:apple-ane", KindGPU, chip+" Neural Engine"
	}
	return i
}

// newPMSources returns the sources of the parts that the first sample has
// and that o asks for, sharing one session; none when there are none (the
// caller then stops powermetrics).
func newPMSources(feed *pmFeed, stop func(), chip string, o *options) []Source {
	feed.mu.Lock()
	first := feed.sample
	feed.mu.Unlock()
	sess := &pmSession{feed: feed, stop: stop}
	var sources []Source
	for p := range pmParts {
		info := pmPartInfo(p, chip)
		if _, ok := first.power(p); !ok || !o.kinds[info.Kind] {
			continue
		}
		sources = append(sources, &pmSource{info: info, part: p, sess: sess})
	}
	sess.refs = len(sources)
	return sources
}

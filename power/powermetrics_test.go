package power

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pmTrapezoid integrates points as the sampler does (sampler.point): the
// trapezoidal rule, dropping a point not newer than the previous one.
type pmTrapezoid struct {
	primed bool
	t      int64
	p      Watts
	e      Joules
}

func (z *pmTrapezoid) add(samples []PowerSample) {
	for _, s := range samples {
		if !z.primed {
			z.primed, z.t, z.p = true, s.TimeMicros, s.Power
			continue
		}
		dt := s.TimeMicros - z.t
		if dt <= 0 {
			continue
		}
		z.e += ((z.p + s.Power) / 2).For(time.Duration(dt) * time.Microsecond)
		z.t, z.p = s.TimeMicros, s.Power
	}
}

func pmTestOptions(kinds ...Kind) *options {
	o := defaultOptions()
	if len(kinds) > 0 {
		o.kinds = map[Kind]bool{}
		for _, k := range kinds {
			o.kinds[k] = true
		}
	}
	return &o
}

// pmTestSamples are the samples of testdata/powermetrics/m1-ane-stream.plists.
var pmTestSamples = []pmSample{
	{Elapsed: 500871541, CPU: 4.5125, GPU: 1.20325, ANE: 0, HasCPU: true, HasGPU: true, HasANE: true},
	{Elapsed: 499650125, CPU: 5.12075, GPU: 0.9805, ANE: 1.410125, HasCPU: true, HasGPU: true, HasANE: true},
	{Elapsed: 500122708, CPU: 3.875, GPU: 1.5, ANE: 2.2505, HasCPU: true, HasGPU: true, HasANE: true},
	{Elapsed: 500001916, CPU: 2.21025, GPU: 0.64, ANE: 0, HasCPU: true, HasGPU: true, HasANE: true},
}

func TestPMSourcesInfo(t *testing.T) {
	f := newPMFeed()
	f.add(pmTestSamples[0], time.Unix(1700000000, 0))
	sources := newPMSources(f, nil, "Apple M1", pmTestOptions())
	require.Len(t, sources, 3)
	want := []struct {
		name, device string
		kind         Kind
	}{
		{"cpu:apple", "Apple M1 CPU", KindCPU},
		{"gpu:apple", "Apple M1 GPU", KindGPU},
		{"gpu:apple-ane", "Apple M1 Neural Engine", KindGPU},
	}
	for i, w := range want {
		info := sources[i].Info()
		assert.Equal(t, w.name, info.Name)
		assert.Equal(t, w.device, info.Device)
		assert.Equal(t, w.kind, info.Kind)
		assert.Equal(t, MethodSampled, info.Method)
		assert.Equal(t, CadenceBuffered, info.ResolveCadence())
		assert.Equal(t, pmMaxPower, info.MaxPower)
		assert.Equal(t, -1, info.Index)
		assert.NotContains(t, info.Name, ".")
	}

	// Only the kinds asked for; none when none of the parts is asked for.
	cpuOnly := newPMSources(f, nil, "Apple M1", pmTestOptions(KindCPU))
	require.Len(t, cpuOnly, 1)
	assert.Equal(t, "cpu:apple", cpuOnly[0].Info().Name)
	assert.Empty(t, newPMSources(f, nil, "Apple M1", pmTestOptions(KindDRAM)))

	// A part the first sample lacks has no source.
	g := newPMFeed()
	g.add(pmSample{Elapsed: time.Second, CPU: 1, HasCPU: true}, time.Unix(1700000000, 0))
	only := newPMSources(g, nil, "Apple M1", pmTestOptions())
	require.Len(t, only, 1)
	assert.Equal(t, "cpu:apple", only[0].Info().Name)
}

func TestPMEnergyExact(t *testing.T) {
	f := newPMFeed()
	recv := time.Unix(1700000000, 123456789)
	f.add(pmTestSamples[0], recv)
	sources := newPMSources(f, nil, "Apple M1", pmTestOptions())
	require.Len(t, sources, 3)
	ctx := context.Background()
	var (
		r     Reading
		integ [3]pmTrapezoid
	)
	read := func() {
		t.Helper()
		for i, s := range sources {
			require.NoError(t, s.Read(ctx, &r))
			require.NotEmpty(t, r.Samples, "a read always hands out a point")
			integ[i].add(r.Samples)
		}
	}
	// The first read starts from the end of the first sample: powermetrics'
	// first interval ran before the sources were read.
	read()
	assert.Equal(t, recv.UnixMicro(), integ[0].t)
	read() // nothing new: the newest point again, ignored
	var want [3]Joules
	for i, s := range pmTestSamples[1:] {
		recv = recv.Add(s.Elapsed + 3*time.Millisecond) // late arrivals do not matter
		f.add(s, recv)
		want[0] += s.CPU.For(s.Elapsed)
		want[1] += s.GPU.For(s.Elapsed)
		want[2] += s.ANE.For(s.Elapsed)
		if i != 1 {
			read() // two samples arrive between two reads once
		}
		read()
	}
	for i := range sources {
		// Exact but for microsecond timestamps and the 1 µs step from one
		// sample's power to the next: a few µJ.
		assert.InDelta(t, float64(want[i]), float64(integ[i].e), 20e-6, sources[i].Info().Name)
	}
	assert.InDelta(t, 5.12075*0.499650125+3.875*0.500122708+2.21025*0.500001916, float64(integ[0].e), 20e-6)
}

func TestPMPendingMergedKeepsEnergy(t *testing.T) {
	f := newPMFeed()
	recv := time.Unix(1700000000, 0)
	f.add(pmSample{Elapsed: 100 * time.Millisecond, GPU: 1, HasGPU: true}, recv)
	sources := newPMSources(f, nil, "Apple M2", pmTestOptions())
	require.Len(t, sources, 1)
	var (
		r Reading
		z pmTrapezoid
	)
	require.NoError(t, sources[0].Read(context.Background(), &r))
	z.add(r.Samples)
	// Ten times the pending room without a read: merged, the energy kept.
	var want Joules
	for i := range 10 * pmMaxPending {
		s := pmSample{Elapsed: time.Duration(90+i%21) * time.Millisecond, GPU: Watts(1 + i%7), HasGPU: true}
		recv = recv.Add(s.Elapsed)
		f.add(s, recv)
		want += s.GPU.For(s.Elapsed)
	}
	f.mu.Lock()
	assert.LessOrEqual(t, len(f.pending[pmGPU]), pmMaxPending)
	f.mu.Unlock()
	require.NoError(t, sources[0].Read(context.Background(), &r))
	assert.LessOrEqual(t, len(r.Samples), 2*pmMaxPending)
	z.add(r.Samples)
	assert.InEpsilon(t, float64(want), float64(z.e), 1e-6)
}

func TestPMStreamEndsLost(t *testing.T) {
	f := newPMFeed()
	stream := readPMFixture(t, "m1-ane-stream.plists")
	stream = append(stream, []byte("\x00garbage\x00")...)
	now := time.Unix(1700000000, 0)
	f.run(bytes.NewReader(stream), func() time.Time { return now })
	select {
	case <-f.first:
	default:
		t.Fatal("first not closed")
	}
	select {
	case <-f.ended:
	default:
		t.Fatal("ended not closed")
	}
	assert.Equal(t, 4, f.samples)
	assert.Equal(t, 1, f.skipped)
	require.ErrorIs(t, f.err, io.EOF)

	sources := newPMSources(f, nil, "Apple M1", pmTestOptions(KindCPU))
	require.Len(t, sources, 1)
	var r Reading
	// The samples still pending are handed out; then the source is lost.
	require.NoError(t, sources[0].Read(context.Background(), &r))
	require.Len(t, r.Samples, 1)
	err := sources[0].Read(context.Background(), &r)
	require.ErrorIs(t, err, ErrLost)
	assert.Contains(t, err.Error(), "output ended")
}

func TestPMCloseStopsOnce(t *testing.T) {
	f := newPMFeed()
	f.add(pmTestSamples[0], time.Unix(1700000000, 0))
	var stops atomic.Int32
	sources := newPMSources(f, func() { stops.Add(1) }, "Apple M1", pmTestOptions())
	require.Len(t, sources, 3)
	for _, s := range sources[:2] {
		require.NoError(t, s.(Closer).Close())
		require.NoError(t, s.(Closer).Close())
	}
	assert.Zero(t, stops.Load(), "still used by the ANE source")
	var r Reading
	require.ErrorIs(t, sources[0].Read(context.Background(), &r), ErrLost)
	require.NoError(t, sources[2].Read(context.Background(), &r))
	require.NoError(t, sources[2].(Closer).Close())
	require.NoError(t, sources[2].(Closer).Close())
	assert.Equal(t, int32(1), stops.Load())

	// Discovery.Close closes them all.
	d := &Discovery{Sources: newPMSources(f, func() { stops.Add(1) }, "Apple M1", pmTestOptions())}
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	assert.Equal(t, int32(2), stops.Load())
}

func TestMergePMSegments(t *testing.T) {
	segs := []pmSegment{{0, 100, 1}, {100, 300, 4}, {300, 400, 2}}
	got := mergePMSegments(append([]pmSegment(nil), segs...))
	assert.Equal(t, []pmSegment{{0, 300, 3}, {300, 400, 2}}, got)
}

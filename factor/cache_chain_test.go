package factor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

// countingProvider answers value+calls, or err, and counts its calls.
type countingProvider struct {
	calls atomic.Int64
	err   error
	fc    []factor.Point
}

func (p *countingProvider) Intensity(ctx context.Context, at time.Time) (factor.Intensity, error) {
	n := p.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return factor.Intensity{}, err
	}
	if p.err != nil {
		return factor.Intensity{}, p.err
	}
	return factor.Intensity{Value: factor.GramsPerKWh(100 + n), At: at, Zone: "XX", Provider: "counting"}, nil
}

func (p *countingProvider) Forecast(ctx context.Context) ([]factor.Point, error) {
	p.calls.Add(1)
	if p.err != nil {
		return nil, p.err
	}
	return p.fc, nil
}

// plainProvider is a Provider that cannot forecast.
type plainProvider struct{ factor.Provider }

func TestCacheTTL(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T10:02:00Z")
	clock := newClock(t0)
	p := &countingProvider{}
	c, err := factor.NewCache(p, factor.WithClock(clock.Now))
	require.NoError(t, err)
	ctx := context.Background()

	v, err := c.Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(101), v.Value)
	assert.Equal(t, t0, v.At, "the zero time is the cache's now")

	clock.Advance(10 * time.Minute) // 10:12, same quarter hour, within the TTL
	v, err = c.Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(101), v.Value)
	assert.Equal(t, int64(1), p.calls.Load())

	// A time in the same period, asked explicitly, is kept too.
	v, _ = c.Intensity(ctx, t0.Add(time.Minute))
	assert.Equal(t, factor.GramsPerKWh(101), v.Value)

	clock.Advance(4 * time.Minute) // 10:16: a new period
	v, _ = c.Intensity(ctx, time.Time{})
	assert.Equal(t, factor.GramsPerKWh(102), v.Value)
	assert.Equal(t, int64(2), p.calls.Load())

	// The old period is still kept until its TTL runs out...
	v, _ = c.Intensity(ctx, t0)
	assert.Equal(t, factor.GramsPerKWh(101), v.Value)
	// ...and refreshed after.
	clock.Advance(2 * time.Minute) // 10:18: 16 min after the first fetch
	v, _ = c.Intensity(ctx, t0)
	assert.Equal(t, factor.GramsPerKWh(103), v.Value)
	assert.Equal(t, int64(3), p.calls.Load())

	// A custom TTL.
	c, err = factor.NewCache(p, factor.WithClock(clock.Now), factor.WithTTL(time.Hour))
	require.NoError(t, err)
	_, _ = c.Intensity(ctx, time.Time{})
	clock.Advance(40 * time.Minute)
	_, _ = c.Intensity(ctx, clock.Now().Add(-40*time.Minute))
	assert.Equal(t, int64(4), p.calls.Load())
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	p := &countingProvider{err: errors.New("down")}
	c, err := factor.NewCache(p)
	require.NoError(t, err)
	for range 3 {
		_, err = c.Intensity(context.Background(), time.Time{})
		require.Error(t, err)
	}
	assert.Equal(t, int64(3), p.calls.Load())
}

func TestCacheForecast(t *testing.T) {
	clock := newClock(mustTime(t, "2024-06-01T10:00:00Z"))
	fc := []factor.Point{{At: clock.Now(), Value: 1}, {At: clock.Now().Add(time.Hour), Value: 2}}
	p := &countingProvider{fc: fc}
	c, err := factor.NewCache(p, factor.WithClock(clock.Now))
	require.NoError(t, err)
	got, err := c.Forecast(context.Background())
	require.NoError(t, err)
	got[0].Value = 999 // the caller's copy
	got, err = c.Forecast(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fc, got)
	assert.Equal(t, int64(1), p.calls.Load())
	clock.Advance(16 * time.Minute)
	_, _ = c.Forecast(context.Background())
	assert.Equal(t, int64(2), p.calls.Load())

	c, err = factor.NewCache(plainProvider{factor.Fixed(1)})
	require.NoError(t, err)
	_, err = c.Forecast(context.Background())
	require.ErrorIs(t, err, factor.ErrNotSupported)
}

func TestCacheConcurrent(t *testing.T) {
	clock := newClock(mustTime(t, "2024-06-01T10:00:00Z"))
	p := &countingProvider{fc: []factor.Point{{Value: 1}}}
	c, err := factor.NewCache(p, factor.WithClock(clock.Now), factor.WithTTL(time.Minute))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g == 0 && i%10 == 0 {
					clock.Advance(7 * time.Second) // the "refresher"
				}
				_, err := c.Intensity(context.Background(), clock.Now().Add(-time.Duration(i%120)*time.Minute))
				assert.NoError(t, err)
				_, err = c.Forecast(context.Background())
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
}

func TestNewCacheValidates(t *testing.T) {
	_, err := factor.NewCache(nil)
	require.ErrorIs(t, err, factor.ErrInvalid)
	_, err = factor.NewCache(factor.Fixed(1), factor.WithTTL(0))
	require.ErrorIs(t, err, factor.ErrInvalid)
	_, err = factor.NewCache(factor.Fixed(1), factor.WithClock(nil))
	require.ErrorIs(t, err, factor.ErrInvalid)
}

func TestChainFallback(t *testing.T) {
	at := mustTime(t, "2024-06-01T10:00:00Z")
	ctx := context.Background()
	live := &countingProvider{err: &factor.HTTPError{Provider: "electricitymaps", URL: "https://x/v3/carbon-intensity/latest",
		StatusCode: 503, Status: "503 Service Unavailable"}}
	logger, logs := captureLogs()
	chain, err := factor.NewChain([]factor.Provider{live, factor.Static("FR")}, factor.WithLogger(logger))
	require.NoError(t, err)

	v, err := chain.Intensity(ctx, at)
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(56.039), v.Value)
	assert.Equal(t, "static", v.Provider)
	assert.Equal(t, "electricitymaps: GET https://x/v3/carbon-intensity/latest: 503 Service Unavailable; answered by static for FR",
		v.Fallback)
	var he *factor.HTTPError
	require.ErrorAs(t, v.Cause, &he)
	assert.Equal(t, 503, he.StatusCode)
	assert.Contains(t, logs.String(), "factor: fallback")
	assert.Len(t, chain.Providers(), 2)

	// Live → static country → world: every reason is kept.
	live.err = fmt.Errorf("%w: after a 429", factor.ErrRateLimited)
	chain, err = factor.NewChain([]factor.Provider{live, factor.Static("DK-DK3")})
	require.NoError(t, err)
	v, err = chain.Intensity(ctx, at)
	require.NoError(t, err)
	assert.Equal(t, "DK", v.Zone)
	assert.Contains(t, v.Fallback, "rate limited: after a 429; answered by static for DK")
	assert.Contains(t, v.Fallback, `zone "DK-DK3" is not in the embedded tables; using the annual average of its country DK`)
	require.ErrorIs(t, v.Cause, factor.ErrRateLimited)
	require.ErrorIs(t, v.Cause, factor.ErrUnknownZone)

	// The first answers: no fallback.
	chain, err = factor.NewChain([]factor.Provider{factor.Fixed(42), factor.Static("FR")})
	require.NoError(t, err)
	v, err = chain.Intensity(ctx, at)
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(42), v.Value)
	assert.Empty(t, v.Fallback)
	assert.NoError(t, v.Cause)
}

func TestChainAllFail(t *testing.T) {
	e1 := &countingProvider{err: fmt.Errorf("factor: a: %w", factor.ErrTimeout)}
	e2 := &countingProvider{err: fmt.Errorf("factor: b: %w", factor.ErrImplausible)}
	chain, err := factor.NewChain([]factor.Provider{e1, e2})
	require.NoError(t, err)
	_, err = chain.Intensity(context.Background(), time.Time{})
	require.ErrorIs(t, err, factor.ErrTimeout)
	require.ErrorIs(t, err, factor.ErrImplausible)
	assert.Contains(t, err.Error(), "no provider answered")

	// A done context stops the chain.
	e1.calls.Store(0)
	e2.calls.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	chain, err = factor.NewChain([]factor.Provider{e1, e2, factor.Static("FR")})
	require.NoError(t, err)
	_, err = chain.Intensity(ctx, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), e1.calls.Load())
	assert.Equal(t, int64(0), e2.calls.Load())
}

func TestChainForecast(t *testing.T) {
	fc := []factor.Point{{Value: 1}, {Value: 2}}
	failing := &countingProvider{err: errors.New("factor: x: down")}
	good := &countingProvider{fc: fc}
	chain, err := factor.NewChain([]factor.Provider{plainProvider{factor.Fixed(1)}, failing, good, factor.Static("FR")})
	require.NoError(t, err)
	got, err := chain.Forecast(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fc, got)

	chain, err = factor.NewChain([]factor.Provider{factor.Static("FR")})
	require.NoError(t, err)
	_, err = chain.Forecast(context.Background())
	require.ErrorIs(t, err, factor.ErrNotSupported)

	chain, err = factor.NewChain([]factor.Provider{failing})
	require.NoError(t, err)
	_, err = chain.Forecast(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "down")
}

func TestNewChainValidates(t *testing.T) {
	_, err := factor.NewChain(nil)
	require.ErrorIs(t, err, factor.ErrInvalid)
	_, err = factor.NewChain([]factor.Provider{factor.Fixed(1), nil})
	require.ErrorIs(t, err, factor.ErrInvalid)
}

func TestForZoneOffline(t *testing.T) {
	ctx := context.Background()
	c, err := factor.ForZone("France")
	require.NoError(t, err)
	v, err := c.Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(56.039), v.Value)
	assert.IsType(t, factor.StaticProvider{}, c.Provider())

	c, err = factor.ForZone("DK-DK1")
	require.NoError(t, err)
	v, err = c.Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "DK", v.Zone)
	assert.NotEmpty(t, v.Fallback)

	c, err = factor.ForZone("")
	require.NoError(t, err)
	v, err = c.Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, factor.WorldAverage, v.Value)
	assert.NotEmpty(t, v.Fallback)

	for _, z := range []string{"Frnace", "gcp:europe-west99", "europe-west4"} {
		_, err = factor.ForZone(z)
		require.ErrorIs(t, err, factor.ErrUnknownZone, z)
	}
}

func TestForZoneLive(t *testing.T) {
	t.Setenv(factor.ElectricityMapsTokenEnv, "")
	types := func(c *factor.Cache) []string {
		chain, ok := c.Provider().(*factor.Chain)
		require.True(t, ok)
		var ts []string
		for _, p := range chain.Providers() {
			ts = append(ts, fmt.Sprintf("%T", p))
		}
		return ts
	}
	c, err := factor.ForZone("DK1", factor.WithLive())
	require.NoError(t, err)
	assert.Equal(t, []string{"*factor.EnergiDataService", "factor.StaticProvider"}, types(c))

	c, err = factor.ForZone("uk:RG10", factor.WithLive())
	require.NoError(t, err)
	assert.Equal(t, []string{"*factor.UKCarbonIntensity", "factor.StaticProvider"}, types(c))
	assert.Equal(t, "GB:RG10", c.Provider().(*factor.Chain).Providers()[0].(*factor.UKCarbonIntensity).Zone())

	c, err = factor.ForZone("United Kingdom", factor.WithLive())
	require.NoError(t, err)
	assert.Equal(t, []string{"*factor.UKCarbonIntensity", "factor.StaticProvider"}, types(c))

	_, err = factor.ForZone("FR", factor.WithLive())
	require.ErrorIs(t, err, factor.ErrNoToken)
	_, err = factor.ForZone("gcp:europe-west4", factor.WithLive())
	require.ErrorIs(t, err, factor.ErrNotSupported)
	_, err = factor.ForZone("", factor.WithLive())
	require.ErrorIs(t, err, factor.ErrInvalid)

	tok := factor.WithToken("t")
	c, err = factor.ForZone("France", factor.WithLive(), tok, factor.WithCoordinates(1, 2), factor.WithBaseURL("http://ignored"))
	require.NoError(t, err)
	assert.Equal(t, []string{"*factor.ElectricityMaps", "factor.StaticProvider"}, types(c))
	assert.Equal(t, "FR", c.Provider().(*factor.Chain).Providers()[0].(*factor.ElectricityMaps).Zone())

	c, err = factor.ForZone("dk-dk2", factor.WithLive(), tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"*factor.EnergiDataService", "*factor.ElectricityMaps", "factor.StaticProvider"}, types(c))
	assert.Equal(t, "DK-DK2", c.Provider().(*factor.Chain).Providers()[1].(*factor.ElectricityMaps).Zone())

	c, err = factor.ForZone("US-CAL-CISO", factor.WithLive(), tok)
	require.NoError(t, err)
	assert.Equal(t, "US-CAL-CISO", c.Provider().(*factor.Chain).Providers()[0].(*factor.ElectricityMaps).Zone())
}

func TestForZoneLiveFallsBackOffline(t *testing.T) {
	// Live with an unreachable network: the answer still comes, from the
	// tables, and says why.
	s := newServer(t, jsonHandler(503, "down"))
	eds, err := factor.NewEnergiDataService("DK1", s.opts(newClock(edsNow), factor.WithRetries(1))...)
	require.NoError(t, err)
	chain, err := factor.NewChain([]factor.Provider{eds, factor.Static("DK-DK1")})
	require.NoError(t, err)
	c, err := factor.NewCache(chain)
	require.NoError(t, err)
	v, err := c.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "DK", v.Zone)
	assert.Contains(t, v.Fallback, "503")
	assert.Contains(t, v.Fallback, "its country DK")
}

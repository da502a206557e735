package factor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// cacheMaxEntries bounds the values a Cache keeps: a day of 15-minute
// periods.
const cacheMaxEntries = 96

// Cache keeps a provider's answers for a TTL (default 15 minutes), so that a
// tracker asking every few seconds sends one request per period. Answers are
// kept per period of the TTL's length that the time asked falls in (for a
// 15-minute TTL, hh:00-hh:15 and so on), and each is kept for the TTL from
// when it was fetched. Errors are not kept. Forecasts are kept for the TTL
// too. A Cache is safe for concurrent use; fetches run without the lock held,
// so a slow source never blocks a reader of a kept value.
type Cache struct {
	p      Provider
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu       sync.Mutex
	entries  map[time.Time]cacheEntry // key: start of the period asked for
	forecast []Point
	fcExpiry time.Time
}

type cacheEntry struct {
	v       Intensity
	expires time.Time
}

var (
	_ Provider   = (*Cache)(nil)
	_ Forecaster = (*Cache)(nil)
)

// NewCache returns a cache in front of p. Options: WithTTL, WithClock,
// WithLogger.
func NewCache(p Provider, opts ...Option) (*Cache, error) {
	o := buildOptions(opts)
	if err := o.validateCommon(); err != nil {
		return nil, fmt.Errorf("factor: cache: %w", err)
	}
	if p == nil {
		return nil, fmt.Errorf("factor: cache: %w: nil provider", ErrInvalid)
	}
	if o.ttl <= 0 {
		return nil, fmt.Errorf("factor: cache: %w: TTL %v is not positive", ErrInvalid, o.ttl)
	}
	return &Cache{p: p, ttl: o.ttl, now: o.now, logger: o.logger, entries: map[time.Time]cacheEntry{}}, nil
}

// Intensity returns the kept answer for at's period if it is younger than the
// TTL, else asks the provider (with at; now when at is zero) and keeps its
// answer.
func (c *Cache) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	now := c.now()
	if at.IsZero() {
		at = now
	}
	key := at.Truncate(c.ttl)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := c.p.Intensity(ctx, at)
	if err != nil {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "factor: cache: provider failed", slog.String("error", err.Error()))
		return Intensity{}, err
	}
	c.mu.Lock()
	c.entries[key] = cacheEntry{v: v, expires: now.Add(c.ttl)}
	c.evictLocked(now)
	c.mu.Unlock()
	return v, nil
}

// evictLocked drops expired entries, then the oldest periods beyond
// cacheMaxEntries.
func (c *Cache) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) <= cacheMaxEntries {
		return
	}
	keys := make([]time.Time, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b time.Time) int { return a.Compare(b) })
	for _, k := range keys[:len(keys)-cacheMaxEntries] {
		delete(c.entries, k)
	}
}

// Forecast returns the kept forecast if younger than the TTL, else asks the
// provider. It fails with ErrNotSupported when the provider is not a
// Forecaster. The slice returned is the caller's own.
func (c *Cache) Forecast(ctx context.Context) ([]Point, error) {
	fc, ok := c.p.(Forecaster)
	if !ok {
		return nil, fmt.Errorf("factor: cache: %w: the provider has no forecast", ErrNotSupported)
	}
	now := c.now()
	c.mu.Lock()
	if c.forecast != nil && now.Before(c.fcExpiry) {
		ps := slices.Clone(c.forecast)
		c.mu.Unlock()
		return ps, nil
	}
	c.mu.Unlock()
	ps, err := fc.Forecast(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.forecast, c.fcExpiry = slices.Clone(ps), now.Add(c.ttl)
	c.mu.Unlock()
	return slices.Clone(ps), nil
}

// Provider returns the provider behind the cache.
func (c *Cache) Provider() Provider { return c.p }

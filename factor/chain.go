package factor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Chain asks its providers in order and returns the first answer, typically
// live → static country → world (Static does the last two). When a provider
// other than the first answers, the answer's Fallback says why each one
// before it did not, and its Cause joins their errors (errors.Join), so
// errors.Is(v.Cause, ErrRateLimited) and the like work. A Chain is immutable
// and safe for concurrent use when its providers are.
type Chain struct {
	providers []Provider
	logger    *slog.Logger
}

var (
	_ Provider   = (*Chain)(nil)
	_ Forecaster = (*Chain)(nil)
)

// NewChain returns a chain of providers, asked in the order given; there must
// be at least one and none nil. Options: WithLogger (fallbacks are logged at
// Info).
func NewChain(providers []Provider, opts ...Option) (*Chain, error) {
	o := buildOptions(opts)
	if err := o.validateCommon(); err != nil {
		return nil, fmt.Errorf("factor: chain: %w", err)
	}
	if len(providers) == 0 {
		return nil, fmt.Errorf("factor: chain: %w: no providers", ErrInvalid)
	}
	for i, p := range providers {
		if p == nil {
			return nil, fmt.Errorf("factor: chain: %w: provider %d is nil", ErrInvalid, i)
		}
	}
	return &Chain{providers: slices.Clone(providers), logger: o.logger}, nil
}

// Providers returns the providers in the order they are asked; the slice is
// the caller's own.
func (c *Chain) Providers() []Provider { return slices.Clone(c.providers) }

// Intensity returns the first provider's answer that comes without error.
// When all fail, or ctx is done, the error joins every provider's error.
func (c *Chain) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	var causes []error
	for _, p := range c.providers {
		v, err := p.Intensity(ctx, at)
		if err == nil {
			if len(causes) == 0 {
				return v, nil
			}
			return c.fellBack(ctx, v, causes), nil
		}
		causes = append(causes, err)
		if ctx.Err() != nil {
			break
		}
	}
	return Intensity{}, fmt.Errorf("factor: chain: no provider answered: %w", errors.Join(causes...))
}

func (c *Chain) fellBack(ctx context.Context, v Intensity, causes []error) Intensity {
	msgs := make([]string, 0, len(causes)+1)
	for _, err := range causes {
		msgs = append(msgs, strings.TrimPrefix(err.Error(), "factor: "))
	}
	fb := strings.Join(msgs, "; ") + "; answered by " + v.Provider
	if v.Zone != "" {
		fb += " for " + v.Zone
	}
	if v.Fallback != "" {
		fb += " (" + v.Fallback + ")"
		causes = append(causes, v.Cause)
	}
	v.Fallback, v.Cause = fb, errors.Join(causes...)
	c.logger.LogAttrs(ctx, slog.LevelInfo, "factor: fallback",
		slog.String("provider", v.Provider), slog.String("zone", v.Zone), slog.String("reason", fb))
	return v
}

// Forecast returns the first forecast that a provider able to forecast gives
// without error. It fails with ErrNotSupported when none can forecast.
func (c *Chain) Forecast(ctx context.Context) ([]Point, error) {
	var causes []error
	for _, p := range c.providers {
		fc, ok := p.(Forecaster)
		if !ok {
			continue
		}
		ps, err := fc.Forecast(ctx)
		if err == nil {
			return ps, nil
		}
		causes = append(causes, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(causes) == 0 {
		return nil, fmt.Errorf("factor: chain: %w: no provider forecasts", ErrNotSupported)
	}
	return nil, fmt.Errorf("factor: chain: no forecast: %w", errors.Join(causes...))
}

package factor

import (
	"context"
	"time"
)

// FixedProvider answers the same intensity for every time, for example a
// figure from an electricity contract or a test. The zero value answers 0
// gCO2e/kWh. It is immutable and safe for concurrent use.
type FixedProvider struct {
	value GramsPerKWh
}

var _ Provider = FixedProvider{}

// Fixed returns a provider that always answers v gCO2e/kWh. A v outside
// [0, MaxPlausible] makes Intensity fail with ErrImplausible.
func Fixed(v GramsPerKWh) FixedProvider { return FixedProvider{value: v} }

// Intensity returns the fixed value, with At set to at (now when at is zero),
// Provider "fixed" and Source "fixed value".
func (f FixedProvider) Intensity(ctx context.Context, at time.Time) (Intensity, error) {
	if err := ctx.Err(); err != nil {
		return Intensity{}, err
	}
	if err := checkPlausible(float64(f.value)); err != nil {
		return Intensity{}, errorf("fixed", "%w", err)
	}
	if at.IsZero() {
		at = time.Now()
	}
	return Intensity{Value: f.value, At: at, Provider: "fixed", Source: "fixed value"}, nil
}

package factor

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// clockSkew is how far after the time asked a value may start and still be
// taken for it when no value starts earlier (servers' and our clocks differ a
// little).
const clockSkew = 2 * time.Minute

// sample is one decoded value of a live source, before validation.
type sample struct {
	At        time.Time
	Value     float64 // NaN when the source sent null
	Estimated bool
}

// pick returns the newest sample that starts no later than at and no more
// than maxAge before it, checked for null and plausibility. When none starts
// by at, a sample starting at most clockSkew after at is taken (servers' and
// our clocks differ a little).
func pick(ss []sample, at time.Time, maxAge time.Duration) (sample, error) {
	best, early := -1, -1
	for i, s := range ss {
		switch {
		case !s.At.After(at):
			if best < 0 || s.At.After(ss[best].At) {
				best = i
			}
		case !s.At.After(at.Add(clockSkew)):
			if early < 0 || s.At.Before(ss[early].At) {
				early = i
			}
		}
	}
	if best < 0 {
		best = early
	}
	if best < 0 {
		return sample{}, fmt.Errorf("%w: no value starts at or before %s", ErrNoData, at.UTC().Format(time.RFC3339))
	}
	s := ss[best]
	if age := at.Sub(s.At); age > maxAge {
		return sample{}, fmt.Errorf("%w: the newest value, of %s, is %v older than %s (limit %v)",
			ErrNoData, s.At.UTC().Format(time.RFC3339), age.Round(time.Second), at.UTC().Format(time.RFC3339), maxAge)
	}
	if math.IsNaN(s.Value) {
		return sample{}, fmt.Errorf("%w: the value of %s is null", ErrNoData, s.At.UTC().Format(time.RFC3339))
	}
	if err := checkPlausible(s.Value); err != nil {
		return sample{}, fmt.Errorf("value of %s: %w", s.At.UTC().Format(time.RFC3339), err)
	}
	return s, nil
}

// toPoints validates a whole series (no null, all plausible, distinct times)
// and returns it oldest first. A single bad value fails the series: a
// forecast with a hole or a wrong number must not steer a job.
func toPoints(ss []sample) ([]Point, error) {
	if len(ss) == 0 {
		return nil, fmt.Errorf("%w: empty series", ErrNoData)
	}
	ps := make([]Point, 0, len(ss))
	for _, s := range ss {
		if math.IsNaN(s.Value) {
			return nil, fmt.Errorf("%w: the value of %s is null", ErrNoData, s.At.UTC().Format(time.RFC3339))
		}
		if err := checkPlausible(s.Value); err != nil {
			return nil, fmt.Errorf("value of %s: %w", s.At.UTC().Format(time.RFC3339), err)
		}
		ps = append(ps, Point{At: s.At, Value: GramsPerKWh(s.Value)})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })
	for i := 1; i < len(ps); i++ {
		if ps[i].At.Equal(ps[i-1].At) {
			return nil, fmt.Errorf("%w: two values for %s", ErrBadResponse, ps[i].At.UTC().Format(time.RFC3339))
		}
	}
	return ps, nil
}

// nullable turns a JSON number-or-null into a sample value.
func nullable(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// parseTime parses a timestamp in the first layout that fits, as UTC when it
// has no zone.
func parseTime(s string, layouts ...string) (time.Time, error) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: time %q is not in a known format", ErrBadResponse, clip(s))
}

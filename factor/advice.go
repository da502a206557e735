package factor

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Job is the energy profile of a job to be placed in time: either a constant
// power for a duration (Watts and Duration), or per-interval energies
// (IntervalKWh, each drawn evenly over one Interval, in order from the
// job's start). The zero value is invalid. Scale by PUE before, if needed.
// A Job is a plain value; BestStart only reads it, so one Job may be used from
// several goroutines.
type Job struct {
	// Duration is how long the job runs. With Watts; with IntervalKWh it
	// must be 0 or len(IntervalKWh)×Interval.
	Duration time.Duration
	// Watts is the job's constant mean power in watts. Must be 0 with
	// IntervalKWh.
	Watts float64
	// Interval is the length of each entry of IntervalKWh.
	Interval time.Duration
	// IntervalKWh is the energy drawn in each Interval, in kWh.
	IntervalKWh []float64
}

// segments validates the job and returns its energy as even segments.
func (j Job) segments() (time.Duration, []float64, error) {
	if len(j.IntervalKWh) == 0 {
		if j.Duration <= 0 || j.Interval != 0 || math.IsNaN(j.Watts) || math.IsInf(j.Watts, 0) || j.Watts < 0 {
			return 0, nil, fmt.Errorf("factor: job: %w: need Duration > 0 and Watts >= 0 (or Interval and IntervalKWh)", ErrInvalid)
		}
		return j.Duration, []float64{j.Watts * j.Duration.Hours() / 1000}, nil
	}
	if j.Interval <= 0 || j.Watts != 0 {
		return 0, nil, fmt.Errorf("factor: job: %w: IntervalKWh needs Interval > 0 and no Watts", ErrInvalid)
	}
	total := time.Duration(len(j.IntervalKWh)) * j.Interval
	if total/j.Interval != time.Duration(len(j.IntervalKWh)) {
		return 0, nil, fmt.Errorf("factor: job: %w: duration overflows", ErrInvalid)
	}
	if j.Duration != 0 && j.Duration != total {
		return 0, nil, fmt.Errorf("factor: job: %w: Duration %v is not len(IntervalKWh)×Interval = %v", ErrInvalid, j.Duration, total)
	}
	for i, e := range j.IntervalKWh {
		if math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
			return 0, nil, fmt.Errorf("factor: job: %w: IntervalKWh[%d] = %v", ErrInvalid, i, e)
		}
	}
	return j.Interval, j.IntervalKWh, nil
}

// KWh returns the job's total energy in kWh (0 for an invalid job).
func (j Job) KWh() float64 {
	_, es, err := j.segments()
	if err != nil {
		return 0
	}
	var sum float64
	for _, e := range es {
		sum += e
	}
	return sum
}

// Candidate is one possible start time and the job's emissions from it. It is
// a plain value.
type Candidate struct {
	// Start is when the job would start.
	Start time.Time
	// Grams is the job's emissions in grams CO2e if started at Start.
	Grams float64
}

// Advice is where in a forecast a job emits least. The zero value means no
// advice. It is a plain value; Candidates belongs to the caller.
type Advice struct {
	// Now is the baseline start, the time given to BestStart.
	Now time.Time
	// NowGrams is the job's emissions in grams CO2e if started now.
	NowGrams float64
	// Start is the best start time (the earliest of equal ones).
	Start time.Time
	// Grams is the job's emissions in grams CO2e if started at Start.
	Grams float64
	// SavedGrams is NowGrams - Grams, never negative.
	SavedGrams float64
	// SavedPercent is SavedGrams as a percentage of NowGrams (0 when
	// NowGrams is 0).
	SavedPercent float64
	// Candidates are all the starts considered, in time order: now, then
	// each forecast point after now from which the job ends within the
	// forecast.
	Candidates []Candidate
}

// BestStart computes the job's emissions for each start time within the
// forecast's horizon (now, then each forecast point after now, so the step
// is the forecast's resolution) and returns the lowest, with the saving
// against starting now. Each forecast value holds until the next point; the
// last one for as long as the step before it. The forecast must hold at
// least two points, oldest first, and cover now; a forecast that starts at
// most one step after now is taken to hold its first value from now. The job
// must end within the horizon when started now (else ErrNoData).
func BestStart(forecast []Point, now time.Time, job Job) (Advice, error) {
	ivs, err := intervals(forecast, now)
	if err != nil {
		return Advice{}, err
	}
	step, es, err := job.segments()
	if err != nil {
		return Advice{}, err
	}
	dur := step * time.Duration(len(es))
	end := ivs[len(ivs)-1].hi
	if now.Add(dur).After(end) {
		return Advice{}, fmt.Errorf("factor: advice: %w: a job of %v started at %s would end after the forecast, at %s",
			ErrNoData, dur, now.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	starts := []time.Time{now}
	for _, p := range forecast {
		if p.At.After(now) && !p.At.Add(dur).After(end) {
			starts = append(starts, p.At)
		}
	}
	a := Advice{Now: now, Candidates: make([]Candidate, 0, len(starts))}
	best := -1
	for i, s := range starts {
		g := emissions(ivs, s, step, es)
		a.Candidates = append(a.Candidates, Candidate{Start: s, Grams: g})
		if best < 0 || g < a.Candidates[best].Grams-1e-9*math.Max(1, a.Candidates[best].Grams) {
			best = i
		}
	}
	a.NowGrams = a.Candidates[0].Grams
	a.Start, a.Grams = a.Candidates[best].Start, a.Candidates[best].Grams
	a.SavedGrams = math.Max(0, a.NowGrams-a.Grams)
	if a.NowGrams > 0 {
		a.SavedPercent = 100 * a.SavedGrams / a.NowGrams
	}
	return a, nil
}

// Emissions returns the job's emissions in grams CO2e if started at start,
// with the forecast read as in BestStart. The job must lie within the
// forecast.
func Emissions(forecast []Point, start time.Time, job Job) (float64, error) {
	ivs, err := intervals(forecast, start)
	if err != nil {
		return 0, err
	}
	step, es, err := job.segments()
	if err != nil {
		return 0, err
	}
	if end := ivs[len(ivs)-1].hi; start.Add(step * time.Duration(len(es))).After(end) {
		return 0, fmt.Errorf("factor: advice: %w: the job would end after the forecast, at %s", ErrNoData, end.UTC().Format(time.RFC3339))
	}
	return emissions(ivs, start, step, es), nil
}

// interval is one forecast value's span.
type interval struct {
	lo, hi time.Time
	v      float64
}

// intervals validates a forecast and turns it into spans; the first span is
// stretched back to from when the forecast starts at most one step later.
func intervals(forecast []Point, from time.Time) ([]interval, error) {
	if len(forecast) < 2 {
		return nil, fmt.Errorf("factor: advice: %w: a forecast needs at least 2 points, got %d", ErrNoData, len(forecast))
	}
	ivs := make([]interval, len(forecast))
	for i, p := range forecast {
		if err := checkPlausible(float64(p.Value)); err != nil {
			return nil, fmt.Errorf("factor: advice: forecast point %d: %w", i, err)
		}
		if i > 0 && !p.At.After(forecast[i-1].At) {
			return nil, fmt.Errorf("factor: advice: %w: forecast points %d and %d are not in time order", ErrInvalid, i-1, i)
		}
		ivs[i] = interval{lo: p.At, v: float64(p.Value)}
		if i > 0 {
			ivs[i-1].hi = p.At
		}
	}
	n := len(forecast)
	ivs[n-1].hi = forecast[n-1].At.Add(forecast[n-1].At.Sub(forecast[n-2].At))
	if first := forecast[0].At; from.Before(first) {
		if first.Sub(from) > forecast[1].At.Sub(first) {
			return nil, fmt.Errorf("factor: advice: %w: the forecast starts at %s, more than one step after %s",
				ErrNoData, first.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
		}
		ivs[0].lo = from
	}
	return ivs, nil
}

// emissions integrates the job's segments against the spans: each segment's
// energy is spread evenly over its time.
func emissions(ivs []interval, start time.Time, step time.Duration, es []float64) float64 {
	var grams float64
	for i, e := range es {
		a := start.Add(time.Duration(i) * step)
		b := a.Add(step)
		k := sort.Search(len(ivs), func(k int) bool { return ivs[k].hi.After(a) })
		for ; k < len(ivs) && ivs[k].lo.Before(b); k++ {
			lo, hi := ivs[k].lo, ivs[k].hi
			if a.After(lo) {
				lo = a
			}
			if b.Before(hi) {
				hi = b
			}
			if hi.After(lo) {
				grams += e * float64(hi.Sub(lo)) / float64(step) * ivs[k].v
			}
		}
	}
	return grams
}

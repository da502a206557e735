package factor_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

// hourly returns an hourly forecast from t0 with the given values.
func hourly(t0 time.Time, vs ...factor.GramsPerKWh) []factor.Point {
	ps := make([]factor.Point, len(vs))
	for i, v := range vs {
		ps[i] = factor.Point{At: t0.Add(time.Duration(i) * time.Hour), Value: v}
	}
	return ps
}

func TestBestStartConstantPower(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	fc := hourly(t0, 400, 300, 100, 200, 500)
	job := factor.Job{Duration: 2 * time.Hour, Watts: 500} // 0.5 kWh per hour
	a, err := factor.BestStart(fc, t0, job)
	require.NoError(t, err)
	assert.Equal(t, []factor.Candidate{
		{Start: t0, Grams: 350},
		{Start: t0.Add(1 * time.Hour), Grams: 200},
		{Start: t0.Add(2 * time.Hour), Grams: 150},
		{Start: t0.Add(3 * time.Hour), Grams: 350},
		// t0+4h would end after the forecast (t0+5h).
	}, a.Candidates)
	assert.Equal(t, t0.Add(2*time.Hour), a.Start)
	assert.InDelta(t, 150, a.Grams, 1e-9)
	assert.InDelta(t, 350, a.NowGrams, 1e-9)
	assert.InDelta(t, 200, a.SavedGrams, 1e-9)
	assert.InDelta(t, 100*200.0/350, a.SavedPercent, 1e-9)
	assert.Equal(t, t0, a.Now)
	assert.InDelta(t, 1.0, job.KWh(), 1e-12)
}

func TestBestStartMidInterval(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	fc := hourly(t0, 400, 300, 100, 200)
	now := t0.Add(30 * time.Minute)
	a, err := factor.BestStart(fc, now, factor.Job{Duration: 2 * time.Hour, Watts: 1000})
	require.NoError(t, err)
	// Now: half an hour at 400, an hour at 300, half an hour at 100.
	assert.InDelta(t, 200+300+50, a.NowGrams, 1e-9)
	assert.Equal(t, t0.Add(2*time.Hour), a.Start)
	assert.InDelta(t, 300, a.Grams, 1e-9)
	require.Len(t, a.Candidates, 3) // now, t0+1h, t0+2h
}

func TestBestStartProfile(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	fc := hourly(t0, 400, 300, 100, 200, 500, 600)
	// A job that draws 2 kWh in its first hour and 0.1 kWh in its second.
	job := factor.Job{Interval: time.Hour, IntervalKWh: []float64{2, 0.1}}
	a, err := factor.BestStart(fc, t0, job)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(2*time.Hour), a.Start)
	assert.InDelta(t, 2*100+0.1*200, a.Grams, 1e-9)
	assert.InDelta(t, 2*400+0.1*300, a.NowGrams, 1e-9)

	g, err := factor.Emissions(fc, t0.Add(30*time.Minute), job)
	require.NoError(t, err)
	// First hour: half at 400, half at 300; second: half at 300, half at 100.
	assert.InDelta(t, 1*400+1*300+0.05*300+0.05*100, g, 1e-9)

	// Duration, when given, must agree.
	job.Duration = 2 * time.Hour
	_, err = factor.BestStart(fc, t0, job)
	require.NoError(t, err)
	job.Duration = 3 * time.Hour
	_, err = factor.BestStart(fc, t0, job)
	require.ErrorIs(t, err, factor.ErrInvalid)
}

func TestBestStartTiesPickEarliest(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	a, err := factor.BestStart(hourly(t0, 100, 100, 100, 100), t0, factor.Job{Duration: time.Hour, Watts: 100})
	require.NoError(t, err)
	assert.Equal(t, t0, a.Start)
	assert.Zero(t, a.SavedGrams)
	assert.Zero(t, a.SavedPercent)

	// A zero-energy job: no saving, no division by zero.
	a, err = factor.BestStart(hourly(t0, 300, 100), t0, factor.Job{Duration: time.Hour, Watts: 0})
	require.NoError(t, err)
	assert.Zero(t, a.SavedPercent)
}

func TestBestStartForecastCoverage(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	fc := hourly(t0, 400, 300, 100)
	job := factor.Job{Duration: time.Hour, Watts: 1000}

	// Starting at most one step before the forecast: its first value holds.
	a, err := factor.BestStart(fc, t0.Add(-20*time.Minute), job)
	require.NoError(t, err)
	assert.InDelta(t, 400, a.NowGrams, 1e-9)

	_, err = factor.BestStart(fc, t0.Add(-2*time.Hour), job)
	require.ErrorIs(t, err, factor.ErrNoData)
	_, err = factor.BestStart(fc, t0, factor.Job{Duration: 4 * time.Hour, Watts: 1})
	require.ErrorIs(t, err, factor.ErrNoData)
	_, err = factor.BestStart(fc, t0.Add(3*time.Hour), job)
	require.ErrorIs(t, err, factor.ErrNoData)
	_, err = factor.Emissions(fc, t0.Add(150*time.Minute), job)
	require.ErrorIs(t, err, factor.ErrNoData)
}

func TestBestStartRejects(t *testing.T) {
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	ok := factor.Job{Duration: time.Hour, Watts: 100}
	for name, c := range map[string]struct {
		fc  []factor.Point
		job factor.Job
		err error
	}{
		"no forecast":   {nil, ok, factor.ErrNoData},
		"one point":     {hourly(t0, 100), ok, factor.ErrNoData},
		"unsorted":      {[]factor.Point{{At: t0.Add(time.Hour), Value: 1}, {At: t0, Value: 1}}, ok, factor.ErrInvalid},
		"duplicate":     {[]factor.Point{{At: t0, Value: 1}, {At: t0, Value: 1}}, ok, factor.ErrInvalid},
		"absurd":        {hourly(t0, 100, 3000, 100), ok, factor.ErrImplausible},
		"nan":           {hourly(t0, 100, factor.GramsPerKWh(math.NaN()), 100), ok, factor.ErrImplausible},
		"zero job":      {hourly(t0, 100, 100, 100), factor.Job{}, factor.ErrInvalid},
		"negative W":    {hourly(t0, 100, 100, 100), factor.Job{Duration: time.Hour, Watts: -1}, factor.ErrInvalid},
		"NaN W":         {hourly(t0, 100, 100, 100), factor.Job{Duration: time.Hour, Watts: math.NaN()}, factor.ErrInvalid},
		"both profiles": {hourly(t0, 100, 100, 100), factor.Job{Watts: 1, Interval: time.Hour, IntervalKWh: []float64{1}}, factor.ErrInvalid},
		"no interval":   {hourly(t0, 100, 100, 100), factor.Job{IntervalKWh: []float64{1}}, factor.ErrInvalid},
		"negative kWh":  {hourly(t0, 100, 100, 100), factor.Job{Interval: time.Hour, IntervalKWh: []float64{1, -1}}, factor.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := factor.BestStart(c.fc, t0, c.job)
			require.ErrorIs(t, err, c.err)
			assert.GreaterOrEqual(t, c.job.KWh(), 0.0, "an invalid job has no energy")
		})
	}
}

func TestBestStartFineForecast(t *testing.T) {
	// 5-minute forecast over a day, a 3-hour job: every 5-minute start is a
	// candidate, and the best sits in the valley.
	t0 := mustTime(t, "2024-06-01T00:00:00Z")
	var fc []factor.Point
	for i := range 288 {
		h := float64(i) / 12
		fc = append(fc, factor.Point{At: t0.Add(time.Duration(i) * 5 * time.Minute),
			Value: factor.GramsPerKWh(300 + 200*math.Cos(2*math.Pi*(h-15)/24))}) // lowest at 03:00
	}
	a, err := factor.BestStart(fc, t0, factor.Job{Duration: 3 * time.Hour, Watts: 700})
	require.NoError(t, err)
	assert.Len(t, a.Candidates, 288-36+1)
	assert.WithinDuration(t, t0.Add(90*time.Minute), a.Start, 5*time.Minute)
	assert.Greater(t, a.SavedPercent, 0.0)
}

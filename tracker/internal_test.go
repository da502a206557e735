package tracker

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Student's t two-sided 95 % quantiles (0.975), from any table.
func TestTQuantile(t *testing.T) {
	exact := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	for i, want := range exact {
		assert.Equal(t, want, tQuantile(i+1), "df %d", i+1)
	}
	for _, tc := range []struct {
		df   int
		want float64
	}{{35, 2.030}, {40, 2.021}, {50, 2.009}, {60, 2.000}, {120, 1.980}, {240, 1.970}, {1 << 30, 1.960}} {
		assert.InDelta(t, tc.want, tQuantile(tc.df), 0.0015, "df %d", tc.df)
	}
	assert.True(t, math.IsInf(tQuantile(0), 1))
	for df := 1; df < 1000; df++ {
		assert.GreaterOrEqual(t, tQuantile(df), tQuantile(df+1), "decreasing at df %d", df)
	}
}

// trendSumBrute is trendSum by the definition: fit, then add each remaining
// epoch's value, never below 0.
func trendSumBrute(y []float64, total int) float64 {
	k := len(y)
	var sx, sy, sxx, sxy float64
	for i, v := range y {
		x := float64(i + 1)
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	kf := float64(k)
	b := (kf*sxy - sx*sy) / (kf*sxx - sx*sx)
	a := (sy - b*sx) / kf
	sum := sy
	for x := k + 1; x <= total; x++ {
		sum += math.Max(a+b*float64(x), 0)
	}
	return sum
}

// The projection is remade at every EpochEnd from running sums, in
// constant time: it must equal the definitions over all epochs.
func TestProjStatsMatchesDefinitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		k := 3 + rng.IntN(40)
		total := k + rng.IntN(500)
		slope := (rng.Float64() - 0.5) * 4 // some lines cross 0 before total
		var s projStats
		durs, es, gs := make([]float64, k), make([]float64, k), make([]float64, k)
		for i := range k {
			durs[i] = 10 + rng.Float64()*5
			es[i] = math.Max(500+rng.Float64()*100+slope*20*float64(i), 0)
			gs[i] = math.Max(20+slope*float64(i)+rng.NormFloat64(), 0)
			s.add(durs[i], es[i], gs[i])
		}
		p := s.projection(total)
		mean := func(v []float64) float64 {
			var m float64
			for _, x := range v {
				m += x
			}
			return m / float64(len(v))
		}
		n := float64(total)
		assert.InDelta(t, mean(durs)*n, p.Duration.Seconds(), 1e-6, "trial %d", trial)
		assert.InEpsilon(t, mean(es)*n, float64(p.FacilityEnergy), 1e-9, "trial %d", trial)
		assert.InDelta(t, mean(gs)*n, p.Grams, 1e-6, "trial %d", trial)
		assert.InDelta(t, trendSumBrute(gs, total), p.TrendGrams, 1e-6*(1+math.Abs(p.TrendGrams)), "trial %d", trial)
		assert.InDelta(t, trendSumBrute(es, total), float64(p.TrendFacilityEnergy), 1e-6*(1+math.Abs(float64(p.TrendFacilityEnergy))), "trial %d", trial)
		var ss float64
		for _, g := range gs {
			ss += (g - mean(gs)) * (g - mean(gs))
		}
		sd := math.Sqrt(ss / float64(k-1))
		if rest := float64(total - k); rest > 0 {
			half := tQuantile(k-1) * sd * math.Sqrt(rest+rest*rest/float64(k))
			assert.InDelta(t, p.Grams+half, p.GramsHigh, 1e-6, "trial %d", trial)
		}
	}
	// Millions of identical epochs: no drift.
	var s projStats
	for range 3_000_000 {
		s.add(60, 3600, 0.1)
	}
	p := s.projection(10_000_000)
	assert.InEpsilon(t, 1e6, p.Grams, 1e-9)
	assert.InEpsilon(t, 1e6, p.TrendGrams, 1e-9)
	assert.InDelta(t, p.Grams, p.GramsHigh, 1e-6)
}

package estimate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
)

// llama2 is a Llama-2-like pre-training run: N parameters on 2 T tokens on
// 1,024 A100 80GB at MFU 0.4, in the US.
func llama2(params float64) estimate.Job {
	return estimate.Job{Device: "A100 80GB", Count: 1024, Params: params, Tokens: 2e12, MFU: 0.4, PUE: 1.1, Zone: "US"}
}

func TestCompareJobsModelSizes(t *testing.T) {
	fr := llama2(7e9)
	fr.Zone = "FR"
	c, err := estimate.CompareJobs([]estimate.Candidate{
		{Name: "13B", Job: llama2(13e9)},
		{Name: " 7B ", Job: llama2(7e9)},
		{Name: "7B in FR", Job: fr},
	})
	require.NoError(t, err)
	assert.Equal(t, "13B", c.Baseline)
	require.Len(t, c.Candidates, 3)
	assert.Equal(t, []string{"7B in FR", "7B", "13B"},
		[]string{c.Candidates[0].Name, c.Candidates[1].Name, c.Candidates[2].Name}, "lowest emissions first")

	inFR, small, big := c.Candidates[0], c.Candidates[1], c.Candidates[2]
	// Same MFU, same hardware: the cost scales with 6·N·D, so 13B costs 13/7 of 7B.
	assert.InEpsilon(t, 13.0/7, big.Result.DeviceHours/small.Result.DeviceHours, 1e-12)
	assert.InEpsilon(t, 13.0/7, big.Result.EnergyKWh/small.Result.EnergyKWh, 1e-12)
	assert.InEpsilon(t, 13.0/7, big.Result.TotalKg/small.Result.TotalKg, 1e-12)
	// 7B: 8.4e22 FLOP / (312 TFLOPS × 0.4 × 3,600) = 186,965.8 device-h.
	assert.InDelta(t, 8.4e22/(312e12*0.4*3600), small.Result.DeviceHours, 1e-6)

	// The baseline saves nothing; the others save against it.
	assert.Zero(t, big.SavingKg)
	assert.Zero(t, big.SavingPercent)
	assert.InDelta(t, big.Result.TotalKg-small.Result.TotalKg, small.SavingKg, 1e-9)
	assert.InDelta(t, (1-7.0/13)*100, small.SavingPercent, 1e-9)

	// The zone candidate: the same energy as 7B, at France's intensity.
	assert.InDelta(t, small.Result.EnergyKWh, inFR.Result.EnergyKWh, 1e-9)
	assert.Equal(t, "FR", inFR.Result.Intensity.Zone)
	us, err := factor.Lookup("US")
	require.NoError(t, err)
	frI, err := factor.Lookup("FR")
	require.NoError(t, err)
	assert.InEpsilon(t, float64(frI.Value)/float64(us.Value), inFR.Result.TotalKg/small.Result.TotalKg, 1e-12)
	assert.Equal(t, "FR", inFR.Job.Zone, "the job as given")
}

// With embodied emissions the order and savings count them too.
func TestCompareJobsEmbodied(t *testing.T) {
	a, b := llama2(7e9), llama2(13e9)
	a.Embodied, b.Embodied = true, true
	c, err := estimate.CompareJobs([]estimate.Candidate{{Name: "13B", Job: b}, {Name: "7B", Job: a}})
	require.NoError(t, err)
	small, big := c.Candidates[0], c.Candidates[1]
	require.Equal(t, "7B", small.Name)
	assert.Greater(t, small.Result.EmbodiedKg, 0.0)
	assert.InDelta(t, big.Result.TotalKg-small.Result.TotalKg, small.SavingKg, 1e-9)
	assert.InEpsilon(t, 13.0/7, big.Result.TotalKg/small.Result.TotalKg, 1e-12)
}

func TestCompareJobsErrors(t *testing.T) {
	ok := llama2(7e9)
	noDuration := estimate.Job{Device: "A100 80GB", Count: 8}
	badDevice := ok
	badDevice.Device = "rtx4090"
	badZone := ok
	badZone.Zone = "Atlantis"
	cases := []struct {
		name  string
		cands []estimate.Candidate
		msg   string
		also  error
	}{
		{"none", nil, "no candidates", nil},
		{"no name", []estimate.Candidate{{Name: "a", Job: ok}, {Name: "  ", Job: ok}}, "candidate 2 has no name", nil},
		{"twice", []estimate.Candidate{{Name: "a", Job: ok}, {Name: "a", Job: ok}}, `candidate "a" is given twice`, nil},
		{"invalid job", []estimate.Candidate{{Name: "a", Job: ok}, {Name: "small", Job: noDuration}}, `candidate "small": no duration`, nil},
		{"unknown device", []estimate.Candidate{{Name: "gaming", Job: badDevice}}, `candidate "gaming"`, estimate.ErrUnknownDevice},
		{"unknown zone", []estimate.Candidate{{Name: "sea", Job: badZone}}, `candidate "sea"`, factor.ErrUnknownZone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := estimate.CompareJobs(c.cands)
			require.Error(t, err)
			assert.ErrorIs(t, err, estimate.ErrInvalid)
			assert.Contains(t, err.Error(), c.msg)
			if c.also != nil {
				assert.True(t, errors.Is(err, c.also), err)
			}
		})
	}
	// The message says "invalid job" once.
	_, err := estimate.CompareJobs([]estimate.Candidate{{Name: "small", Job: noDuration}})
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), "invalid job"), err.Error())
}

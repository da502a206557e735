//go:build linux

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfigs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"default", []string{"default"}},
		{"all", []string{"default", "interval30s", "interval1s", "gpus-only", "logged", "cli"}},
		{"cli, default,cli", []string{"cli", "default"}},
	} {
		got, err := parseConfigs(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	_, err := parseConfigs("default,fast")
	assert.ErrorContains(t, err, `"fast"`)
}

func TestSummarize(t *testing.T) {
	runs := []sample{
		{WallS: 100, CPUS: 0.1, Voluntary: 90, Involuntary: 10, StartupS: 0.03, PeakRSSBytes: 3 << 20},
		{WallS: 100, CPUS: 0.5, Voluntary: 500, StartupS: 0.01, PeakRSSBytes: 1 << 20},
		{WallS: 200, CPUS: 0.4, Voluntary: 300, Involuntary: 100, StartupS: 0.02, PeakRSSBytes: 2 << 20},
	}
	r := summarize("default", runs)
	assert.InDelta(t, 7.2, r.CPUSecondsPerHour, 1e-9, "median of 3.6, 18 and 7.2 CPU s/hour")
	assert.InDelta(t, 2, r.CtxSwitchesPerS, 1e-9, "median of 1, 5 and 2 per second")
	require.NotNil(t, r.Startup)
	assert.InDelta(t, 0.02, r.Startup.ToNewS, 1e-12)
	assert.Equal(t, int64(2<<20), r.Startup.PeakRSSBytes)

	r = summarize(floorName, runs[:2])
	assert.InDelta(t, 10.8, r.CPUSecondsPerHour, 1e-9, "an even count takes the mean of the middle two")
	assert.Nil(t, r.Startup, "no start-up for the floor")
}

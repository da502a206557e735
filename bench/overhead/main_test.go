//go:build linux

package main

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfigs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"default", []string{"default"}},
		{"all", []string{"default", "interval30s", "interval1s", "gpus-only", "logged", "cli", "cli-startup"}},
		{"cli-startup,cli", []string{"cli-startup", "cli"}},
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

func TestParseStamp(t *testing.T) {
	ns, err := parseStamp("carbontrack-overhead-stamp 1764620000123456789\n")
	require.NoError(t, err)
	assert.Equal(t, int64(1764620000123456789), ns)

	ns, err = parseStamp("12345\nsome output\ncarbontrack-overhead-stamp 42\n{\"json\": 1}\n")
	require.NoError(t, err, "other lines on stdout are skipped")
	assert.Equal(t, int64(42), ns)

	for _, bad := range []string{
		"",
		"1764620000123456789\n",
		"carbontrack-overhead-stamp 1\ncarbontrack-overhead-stamp 2\n",
		"carbontrack-overhead-stamp soon\n",
		"carbontrack-overhead-stamp -5\n",
	} {
		_, err := parseStamp(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseInittrace(t *testing.T) {
	stderr := `init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init runtime @0.041 ms, 0.051 ms clock, 0 bytes, 0 allocs
carbontrack: init @3 ms, 9 ms clock (not a trace line: no package)
init github.com/carbontrack/carbontrack/internal/cli @17 ms, 0.033 ms clock, 2432 bytes, 37 allocs
init gonum.org/v1/plot @16 ms, 1.4 ms clock, 184104 bytes, 134 allocs
carbontrack: 0.00 kWh
`
	d, err := parseInittrace(stderr)
	require.NoError(t, err)
	assert.InDelta(t, 17.4, float64(d)/float64(time.Millisecond), 1e-6, "the latest end of an initialisation")

	_, err = parseInittrace("carbontrack: 0.00 kWh\n")
	assert.Error(t, err)
}

func TestWithGODEBUG(t *testing.T) {
	env := []string{"A=1", "GODEBUG=gctrace=1"}
	assert.Equal(t, []string{"A=1", "GODEBUG=gctrace=1,inittrace=1"}, withGODEBUG(env, "inittrace=1"))
	assert.Equal(t, []string{"A=1", "GODEBUG=gctrace=1"}, env, "env is not changed")
	assert.Equal(t, []string{"A=1", "GODEBUG=inittrace=1"}, withGODEBUG([]string{"A=1"}, "inittrace=1"))
	assert.Equal(t, []string{"GODEBUG=inittrace=1"}, withGODEBUG([]string{"GODEBUG="}, "inittrace=1"))
}

func TestSummarizeStartup(t *testing.T) {
	runs := []startupRun{
		{ExecToCommandS: 0.030, ExecToExitS: 0.05, PeakRSSBytes: 12 << 20, RuntimeToMainS: 0.004},
		{ExecToCommandS: 0.010, ExecToExitS: 0.03, PeakRSSBytes: 10 << 20, RuntimeToMainS: 0.002},
		{ExecToCommandS: 0.020, ExecToExitS: 0.04, PeakRSSBytes: 11 << 20, RuntimeToMainS: 0.003},
		{ExecToCommandS: 0.015, ExecToExitS: 0.09, PeakRSSBytes: 13 << 20, RuntimeToMainS: 0.001},
	}
	s := summarizeStartup("carbontrack", 9_000_000, runs)
	assert.Equal(t, "carbontrack", s.Build)
	assert.Equal(t, int64(9_000_000), s.BinaryBytes)
	assert.InDelta(t, 0.0175, s.ExecToCommandS.Median, 1e-12, "an even count takes the mean of the middle two")
	assert.InDelta(t, 0.010, s.ExecToCommandS.Min, 1e-12)
	assert.InDelta(t, 0.030, s.ExecToCommandS.Max, 1e-12)
	assert.InDelta(t, 0.045, s.ExecToExitS.Median, 1e-12)
	assert.InDelta(t, 11.5*(1<<20), s.PeakRSSBytes.Median, 1e-6)
	assert.InDelta(t, 13<<20, s.PeakRSSBytes.Max, 1e-6)
	assert.InDelta(t, 0.0025, s.RuntimeToMainS.Median, 1e-12)
	assert.InDelta(t, 0.030, runs[0].ExecToCommandS, 0, "the runs keep their order")

	assert.Equal(t, spread{Median: 2, Min: 1, Max: 3}, spreadOf([]float64{3, 1, 2}))
	assert.Equal(t, spread{}, spreadOf(nil))
}

// TestStamp compiles the stamp and checks that its output parses to now.
func TestStamp(t *testing.T) {
	stamp, err := buildStamp(context.Background(), t.TempDir())
	if errors.Is(err, exec.ErrNotFound) {
		t.Skip("no C compiler:", err)
	}
	require.NoError(t, err)
	before := time.Now()
	out, err := exec.Command(stamp).Output()
	require.NoError(t, err)
	ns, err := parseStamp(string(out))
	require.NoError(t, err)
	at := time.Unix(0, ns)
	assert.False(t, at.Before(before.Truncate(time.Microsecond)), "stamp %v before %v", at, before)
	assert.WithinDuration(t, before, at, 5*time.Second)
}

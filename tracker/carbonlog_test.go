package tracker_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// tracker.ParseLog is records.ParseLog, kept for its callers.
func TestDeprecatedParseLog(t *testing.T) {
	std := "2024-05-01 10:00:10 - Epoch 1:\n2024-05-01 10:00:10 - Duration: 0:00:10.00\n" +
		"2024-05-01 10:00:10 - Average power usage (W) for gpu: 400.5\n"
	out := "2024-05-01 10:00:25 - CarbonTracker: \nActual consumption for 1 epoch(s):\n\tTime:\t0:00:10\n\tEnergy:\t0.002000 kWh\n\tCO2eq:\t1.000000 g\n"
	want, err := records.ParseLog(strings.NewReader(std), strings.NewReader(out))
	require.NoError(t, err)
	got, err := tracker.ParseLog(strings.NewReader(std), strings.NewReader(out))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	var c *tracker.Consumption = got.Actual
	assert.Equal(t, 1, c.Epochs)
}

// A log pair without its PUE was written with carbontracker's, which is the
// tracker's default.
func TestDefaultPUEIsCarbontrackers(t *testing.T) {
	assert.Equal(t, records.DefaultPUE, tracker.DefaultPUE)
	assert.Equal(t, records.RunBlockTitle, tracker.RunBlockTitle)
}

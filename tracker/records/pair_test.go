package records_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/records"
)

const seedStd = `2024-05-01 10:00:00 - carbontrack version 0.1.0
2024-05-01 10:00:00 - The following components were found: GPU with device(s) gpu:0, gpu:1. CPU with device(s) cpu:0.
2024-05-01 10:00:10 - Epoch 1:
2024-05-01 10:00:10 - Duration: 0:00:10.00
2024-05-01 10:00:10 - Average power usage (W) for gpu: 400.5
2024-05-01 10:00:10 - Average power usage (W) for cpu: [65.25]
2024-05-01 10:00:20 - Epoch 2:
2024-05-01 10:00:20 - Duration: 1:02:03.45
2024-05-01 10:00:20 - Average power usage (W) for gpu: None
2024-05-01 10:00:20 - Average power usage (W) for cpu: 60
2024-05-01 10:00:25 - Training was interrupted before all 3 epochs were monitored.
`

const seedOut = "2024-05-01 10:00:10 - CarbonTracker: \nPredicted consumption for 3 epoch(s):\n\tTime:\t0:00:30\n\tEnergy:\t0.003000 kWh\n\tCO2eq:\t1.500000 g\n\tThis is equivalent to:\n\t0.013953 km travelled by car\n\t0.000639 litres of petrol burned\n" +
	"2024-05-01 10:00:10 - CarbonTracker: Carbon intensity used: 500 gCO2e/kWh (fixed).\n" +
	"2024-05-01 10:00:25 - CarbonTracker: \nActual consumption for 2 epoch(s):\n\tTime:\t1:02:13\n\tEnergy:\t0.002000 kWh\n\tCO2eq:\t1.000000 g\n\tThis is equivalent to:\n\t0.009302 km travelled by car\n" +
	"2024-05-01 10:00:25 - CarbonTracker: Finished monitoring.\n"

func TestParseLog(t *testing.T) {
	l, err := records.ParseLog(strings.NewReader(seedStd), strings.NewReader(seedOut))
	require.NoError(t, err)
	assert.Equal(t, []string{"gpu:0", "gpu:1"}, l.Components["gpu"].Devices)
	assert.Equal(t, []float64{400.5, 0}, l.Components["gpu"].AvgPower)
	assert.Equal(t, []float64{65.25, 60}, l.Components["cpu"].AvgPower)
	assert.Equal(t, []float64{10, 3723.45}, l.EpochDurations)
	assert.True(t, l.EarlyStop)
	require.NotNil(t, l.Predicted)
	assert.Equal(t, 3, l.Predicted.Epochs)
	assert.InDelta(t, 0.003, l.Predicted.KWh, 1e-12)
	assert.InDelta(t, 1.5, l.Predicted.Grams, 1e-12)
	assert.Equal(t, map[string]float64{"km travelled by car": 0.013953, "litres of petrol burned": 0.000639}, l.Predicted.Equivalents)
	require.NotNil(t, l.Actual)
	assert.Equal(t, 2, l.Actual.Epochs)
	assert.Equal(t, "1h2m13s", l.Actual.Duration.String())
	assert.Equal(t, map[string]float64{"km travelled by car": 0.009302}, l.Actual.Equivalents)

	empty, err := records.ParseLog(nil, nil)
	require.NoError(t, err)
	assert.Nil(t, empty.Actual)
}

// TestParseLogCarbontrackerShapes reads what Python carbontracker itself
// writes: a numpy list of per-device powers, padded numpy output, and an
// actual-consumption block at the end of the file without equivalents.
func TestParseLogCarbontrackerShapes(t *testing.T) {
	std := `2024-03-05 14:02:11 - carbontracker version 2.0.0
2024-03-05 14:02:11 - The following components were found: GPU with device(s) NVIDIA A100-SXM4-40GB, NVIDIA A100-SXM4-40GB. CPU with device(s) cpu:0.
2024-03-05 14:12:11 - Epoch 1:
2024-03-05 14:12:11 - Duration: 0:10:00.00
2024-03-05 14:12:11 - Average power usage (W) for gpu: [251.0775 248.3122]
2024-03-05 14:12:11 - Average power usage (W) for cpu: [ 61.23  58.91]
2024-03-05 14:22:11 - Epoch 2:
2024-03-05 14:22:11 - Duration: 0:10:00.50
2024-03-05 14:22:11 - Average power usage (W) for gpu: 400.5
2024-03-05 14:22:11 - Average power usage (W) for cpu: None
`
	out := `2024-03-05 14:22:12 - CarbonTracker: 
Actual consumption for 2 epoch(s):
	Time:	0:20:01
	Energy:	0.491000 kWh
	CO2eq:	73.600000 g
`
	l, err := records.ParseLog(strings.NewReader(std), strings.NewReader(out))
	require.NoError(t, err)
	require.Contains(t, l.Components, "gpu")
	assert.Equal(t, []string{"NVIDIA A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"}, l.Components["gpu"].Devices)
	assert.InDeltaSlice(t, []float64{251.0775 + 248.3122, 400.5}, l.Components["gpu"].AvgPower, 1e-9, "devices are summed")
	assert.InDeltaSlice(t, []float64{61.23 + 58.91, 0}, l.Components["cpu"].AvgPower, 1e-9)
	assert.Equal(t, []float64{600, 600.5}, l.EpochDurations)
	require.NotNil(t, l.Actual, "a block at the end of the file without equivalents")
	assert.Equal(t, 2, l.Actual.Epochs)
	assert.InDelta(t, 0.491, l.Actual.KWh, 1e-12)
	assert.InDelta(t, 73.6, l.Actual.Grams, 1e-12)
	assert.Equal(t, 20*time.Minute+time.Second, l.Actual.Duration)
}

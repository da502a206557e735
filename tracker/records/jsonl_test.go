package records_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// The records are written in their fields' order, whose run first; a
// device energy that a line lacks reads as nil.
func TestRecordsWrittenAndRead(t *testing.T) {
	rank := 3
	at := time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC)
	ck := records.Checkpoint[float64]{Head: records.Head{Who: records.Who{RunID: "j", Node: "n", Rank: &rank}, Type: records.TypeCheckpoint},
		At: at, Totals: records.Totals[float64]{DurationS: 10, DeviceEnergyKWh: 0.5, FacilityEnergyKWh: 0.75, GPUEnergyKWh: 0.5, EmissionsG: 150},
		CompletedEpochs: 1, Epochs: 4, About: records.About{IntensityGPerKWh: 200, IntensityZone: "FR", IntensityProvider: "static", PUE: 1.5}}
	b, err := json.Marshal(ck)
	require.NoError(t, err)
	// The checkpoint says what the final record says of the run (About), so
	// that a killed run is described by its last one.
	const line = `{"run_id":"j","node":"n","rank":3,"type":"checkpoint","at":"2025-03-01T12:00:10Z","duration_s":10,` +
		`"device_energy_kwh":0.5,"facility_energy_kwh":0.75,"gpu_device_energy_kwh":0.5,"cpu_device_energy_kwh":0,` +
		`"dram_device_energy_kwh":0,"emissions_g":150,"completed_epochs":1,"epochs":4,"intensity_g_per_kwh":200,` +
		`"intensity_zone":"FR","intensity_provider":"static","pue":1.5}`
	assert.Equal(t, line, string(b))

	var head records.Head
	require.NoError(t, json.Unmarshal(b, &head))
	assert.Equal(t, records.TypeCheckpoint, head.Type)
	require.NotNil(t, head.Rank)
	assert.Equal(t, 3, *head.Rank)

	var read records.Checkpoint[*float64]
	require.NoError(t, json.Unmarshal([]byte(`{"type":"checkpoint","duration_s":10,"device_energy_kwh":0.5,"emissions_g":1}`), &read))
	require.NotNil(t, read.DeviceEnergyKWh)
	assert.Equal(t, 0.5, *read.DeviceEnergyKWh)
	assert.Nil(t, read.GPUEnergyKWh, "absent")
	assert.Nil(t, read.Rank)

	// Whose run is left out when unknown, as in the power series.
	b, err = json.Marshal(records.Power{Type: records.TypePower, Time: at, IntervalS: 10, PowerW: map[string]float64{"gpu": 250}})
	require.NoError(t, err)
	assert.Equal(t, `{"type":"power","time":"2025-03-01T12:00:10Z","interval_s":10,"power_w":{"gpu":250}}`, string(b))
}

package fakenvml_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power/internal/fakenvml"
)

// TestEnergyBetween checks the Go twin of the power model (the C side uses
// the same integer-nanosecond algorithm; the cgo scenarios compare the two).
func TestEnergyBetween(t *testing.T) {
	g := fakenvml.GPU{IdleW: 60, BusyW: 300, Period: 137 * time.Millisecond, Duty: 0.3}
	t0 := time.Unix(1_700_000_000, 123_456_789)

	// Against a brute-force sum in 1 µs steps (the wave's edges fall on
	// whole microseconds here: 137 ms * 0.3 = 41.1 ms).
	for _, span := range []time.Duration{0, time.Microsecond, 41 * time.Millisecond, 300 * time.Millisecond, 1234567 * time.Microsecond} {
		start := t0.Truncate(time.Microsecond)
		var sum float64
		for s := time.Duration(0); s < span; s += time.Microsecond {
			sum += g.PowerAt(start.Add(s)) * 1e-6
		}
		assert.InDelta(t, sum, g.EnergyBetween(start, start.Add(span)), 1e-9, "span %v", span)
	}

	// An hour: whole periods plus a remainder, exact to far below 1 mJ.
	// (time.Time.Truncate counts from year 1; the wave's phase from 1970.)
	start := time.Unix(0, t0.UnixNano()-t0.UnixNano()%int64(g.Period))
	whole := int64(time.Hour / g.Period)
	rest := time.Hour - time.Duration(whole)*g.Period // < one period, starting at phase 0
	busyRest := min(rest, 41100*time.Microsecond)
	want := float64(whole)*(300*0.0411+60*0.0959) + 300*busyRest.Seconds() + 60*(rest-busyRest).Seconds()
	assert.InDelta(t, want, g.EnergyBetween(start, start.Add(time.Hour)), 1e-6)

	// Additive, antisymmetric, and the 1 s mean is between idle and busy.
	mid := t0.Add(777 * time.Millisecond)
	end := t0.Add(2 * time.Second)
	assert.InDelta(t, g.EnergyBetween(t0, end), g.EnergyBetween(t0, mid)+g.EnergyBetween(mid, end), 1e-9)
	assert.InDelta(t, -g.EnergyBetween(t0, end), g.EnergyBetween(end, t0), 1e-12)
	avg := g.AvgPowerAt(end)
	assert.True(t, avg > 60 && avg < 300, "avg %v", avg)

	// Duty edges and the default period.
	assert.Equal(t, 60.0, fakenvml.GPU{IdleW: 60, BusyW: 300}.PowerAt(t0))
	assert.Equal(t, 300.0, fakenvml.GPU{IdleW: 60, BusyW: 300, Duty: 1}.PowerAt(t0))
	assert.Equal(t, 300.0, fakenvml.GPU{IdleW: 60, BusyW: 300, Duty: 0.5}.PowerAt(time.Unix(42, 499_999_999)))
	assert.Equal(t, 60.0, fakenvml.GPU{IdleW: 60, BusyW: 300, Duty: 0.5}.PowerAt(time.Unix(42, 500_000_000)))
	assert.InDelta(t, 3600*180.0, fakenvml.DefaultGPU(0).EnergyBetween(t0, t0.Add(time.Hour)), 1e-6)
}

func TestConfigText(t *testing.T) {
	text, err := fakenvml.Config{InitError: 9, GPUs: []fakenvml.GPU{{
		IdleW: 60.5, BusyW: 300, Period: 250 * time.Millisecond, Duty: 0.25, Counter: true,
		SamplePeriod: 1500 * time.Microsecond, PowerMode: fakenvml.PowerAvg1s, LimitW: 700,
		LostAfter: 1500 * time.Millisecond, PIDs: []int{1, 2}, MIGUUID: "MIG-x", Arch: 10, CounterOffsetMJ: 5,
	}}}.Text()
	require.NoError(t, err)
	assert.Equal(t, `# fakenvml config (see fakenvml.c)
init_error=9
driver=550.54.15

[gpu]
name=NVIDIA Fake GPU
uuid=GPU-00000000-0000-4000-8000-000000000000
idle_w=60.5
busy_w=300
period_s=0.25
duty=0.25
counter=1
samples=0
sample_period_ms=1.5
power_mode=avg1s
limit_w=700
lost_after_s=1.5
pids=1,2
mig_uuid=MIG-x
counter_offset_mj=5
arch=10
`, text)

	for _, bad := range []fakenvml.GPU{
		{Duty: 1.5}, {IdleW: -1}, {PowerMode: "peak"}, {Name: "two\nlines"},
		{SamplePeriod: 1500 * time.Nanosecond}, {PIDs: []int{-1}},
	} {
		_, err := fakenvml.Config{GPUs: []fakenvml.GPU{bad}}.Text()
		assert.Error(t, err, "%+v", bad)
	}
}

package estimate

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

// The textbook example: 1000 W for 100 h at PUE 1 is 100 kWh; at
// 500 gCO2e/kWh that is 50,000 g = 50 kg. Exactly: every intermediate value
// is an integer, so floating point must not move it.
func TestEstimateTextbookExact(t *testing.T) {
	r, err := Estimate(Job{Watts: 1000, Hours: 100, Intensity: 500, PUE: 1})
	require.NoError(t, err)
	assert.Equal(t, 100.0, r.EnergyKWh)
	assert.Equal(t, 100.0, r.ITEnergyKWh)
	assert.Equal(t, 50.0, r.EmissionsKg)
	assert.Equal(t, 50.0, r.TotalKg)
	assert.Zero(t, r.EmbodiedKg)
	assert.Nil(t, r.Embodied)
	assert.Equal(t, 1, r.Count)
	assert.Equal(t, 1.0, r.Utilization)
	assert.Equal(t, "given", r.WattsSource)
	assert.Equal(t, "given", r.Intensity.Source)
	assert.Empty(t, r.Device)
	assert.Empty(t, r.Notes, "nothing was defaulted")

	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, s.String())
	}
	assert.Equal(t, []string{
		"power per device = 1,000 W × 1 utilization = 1,000 W",
		"device-hours = 1 device × 100 h = 100 device-h",
		"IT energy = 100 device-h × 1,000 W / 1000 = 100 kWh",
		"energy = 100 kWh × 1 PUE = 100 kWh",
		"emissions = 100 kWh × 500 gCO2e/kWh / 1000 = 50 kg",
	}, steps)
}

func TestEstimateTable(t *testing.T) {
	cases := []struct {
		name        string
		job         Job
		energyKWh   float64
		emissionsKg float64
		hours       float64
		device      string
	}{
		// 700 W × 8 × 168 h = 940.8 kWh; × 1.58 = 1,486.464 kWh; × 56.039 g = 83.2999... kg.
		{"H100 SXM in France for a week", Job{Device: "h100-sxm", Count: 8, Days: 7, Zone: "FR"},
			1486.464, 1486.464 * 56.039 / 1000, 168, "H100 SXM"},
		// Table watts × utilization: 400 W × 0.5 = 200 W; 200 W × 10 h = 2 kWh.
		{"utilization halves the power", Job{Device: "A100 80GB", Hours: 10, Utilization: 0.5, PUE: 1, Intensity: 100},
			2, 0.2, 10, "A100 SXM 80GB"},
		{"utilization 0 means 1", Job{Device: "a100-80gb", Hours: 10, PUE: 1, Intensity: 100},
			4, 0.4, 10, "A100 SXM 80GB"},
		// 1,000 GPU-hours on 4 devices: 250 h each; 1,000 × 300 W = 300 kWh.
		{"device-hours", Job{Device: "V100 SXM2", Count: 4, DeviceHours: 1000, PUE: 1, Intensity: 200},
			300, 60, 250, "V100 SXM2"},
		// Watts wins over the table (H100 SXM is 700 W).
		{"watts overrides the device", Job{Device: "h100", Watts: 500, Hours: 2, PUE: 1, Intensity: 1000},
			1, 1, 2, "H100 SXM"},
		// Default PUE 1.58 and the world average, 483.18 g.
		{"defaults", Job{Watts: 1000, Hours: 1}, 1.58, 1.58 * 483.18 / 1000, 1, ""},
		{"TPU v4 measured max", Job{Device: "TPU v4", Count: 4, Hours: 1000, PUE: 1.1, Intensity: 100},
			192 * 4 * 1000 * 1.1 / 1000, 192 * 4 * 1000 * 1.1 / 1000 * 100 / 1000, 1000, "TPU v4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Estimate(c.job)
			require.NoError(t, err)
			assert.InDelta(t, c.energyKWh, r.EnergyKWh, 1e-9)
			assert.InDelta(t, c.emissionsKg, r.EmissionsKg, 1e-9)
			assert.InDelta(t, c.hours, r.Hours, 1e-12)
			assert.Equal(t, c.device, r.Device)
			assert.InDelta(t, r.EmissionsKg, r.TotalKg, 0, "no embodied")
		})
	}
}

func TestEstimateDefaultsAreNoted(t *testing.T) {
	r, err := Estimate(Job{Watts: 300, Hours: 1})
	require.NoError(t, err)
	assert.Equal(t, DefaultPUE, r.PUE)
	assert.Equal(t, factor.WorldAverage, r.Intensity.Value)
	assert.Equal(t, "world", r.Intensity.Zone)
	require.Len(t, r.Notes, 2)
	assert.Contains(t, r.Notes[0], "Uptime Institute")
	assert.Contains(t, r.Notes[1], "world average")

	r, err = Estimate(Job{Device: "TPU v2", Hours: 1, PUE: 1, Intensity: 1})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(r.Notes, "\n"), "could not be confirmed", "an unconfirmed figure is never silent")

	r, err = Estimate(Job{Device: "TPU v3", Hours: 1, PUE: 1, Intensity: 1})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(r.Notes, "\n"), "mean of 220 W (utilization 0.84)")

	r, err = Estimate(Job{Device: "h100", Watts: 650, Hours: 1, PUE: 1, Intensity: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"650 W per device given; it replaces the table's 700 W for H100 SXM."}, r.Notes)
}

// Embodied emissions, by hand (Luccioni et al. 2022 defaults):
//
//	8 H100 for 7 days = 168 h; servers = ceil(8 / 8) = 1
//	hardware  = 150 kg × 8 + 2,500 kg × 1        = 3,700 kg
//	lifetime  = 6 years × 8,760 h × 0.85         = 44,676 h
//	share     = 3,700 kg × 168 h / 44,676 h      = 621,600 / 44,676 = 13.91351... kg
//
// With 9 GPUs, 2 servers: 150 × 9 + 2,500 × 2 = 6,350 kg; × 168 / 44,676 = 23.87859... kg.
// Custom: 200 kg per GPU, 1,000 per server of 4, 4 years at 50 %:
// 12 GPUs → 3 servers: 2,400 + 3,000 = 5,400 kg; life = 4 × 8,760 × 0.5 = 17,520 h;
// 100 h → 5,400 × 100 / 17,520 = 30.82191... kg.
func TestEstimateEmbodied(t *testing.T) {
	cases := []struct {
		name    string
		job     Job
		servers int
		wantKg  float64
	}{
		{"one server", Job{Device: "h100", Count: 8, Days: 7, Intensity: 56, Embodied: true}, 1, 621600.0 / 44676},
		{"a ninth GPU needs a second server", Job{Device: "h100", Count: 9, Days: 7, Intensity: 56, Embodied: true}, 2, 6350 * 168.0 / 44676},
		{"custom model", Job{Watts: 300, Count: 12, Hours: 100, Intensity: 56, Embodied: true, EmbodiedModel: EmbodiedModel{
			GPUKg: 200, ServerKg: 1000, GPUsPerServer: 4, LifetimeYears: 4, LifetimeUtilization: 0.5}}, 3, 5400 * 100.0 / 17520},
		{"GPUs only", Job{Watts: 300, Count: 2, Hours: 8760 * 6 * 0.85, Intensity: 56, Embodied: true, EmbodiedModel: EmbodiedModel{
			GPUKg: 150, ServerKg: 0, GPUsPerServer: 8, LifetimeYears: 6, LifetimeUtilization: 0.85}}, 1, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Estimate(c.job)
			require.NoError(t, err)
			require.NotNil(t, r.Embodied)
			assert.Equal(t, c.servers, r.Servers)
			assert.InDelta(t, c.wantKg, r.EmbodiedKg, 1e-9)
			assert.InDelta(t, r.EmissionsKg+r.EmbodiedKg, r.TotalKg, 1e-9)
			assert.Equal(t, "total", r.Steps[len(r.Steps)-1].Quantity)
		})
	}
	assert.InDelta(t, 13.91351, 621600.0/44676, 1e-5, "the hand computation above")

	r, err := Estimate(Job{Device: "h100", Count: 8, Days: 7, Intensity: 56, Embodied: true})
	require.NoError(t, err)
	assert.Equal(t, DefaultEmbodiedModel(), *r.Embodied, "the zero model means Luccioni et al.'s")
}

func TestEstimateErrors(t *testing.T) {
	cases := []struct {
		name    string
		job     Job
		target  error
		message string
	}{
		{"no device or watts", Job{Hours: 1}, ErrInvalid, "no power: name a device"},
		{"no duration", Job{Watts: 100}, ErrInvalid, "no duration"},
		{"hours and days", Job{Watts: 100, Hours: 1, Days: 1}, ErrInvalid, "give one duration"},
		{"days and device-hours", Job{Watts: 100, Days: 1, DeviceHours: 8}, ErrInvalid, "give one duration"},
		{"negative hours", Job{Watts: 100, Hours: -1}, ErrInvalid, "hours must be positive"},
		{"negative days", Job{Watts: 100, Days: -1}, ErrInvalid, "days must be positive"},
		{"NaN hours", Job{Watts: 100, Hours: math.NaN()}, ErrInvalid, "hours must be positive"},
		{"negative watts", Job{Watts: -5, Hours: 1}, ErrInvalid, "watts must be a positive number"},
		{"infinite watts", Job{Watts: math.Inf(1), Hours: 1}, ErrInvalid, "watts"},
		{"negative count", Job{Watts: 5, Count: -2, Hours: 1}, ErrInvalid, "count must be at least 1"},
		{"utilization above 1", Job{Watts: 5, Utilization: 1.2, Hours: 1}, ErrInvalid, "give the watts instead"},
		{"negative utilization", Job{Watts: 5, Utilization: -0.1, Hours: 1}, ErrInvalid, "utilization"},
		{"PUE below 1", Job{Watts: 5, Hours: 1, PUE: 0.9}, ErrInvalid, "PUE must be in [1, 5]"},
		{"PUE above 5", Job{Watts: 5, Hours: 1, PUE: 12}, ErrInvalid, "PUE must be in [1, 5]"},
		{"negative intensity", Job{Watts: 5, Hours: 1, Intensity: -3}, ErrInvalid, "intensity must be in (0, 2000]"},
		{"implausible intensity", Job{Watts: 5, Hours: 1, Intensity: 500000}, ErrInvalid, "intensity"},
		{"intensity and zone", Job{Watts: 5, Hours: 1, Intensity: 3, Zone: "FR"}, ErrInvalid, "not both"},
		{"unknown zone", Job{Watts: 5, Hours: 1, Zone: "Atlantis"}, factor.ErrUnknownZone, "Atlantis"},
		{"unknown device lists close matches", Job{Device: "a10g", Hours: 1}, ErrUnknownDevice, "close matches: A10, A100 SXM 40GB"},
		{"unknown device, nothing close", Job{Device: "rtx 4090", Hours: 1}, ErrUnknownDevice, "no close match"},
		{"embodied: no GPUs per server", Job{Watts: 5, Hours: 1, Embodied: true, EmbodiedModel: EmbodiedModel{GPUKg: 1, LifetimeYears: 1, LifetimeUtilization: 1}}, ErrInvalid, "GPUs per server"},
		{"embodied: negative kg", Job{Watts: 5, Hours: 1, Embodied: true, EmbodiedModel: EmbodiedModel{GPUKg: -1, GPUsPerServer: 8, LifetimeYears: 1, LifetimeUtilization: 1}}, ErrInvalid, "per GPU"},
		{"embodied: utilization above 1", Job{Watts: 5, Hours: 1, Embodied: true, EmbodiedModel: EmbodiedModel{GPUsPerServer: 8, LifetimeYears: 6, LifetimeUtilization: 1.5}}, ErrInvalid, "lifetime utilization"},
		{"embodied: no lifetime", Job{Watts: 5, Hours: 1, Embodied: true, EmbodiedModel: EmbodiedModel{GPUsPerServer: 8, LifetimeUtilization: 0.5}}, ErrInvalid, "lifetime must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Estimate(c.job)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.target), "%v is not %v", err, c.target)
			assert.Contains(t, err.Error(), c.message)
			assert.True(t, strings.HasPrefix(err.Error(), "estimate: "), err.Error())
		})
	}
}

func TestCompareZones(t *testing.T) {
	job := Job{Device: "h100-sxm", Count: 8, Days: 7, Embodied: true}
	c, err := CompareZones(job, []string{"FR", "DE", "US", "gcp:europe-north1"})
	require.NoError(t, err)
	assert.Equal(t, "FR", c.Baseline)
	require.Len(t, c.Zones, 4)
	var order []string
	for i, z := range c.Zones {
		order = append(order, z.Zone)
		if i > 0 {
			assert.LessOrEqual(t, c.Zones[i-1].TotalKg, z.TotalKg, "ascending")
		}
		assert.InDelta(t, z.EmissionsKg+c.Result.EmbodiedKg, z.TotalKg, 1e-9, "embodied is the same everywhere")
	}
	assert.Equal(t, []string{"gcp:europe-north1", "FR", "US", "DE"}, order)

	fr := c.Zones[1]
	assert.Zero(t, fr.SavingKg)
	assert.Zero(t, fr.SavingPercent)
	fi := c.Zones[0]
	// 1,486.464 kWh × (56.039 − 39.32) g / 1000 = 24.852... kg less than France.
	assert.InDelta(t, 1486.464*(56.039-39.32)/1000, fi.SavingKg, 1e-9)
	assert.InDelta(t, fi.SavingKg/fr.TotalKg*100, fi.SavingPercent, 1e-9)
	assert.Negative(t, c.Zones[3].SavingKg, "Germany emits more than France")

	_, err = CompareZones(Job{Watts: 1, Hours: 1, Zone: "FR"}, []string{"DE"})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = CompareZones(Job{Watts: 1, Hours: 1}, nil)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = CompareZones(Job{Watts: 1, Hours: 1}, []string{"FR", " "})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = CompareZones(Job{Watts: 1, Hours: 1}, []string{"FR", "Atlantis"})
	assert.ErrorIs(t, err, factor.ErrUnknownZone)
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{FormatNumber(1486.464), "1,486.46"},
		{FormatNumber(0.11376), "0.11376"},
		{FormatNumber(100), "100"},
		{FormatNumber(1234567.89), "1,234,568"},
		{FormatNumber(-24.852191), "-24.8522"},
		{FormatNumber(0), "0"},
		{FormatEnergy(100), "100 kWh"},
		{FormatEnergy(1486.464), "1.49 MWh"},
		{FormatEnergy(0.11376), "0.114 kWh"},
		{FormatMass(50), "50 kg"},
		{FormatMass(83.29995), "83.3 kg"},
		{FormatMass(18258.7328), "18.3 t"},
		{FormatMass(0.055), "55 g"},
		{FormatMass(-465.9), "-466 kg"},
		{FormatMass(0), "0 kg"},
		{FormatSig(0.8397, 2), "0.84"},
	} {
		assert.Equal(t, c.want, c.got)
	}
}

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

// impliedMFU is the utilisation a published run implies: its compute over
// what the devices could do at peak in the device-hours it took.
func impliedMFU(flops, deviceHours, peakTFLOPS float64) float64 {
	return flops / (deviceHours * 3600 * peakTFLOPS * 1e12)
}

// Llama 2 (Touvron et al. 2023, "Llama 2: Open Foundation and Fine-Tuned Chat
// Models", arXiv:2307.09288, Table 2): every size pretrained on 2.0 T tokens
// on A100-80GB GPUs, with the GPU-hours below. With 6·N·D at the A100's
// 312 TFLOPS (BF16 dense) they imply an MFU of
//
//	 7B:   184,320 GPU-h → 0.4057
//	13B:   368,640 GPU-h → 0.3768
//	34B: 1,038,336 GPU-h → 0.3498
//	70B: 1,720,320 GPU-h → 0.4347
//
// (N is the nominal size; the exact counts, e.g. 6.74 B for 7B, would give a
// little less.) The estimator with that MFU must give the GPU-hours back
// within 0.1 %.
func TestPerformanceLlama2(t *testing.T) {
	cases := []struct {
		name     string
		params   float64
		gpuHours float64
		mfu      float64 // implied, to 4 decimals
	}{
		{"7B", 7e9, 184320, 0.4057},
		{"13B", 13e9, 368640, 0.3768},
		{"34B", 34e9, 1038336, 0.3498},
		{"70B", 70e9, 1720320, 0.4347},
	}
	const tokens = 2e12
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mfu := impliedMFU(6*c.params*tokens, c.gpuHours, 312)
			assert.InDelta(t, c.mfu, mfu, 5e-5, "implied MFU")
			assert.True(t, mfu > 0.3 && mfu < 0.55, "within the published range DefaultMFU rests on")

			r, err := Estimate(Job{Device: "A100 80GB", Count: 2048, Params: c.params, Tokens: tokens, MFU: c.mfu,
				PUE: 1.1, Intensity: 400})
			require.NoError(t, err)
			assert.True(t, r.Performance)
			assert.Equal(t, 312.0, r.PeakTFLOPS, "A100 BF16 dense, from the table")
			assert.Equal(t, 6*c.params*tokens, r.FLOPs)
			assert.InDelta(t, c.gpuHours, r.DeviceHours, c.gpuHours*0.001, "GPU-hours reproduced within 0.1 %")
			assert.InDelta(t, r.DeviceHours/2048, r.Hours, 1e-9)
			// Then the power model as for a duration: 400 W × 1.1 PUE.
			assert.InDelta(t, r.DeviceHours*400/1000*1.1, r.EnergyKWh, 1e-6*r.EnergyKWh)
		})
	}
}

// Patterson et al. 2021 ("Carbon Emissions and Large Neural Network
// Training", arXiv:2104.10350, Table 4) give, for five runs, the compute,
// the chips and their number, the days, the measured mean TFLOPS per chip,
// the measured system power per chip (memory, network, fans and host CPU
// included), the PUE, the gross intensity (kg CO2e/kWh) and the resulting
// MWh and tCO2e. The table ties its own rows together (MWh = chips × days
// × 24 × W × PUE, days = FLOPs / (chips × TFLOPS)), so each row checks the
// whole of Estimate: with MFU = measured TFLOPS / the table's peak (123 for
// a TPU v3 chip, 125 for a V100), Watts = the measured system power, the
// row's PUE and gross intensity, the estimate gives back the days, MWh and
// gross tCO2e (GShard's 3.1 days are rounded: 3.13 from its own compute).
// The table's net tCO2e (GShard 4.3, Switch Transformer 59.1) subtract
// Google's purchases of carbon-free energy, which a grid factor does not
// know.
//
// The implied utilisations, against the peak: T5 0.37, Meena 0.34,
// GShard-600B 0.39, Switch Transformer 0.28, GPT-3 0.20 (a 2020 run on
// V100s); the 0.4 default (DefaultMFU) is at the top of that range, so
// estimates of older or sparse runs without a measured MFU run low.
func TestPerformancePatterson(t *testing.T) {
	cases := []struct {
		name       string
		device     string
		peak       float64 // the table's, TFLOPS
		flops      float64
		chips      int
		days       float64
		tflops     float64 // measured, per chip
		watts      float64 // measured system power per chip
		pue        float64
		intensity  float64 // gross, g/kWh
		mwh, tco2e float64
		impliedMFU float64 // FLOPs over chips × days at peak, 4 decimals
	}{
		{"T5", "tpu v3", 123, 4.05e22, 512, 20, 45.6, 310, 1.12, 545, 85.7, 46.7, 0.3722},
		{"Meena", "tpu v3", 123, 1.12e23, 1024, 30, 42.3, 289, 1.09, 415, 232, 96.4, 0.3431},
		{"GShard-600B", "tpu v3", 123, 1.33e22, 1024, 3.1, 48.0, 288, 1.09, 201, 24.1, 4.8, 0.3942},
		{"Switch Transformer", "tpu v3", 123, 8.22e22, 1024, 27, 34.4, 245, 1.10, 403, 179, 72.2, 0.2798},
		{"GPT-3", "v100", 125, 3.14e23, 10000, 14.8, 24.6, 330, 1.10, 429, 1287, 552.1, 0.1964},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mfu := impliedMFU(c.flops, float64(c.chips)*c.days*24, c.peak)
			assert.InDelta(t, c.impliedMFU, mfu, 5e-5, "implied MFU")

			r, err := Estimate(Job{Device: c.device, Count: c.chips, FLOPs: c.flops, MFU: c.tflops / c.peak,
				Watts: c.watts, PUE: c.pue, Intensity: factor.GramsPerKWh(c.intensity)})
			require.NoError(t, err)
			assert.True(t, r.Performance)
			assert.Equal(t, c.peak, r.PeakTFLOPS, "the table's peak")
			assert.InDelta(t, c.days, r.Hours/24, c.days*0.011, "days within 1.1 %")
			assert.InDelta(t, c.mwh, r.EnergyKWh/1000, c.mwh*0.005, "MWh within 0.5 %")
			assert.InDelta(t, c.tco2e, r.EmissionsKg/1000, c.tco2e*0.013, "tCO2e within 1.3 %")
		})
	}
}

// A case whose every number is exact: 3.6e20 FLOPs at 1,000 TFLOPS and MFU 1
// is 100 device-hours; at 1,000 W, PUE 1 and 500 g/kWh, 100 kWh and 50 kg.
func TestPerformanceExact(t *testing.T) {
	for name, job := range map[string]Job{
		"flops":           {FLOPs: 3.6e20},
		"params × tokens": {Params: 1e9, Tokens: 6e10},
	} {
		t.Run(name, func(t *testing.T) {
			job.Watts, job.PeakTFLOPS, job.MFU, job.PUE, job.Intensity = 1000, 1000, 1, 1, 500
			r, err := Estimate(job)
			require.NoError(t, err)
			assert.Equal(t, 3.6e20, r.FLOPs)
			assert.Equal(t, 100.0, r.DeviceHours)
			assert.Equal(t, 100.0, r.Hours)
			assert.Equal(t, 100.0, r.EnergyKWh)
			assert.Equal(t, 50.0, r.EmissionsKg)
			assert.Equal(t, "given", r.PeakSource)
			var steps []string
			for _, s := range r.Steps {
				steps = append(steps, s.String())
			}
			want := []string{
				"throughput per device = 1,000 TFLOPS × 1 MFU = 1,000 TFLOPS",
				"device-hours = 3.6e20 FLOP / (1,000 TFLOPS × 10^12 × 3,600 s/h) = 100 device-h",
				"hours = 100 device-h / 1 device = 100 h",
				"power per device = 1,000 W × 1 utilization = 1,000 W",
				"IT energy = 100 device-h × 1,000 W / 1000 = 100 kWh",
				"energy = 100 kWh × 1 PUE = 100 kWh",
				"emissions = 100 kWh × 500 gCO2e/kWh / 1000 = 50 kg",
			}
			if job.Params > 0 {
				want = append([]string{"compute = 6 × 1,000,000,000 parameters × 60,000,000,000 tokens = 3.6e20 FLOP"}, want...)
				require.NotEmpty(t, r.Notes)
				assert.Contains(t, r.Notes[0], "6 · N · D, the dense-transformer estimate")
			} else {
				assert.Empty(t, r.Notes, "nothing was defaulted")
			}
			assert.Equal(t, want, steps)
		})
	}
}

func TestPerformanceDefaults(t *testing.T) {
	r, err := Estimate(Job{Device: "h100-sxm", Count: 8, FLOPs: 1e21, Zone: "FR"})
	require.NoError(t, err)
	assert.Equal(t, DefaultMFU, r.MFU)
	assert.Equal(t, 989.0, r.PeakTFLOPS)
	assert.Contains(t, r.PeakSource, "NVIDIA H100")
	assert.InDelta(t, 1e21/(989e12*0.4*3600), r.DeviceHours, 1e-9)
	assert.InDelta(t, r.DeviceHours/8, r.Hours, 1e-12)
	assert.Contains(t, strings.Join(r.Notes, "\n"), "MFU 0.4 is a default")
	assert.Contains(t, r.Steps[0].String(), "989 TFLOPS (H100 SXM, dense peak) × 0.4 MFU")

	// A given peak replaces the table's, with a note; on a row without a
	// figure it is what makes the estimate possible.
	r, err = Estimate(Job{Device: "h100", FLOPs: 1e21, PeakTFLOPS: 900, Intensity: 100})
	require.NoError(t, err)
	assert.Equal(t, 900.0, r.PeakTFLOPS)
	assert.Contains(t, strings.Join(r.Notes, "\n"), "replaces the table's 989 TFLOPS")
	r, err = Estimate(Job{Device: "H100 NVL", FLOPs: 1e21, PeakTFLOPS: 835, MFU: 0.5, Intensity: 100})
	require.NoError(t, err)
	assert.Equal(t, "given", r.PeakSource)

	// Comparing zones works on the performance model too.
	c, err := CompareZones(Job{Device: "tpu v4", Count: 256, FLOPs: 1e22}, []string{"US", "FR"})
	require.NoError(t, err)
	assert.InDelta(t, 1e22/(275e12*0.4*3600), c.Result.DeviceHours, 1e-9)
}

func TestPerformanceErrors(t *testing.T) {
	cases := []struct {
		name    string
		job     Job
		message string
	}{
		{"no peak in the table", Job{Device: "H100 NVL", FLOPs: 1e21}, "no trustworthy peak throughput for H100 NVL: give its peak dense TFLOPS"},
		{"no peak with watts alone", Job{Watts: 300, FLOPs: 1e21}, "no peak throughput: name a device"},
		{"flops and params", Job{Device: "h100", FLOPs: 1e21, Params: 1e9, Tokens: 1e10}, "not both"},
		{"params without tokens", Job{Device: "h100", Params: 1e9}, "needs both the parameters (N) and the tokens (D)"},
		{"tokens without params", Job{Device: "h100", Tokens: 1e9}, "needs both"},
		{"compute and hours", Job{Device: "h100", FLOPs: 1e21, Hours: 3}, "or a duration, not both"},
		{"compute and device-hours", Job{Device: "h100", FLOPs: 1e21, DeviceHours: 3}, "not both"},
		{"MFU above 1", Job{Device: "h100", FLOPs: 1e21, MFU: 1.5}, "MFU must be a fraction in (0, 1]"},
		{"negative MFU", Job{Device: "h100", FLOPs: 1e21, MFU: -0.1}, "MFU must be a positive number"},
		{"NaN FLOPs", Job{Device: "h100", FLOPs: math.NaN()}, "FLOPs must be a positive number"},
		{"infinite peak", Job{Device: "h100", FLOPs: 1, PeakTFLOPS: math.Inf(1)}, "peak TFLOPS must be"},
		{"MFU without compute", Job{Device: "h100", Hours: 1, MFU: 0.5}, "give the compute too"},
		{"peak without compute", Job{Device: "h100", Hours: 1, PeakTFLOPS: 900}, "give the compute too"},
		{"offset without currency", Job{Watts: 5, Hours: 1, OffsetPrice: 80}, "needs its currency"},
		{"offset with a bad currency", Job{Watts: 5, Hours: 1, OffsetPrice: 80, Currency: "euros"}, "ISO 4217"},
		{"currency without price", Job{Watts: 5, Hours: 1, Currency: "EUR"}, "without an offset price"},
		{"negative offset price", Job{Watts: 5, Hours: 1, OffsetPrice: -1, Currency: "EUR"}, "offset price must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Estimate(c.job)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid), "%v", err)
			assert.Contains(t, err.Error(), c.message)
		})
	}
}

// Offsets: the user's price per tonne times the total (embodied included),
// with the caveat; no price or currency is ever assumed.
func TestOffset(t *testing.T) {
	r, err := Estimate(Job{Watts: 1000, Hours: 100, Intensity: 500, PUE: 1, OffsetPrice: 80, Currency: "eur"})
	require.NoError(t, err)
	assert.Equal(t, 4.0, r.OffsetCost, "50 kg = 0.05 t × 80")
	assert.Equal(t, "EUR", r.OffsetCurrency)
	assert.Equal(t, 80.0, r.OffsetPrice)
	assert.Equal(t, "offset cost = 0.05 t × 80 EUR/t = 4 EUR", r.Steps[len(r.Steps)-1].String())
	assert.Equal(t, []string{OffsetCaveat}, r.Notes)
	assert.Contains(t, OffsetCaveat, "do not undo")

	r, err = Estimate(Job{Watts: 1000, Hours: 100, Intensity: 500, PUE: 1, Embodied: true, OffsetPrice: 10, Currency: "USD"})
	require.NoError(t, err)
	assert.InDelta(t, r.TotalKg/1000*10, r.OffsetCost, 1e-12)
	assert.Greater(t, r.TotalKg, r.EmissionsKg)

	r, err = Estimate(Job{Watts: 1000, Hours: 100, Intensity: 500})
	require.NoError(t, err)
	assert.Zero(t, r.OffsetCost)
	assert.Empty(t, r.OffsetCurrency)
}

func TestFormatScientific(t *testing.T) {
	for v, want := range map[float64]string{
		8.4e22: "8.4e22", 3.14e23: "3.14e23", 1e15: "1e15", -2.5e18: "-2.5e18", 1.23456789e20: "1.23457e20",
		999999999999999: "999,999,999,999,999",
	} {
		assert.Equal(t, want, FormatNumber(v), "%v", v)
	}
	assert.Equal(t, "1.2e21", FormatSig(1.23e21, 2))
}

func TestParseCount(t *testing.T) {
	for in, want := range map[string]float64{
		"7B": 7e9, "7b": 7e9, "2T": 2e12, "1.5k": 1500, "175M": 175e6, "3.14e23": 3.14e23, "7000000000": 7e9,
		"7_000_000_000": 7e9, "70,000": 7e4, "7,000,000,000": 7e9, "1,500B": 1.5e12, " 13B ": 13e9, "0.5T": 5e11, "1.e3": 1000,
	} {
		got, err := ParseCount(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, want*1e-12, in)
	}
	for _, in := range []string{"", "B", "7 billion", "7BB", "seven", "1e400", "NaN", "7G", "7e9B", "1,5B", "1,5", "7,00", ",7"} {
		_, err := ParseCount(in)
		assert.Error(t, err, in)
		if err != nil {
			assert.Contains(t, err.Error(), "7B (K, M, B, T")
		}
	}
}

package estimate_test

import (
	"fmt"

	"github.com/carbontrack/carbontrack/estimate"
)

// The textbook example: 1 kW for 100 hours at PUE 1 on a 500 gCO2e/kWh grid.
func ExampleEstimate() {
	r, err := estimate.Estimate(estimate.Job{Watts: 1000, Hours: 100, PUE: 1, Intensity: 500})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(estimate.FormatEnergy(r.EnergyKWh), estimate.FormatMass(r.EmissionsKg))
	for _, s := range r.Steps {
		fmt.Println(s)
	}
	// Output:
	// 100 kWh 50 kg
	// power per device = 1,000 W × 1 utilization = 1,000 W
	// device-hours = 1 device × 100 h = 100 device-h
	// IT energy = 100 device-h × 1,000 W / 1000 = 100 kWh
	// energy = 100 kWh × 1 PUE = 100 kWh
	// emissions = 100 kWh × 500 gCO2e/kWh / 1000 = 50 kg
}

// Eight H100s for a week in France, with the hardware's manufacturing
// emissions amortised over its life.
func ExampleEstimate_embodied() {
	r, err := estimate.Estimate(estimate.Job{Device: "h100-sxm", Count: 8, Days: 7, Zone: "FR", Embodied: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s at %v W (%s), %v gCO2e/kWh (%s %d)\n", r.Device, r.Watts, r.Accelerator.Basis,
		float64(r.Intensity.Value), r.Intensity.Zone, r.Intensity.Year)
	fmt.Printf("energy %s, emissions %s + embodied %s = %s\n", estimate.FormatEnergy(r.EnergyKWh),
		estimate.FormatMass(r.EmissionsKg), estimate.FormatMass(r.EmbodiedKg), estimate.FormatMass(r.TotalKg))
	for _, s := range r.Steps[len(r.Steps)-4:] {
		fmt.Println(s)
	}
	// Output:
	// H100 SXM at 700 W (TDP), 56.039 gCO2e/kWh (FR 2023)
	// energy 1.49 MWh, emissions 83.3 kg + embodied 13.9 kg = 97.2 kg
	// embodied hardware = 150 kg × 8 devices + 2,500 kg × 1 server = 3,700 kg
	// lifetime = 6 years × 8,760 h × 0.85 utilization = 44,676 h
	// embodied = 3,700 kg × 168 h / 44,676 h = 13.9135 kg
	// total = 83.3 kg + 13.9135 kg = 97.2135 kg
}

// The cheapest lever: the same run on a cleaner grid.
func ExampleCompareZones() {
	job := estimate.Job{Device: "A100 80GB", Count: 64, DeviceHours: 100_000, Utilization: 0.7, PUE: 1.1}
	c, err := estimate.CompareZones(job, []string{"DE", "FR", "SE", "gcp:europe-north1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s in every zone; savings against %s\n", estimate.FormatEnergy(c.Result.EnergyKWh), c.Baseline)
	for _, z := range c.Zones {
		fmt.Printf("%-18s %8s  saves %8s (%s %%)\n", z.Zone, estimate.FormatMass(z.TotalKg),
			estimate.FormatMass(z.SavingKg), estimate.FormatSig(z.SavingPercent, 3))
	}
	// Output:
	// 30.8 MWh in every zone; savings against DE
	// gcp:europe-north1    1.21 t  saves   10.5 t (89.7 %)
	// SE                   1.25 t  saves   10.5 t (89.3 %)
	// FR                   1.73 t  saves     10 t (85.3 %)
	// DE                   11.7 t  saves     0 kg (0 %)
}

func ExampleLookupAccelerator() {
	for _, name := range []string{"a100-80gb", "NVIDIA H100 80GB HBM3", "tpu v4", "a10g"} {
		a, err := estimate.LookupAccelerator(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-22s %s, %v W (%s, %d)\n", name, a.Name, a.Watts, a.Basis, a.Year)
	}
	// Output:
	// a100-80gb              A100 SXM 80GB, 400 W (TDP, 2021)
	// NVIDIA H100 80GB HBM3  H100 SXM, 700 W (TDP, 2023)
	// tpu v4                 TPU v4, 192 W (measured max, 2023)
	// estimate: unknown device "a10g": close matches: A10, A100 SXM 40GB; or set the power per device in W yourself
}

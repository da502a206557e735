// Package estimate is the offline calculator published papers use for the
// energy and carbon of a training run, from its hardware and duration alone
// (Patterson et al. 2021, "Carbon Emissions and Large Neural Network
// Training"):
//
//	kWh    = hours × devices × W per device × PUE / 1000
//	kgCO2e = kWh × gCO2e/kWh / 1000
//
// with, optionally, the run's share of the hardware's manufacturing
// emissions (Luccioni et al. 2022, BLOOM). Every Result carries the
// arithmetic as Steps and the caveats as Notes, so an estimate can be checked
// by hand and quoted with its sources.
//
// # Usage
//
//	r, err := estimate.Estimate(estimate.Job{
//		Device:   "h100-sxm", // 700 W, NVIDIA datasheet (embedded table)
//		Count:    8,
//		Days:     7,
//		Zone:     "FR", // factor.Lookup: 56.039 gCO2e/kWh, OWID 2023
//		Embodied: true, // 150 kg per GPU, 2,500 kg per server, 6 years at 85 %
//	})
//	fmt.Println(estimate.FormatEnergy(r.EnergyKWh), estimate.FormatMass(r.TotalKg))
//	for _, s := range r.Steps {
//		fmt.Println(s)
//	}
//
//	// Where would the same run emit least?
//	c, err := estimate.CompareZones(job, []string{"FR", "DE", "US", "gcp:europe-north1"})
//
// # Data
//
// The embedded table data/accelerators.csv (Accelerators, LookupAccelerator)
// gives for each accelerator the power an estimate starts from (the vendor's
// TDP for GPUs; Google's highest measured power per chip for TPUs) with its
// source and year; a figure that could not be confirmed is marked and
// Estimate warns about it. TDP is an upper bound: training averages below it,
// which Job.Utilization accounts for. Defaults: PUE 1.58 (Uptime Institute
// 2023), the world-average intensity (Our World in Data 2023, via package
// factor), embodied emissions per Luccioni et al. 2022.
//
// The package imports only the standard library and package factor, starts
// no goroutines and holds no mutable state; everything in it is safe for
// concurrent use.
package estimate

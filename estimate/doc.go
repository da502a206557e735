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
// The performance model gives the duration from the work instead
// (PerformanceFormula): the training compute, Job.FLOPs or 6 · N · D for a
// dense transformer of N parameters trained on D tokens (Kaplan et al. 2020),
// over the devices' peak dense throughput (the table's, or Job.PeakTFLOPS)
// times the model-FLOPs utilisation (Job.MFU, default 0.4):
//
//	device-hours = FLOPs / (peak TFLOPS × 10^12 × MFU × 3600)
//
// Llama 2's published A100 GPU-hours (Touvron et al. 2023) imply MFUs of 0.35
// to 0.43 this way; the tests check that the model gives them back. With
// Job.OffsetPrice and Job.Currency, a Result also prices offsetting its
// emissions at the caller's price (none is assumed), with OffsetCaveat.
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
//	// Llama 2 7B's pretraining: 6 × 7e9 × 2e12 FLOPs on A100s at MFU 0.4.
//	r, err = estimate.Estimate(estimate.Job{Device: "a100-80gb", Count: 1024,
//		Params: 7e9, Tokens: 2e12, MFU: 0.4, Zone: "US"})
//
//	// Where would the same run emit least?
//	c, err := estimate.CompareZones(job, []string{"FR", "DE", "US", "gcp:europe-north1"})
//
// # Data
//
// The embedded table data/accelerators.csv (Accelerators, LookupAccelerator)
// gives for each accelerator the power an estimate starts from (the vendor's
// TDP for GPUs; Google's highest measured power per chip for TPUs) with its
// source and year, and the peak dense BF16/FP16 tensor TFLOPS (without
// sparsity) with its datasheet, left empty where no trustworthy figure was
// found; a figure that could not be confirmed is marked and
// Estimate warns about it. TDP is an upper bound: training averages below it,
// which Job.Utilization accounts for. Defaults: PUE 1.58 (Uptime Institute
// 2023), the world-average intensity (Our World in Data 2023, via package
// factor), embodied emissions per Luccioni et al. 2022.
//
// The package imports only the standard library and package factor, starts
// no goroutines and holds no mutable state; everything in it is safe for
// concurrent use.
package estimate

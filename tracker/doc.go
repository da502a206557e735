// Package tracker measures the energy and carbon emissions of a training
// run, epoch by epoch, with the API of the Python tool carbontracker:
//
//	t, err := tracker.New(epochs, tracker.WithLogDir("logs"), tracker.WithZone("DK"))
//	if err != nil {
//		return err
//	}
//	defer t.Stop()
//	for e := 0; e < epochs; e++ {
//		t.EpochStart()
//		train()
//		t.EpochEnd() // after epoch 1: "Predicted consumption for N epoch(s): ..."
//	}
//	t.Stop() // "Actual consumption for N epoch(s): ..."
//	grams := t.FinalEmissionsReported()
//	report := t.Report() // per epoch, per component and per device
//
// # What is measured
//
// The devices (GPUs, CPU packages, DRAM; power.Discover or WithSources) are
// sampled by a sampler.Sampler; their energies are summed (two GPUs at 300 W
// and 100 W for an hour are 0.4 kWh, not carbontracker's mean). Each sampled
// interval's energy × PUE (default 1.58, Uptime Institute 2023) meets the
// emission factor of its time: the tracker fetches it from a factor.Provider
// (default factor.Static of WithZone) in a background goroutine every 15
// minutes and caches it, so that the hot path never waits on the network.
//
// # Outputs
//
// After WithEpochsBeforePred epochs, the projection: carbontracker's mean
// epoch × epochs, and from 3 epochs a least-squares trend and a 95 %
// interval. With WithLogDir: the carbontracker log pair
// (<prefix_><pid>.<id>_<time>_carbontracker.log and _carbontracker_output.log)
// that carbontracker's parser reads (ParseLog reads it too), JSON lines
// (…_carbontrack.jsonl, one record per epoch, the projection and a final
// one; units in field names) and CodeCarbon's emissions.csv. Records are
// written by a goroutine the tracker owns, as each epoch ends, and synced.
//
// # Guarantees
//
// A Tracker is safe for concurrent use. EpochStart and EpochEnd take a lock,
// copy a few numbers and never do I/O or allocate in steady state; misuse
// (EpochEnd without EpochStart, calls after Stop) is logged, counted in
// Report.Misuse and ignored. A failing sensor is marked lost by the sampler
// and the others go on. Stop is idempotent, records an open epoch as
// interrupted, and waits for the goroutines it started.
//
// Imports point down only: tracker uses sampler, power and factor; none of
// them imports tracker.
package tracker

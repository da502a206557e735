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
// epoch × epochs, remade at every later epoch's end, from 2 epochs with a
// 95 % interval and from 3 with a least-squares trend (the console block is
// printed once, as carbontracker's). With WithLogDir: the carbontracker log
// pair
// (<prefix_><pid>.<id>_<time>_carbontracker.log and _carbontracker_output.log)
// that carbontracker's parser reads (ParseLog reads it too), JSON lines
// (…_carbontrack.jsonl, one record per epoch, the projections and a final
// one; units in field names) and CodeCarbon's emissions.csv. Records are
// written by a goroutine the tracker owns: EpochEnd only wakes it, and it
// writes every epoch it has not written yet and syncs once, so however short
// the epochs none is ever dropped.
//
// # Guarantees
//
// A Tracker is safe for concurrent use. EpochStart and EpochEnd take a lock,
// copy a few numbers and never block, do I/O or allocate in steady state
// (the epochs' storage grows by doubling); misuse (EpochEnd without
// EpochStart, calls after Stop) is counted in Report.Misuse, logged after
// the lock is released, and ignored. The budget function runs on a
// goroutine of the tracker's and may call Stop. A failing sensor is marked
// lost by the sampler and the others go on. Stop is idempotent, records an
// open epoch as interrupted (left out of the "Actual consumption" block, as
// carbontracker does), and waits for the goroutines it started, at most
// WithStopTimeout in all, even when a sensor read hangs.
//
// Imports point down only: tracker uses sampler, power and factor; none of
// them imports tracker.
package tracker

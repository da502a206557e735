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
//	t.Stop() // "Actual consumption for N epoch(s): ...", then the whole run
//	grams := t.FinalEmissionsReported() // the whole run, epochs or not
//	report := t.Report() // per epoch, per component and per device
//
// # What is measured
//
// The devices (GPUs, CPU packages, DRAM; power.Discover or WithSources) are
// read by a sampler.Sampler; their energies are summed (two GPUs at 300 W
// and 100 W for an hour are 0.4 kWh, not carbontracker's mean). Each read
// interval's energy × PUE (default 1.58, Uptime Institute 2023) meets the
// emission factor of its time (an interval that spans a change of factor is
// split at it): the tracker fetches it from a factor.Provider (default
// factor.Static of the zone: WithZone, else located by factor.Locate, which
// Report.Location reports) in a background goroutine every 15 minutes and
// caches it, so that the hot path never waits on the network. Nothing waits
// for the network before the work starts either: a live provider starts on
// its zone's table value, and a cloud metadata service is asked in the
// background.
//
// # The accounting
//
// The headline is the whole run: every joule read from New to Stop, in
// epochs or not (Report.Run, FinalEmissionsReported, the budget, the last
// block of the logs, the final JSON record, emissions.csv). Epochs partition
// it: Report.Actual is the completed epochs (carbontracker's "Actual
// consumption"), Report.InEpochs adds an epoch cut short by Stop, and
// Report.OutsideEpochs is the rest (before the first epoch, between epochs,
// after the last: data loading, evaluation, a crash before any epoch ended).
// Two energies are named apart everywhere: device energy (what the devices
// drew, before PUE) and facility energy (× PUE).
//
// Reads follow events. EpochStart and EpochEnd record the time and signal
// the sampler's goroutine (non-blocking); it reads every source at once, and
// the tick places the boundary source by source between the read before it
// and the read after it (microseconds apart for the boundary's own read), so
// an epoch of any length gets its own energy. Between events, energy
// counters and the CPU and RAM estimates are read every WithInterval (30 s; 10 s with a log directory, for the
// checkpoints),
// power-only GPUs every WithPowerInterval (100 ms), a GPU's sample buffer
// every second. Report, Projection and FinalEmissionsReported wait (at most
// a second) for the boundaries marked before them; Refresh asks for a read
// now, for status lines and metrics scrapes.
//
// With a log directory, the run's totals so far are appended to the JSON
// lines and synced every WithCheckpointInterval (10 s), epochs or not: a
// process killed with SIGKILL loses at most that window, and
// tracker/runlog counts such a run up to its last checkpoint.
//
// # Outputs
//
// After WithEpochsBeforePred epochs, the projection: carbontracker's mean
// epoch × epochs, remade at every later epoch's end, from 2 epochs with a
// 95 % interval and from 3 with a least-squares trend (the console block is
// printed once, as carbontracker's). With WithLogDir: the carbontracker log
// pair
// (<prefix_><pid>.<id>_<time>_carbontracker.log and _carbontracker_output.log)
// that carbontracker's parser reads (records.ParseLog reads it too), JSON
// lines (…_carbontrack.jsonl, one record per epoch, the projections,
// checkpoints and a final one; units in field names: device_energy_kwh,
// facility_energy_kwh, emissions_g; the records are tracker/records') and
// CodeCarbon's emissions.csv; with WithPowerSeries, the power series
// (…_carbontrack_power.jsonl). Records are written by a goroutine the
// tracker owns, which hands each event to every output (a sink, one file
// each: sink_*.go): EpochEnd only wakes it, and it writes every epoch it has
// not written yet and syncs once, so however short the epochs none is ever
// dropped.
//
// # Guarantees
//
// A Tracker is safe for concurrent use. EpochStart and EpochEnd take a lock,
// record a time, signal the sampler and never block, do I/O or allocate in
// steady state (the epochs' storage grows by doubling); misuse (EpochEnd without
// EpochStart, calls after Stop) is counted in Report.Misuse, logged after
// the lock is released, and ignored. The budget function runs on a
// goroutine of the tracker's and may call Stop. A failing sensor is marked
// lost by the sampler and the others go on. Stop is idempotent, records an
// open epoch as interrupted (left out of the "Actual consumption" block, as
// carbontracker does), and waits for the goroutines it started, at most
// WithStopTimeout in all, even when a sensor read hangs.
//
// Imports point down only: tracker uses sampler, power, factor and
// tracker/records; none of them imports tracker.
package tracker

// Package sampler integrates the energy of power sources over time.
//
// A Sampler owns one goroutine that reads each source on its own cadence
// (power.Info.Cadence) and whenever asked (Request):
//
//   - energy counters and estimates over cumulative CPU times
//     (power.CadenceRare) every WithInterval, DefaultInterval 30 s, and
//     at least twice per wrap of a wrapping counter: a counter read rarely
//     is as exact as one read often;
//   - a device's buffer of power readings (power.CadenceBuffered, NVML's
//     sample buffer) every BufferedInterval, 1 s;
//   - instantaneous power readings (power.CadenceFast) every
//     WithPowerInterval, DefaultPowerInterval 100 ms, which keeps a 1 Hz
//     load within 1 %.
//
// Its goroutine sleeps on one timer, set to the next source due, and on the
// request channel, and wakes for nothing else: with only counters and
// estimates, that is one wake-up per interval plus one per Request. The
// tracker calls Request at each epoch boundary, so that boundaries are read
// when they happen instead of extrapolated (WithTickFunc reports which
// sources each sample read).
//
// Integration:
//
//   - counter sources by exact deltas; a delta that is negative, flagged as a
//     reset by the source, or implies more than the device's plausible
//     maximum power (a counter reset read as a wrap) is logged and its
//     interval skipped, never counted negative or as a spike;
//   - power sources by the trapezoidal rule over every reading, including the
//     readings the device buffered between two polls (NVML's sample buffer);
//   - estimates (a mean power since the previous read) as rectangles.
//
// A source whose reads keep failing (DefaultMaxFailures in a row, or one
// power.ErrLost) is marked lost with its error; its energy so far is kept and
// the others go on. A panicking source is a failure, not a crash.
//
//	s, err := sampler.New(d.Sources)
//	if err != nil { ... }
//	if err := s.Start(ctx); err != nil { ... }
//	train()
//	s.Stop() // idempotent; waits and takes a final reading
//	snap := s.Snapshot()
//	fmt.Println(snap.Total().KWh(), "kWh")
//
// Memory is bounded however long the run: a fixed ring of recent points per
// source. A tick over 8 GPUs and 2 RAPL packages allocates nothing. Snapshot,
// Energies and Recent copy; they are safe to call from any goroutine while
// sampling runs. SampleAt lets tests and callers drive sampling without the
// goroutine and with their own clock.
package sampler

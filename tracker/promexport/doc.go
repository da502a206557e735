// Package promexport exports a running tracker's (or a bare sampler's)
// energy, power and emissions as Prometheus metrics, and serves them over
// HTTP on a loopback address.
//
// It is a sub-package so that importing tracker does not pull in
// client_golang. Its address policy (the default address, loopback only
// unless allowed) is in promaddr, which imports no Prometheus package, so
// that a command can check its flags without linking client_golang;
// DefaultAddr and CheckAddr here forward to it.
//
//	t, err := tracker.New(epochs, tracker.WithLogDir("logs"))
//	if err != nil { ... }
//	defer t.Stop()
//	c, err := promexport.NewCollector(t, promexport.WithRunID("r42"), promexport.WithNode(host))
//	if err != nil { ... }
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	srv, err := promexport.Serve(ctx, "127.0.0.1:9464", reg)
//	if err != nil { ... }
//	defer srv.Stop() // Prometheus has the totals up to its last scrape; the logs have the final ones
//
// # Metrics
//
// Per source, labelled component (gpu, cpu, dram), device (the source's
// name, such as gpu:0) and method (counter, sampled, estimated):
//
//	carbontrack_energy_joules_total       counter  energy since start, J, before PUE
//	carbontrack_power_watts               gauge    power over the latest sampled interval, W
//	carbontrack_emissions_grams_total     counter  emissions since start, gCO2e, PUE included (tracker)
//	carbontrack_source_up{source}         gauge    1, or 0 once the source is lost
//
// For the run (tracker only; the start time for a sampler too):
//
//	carbontrack_grid_intensity_grams_per_kwh{provider,zone}  gauge  emission factor in use
//	carbontrack_pue                                          gauge  PUE applied
//	carbontrack_epoch                                        gauge  epochs started
//	carbontrack_epochs_planned                               gauge  epochs announced to tracker.New
//	carbontrack_projected_emissions_grams                    gauge  projection; absent until made
//	carbontrack_start_time_seconds                           gauge  start, Unix seconds
//
// WithRunID and WithNode add constant labels run_id and node to every
// metric, so that PromQL sums a run over its nodes:
//
//	sum by (run_id) (carbontrack_energy_joules_total{run_id="r42"}) / 3.6e6   # kWh
//	sum(carbontrack_emissions_grams_total{run_id="r42"})                      # gCO2e
//
// # Cost and safety
//
// A scrape reads no sensor: it copies the tracker's live state
// (tracker.StatusInto, sampler.SnapshotInto) into a reused value under the
// Collector's lock. Serve refuses any address that is not loopback unless
// WithAllowPublic(true): the metrics say what a machine runs and when. A
// loopback-only server also refuses (403) a request whose Host header is not
// localhost or a loopback address, so that a web page cannot read it through
// DNS rebinding.
// Server.Stop shuts down cleanly (in-flight scrapes finish, bounded by a
// timeout) and waits for the goroutine Serve started.
package promexport

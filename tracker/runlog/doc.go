// Package runlog reads the logs of training runs and adds them up: the JSON
// lines (…_carbontrack.jsonl) and carbontracker log pairs
// (…_carbontracker.log and …_carbontracker_output.log) that a
// tracker.Tracker writes, the log pairs written by the Python tool
// carbontracker, and the power series (…_carbontrack_power.jsonl) that
// "carbontrack run" writes beside them. It also draws them (Plot).
//
//	runs, err := runlog.Read("logs/node0", "logs/node1")
//	if err != nil {
//		log.Print(err) // the runs that could be read are still returned
//	}
//	for _, r := range runs {
//		fmt.Printf("%s: %.3f kWh, %.1f g (%s)\n", r.Name, r.Used.KWh, r.Used.Grams, r.Basis)
//	}
//	total := runlog.Sum(runs)
//	err = runlog.PlotFile("runs.png", runs)
//
// # Which consumption counts
//
// Each run counts one consumption, as carbontracker's parser
// (aggregate_consumption) decides: the actual consumption when the run
// finished, or was stopped early (carbontracker's "Training was
// interrupted"); else the projection for all epochs, when the log ends
// before the actual consumption (a run still going, or one that was killed);
// else the sum of the epochs logged. Run.Basis says which, and Run.Note why.
//
// Those count the epochs, PUE included. Run.RunEnergyKWh is the other
// figure: the devices' energy from the start of tracking to its end, epochs
// or not, before PUE (the final JSON record's run_energy_kwh), which is what
// the Prometheus counter carbontrack_energy_joules_total ends at; summed over
// the nodes' logs it is the offline twin of that counter's sum. Only the
// tracker's JSON lines have it (Run.HasRunEnergy).
//
// Values no log holds (a negative or infinite power or energy, a duration
// too long for a time.Duration) make the run unreadable rather than the
// total wrong.
//
// Files are grouped into runs by their base name
// (<prefix_><pid>.<id>_<time>); a run with JSON lines is read from them
// (they have each epoch's emissions and start and end), else from its log
// pair. Directories are read recursively. The functions of this package
// start no goroutines and keep no state; the values they return are the
// caller's.
package runlog

// Package runlog reads the logs of training runs and adds them up: the JSON
// lines (…_carbontrack.jsonl) and carbontracker log pairs
// (…_carbontracker.log and …_carbontracker_output.log) that a
// tracker.Tracker writes, the log pairs written by the Python tool
// carbontracker, and the power series (…_carbontrack_power.jsonl) that
// "carbontrack run", or a tracker with tracker.WithPowerSeries, writes beside
// them. Package runlog/runplot draws them; this package imports neither it
// nor gonum/plot, so that a program that only reads logs does not parse
// gonum/plot's fonts when it starts. The records are tracker/records',
// which the tracker writes with; this package does not import tracker.
//
//	runs, err := runlog.Read("logs/node0", "logs/node1")
//	if err != nil {
//		log.Print(err) // the runs that could be read are still returned
//	}
//	for _, r := range runs {
//		fmt.Printf("%s: %.3f kWh facility, %.1f g (%s)\n", r.Name, r.Used.FacilityKWh, r.Used.Grams, r.Basis)
//	}
//	total := runlog.Sum(runs)
//	err = runplot.PlotFile("runs.png", runs)
//
// # Two energies
//
// Every energy is named for what it is. Device energy (DeviceKWh) is what
// the devices drew, before PUE; facility energy (FacilityKWh) is what the
// data centre drew for them, device energy × PUE, which is what
// carbontracker reports and what the emissions (Grams, g CO2e) are
// computed from. carbontracker's consumption blocks give the facility
// energy only, so DeviceKnown says whether a Consumption has the other.
//
// # What is counted
//
// Each run counts one consumption, Run.Used; Run.Basis says which and
// Run.Note why, when it needs saying:
//
//   - BasisRun: the whole run measured, every joule from the start of
//     tracking to its end, in epochs or not (data loading, evaluation, a
//     crash before any epoch ended, the part of an interrupted epoch). It
//     is the tracker's final JSON record, or, without the JSON lines, the
//     block titled tracker.RunBlockTitle in its output log. A run that
//     failed before its first epoch ended counts what it drew, not 0.
//   - BasisCheckpoint: the whole run up to the last checkpoint of the
//     JSON lines (the tracker appends the run so far every
//     tracker.DefaultCheckpointInterval, 10 s, by default), when
//     the final record is missing: the process was killed, or is still
//     running. At most one checkpoint interval is missing.
//   - Otherwise carbontracker's parser (aggregate_consumption) decides,
//     for carbontracker's own logs and carbontrack's older ones:
//     BasisActual, the actual consumption of the completed epochs, when
//     the run finished or was stopped early ("Training was interrupted");
//     else BasisProjection, the projection for all epochs, when the log
//     ends before the actual consumption; else BasisMeasured, the sum of
//     the epochs logged; else BasisNone.
//
// Run.Whole keeps the whole run whatever is counted, and Run.InEpochs and
// Run.OutsideEpochs split it where the log does; Run.Actual and
// Run.Projection are carbontracker's figures. The device energy of
// Run.Whole is what the Prometheus counter carbontrack_energy_joules_total
// ends at; summed over the nodes' logs (Sum) it is the offline twin of that
// counter's sum. Sum adds the counted consumption of each run: several
// runs, or the nodes and ranks of one (see below). It adds nothing else.
//
// # Nodes, ranks and copies
//
// A job over several machines, with a process (and a tracker) per rank,
// leaves one run per rank, each in the directory its tracker wrote to. The
// trackers of one machine share its devices through leases
// (tracker.WithLeaseDir): each device is counted by one of them, in its
// log, and the others name it in their final record as measured elsewhere
// (Run.MeasuredElsewhere: told, never added). So the job's energy is the
// plain sum of its runs' over every node and rank, each device once. When
// the leases could not be used, the final record warns that the machine
// may be counted twice (Run.SharingNote).
//
// Every record of the JSON lines names its run: Run.RunID (the job, the
// same on every rank), Run.Node (the machine) and Run.Rank (the global
// rank, -1 when unknown). Older logs and log pairs have none of them.
//
// Each run counts once, however often its logs are found: Read reads the
// same files once when directories repeat or overlap ("logs" and
// "logs/node0") or are reached through a link, and keeps one of the copies
// of a run (the same base name, node, run id and rank, where the logs
// say) found in several directories. What it did not count is no error:
// the run kept lists it in Run.Duplicates, and Total.Duplicates counts it.
// Runs that share a base name on different nodes are different runs.
//
// Both generations of the tracker's JSON lines are read: today's names
// (device_energy_kwh, facility_energy_kwh, gpu_device_energy_kwh, ...,
// checkpoint records, a final record with in_epochs, actual and
// outside_epochs) and the older ones (energy_kwh and gpu_energy_kwh were
// device energies; a final record whose totals were the epochs').
//
// Values no log holds (a negative or infinite power or energy, a duration
// too long for a time.Duration) make the run unreadable rather than the
// total wrong.
//
// Files are grouped into runs by their directory and base name
// (<prefix_><pid>.<id>_<time>); a run with JSON lines is read from them
// (they have each epoch's emissions and start and end), else from its log
// pair. Directories are read recursively, a link given as a directory
// included (links under it are not followed). The functions of this package
// start no goroutines and keep no state; the values they return are the
// caller's.
package runlog

// Package records defines the files a tracker.Tracker writes, once, for
// the tracker that writes them and for tracker/runlog that reads them: the
// file names, the records of the JSON lines (…_carbontrack.jsonl) and of
// the power series (…_carbontrack_power.jsonl), and carbontracker's log
// pair (…_carbontracker.log and …_carbontracker_output.log: its time
// stamps, the block the tracker adds, and ParseLog, which reads a pair
// with the rules of carbontracker's own parser).
//
// The JSON lines hold one record per line, its kind in "type": an Epoch
// when an epoch ends, a Projection each time the projection is remade, a
// Checkpoint (the run so far) every checkpoint interval, and a Final
// record at Stop. Every record starts with Who, the run, machine and rank
// it belongs to, where they are known. Units are in the field names, and
// the two energies are named apart: device_* is what the devices drew
// (before PUE), facility_* includes PUE; per-kind energies are device
// energies. No field is called plain "energy".
//
// The record types are generic in how a device energy is held (Num):
// float64 as the tracker writes it, *float64 as runlog reads it, nil where
// a line lacks it. Older logs named device energies otherwise (energy_kwh,
// gpu_energy_kwh, ...); reading those is runlog's, beside these types.
//
// This package imports neither tracker nor runlog.
package records

// File name suffixes, after the base name <prefix_><pid>.<id>_<time> that
// a run's files share.
const (
	// SuffixJSONLines ends the tracker's JSON lines.
	SuffixJSONLines = "_carbontrack.jsonl"
	// SuffixPower ends the power series.
	SuffixPower = "_carbontrack_power.jsonl"
	// SuffixStdLog ends carbontracker's standard log.
	SuffixStdLog = "_carbontracker.log"
	// SuffixOutputLog ends carbontracker's output log.
	SuffixOutputLog = "_carbontracker_output.log"
)

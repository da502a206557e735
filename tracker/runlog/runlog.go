package runlog

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// File name suffixes, after the base name <prefix_><pid>.<id>_<time>
// (records', which the tracker names its files with).
const (
	// SuffixJSONLines ends the tracker's JSON lines.
	SuffixJSONLines = records.SuffixJSONLines
	// SuffixPower ends the power series that a tracker writes with
	// tracker.WithPowerSeries, and "carbontrack run".
	SuffixPower = records.SuffixPower
	// SuffixStdLog ends carbontracker's standard log.
	SuffixStdLog = records.SuffixStdLog
	// SuffixOutputLog ends carbontracker's output log.
	SuffixOutputLog = records.SuffixOutputLog
)

// Format says which files a run was read from.
type Format string

const (
	// FormatCarbontrack is the tracker's JSON lines.
	FormatCarbontrack Format = "carbontrack"
	// FormatCarbontracker is a carbontracker log pair, written by
	// carbontracker or by the tracker.
	FormatCarbontracker Format = "carbontracker"
)

// Basis says which consumption of a run is counted.
type Basis string

const (
	// BasisRun is the whole run measured, from the start of tracking to its
	// end, in epochs or not: the tracker's final JSON record, or the run
	// block of its output log (tracker.RunBlockTitle).
	BasisRun Basis = "run"
	// BasisCheckpoint is the whole run measured up to the tracker's last
	// checkpoint in its JSON lines: the run's end was not logged (the
	// process was killed, or is still running).
	BasisCheckpoint Basis = "checkpoint"
	// BasisActual is carbontracker's actual consumption (the completed
	// epochs): the run finished, or stopped early, and its log does not
	// have the whole run (carbontracker's own logs, older carbontrack logs).
	BasisActual Basis = "actual"
	// BasisProjection is carbontracker's projection for all epochs: the log
	// ends before the actual consumption, and has no checkpoint.
	BasisProjection Basis = "projection"
	// BasisMeasured is the sum of the epochs logged: there is neither a
	// measure of the whole run, nor an actual consumption, nor a
	// projection.
	BasisMeasured Basis = "measured"
	// BasisNone means nothing was logged that can be counted.
	BasisNone Basis = "none"
)

// Consumption is an amount of work: a number of epochs, their time, their
// energy and their emissions. Two energies are named apart: the device
// energy, what the devices drew, before PUE; and the facility energy, what
// the data centre drew for them, device energy × PUE, which is what
// carbontracker reports and what emissions are computed from. The zero
// value is nothing (with the device energy unknown).
type Consumption struct {
	// Epochs is the number of epochs: the completed ones for a measured
	// consumption, the epochs projected for a projection.
	Epochs int
	// Duration is the wall time covered.
	Duration time.Duration
	// FacilityKWh is the facility energy in kWh, PUE included.
	FacilityKWh float64
	// DeviceKWh is the device energy in kWh, before PUE, summed over the
	// devices, when DeviceKnown. carbontracker's consumption blocks (and
	// the tracker's copies of them in its output log) give the facility
	// energy only: DeviceKnown is false for what is read from them.
	DeviceKWh   float64
	DeviceKnown bool
	// Grams is the emissions in grams CO2e (PUE included).
	Grams float64
}

// Epoch is one epoch of a run.
type Epoch struct {
	// N is the epoch's number, from 1.
	N int
	// Start and End delimit the epoch; zero when the log does not say
	// (carbontracker's pair has the time each epoch ended, to the second).
	Start, End time.Time
	// Offset is when the epoch started, from the start of the run.
	Offset time.Duration
	// Duration is the epoch's length.
	Duration time.Duration
	// DeviceKWh is the epoch's device energy in kWh (before PUE);
	// FacilityKWh its facility energy (DeviceKWh × PUE). For a
	// carbontracker pair, DeviceKWh is the logged average powers × the
	// epoch's duration.
	DeviceKWh, FacilityKWh float64
	// Grams is the epoch's emissions in grams CO2e. For a carbontracker pair,
	// which logs no emissions per epoch, it is FacilityKWh × the run's mean
	// intensity (grams over facility kWh of its actual consumption, else of
	// the whole run, else of the projection), 0 if unknown.
	Grams float64
	// Watts is the devices' average power (before PUE) by component: "gpu",
	// "cpu", "dram".
	Watts map[string]float64
	// Interrupted is true for an epoch cut short by the end of the run.
	Interrupted bool
}

// PowerPoint is the devices' average power (before PUE) by component over
// the Interval that ends at Time.
//
// Min and Max are the lowest and highest power by component of the
// readings the point merges (Downsample, or a series written so); nil when
// the point is one reading, whose Watts are both.
type PowerPoint struct {
	Time     time.Time
	Interval time.Duration
	Watts    map[string]float64
	Min, Max map[string]float64
}

// Run is one training run: one tracker, or one carbontracker instance.
type Run struct {
	// Name is the base name of the run's files; Dir is their directory.
	Name, Dir string
	// Files are the files read, sorted.
	Files []string
	// Format is what the run was read from.
	Format Format
	// Start is when the run started (zero if unknown).
	Start time.Time
	// Epochs is the number of epochs the run announced (0 if unknown);
	// Completed the number completed (an interrupted epoch is not).
	Epochs, Completed int
	// Interrupted is true when the run stopped before all its epochs.
	Interrupted bool
	// Finished is true when the end of the run was logged: the tracker's
	// final record, or the actual consumption or the whole run's block of
	// the output log.
	Finished bool
	// Basis says which consumption Used is; Note says why, when it is not
	// the whole run of a run that completed its epochs, or the actual
	// consumption of a carbontracker run that did.
	Basis Basis
	Note  string
	// Used is the consumption counted (see Basis): the run's headline.
	Used Consumption
	// Whole is the whole run measured, from the start of tracking to its
	// end (or to CheckpointAt), every joule in epochs or not: its
	// FacilityKWh includes PUE; its DeviceKWh, before PUE, is what the
	// Prometheus counter carbontrack_energy_joules_total ends at, summed
	// over the devices (known from the JSON lines, not from the output
	// log's block). Its Epochs is the epochs completed. Nil when the logs
	// do not have it: carbontracker's own logs, carbontrack's older ones.
	Whole *Consumption
	// CheckpointAt is when the checkpoint that Whole was read from was
	// taken, for a run whose end was not logged (BasisCheckpoint); zero
	// otherwise.
	CheckpointAt time.Time
	// InEpochs and OutsideEpochs split Whole: the epochs (an interrupted
	// epoch's part included), and the time before, between and after them
	// (data loading, evaluation, a crash before any epoch ended). Nil when
	// the log does not split it (a checkpoint does not).
	InEpochs, OutsideEpochs *Consumption
	// Actual is carbontracker's actual consumption, the completed epochs
	// (nil if not logged); Projection the latest projection for all epochs
	// (nil if none); Measured the sum of the epochs logged.
	Actual, Projection *Consumption
	Measured           Consumption
	// PUE is the power usage effectiveness the run applied.
	PUE float64
	// Components are the kinds of device measured: "gpu", "cpu", "dram".
	Components []string
	// EpochRecords are the epochs logged, in order.
	EpochRecords []Epoch
	// Power is the power series: the one "carbontrack run" wrote, else the
	// average power between the checkpoints of the tracker's JSON lines
	// (and from the last one to the final record); nil without either.
	Power []PowerPoint

	// RunID, Node and Rank say whose run it is: the job's id (the same on
	// every node and rank), the machine's name and the process's global
	// rank, from the first record of the JSON lines that has each
	// (tracker.Identity); "", "" and -1 when unknown (carbontracker's logs,
	// the tracker's log pairs and older JSON lines).
	RunID, Node string
	Rank        int
	// MeasuredElsewhere are the devices of the run's machine that another
	// tracker on it counted (through the device leases, or as another local
	// rank's GPU), from the final record: they are not in this run's
	// figures, but in that tracker's log. They are told, never added.
	MeasuredElsewhere []Elsewhere
	// SharingNote is the final record's warning that the machine's devices
	// may have been counted by several trackers (the leases could not be
	// used); "" when there is none.
	SharingNote string
	// Duplicates are the other copies of this run's logs that Read found
	// and did not count: the same files reached again, or a copy of them
	// (see Read).
	Duplicates []Duplicate

	// The rest is known from carbontrack's JSON lines only (zero values
	// otherwise; older logs lack some).

	// Label names the run for people (the command line of "carbontrack
	// run"); Scope is "machine", or "process" for a process tree's share
	// of the devices (tracker.ScopeMachine, tracker.ScopeProcess).
	Label, Scope string
	// Devices are the devices measured, in the order the epochs list them.
	Devices []Device
	// Intensity is the run's mean intensity in gCO2e/kWh (its grams over
	// its facility energy); Zone, ZoneFrom, IntensityProvider,
	// IntensitySource, IntensityYear and IntensityFallback say where it
	// came from (factor.Intensity, factor.Location), from the final record.
	Intensity                                          float64
	Zone, ZoneFrom, IntensityProvider, IntensitySource string
	IntensityFallback                                  string
	IntensityYear                                      int
	// ProjectionLowG and ProjectionHighG bound the latest projection's
	// emissions (a 95 % interval; equal to it when the epochs known give
	// no spread); 0 without a projection.
	ProjectionLowG, ProjectionHighG float64
	// Work is the epochs' work in WorkUnit ("tokens"), from the final
	// record; 0 when none was reported.
	Work     float64
	WorkUnit string
	// EmissionsLowG and EmissionsHighG bound the whole run's emissions by
	// the uncertainty of its estimated devices, and EmissionsUncertainty
	// names them ("CPU estimated ±34 %"), from the final record; all zero
	// when no device was estimated or the log predates them.
	EmissionsLowG, EmissionsHighG float64
	EmissionsUncertainty          string
}

// Device is a device a run measured, and how.
type Device struct {
	// Name is the tracker's name for it ("gpu:0", "cpu:estimate"), Kind
	// its component ("gpu", "cpu", "dram"), Model what it is ("NVIDIA
	// H100 80GB HBM3").
	Name, Kind, Model string
	// Method is how its energy was read: "counter", "sampled",
	// "estimated" (power.Method).
	Method string
	// Uncertainty is an estimated device's relative uncertainty (half the
	// measurements within ± it); 0 for measured devices, unquantified
	// estimates and older logs.
	Uncertainty float64
}

// Elsewhere is a device of a run's machine that another tracker counted.
type Elsewhere struct {
	// Name and Kind are the device's ("gpu:0", "gpu").
	Name, Kind string
	// By says who counted it, for people: "pid 4242 (run r7, node n0,
	// rank 1)", or "local rank 1" for a GPU left to another local rank.
	By string
}

// Duplicate is a copy of a run's logs that Read found besides the one it
// counted.
type Duplicate struct {
	// Dir is the copy's directory, as reached; Files its files.
	Dir   string
	Files []string
	// SameFiles is true when they are the counted run's own files reached
	// again (a directory given twice, a directory and one under it, a
	// link), false for a copy of them.
	SameFiles bool
}

// Total is the sum of runs: several runs, or the nodes of one.
type Total struct {
	// Runs is the number of runs; WholeRun, Checkpointed, Actual,
	// Projected and Measured count them by Basis (the rest counted
	// nothing).
	Runs, WholeRun, Checkpointed, Actual, Projected, Measured int
	// Completed is the number of epochs completed, over all runs.
	Completed int
	// Used sums the runs' Used: their time, facility energy (PUE included)
	// and emissions, and in Epochs their epochs counted. Used.DeviceKWh
	// sums the device energy (before PUE) of the DeviceRuns runs whose
	// device energy is known; Used.DeviceKnown is true when that is every
	// run (and there is one).
	Used       Consumption
	DeviceRuns int
	// Duplicates is the number of copies of the runs' logs that were found
	// again and not counted (Run.Duplicates).
	Duplicates int
}

// Sum adds runs up: the consumption each counts (Used), nothing else. Give
// it the runs of Read, which counts each run once however often its logs
// were found; with the tracker's device leases each device of a machine is
// in one run's log, so the sum over the logs of every node and rank of a
// job is the job's. Devices measured elsewhere are never added.
func Sum(runs []Run) Total {
	var t Total
	for _, r := range runs {
		t.Runs++
		t.Duplicates += len(r.Duplicates)
		switch r.Basis {
		case BasisRun:
			t.WholeRun++
		case BasisCheckpoint:
			t.Checkpointed++
		case BasisActual:
			t.Actual++
		case BasisProjection:
			t.Projected++
		case BasisMeasured:
			t.Measured++
		}
		t.Completed += r.Completed
		t.Used.Epochs += r.Used.Epochs
		t.Used.Duration = addDuration(t.Used.Duration, r.Used.Duration)
		t.Used.FacilityKWh += r.Used.FacilityKWh
		t.Used.Grams += r.Used.Grams
		if r.Used.DeviceKnown {
			t.DeviceRuns++
			t.Used.DeviceKWh += r.Used.DeviceKWh
		}
	}
	t.Used.DeviceKnown = t.Runs > 0 && t.DeviceRuns == t.Runs
	return t
}

// addDuration adds two non-negative durations, saturating at the longest
// time.Duration instead of wrapping to a negative one.
func addDuration(a, b time.Duration) time.Duration {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// ErrNoLogs means a directory holds no log of a run.
var ErrNoLogs = errors.New("runlog: no carbontrack or carbontracker logs")

// group is the files of one base name.
type group struct {
	dir, name                 string
	jsonl, power, std, output string
}

// files returns the group's files, sorted.
func (g *group) files() []string {
	var out []string
	for _, p := range []string{g.jsonl, g.power, g.std, g.output} {
		if p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// main is the file the run is read from: the JSON lines, else the
// standard log, else the output log.
func (g *group) main() string {
	for _, p := range []string{g.jsonl, g.std, g.output} {
		if p != "" {
			return p
		}
	}
	return ""
}

// Read reads the runs logged in dirs and under them, sorted by start time
// then directory and name. It returns the runs it could read and, joined,
// the errors of those it could not; a directory without any log is
// ErrNoLogs. A dir may also be a log file, or a link to a directory
// (links under a directory are not followed).
//
// Each run is returned once, however often its logs are found: when dirs
// repeat or overlap ("logs" and "logs/node0"), through a link, or as a copy
// in another directory. The same files reached again are read once; two
// runs are copies of one when they have the same base name
// (<prefix_><pid>.<id>_<time>) and the same node, run id and rank where
// both logs say (runs of the same base name on different nodes are
// different runs). Of copies, the most complete is kept (its end logged,
// JSON lines, the longest run, its node or rank known), else the first
// found. The others are not
// errors: they are listed in the kept run's Duplicates, and counted in
// Total.Duplicates.
func Read(dirs ...string) ([]Run, error) {
	var (
		runs []Run
		errs []error
		// real are the real paths of each run's files; byFile the index
		// in runs of the run read from a real path, -1 if unreadable.
		real   [][]string
		byFile = map[string]int{}
	)
	for _, dir := range dirs {
		groups, err := scan(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(groups) == 0 {
			errs = append(errs, fmt.Errorf("%w in %s", ErrNoLogs, dir))
			continue
		}
		for _, g := range groups {
			key := realPath(g.main())
			if i, ok := byFile[key]; ok {
				if i >= 0 {
					runs[i].Duplicates = append(runs[i].Duplicates, Duplicate{Dir: g.dir, Files: g.files(), SameFiles: true})
				}
				continue
			}
			byFile[key] = -1
			r, err := readGroup(g)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			byFile[key] = len(runs)
			runs = append(runs, r)
			var rp []string
			for _, f := range r.Files {
				rp = append(rp, realPath(f))
			}
			real = append(real, rp)
		}
	}
	runs = dedupe(runs, real)
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Dir != b.Dir {
			return a.Dir < b.Dir
		}
		return a.Name < b.Name
	})
	return runs, errors.Join(errs...)
}

// realPath is path absolute, links resolved (as far as they can be).
func realPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// sameRun says whether a and b are logs of one run: the same base name,
// and the same node, run id and rank where both say.
func sameRun(a, b *Run) bool {
	same := func(x, y string) bool { return x == "" || y == "" || x == y }
	return a.Name == b.Name && same(a.Node, b.Node) && same(a.RunID, b.RunID) &&
		(a.Rank < 0 || b.Rank < 0 || a.Rank == b.Rank)
}

// moreComplete says whether a has more of the run than b: its end logged,
// read from JSON lines, the whole run measured, a longer time counted, more
// epochs logged, whose run it is.
func moreComplete(a, b *Run) bool {
	switch {
	case a.Finished != b.Finished:
		return a.Finished
	case a.Format != b.Format:
		return a.Format == FormatCarbontrack
	case (a.Whole != nil) != (b.Whole != nil):
		return a.Whole != nil
	case a.Used.Duration != b.Used.Duration:
		return a.Used.Duration > b.Used.Duration
	case len(a.EpochRecords) != len(b.EpochRecords):
		return len(a.EpochRecords) > len(b.EpochRecords)
	}
	return (a.Node != "" || a.Rank >= 0) && b.Node == "" && b.Rank < 0
}

// dedupe keeps one run of each set of copies (sameRun), the most complete,
// and lists the others in its Duplicates; real are the real paths of each
// run's files. The runs kept stay in their order.
func dedupe(runs []Run, real [][]string) []Run {
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return moreComplete(&runs[order[i]], &runs[order[j]]) })
	dropped := make([]bool, len(runs))
	kept := map[string][]int{} // by base name
	for _, i := range order {
		k := -1
		for _, j := range kept[runs[i].Name] {
			if sameRun(&runs[j], &runs[i]) {
				k = j
				break
			}
		}
		if k < 0 {
			kept[runs[i].Name] = append(kept[runs[i].Name], i)
			continue
		}
		dropped[i] = true
		shared := false
		for _, p := range real[i] {
			if slices.Contains(real[k], p) {
				shared = true
			}
		}
		d := Duplicate{Dir: runs[i].Dir, Files: runs[i].Files, SameFiles: shared}
		runs[k].Duplicates = append(append(runs[k].Duplicates, d), runs[i].Duplicates...)
	}
	out := runs[:0]
	for i := range runs {
		if !dropped[i] {
			out = append(out, runs[i])
		}
	}
	return out
}

// scan groups the log files under dir by directory and base name.
func scan(dir string) ([]*group, error) {
	byKey := map[string]*group{}
	var keys []string
	root := dir
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// A link to a directory: walk its target (WalkDir does not).
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			root = dir + string(os.PathSeparator)
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		var base string
		var slot func(*group) *string
		switch {
		case strings.HasSuffix(name, SuffixPower):
			base, slot = strings.TrimSuffix(name, SuffixPower), func(g *group) *string { return &g.power }
		case strings.HasSuffix(name, SuffixJSONLines):
			base, slot = strings.TrimSuffix(name, SuffixJSONLines), func(g *group) *string { return &g.jsonl }
		case strings.HasSuffix(name, SuffixOutputLog):
			base, slot = strings.TrimSuffix(name, SuffixOutputLog), func(g *group) *string { return &g.output }
		case strings.HasSuffix(name, SuffixStdLog):
			base, slot = strings.TrimSuffix(name, SuffixStdLog), func(g *group) *string { return &g.std }
		default:
			return nil
		}
		parent := filepath.Dir(path)
		key := parent + string(os.PathSeparator) + base
		g := byKey[key]
		if g == nil {
			g = &group{dir: parent, name: base}
			byKey[key] = g
			keys = append(keys, key)
		}
		*slot(g) = path
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	}
	sort.Strings(keys)
	groups := make([]*group, 0, len(keys))
	for _, k := range keys {
		g := byKey[k]
		// A power series alone is not a run.
		if g.jsonl == "" && g.std == "" && g.output == "" {
			continue
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func readGroup(g *group) (Run, error) {
	fresh := Run{Name: g.name, Dir: g.dir, Files: g.files(), Rank: -1}
	r := fresh
	var err error
	if g.jsonl != "" {
		err = readJSONLines(g.jsonl, &r)
		if err != nil && (g.std != "" || g.output != "") {
			// Empty, unreadable or without a record: its carbontracker
			// pair, which the tracker writes beside it, has the run.
			r = fresh
			if perr := readPair(g.std, g.output, &r); perr == nil {
				r.Note = joinNote(r.Note, fmt.Sprintf("the JSON lines were not used (%s); the carbontracker log pair was read", plain(err)))
				err = nil
			} else {
				err = errors.Join(err, perr)
			}
		}
	} else {
		err = readPair(g.std, g.output, &r)
	}
	if err != nil {
		return Run{}, err
	}
	if g.power != "" {
		// A power series that cannot be read is left out, not the run.
		if pts, err := ReadPower(g.power); err != nil {
			r.Note = joinNote(r.Note, fmt.Sprintf("the power series was not read (%s)", plain(err)))
		} else {
			r.Power = pts
		}
	}
	if r.Start.IsZero() && len(r.Power) > 0 {
		r.Start = r.Power[0].Time.Add(-r.Power[0].Interval)
	}
	if r.Start.IsZero() && g.jsonl != "" && g.std != "" {
		// JSON lines without an epoch or a checkpoint (a run shorter than
		// the checkpoint interval): the pair's first line, to the second.
		r.Start = firstStamp(g.std)
		offsets(&r)
	}
	summarize(&r)
	return r, nil
}

// summarize sums the epochs logged into Measured and chooses the
// consumption counted.
func summarize(r *Run) {
	r.Measured = Consumption{DeviceKnown: true}
	for i := range r.EpochRecords {
		e := &r.EpochRecords[i]
		r.Measured.Epochs++
		r.Measured.Duration = addDuration(r.Measured.Duration, e.Duration)
		r.Measured.DeviceKWh += e.DeviceKWh
		r.Measured.FacilityKWh += e.FacilityKWh
		r.Measured.Grams += e.Grams
	}
	choose(r)
}

// choose sets Basis, Used and Note: the whole run measured when the logs
// have it (to its end, else to its last checkpoint); else carbontracker's
// rule: the actual consumption if the run finished or stopped early, else
// the projection, else what was measured. A note the reader left (about
// the log itself) follows the basis's.
func choose(r *Run) {
	var note string
	switch {
	case r.Whole != nil && r.CheckpointAt.IsZero():
		r.Basis, r.Used = BasisRun, *r.Whole
		switch {
		case r.Completed == 0:
			note = "no epoch completed (the run failed, or was stopped before its first epoch ended); the whole run measured is counted"
		case r.Interrupted:
			note = fmt.Sprintf("stopped after %d of %s epochs; the whole run measured is counted, the interrupted epoch included", r.Completed, epochsOrUnknown(r.Epochs))
		case r.Projection != nil && r.Projection.Epochs > monitored(r):
			note = fmt.Sprintf("monitored %d of %d epochs; the whole run measured is counted", monitored(r), r.Projection.Epochs)
		}
	case r.Whole != nil:
		r.Basis, r.Used = BasisCheckpoint, *r.Whole
		note = fmt.Sprintf("killed or still running: counted up to its last checkpoint at %s, %d of %s epochs completed",
			r.CheckpointAt.Format("2006-01-02 15:04:05 MST"), r.Completed, epochsOrUnknown(r.Epochs))
		if r.Projection != nil {
			note += fmt.Sprintf(" (the projection for %d epochs is %s g)", r.Projection.Epochs, strconv.FormatFloat(r.Projection.Grams, 'g', 4, 64))
		}
	case r.Actual != nil && (r.Interrupted || r.Projection == nil || r.Actual.Epochs == r.Projection.Epochs || r.Projection.Epochs == 0):
		r.Basis, r.Used = BasisActual, *r.Actual
		if r.Interrupted {
			note = fmt.Sprintf("stopped after %d of %s epochs; the actual consumption is counted", r.Completed, epochsOrUnknown(r.Epochs))
		}
	case r.Projection != nil:
		r.Basis, r.Used = BasisProjection, *r.Projection
		if r.Actual != nil {
			note = fmt.Sprintf("monitored %d of %d epochs; the projection for %d epochs is counted", r.Actual.Epochs, r.Projection.Epochs, r.Projection.Epochs)
		} else {
			note = fmt.Sprintf("the log ends after %d of %d epochs without the actual consumption (the run is still going, or was killed); the projection for %d epochs is counted",
				r.Completed, r.Projection.Epochs, r.Projection.Epochs)
		}
	case r.Actual != nil:
		r.Basis, r.Used = BasisActual, *r.Actual
	case r.Measured.Epochs > 0:
		r.Basis, r.Used = BasisMeasured, r.Measured
		note = fmt.Sprintf("no projection or actual consumption logged; the %d epoch(s) logged are counted", r.Measured.Epochs)
	default:
		r.Basis = BasisNone
		note = "nothing logged that can be counted (no epoch ended)"
	}
	switch {
	case note == "":
	case r.Note == "":
		r.Note = note
	default:
		r.Note = note + "; " + r.Note
	}
}

// firstStamp returns the time stamp of the first line of a carbontracker
// log, zero if it has none.
func firstStamp(path string) time.Time {
	data, err := readFile(path)
	if err != nil {
		return time.Time{}
	}
	line, _, _ := strings.Cut(string(data[:min(len(data), 4096)]), "\n")
	if m := patterns().stamp.FindStringSubmatch(line); m != nil {
		// Python's logging writes local time.
		if t, err := time.ParseInLocation(records.LogTimeLayout, m[1], time.Local); err == nil {
			return t
		}
	}
	return time.Time{}
}

// joinNote appends b to the note a.
func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// plain is err's text without the package's prefix.
func plain(err error) string {
	return strings.TrimPrefix(err.Error(), "runlog: ")
}

// monitored is the number of epochs monitored: those completed, or those
// of the actual consumption when it says more (a pair whose standard log
// lost lines).
func monitored(r *Run) int {
	if r.Actual != nil {
		return max(r.Completed, r.Actual.Epochs)
	}
	return r.Completed
}

func epochsOrUnknown(n int) string {
	if n <= 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// offsets fills the epochs' Offset from Start (or, without times, from the
// sum of the previous durations).
func offsets(r *Run) {
	var sum time.Duration
	for i := range r.EpochRecords {
		e := &r.EpochRecords[i]
		switch {
		case !e.Start.IsZero() && !r.Start.IsZero():
			e.Offset = e.Start.Sub(r.Start)
		default:
			e.Offset = sum
		}
		sum = e.Offset + e.Duration
	}
}

// SortComponents returns the component names of a set in the order
// carbontracker gives them, the order of Run.Components: gpu, cpu, dram,
// then the others by name.
func SortComponents(kinds map[string]bool) []string {
	var out []string
	for _, k := range []string{"gpu", "cpu", "dram"} {
		if kinds[k] {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range kinds {
		if k != "gpu" && k != "cpu" && k != "dram" {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

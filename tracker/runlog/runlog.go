package runlog

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File name suffixes, after the base name <prefix_><pid>.<id>_<time>.
const (
	// SuffixJSONLines ends the tracker's JSON lines.
	SuffixJSONLines = "_carbontrack.jsonl"
	// SuffixPower ends the power series that "carbontrack run" writes.
	SuffixPower = "_carbontrack_power.jsonl"
	// SuffixStdLog ends carbontracker's standard log.
	SuffixStdLog = "_carbontracker.log"
	// SuffixOutputLog ends carbontracker's output log.
	SuffixOutputLog = "_carbontracker_output.log"
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
	// BasisActual is the actual consumption: the run finished, or stopped
	// early.
	BasisActual Basis = "actual"
	// BasisProjection is the projection for all epochs: the log ends before
	// the actual consumption.
	BasisProjection Basis = "projection"
	// BasisMeasured is the sum of the epochs logged: there is neither an
	// actual consumption nor a projection.
	BasisMeasured Basis = "measured"
	// BasisNone means nothing was logged that can be counted.
	BasisNone Basis = "none"
)

// Consumption is an amount of work: a number of epochs, their time, their
// energy in kWh (facility energy: PUE included, as carbontracker reports it)
// and their emissions in grams CO2e. The zero value is nothing.
type Consumption struct {
	Epochs   int
	Duration time.Duration
	KWh      float64
	Grams    float64
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
	// KWh is the epoch's facility energy (PUE included).
	KWh float64
	// Grams is the epoch's emissions in grams CO2e. For a carbontracker pair,
	// which logs no emissions per epoch, it is KWh × the run's mean
	// intensity (its counted grams over its counted kWh), 0 if unknown.
	Grams float64
	// Watts is the devices' average power (before PUE) by component: "gpu",
	// "cpu", "dram".
	Watts map[string]float64
	// Interrupted is true for an epoch cut short by the end of the run.
	Interrupted bool
}

// PowerPoint is the devices' average power (before PUE) by component over
// the Interval that ends at Time.
type PowerPoint struct {
	Time     time.Time
	Interval time.Duration
	Watts    map[string]float64
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
	// Completed the number logged to their end.
	Epochs, Completed int
	// Interrupted is true when the run stopped before all its epochs.
	Interrupted bool
	// Finished is true when the actual consumption was logged.
	Finished bool
	// Basis says which consumption Used is; Note says why, when it is not
	// the actual consumption of a complete run.
	Basis Basis
	Note  string
	// Used is the consumption counted (see Basis).
	Used Consumption
	// Actual and Projection are the logged ones, nil if absent; Measured is
	// the sum of the epochs logged.
	Actual, Projection *Consumption
	Measured           Consumption
	// RunEnergyKWh is the devices' energy from the start of tracking to its
	// end, in epochs or not, before PUE, in kWh: the final record's
	// run_energy_kwh, what the Prometheus counter
	// carbontrack_energy_joules_total counts, summed over the devices.
	// HasRunEnergy is false when the log does not say (a carbontracker
	// pair, or JSON lines without their final record: a killed run).
	RunEnergyKWh float64
	HasRunEnergy bool
	// PUE is the power usage effectiveness the run applied.
	PUE float64
	// Components are the kinds of device measured: "gpu", "cpu", "dram".
	Components []string
	// EpochRecords are the epochs logged, in order.
	EpochRecords []Epoch
	// Power is the power series, if "carbontrack run" wrote one.
	Power []PowerPoint
}

// Total is the sum of runs.
type Total struct {
	// Runs is the number of runs; Actual, Projected and Measured count them
	// by Basis.
	Runs, Actual, Projected, Measured int
	// Completed is the number of epochs completed, over all runs.
	Completed int
	// Used sums the runs' Used; its Epochs sums their epochs counted.
	Used Consumption
	// RunEnergyKWh sums the RunEnergyKWh of the RunEnergyRuns runs that
	// have one (HasRunEnergy).
	RunEnergyKWh  float64
	RunEnergyRuns int
}

// Sum adds runs up.
func Sum(runs []Run) Total {
	var t Total
	for _, r := range runs {
		t.Runs++
		switch r.Basis {
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
		t.Used.KWh += r.Used.KWh
		t.Used.Grams += r.Used.Grams
		if r.HasRunEnergy {
			t.RunEnergyRuns++
			t.RunEnergyKWh += r.RunEnergyKWh
		}
	}
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

// Read reads the runs logged in dirs and under them, sorted by start time
// then name. It returns the runs it could read and, joined, the errors of
// those it could not; a directory without any log is ErrNoLogs.
func Read(dirs ...string) ([]Run, error) {
	var (
		runs []Run
		errs []error
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
			r, err := readGroup(g)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			runs = append(runs, r)
		}
	}
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

// scan groups the log files under dir by directory and base name.
func scan(dir string) ([]*group, error) {
	byKey := map[string]*group{}
	var keys []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
	r := Run{Name: g.name, Dir: g.dir}
	for _, p := range []string{g.jsonl, g.power, g.std, g.output} {
		if p != "" {
			r.Files = append(r.Files, p)
		}
	}
	sort.Strings(r.Files)
	var err error
	if g.jsonl != "" {
		err = readJSONLines(g.jsonl, &r)
	} else {
		err = readPair(g.std, g.output, &r)
	}
	if err != nil {
		return Run{}, err
	}
	if g.power != "" {
		pts, err := ReadPower(g.power)
		if err != nil {
			return Run{}, err
		}
		r.Power = pts
	}
	if r.Start.IsZero() && len(r.Power) > 0 {
		r.Start = r.Power[0].Time.Add(-r.Power[0].Interval)
	}
	summarize(&r)
	return r, nil
}

// summarize sums the epochs logged into Measured and chooses the
// consumption counted.
func summarize(r *Run) {
	for i := range r.EpochRecords {
		e := &r.EpochRecords[i]
		r.Measured.Epochs++
		r.Measured.Duration = addDuration(r.Measured.Duration, e.Duration)
		r.Measured.KWh += e.KWh
		r.Measured.Grams += e.Grams
	}
	choose(r)
}

// choose sets Basis, Used and Note by carbontracker's rule: the actual
// consumption if the run finished or stopped early, else the projection,
// else what was measured.
func choose(r *Run) {
	switch {
	case r.Actual != nil && (r.Interrupted || r.Projection == nil || r.Actual.Epochs == r.Projection.Epochs || r.Projection.Epochs == 0):
		r.Basis, r.Used = BasisActual, *r.Actual
		if r.Interrupted {
			r.Note = fmt.Sprintf("stopped after %d of %s epochs; the actual consumption is counted", r.Completed, epochsOrUnknown(r.Epochs))
		}
	case r.Projection != nil:
		r.Basis, r.Used = BasisProjection, *r.Projection
		if r.Actual != nil {
			r.Note = fmt.Sprintf("monitored %d of %d epochs; the projection for %d epochs is counted", r.Actual.Epochs, r.Projection.Epochs, r.Projection.Epochs)
		} else {
			r.Note = fmt.Sprintf("the log ends after %d of %d epochs without the actual consumption (the run is still going, or was killed); the projection for %d epochs is counted",
				r.Completed, r.Projection.Epochs, r.Projection.Epochs)
		}
	case r.Actual != nil:
		r.Basis, r.Used = BasisActual, *r.Actual
	case r.Measured.Epochs > 0:
		r.Basis, r.Used = BasisMeasured, r.Measured
		r.Note = fmt.Sprintf("no projection or actual consumption logged; the %d epoch(s) logged are counted", r.Measured.Epochs)
	default:
		r.Basis = BasisNone
		r.Note = "nothing logged that can be counted (no epoch ended)"
	}
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

// kindOrder sorts component names as carbontracker does: gpu, cpu, dram,
// then the others by name.
func kindOrder(kinds map[string]bool) []string {
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

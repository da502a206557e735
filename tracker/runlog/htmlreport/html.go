package htmlreport

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// DefaultTitle is the page's title when Options.Title is empty.
const DefaultTitle = "carbontrack report"

// ErrNoRuns means there is no run to report.
var ErrNoRuns = errors.New("htmlreport: no run to report")

// Options are what the page says besides the runs. The zero value is a
// page titled DefaultTitle, without a budget, generated now.
type Options struct {
	// Title is the page's title and first heading; "" is DefaultTitle.
	Title string
	// BudgetGrams is an emissions budget in grams CO2e, drawn as a line
	// on the cumulative emissions charts: the total's, and the run's when
	// there is one run. 0 draws none (the logs do not record the budget
	// a tracker was given); it must not be negative.
	BudgetGrams float64
	// GeneratedAt is the time the page says it was generated at; the zero
	// value is time.Now(). Set it for a reproducible page.
	GeneratedAt time.Time
}

//go:embed report.html.tmpl
var pageTemplate string

// page parses the page's template on the first Write, not when the package
// is loaded (a program that links it may never write a report).
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(pageTemplate))
})

// Write writes the HTML page reporting runs, and their total when there
// are several, to w. The page is built in memory first: when Write fails
// before writing, nothing was written to w. It returns ErrNoRuns without
// runs.
func Write(w io.Writer, runs []runlog.Run, opts Options) error {
	b, err := render(runs, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	return nil
}

// WriteFile writes the page (see Write) into path, whole or not at all: it
// writes a temporary file in path's directory, syncs it and renames it to
// path, and removes it if anything fails, leaving what was at path before.
func WriteFile(path string, runs []runlog.Run, opts Options) error {
	b, err := render(runs, opts)
	if err != nil {
		return err
	}
	// The temporary file is made as os.Create would make path (0666 less
	// the umask): a report is as readable as any file the user writes.
	var f *os.File
	var tmp string
	for i := 0; ; i++ {
		tmp = filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.%d.tmp", filepath.Base(path), os.Getpid(), i))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 100 {
			return fmt.Errorf("htmlreport: %s: %w", path, unwrapPath(err))
		}
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("htmlreport: %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the temporary file's name from err: the user knows the
// path asked for, not it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// render builds the page.
func render(runs []runlog.Run, opts Options) ([]byte, error) {
	if len(runs) == 0 {
		return nil, ErrNoRuns
	}
	if !(opts.BudgetGrams >= 0) || math.IsInf(opts.BudgetGrams, 0) {
		return nil, fmt.Errorf("htmlreport: budget %v g: not a number of grams >= 0", opts.BudgetGrams)
	}
	if opts.Title == "" {
		opts.Title = DefaultTitle
	}
	if opts.GeneratedAt.IsZero() {
		opts.GeneratedAt = time.Now()
	}
	v, err := buildView(runs, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := page().Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("htmlreport: %w", err)
	}
	return buf.Bytes(), nil
}

// view is what the template shows.
type view struct {
	Title, Generated string
	Budget           string
	Rows             []row
	Total            *totalView
	Runs             []runView
}

// row is a run's line in the overview table.
type row struct {
	N                                                                 int
	ID, Name, Where, Basis, Epochs, Duration, Facility, Device, Grams string
}

type totalView struct {
	Facts       []fact
	Equivalents []equivalent
	Chart       *chart
}

type runView struct {
	ID, Heading, Sub string
	Facts            []fact
	Equivalents      []equivalent
	Charts           []*chart
	Missing          []string
	Devices          []runlog.Device
	Components       string
	Elsewhere        []runlog.Elsewhere
}

// fact is a line of a summary: a name and its value, and a note.
type fact struct {
	Name, Value, Note string
}

type equivalent struct {
	Value, Unit, Source string
}

func buildView(runs []runlog.Run, opts Options) (*view, error) {
	v := &view{Title: opts.Title, Generated: opts.GeneratedAt.UTC().Format("2006-01-02 15:04:05 MST")}
	if opts.BudgetGrams > 0 {
		v.Budget = grams(opts.BudgetGrams)
	}
	for i, r := range runs {
		id := fmt.Sprintf("run-%d", i+1)
		v.Rows = append(v.Rows, row{N: i + 1, ID: id, Name: runName(r), Where: r.Whose(), Basis: string(r.Basis),
			Epochs: epochs(r), Duration: duration(r.Used.Duration), Facility: kwh(r.Used.FacilityKWh),
			Device: deviceKWh(r.Used), Grams: grams(r.Used.Grams)})
		budget := 0.0
		if len(runs) == 1 {
			budget = opts.BudgetGrams
		}
		rv, err := buildRun(i+1, id, r, budget)
		if err != nil {
			return nil, err
		}
		v.Runs = append(v.Runs, rv)
	}
	if len(runs) > 1 {
		t := runlog.Sum(runs)
		tv := &totalView{Facts: totalFacts(t), Equivalents: equivalents(t.Used.Grams)}
		c, err := totalChart(runs, opts.BudgetGrams)
		if err != nil {
			return nil, err
		}
		tv.Chart = c
		v.Total = tv
	}
	return v, nil
}

func buildRun(n int, id string, r runlog.Run, budget float64) (runView, error) {
	rv := runView{ID: id, Heading: fmt.Sprintf("Run %d: %s", n, runName(r)), Sub: r.Name,
		Facts: runFacts(r), Equivalents: equivalents(r.Used.Grams), Devices: r.Devices,
		Components: strings.Join(r.Components, ", "), Elsewhere: r.MeasuredElsewhere}
	if rv.Sub == runName(r) {
		rv.Sub = ""
	}
	type build struct {
		f       func(string, runlog.Run, float64) (*chart, error)
		missing string
	}
	for i, b := range []build{
		{powerChart, "No power was logged: the run has neither a power series nor epochs."},
		{epochChart, "No epoch was logged: there are no emissions per epoch."},
		{cumulativeChart, "No epoch was logged: there are no cumulative emissions to draw."},
		{intensityChart, "No epoch with energy was logged: there is no intensity per epoch."},
	} {
		c, err := b.f(fmt.Sprintf("%s-c%d", id, i+1), r, budget)
		if err != nil {
			return rv, err
		}
		if c == nil {
			rv.Missing = append(rv.Missing, b.missing)
			continue
		}
		rv.Charts = append(rv.Charts, c)
	}
	return rv, nil
}

// runName names a run for people: its label, else its base name.
func runName(r runlog.Run) string {
	if r.Label != "" {
		return r.Label
	}
	return r.Name
}

func epochs(r runlog.Run) string {
	if r.Epochs > 0 {
		return fmt.Sprintf("%d of %d", r.Completed, r.Epochs)
	}
	return strconv.Itoa(r.Completed)
}

func runFacts(r runlog.Run) []fact {
	status := "finished"
	switch {
	case r.Basis == runlog.BasisCheckpoint:
		status = "killed or still running (its end was not logged)"
	case !r.Finished:
		status = "its end was not logged"
	case r.Interrupted:
		status = "stopped before all its epochs"
	}
	fs := []fact{
		{Name: "Label", Value: r.Label},
		{Name: "Node, rank, job", Value: r.Whose()},
		{Name: "Log", Value: r.Name, Note: string(r.Format) + " format, in " + r.Dir},
		{Name: "Started", Value: timestamp(r.Start)},
		{Name: "Status", Value: status},
		{Name: "Counted", Value: string(r.Basis), Note: r.Note},
		{Name: "Epochs completed", Value: epochs(r)},
		{Name: "Duration", Value: duration(r.Used.Duration)},
		{Name: "Facility energy", Value: kwh(r.Used.FacilityKWh), Note: "PUE included"},
		{Name: "Device energy", Value: deviceKWh(r.Used), Note: "before PUE"},
		{Name: "Emissions", Value: grams(r.Used.Grams)},
	}
	if r.EmissionsHighG > r.EmissionsLowG {
		fs = append(fs, fact{Name: "Uncertainty", Value: grams(r.EmissionsLowG) + " to " + grams(r.EmissionsHighG),
			Note: "the whole run's emissions, by the uncertainty of its estimated devices: " + r.EmissionsUncertainty +
				"; half of such estimates lay within it when checked against measurements"})
	}
	if r.Whole != nil && r.Basis != runlog.BasisRun && r.Basis != runlog.BasisCheckpoint {
		fs = append(fs, fact{Name: "Whole run", Value: grams(r.Whole.Grams), Note: kwh(r.Whole.FacilityKWh) + " facility"})
	}
	if r.OutsideEpochs != nil && r.OutsideEpochs.Duration > 0 {
		fs = append(fs, fact{Name: "Outside epochs", Value: grams(r.OutsideEpochs.Grams),
			Note: duration(r.OutsideEpochs.Duration) + " before, between or after the epochs"})
	}
	if r.Projection != nil {
		note := fmt.Sprintf("%d epochs", r.Projection.Epochs)
		if r.ProjectionHighG > r.ProjectionLowG {
			note += fmt.Sprintf("; 95 %% interval %s to %s", grams(r.ProjectionLowG), grams(r.ProjectionHighG))
		}
		fs = append(fs, fact{Name: "Projection", Value: grams(r.Projection.Grams), Note: note})
	}
	zone := r.Zone
	if zone == "" && r.Format == runlog.FormatCarbontrack && r.Finished {
		// A tracker without a zone uses the world average.
		zone = "world average"
	}
	intensity := ""
	if r.Intensity > 0 {
		intensity = fmt.Sprintf("%s gCO2e/kWh", num(r.Intensity))
	}
	var src []string
	for _, s := range []string{r.IntensityProvider, r.IntensitySource} {
		if s != "" {
			src = append(src, s)
		}
	}
	if r.IntensityYear > 0 {
		src = append(src, strconv.Itoa(r.IntensityYear))
	}
	if r.IntensityFallback != "" {
		src = append(src, "fallback: "+r.IntensityFallback)
	}
	scope := r.Scope
	switch scope {
	case "machine":
		scope = "machine (all the devices measured)"
	case "process":
		scope = "process (the process tree's share of the devices)"
	}
	fs = append(fs,
		fact{Name: "Zone", Value: zone, Note: foundBy(r.ZoneFrom)},
		fact{Name: "Carbon intensity", Value: intensity, Note: strings.Join(src, ", ")},
		fact{Name: "PUE", Value: pue(r.PUE)},
		fact{Name: "Scope", Value: scope},
	)
	if r.Work > 0 {
		unit := r.WorkUnit
		if unit == "" {
			unit = "units"
		}
		note := ""
		if r.Used.Grams > 0 {
			note = fmt.Sprintf("%s g CO2e per million %s", num(r.Used.Grams/r.Work*1e6), unit)
		}
		fs = append(fs, fact{Name: "Work", Value: num(r.Work) + " " + unit, Note: note})
	}
	if r.SharingNote != "" {
		fs = append(fs, fact{Name: "Sharing", Value: r.SharingNote})
	}
	if len(r.Duplicates) > 0 {
		fs = append(fs, fact{Name: "Copies not counted", Value: strconv.Itoa(len(r.Duplicates))})
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

func foundBy(from string) string {
	if from == "" {
		return ""
	}
	return "found by: " + from
}

func totalFacts(t runlog.Total) []fact {
	var basis []string
	for _, b := range []struct {
		n            int
		one, several string
	}{{t.WholeRun, "whole run", "whole runs"}, {t.Checkpointed, "up to a checkpoint (killed or running)", ""},
		{t.Actual, "actual consumption", "actual consumptions"}, {t.Projected, "projection", "projections"},
		{t.Measured, "measured epochs", ""}} {
		switch {
		case b.n == 1 || b.n > 1 && b.several == "":
			basis = append(basis, fmt.Sprintf("%d %s", b.n, b.one))
		case b.n > 1:
			basis = append(basis, fmt.Sprintf("%d %s", b.n, b.several))
		}
	}
	dev := deviceKWh(t.Used)
	devNote := "before PUE"
	if !t.Used.DeviceKnown && t.DeviceRuns > 0 {
		dev = kwh(t.Used.DeviceKWh)
		devNote = fmt.Sprintf("before PUE, of the %d of %d runs whose device energy is known", t.DeviceRuns, t.Runs)
	}
	fs := []fact{
		{Name: "Runs", Value: strconv.Itoa(t.Runs), Note: strings.Join(basis, ", ")},
		{Name: "Epochs completed", Value: strconv.Itoa(t.Completed)},
		{Name: "Duration", Value: duration(t.Used.Duration), Note: "the runs' durations added up"},
		{Name: "Facility energy", Value: kwh(t.Used.FacilityKWh), Note: "PUE included"},
		{Name: "Device energy", Value: dev, Note: devNote},
		{Name: "Emissions", Value: grams(t.Used.Grams)},
	}
	if t.Duplicates > 0 {
		fs = append(fs, fact{Name: "Copies not counted", Value: strconv.Itoa(t.Duplicates)})
	}
	return fs
}

func equivalents(g float64) []equivalent {
	var out []equivalent
	for _, e := range tracker.Equivalents(g) {
		out = append(out, equivalent{Value: num(e.Value), Unit: e.Unit, Source: e.Source})
	}
	return out
}

// num formats v with 3 significant digits (estimate.FormatSig): small
// values keep theirs (0.0000123), large ones group thousands.
func num(v float64) string { return estimate.FormatSig(v, 3) }

func grams(g float64) string {
	if math.Abs(g) >= 1e4 {
		return num(g/1000) + " kg CO2e"
	}
	return num(g) + " g CO2e"
}

func kwh(v float64) string { return num(v) + " kWh" }

func deviceKWh(c runlog.Consumption) string {
	if !c.DeviceKnown {
		return "unknown"
	}
	return kwh(c.DeviceKWh)
}

func pue(v float64) string {
	if v <= 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// duration formats d to the second (to the millisecond under a second).
func duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

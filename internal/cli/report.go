package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

const reportHelp = `Usage: carbontrack report [--format table|text|markdown|latex] [--json]
                          [--per-epoch] [--plot FILE.png|FILE.svg]
                          [--html FILE] [LOGDIR...]

Reads the logs of runs in each LOGDIR and below it (default: $CARBONTRACK_LOG_DIR,
else ./carbontrack-logs): carbontrack's JSON lines and log pairs, and the log
pairs of the Python tool carbontracker. Prints one row per run and the total
of the consumption each run counts (column BASIS):

  NODE, RANK    the machine and the global rank of the run, where its log
                says ("-": unknown); shown when the runs are of several
                machines or ranks
  EPOCHS        epochs completed / epochs announced ("?": unknown)
  DURATION      the time counted
  FACILITY kWh  facility energy: what the data centre drew, PUE included
                (device energy × PUE); the emissions are computed from it
  DEVICE kWh    device energy: what the devices drew, before PUE; "-" where
                the log does not say (carbontracker's log pairs give the
                facility energy only)
  CO2e g        emissions in grams CO2e
  BASIS         what is counted:
                  run          the whole run measured, every joule from the
                               start of tracking to its end, in epochs or
                               not: a run that failed before an epoch ended
                               counts what it drew
                  checkpoint (killed)
                               the whole run up to its last checkpoint (every
                               10 s in the JSON lines): the run's end is not
                               logged, it was killed or is still running
                carbontracker's logs (and carbontrack's older ones) count as
                carbontracker's parser does:
                  actual       the completed epochs, when the run finished
                               or was stopped early
                  projection   the prediction for all epochs, when the log
                               ends before the actual consumption
                  measured     the epochs logged, when there is neither

A job over several nodes and ranks counts once: give the LOGDIRs of every node
(or one above them all). The trackers of a machine share its devices, so each
device is in one rank's log; the others list it as measured elsewhere (told,
never added), and the TOTAL is the plain sum of the runs. A run's logs found
more than once (a LOGDIR given twice, a LOGDIR and one below it, a link, a
copy) count once, and the copies skipped are listed.

For runs counted as "run", the TOTAL's DEVICE kWh over every node's LOGDIR is
the offline twin of sum(carbontrack_energy_joules_total{run_id="R"}) / 3.6e6.
--per-epoch adds each run's epochs, and, where the log splits the run, the
time outside epochs and the whole run.

--plot draws the power of each component over time and the emissions of each
epoch (PNG or SVG, by the file's extension). --format text, markdown or
latex prints, instead of the tables, a paragraph per run and one for the
total to paste into a paper: energy (facility and device), emissions (with
the projection's 95 % interval where it is counted), time, epochs, devices and
how each was measured, zone, intensity and its source, PUE, scope, and what to
cite; what a log does not record is said to be not recorded (LaTeX: special
characters escaped, sources in "% cite:" comments). --html FILE writes a
self-contained HTML report. Exit code 1 when a log could not
be read (the others are still reported), 2 for bad flags. --json has the same
figures under the same names (facility_energy_kwh, device_energy_kwh: null
where the table has "-", emissions_g, basis, note), and each run's whole_run,
in_epochs, outside_epochs, actual and projection where the log has them, its
run_id, node, rank, measured_elsewhere, sharing_note and duplicates.

Examples:
  carbontrack report carbontrack-logs
  carbontrack report --plot power.png runs/node0 runs/node1
  carbontrack report --json ~/carbontracker-logs | jq .total
  carbontrack report --format latex carbontrack-logs > emissions.tex

Each flag has an environment twin, named below; CARBONTRACK_JSON is also
run's, which then appends its JSON report to the command's output.

Flags:
`

// reportJSON is the --json document.
type reportJSON struct {
	Runs  []reportRunJSON `json:"runs"`
	Total reportTotalJSON `json:"total"`
}

// consumptionJSON is a runlog.Consumption: facility energy PUE included,
// device energy before PUE (null when the log does not say).
type consumptionJSON struct {
	Epochs            int      `json:"epochs"`
	DurationS         float64  `json:"duration_s"`
	FacilityEnergyKWh float64  `json:"facility_energy_kwh"`
	DeviceEnergyKWh   *float64 `json:"device_energy_kwh"`
	EmissionsG        float64  `json:"emissions_g"`
}

type reportRunJSON struct {
	Name            string     `json:"name"`
	Dir             string     `json:"dir"`
	Format          string     `json:"format"`
	Files           []string   `json:"files"`
	Start           *time.Time `json:"start"`
	EpochsPlanned   int        `json:"epochs_planned"`
	EpochsCompleted int        `json:"epochs_completed"`
	Interrupted     bool       `json:"interrupted"`
	Finished        bool       `json:"finished"`
	Basis           string     `json:"basis"`
	Note            string     `json:"note,omitempty"`
	// The consumption counted (basis).
	DurationS         float64  `json:"duration_s"`
	FacilityEnergyKWh float64  `json:"facility_energy_kwh"`
	DeviceEnergyKWh   *float64 `json:"device_energy_kwh"`
	EmissionsG        float64  `json:"emissions_g"`
	// EmissionsLowG and EmissionsHighG bound EmissionsG by the uncertainty
	// of the run's estimated devices (the whole run's interval, scaled to
	// the consumption counted), which EmissionsUncertainty names ("CPU
	// estimated ±34 %"); left out when no device was estimated or the log
	// does not say.
	EmissionsLowG        float64 `json:"emissions_low_g,omitempty"`
	EmissionsHighG       float64 `json:"emissions_high_g,omitempty"`
	EmissionsUncertainty string  `json:"emissions_uncertainty,omitempty"`
	// The whole run measured (to checkpoint_at for a killed run) and its
	// parts; carbontracker's actual consumption and projection.
	WholeRun      *consumptionJSON  `json:"whole_run"`
	CheckpointAt  *time.Time        `json:"checkpoint_at"`
	InEpochs      *consumptionJSON  `json:"in_epochs"`
	OutsideEpochs *consumptionJSON  `json:"outside_epochs"`
	Actual        *consumptionJSON  `json:"actual"`
	Projection    *consumptionJSON  `json:"projection"`
	PUE           float64           `json:"pue"`
	Components    []string          `json:"components"`
	Epochs        []reportEpochJSON `json:"epochs"`
	PowerPoints   int               `json:"power_points"`
	// Whose run it is (absent when unknown); the devices of its machine
	// that another run counted (never added); the log's warning that the
	// machine may be counted twice; the copies of its logs not counted.
	RunID             string                `json:"run_id,omitempty"`
	Node              string                `json:"node,omitempty"`
	Rank              *int                  `json:"rank,omitempty"`
	MeasuredElsewhere []reportElsewhereJSON `json:"measured_elsewhere,omitempty"`
	SharingNote       string                `json:"sharing_note,omitempty"`
	Duplicates        []duplicateJSON       `json:"duplicates,omitempty"`
}

// reportElsewhereJSON is a device of a run's machine that another run
// counted.
type reportElsewhereJSON struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	By   string `json:"by"`
}

// duplicateJSON is a copy of a run's logs that was not counted.
type duplicateJSON struct {
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	SameFiles bool     `json:"same_files"`
}

type reportEpochJSON struct {
	Epoch             int                `json:"epoch"`
	OffsetS           float64            `json:"offset_s"`
	DurationS         float64            `json:"duration_s"`
	FacilityEnergyKWh float64            `json:"facility_energy_kwh"`
	DeviceEnergyKWh   float64            `json:"device_energy_kwh"`
	EmissionsG        float64            `json:"emissions_g"`
	AvgPowerW         map[string]float64 `json:"avg_power_w"`
	Interrupted       bool               `json:"interrupted"`
}

type reportTotalJSON struct {
	// Offset is what offsetting the total's emissions would cost at the
	// price given (--offset-price, --currency); absent without one.
	Offset            *reportOffsetJSON `json:"offset,omitempty"`
	Runs              int               `json:"runs"`
	EpochsCompleted   int               `json:"epochs_completed"`
	EpochsCounted     int               `json:"epochs_counted"`
	DurationS         float64           `json:"duration_s"`
	FacilityEnergyKWh float64           `json:"facility_energy_kwh"`
	// DeviceEnergyKWh sums the DeviceEnergyRuns runs whose device energy
	// is known.
	DeviceEnergyKWh  float64 `json:"device_energy_kwh"`
	DeviceEnergyRuns int     `json:"device_energy_runs"`
	EmissionsG       float64 `json:"emissions_g"`
	// EmissionsLowG and EmissionsHighG bound EmissionsG: the runs'
	// intervals added (a run without one counts as exact); left out when
	// no run has one.
	EmissionsLowG  float64 `json:"emissions_low_g,omitempty"`
	EmissionsHighG float64 `json:"emissions_high_g,omitempty"`
	// RunsByBasis counts the runs by basis, every basis named.
	RunsByBasis map[string]int `json:"runs_by_basis"`
	// DuplicatesSkipped counts the copies of runs' logs not counted.
	DuplicatesSkipped int `json:"duplicates_skipped"`
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("report", reportHelp, stderr)
	env := f.env
	plotPath := f.String("plot", "", env("plot", "CARBONTRACK_PLOT", "draw power over time and emissions per epoch into FILE (.png or .svg)"))
	asJSON := f.bool("json", false, env("json", "CARBONTRACK_JSON", "print JSON instead of tables"))
	perEpoch := f.bool("per-epoch", false, env("per-epoch", "CARBONTRACK_PER_EPOCH", "also print a table of each run's epochs"))
	format := f.String("format", "table", env("format", "CARBONTRACK_REPORT_FORMAT",
		"table (the tables below), or a paragraph per run and for the total to paste into a paper: text, markdown or latex"))
	htmlPath := f.String("html", "", env("html", "CARBONTRACK_HTML", "also write a self-contained HTML report (summary, charts, sources) into FILE"))
	offsetPrice := f.Float64("offset-price", 0, env("offset-price", "CARBONTRACK_OFFSET_PRICE",
		"price per tonne CO2e to cost offsetting the total's emissions (with --currency); none is assumed"))
	currency := f.String("currency", "", env("currency", "CARBONTRACK_CURRENCY", "ISO 4217 currency of --offset-price, e.g. EUR"))
	budget := f.Float64("budget", 0, env("budget", "CARBONTRACK_BUDGET", "emissions budget in grams CO2e, drawn against the cumulative emissions of --html (0: none)"))
	// Flags may follow the directories.
	dirs, code, ok := f.parse(args, true)
	if !ok {
		return code
	}
	if *plotPath != "" {
		switch strings.ToLower(filepath.Ext(*plotPath)) {
		case ".png", ".svg":
		default:
			from := ""
			if f.fromEnv["plot"] {
				from = " (from " + f.twins["plot"] + ")"
			}
			return f.usageError("--plot %q%s: the file must end in .png or .svg", *plotPath, from)
		}
	}
	switch *format {
	case "table", "text", "markdown", "latex":
	case "html":
		return f.usageError("%s %q: the HTML report is written to a file: --html FILE", f.what("format"), *format)
	default:
		return f.usageError("%s %q: use table, text, markdown or latex", f.what("format"), *format)
	}
	if *asJSON && *format != "table" {
		return f.usageError("--json and %s %q: choose one", f.what("format"), *format)
	}
	if *htmlPath != "" && !strings.EqualFold(filepath.Ext(*htmlPath), ".html") && !strings.EqualFold(filepath.Ext(*htmlPath), ".htm") {
		return f.usageError("%s %q: the file must end in .html", f.what("html"), *htmlPath)
	}
	if !(*budget >= 0) || math.IsInf(*budget, 0) {
		return f.usageError("%s %v: want grams CO2e, 0 or more", f.what("budget"), *budget)
	}
	if *budget > 0 && *htmlPath == "" && f.onCmdLine["budget"] {
		return f.usageError("--budget is drawn in the HTML report: give --html FILE too")
	}
	if err := checkOffset(*offsetPrice, *currency); err != nil {
		return f.usageError("%v", err)
	}
	if len(dirs) == 0 {
		dirs = []string{defaultLogDir()}
	}
	switch {
	case *htmlPath != "" && features.WriteHTML == nil:
		return delegate(ctx, "report", f.what("html"), stderr)
	case *plotPath != "" && features.PlotFile == nil:
		return delegate(ctx, "report", f.what("plot"), stderr)
	}

	runs, err := runlog.Read(dirs...)
	if err != nil {
		for _, e := range splitErrors(err) {
			fmt.Fprintf(stderr, "carbontrack report: %s\n", plainError(e))
		}
		code = 1
	}
	if len(runs) == 0 {
		fmt.Fprintln(stderr, "carbontrack report: no run found")
		return 1
	}
	total := runlog.Sum(runs)
	offset := totalOffset(total, *offsetPrice, *currency)
	if *asJSON {
		doc := buildReportJSON(runs, total)
		doc.Total.Offset = offset
		if err := encodeJSON(stdout, doc); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %v\n", err)
			return 1
		}
	} else if *format != "table" {
		if err := writeSummary(stdout, *format, runs, total); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %s\n", plainError(err))
			return 1
		}
	} else {
		printReport(stdout, runs, total, *perEpoch, len(dirs) > 1)
		printOffset(stdout, offset)
	}
	if *htmlPath != "" {
		if err := features.WriteHTML(*htmlPath, runs, *budget); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %s\n", plainError(err))
			return 1
		}
		fmt.Fprintf(stderr, "carbontrack report: HTML report written to %s\n", *htmlPath)
	}
	if *plotPath != "" {
		if err := features.PlotFile(*plotPath, runs); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %s\n", plainError(err))
			return 1
		}
		fmt.Fprintf(stderr, "carbontrack report: plot written to %s\n", *plotPath)
	}
	return code
}

// defaultLogDir is where report looks without a LOGDIR: run's --log-dir
// from its twin CARBONTRACK_LOG_DIR, else run's default.
func defaultLogDir() string {
	if v := os.Getenv("CARBONTRACK_LOG_DIR"); v != "" {
		return v
	}
	return "carbontrack-logs"
}

// splitErrors undoes errors.Join.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func consJSON(c *runlog.Consumption) *consumptionJSON {
	if c == nil {
		return nil
	}
	return &consumptionJSON{Epochs: c.Epochs, DurationS: c.Duration.Seconds(), FacilityEnergyKWh: c.FacilityKWh,
		DeviceEnergyKWh: deviceKWhJSON(*c), EmissionsG: c.Grams}
}

// deviceKWhJSON is a consumption's device energy, nil when unknown.
func deviceKWhJSON(c runlog.Consumption) *float64 {
	if !c.DeviceKnown {
		return nil
	}
	kwh := c.DeviceKWh
	return &kwh
}

func buildReportJSON(runs []runlog.Run, total runlog.Total) reportJSON {
	out := reportJSON{Runs: []reportRunJSON{}}
	for _, r := range runs {
		j := reportRunJSON{Name: r.Name, Dir: r.Dir, Format: string(r.Format), Files: r.Files,
			EpochsPlanned: r.Epochs, EpochsCompleted: r.Completed, Interrupted: r.Interrupted, Finished: r.Finished,
			Basis: string(r.Basis), Note: r.Note, DurationS: r.Used.Duration.Seconds(), FacilityEnergyKWh: r.Used.FacilityKWh,
			DeviceEnergyKWh: deviceKWhJSON(r.Used), EmissionsG: r.Used.Grams,
			WholeRun: consJSON(r.Whole), InEpochs: consJSON(r.InEpochs), OutsideEpochs: consJSON(r.OutsideEpochs),
			Actual: consJSON(r.Actual), Projection: consJSON(r.Projection), PUE: r.PUE,
			Components: append([]string{}, r.Components...), Epochs: []reportEpochJSON{}, PowerPoints: len(r.Power)}
		if !r.Start.IsZero() {
			s := r.Start
			j.Start = &s
		}
		if !r.CheckpointAt.IsZero() {
			at := r.CheckpointAt
			j.CheckpointAt = &at
		}
		j.RunID, j.Node, j.SharingNote = r.RunID, r.Node, r.SharingNote
		if r.Rank >= 0 {
			rank := r.Rank
			j.Rank = &rank
		}
		for _, e := range r.MeasuredElsewhere {
			j.MeasuredElsewhere = append(j.MeasuredElsewhere, reportElsewhereJSON{Name: e.Name, Kind: e.Kind, By: e.By})
		}
		for _, d := range r.Duplicates {
			j.Duplicates = append(j.Duplicates, duplicateJSON{Dir: d.Dir, Files: d.Files, SameFiles: d.SameFiles})
		}
		for _, e := range r.EpochRecords {
			j.Epochs = append(j.Epochs, reportEpochJSON{Epoch: e.N, OffsetS: e.Offset.Seconds(), DurationS: e.Duration.Seconds(),
				FacilityEnergyKWh: e.FacilityKWh, DeviceEnergyKWh: e.DeviceKWh, EmissionsG: e.Grams, AvgPowerW: e.Watts,
				Interrupted: e.Interrupted})
		}
		if lo, hi, ok := usedInterval(r); ok {
			j.EmissionsLowG, j.EmissionsHighG, j.EmissionsUncertainty = lo, hi, r.EmissionsUncertainty
		}
		out.Runs = append(out.Runs, j)
	}
	out.Total = reportTotalJSON{Runs: total.Runs, EpochsCompleted: total.Completed, EpochsCounted: total.Used.Epochs,
		DurationS: total.Used.Duration.Seconds(), FacilityEnergyKWh: total.Used.FacilityKWh,
		DeviceEnergyKWh: total.Used.DeviceKWh, DeviceEnergyRuns: total.DeviceRuns, EmissionsG: total.Used.Grams,
		RunsByBasis: map[string]int{}, DuplicatesSkipped: total.Duplicates}
	for _, b := range basisCounts(total) {
		out.Total.RunsByBasis[string(b.basis)] = b.n
	}
	if lo, hi, ok := totalInterval(runs); ok {
		out.Total.EmissionsLowG, out.Total.EmissionsHighG = lo, hi
	}
	return out
}

// usedInterval returns the bounds of the run's counted emissions (Used) by
// the uncertainty of its estimated devices: the whole run's interval,
// scaled to Used when that is a part of it. It reports false when the log
// gives no interval.
func usedInterval(r runlog.Run) (low, high float64, ok bool) {
	if r.EmissionsUncertainty == "" || r.Whole == nil || r.Whole.Grams <= 0 {
		return 0, 0, false
	}
	k := r.Used.Grams / r.Whole.Grams
	return r.EmissionsLowG * k, r.EmissionsHighG * k, true
}

// totalInterval adds the runs' intervals, a run without one counted as
// exact; false when no run has one.
func totalInterval(runs []runlog.Run) (low, high float64, ok bool) {
	for _, r := range runs {
		if lo, hi, has := usedInterval(r); has {
			low, high, ok = low+lo, high+hi, true
		} else {
			low, high = low+r.Used.Grams, high+r.Used.Grams
		}
	}
	return low, high, ok
}

// runLabel names a run in the tables: its base name, with its directory
// when several were read.
func runLabel(r runlog.Run, withDir bool) string {
	if withDir {
		return filepath.Join(r.Dir, r.Name)
	}
	return r.Name
}

// who says whose run r is: "node n0, rank 1"; "" when its log does not say.
func who(r runlog.Run) string {
	var parts []string
	if r.Node != "" {
		parts = append(parts, "node "+r.Node)
	}
	if r.Rank >= 0 {
		parts = append(parts, fmt.Sprintf("rank %d", r.Rank))
	}
	return strings.Join(parts, ", ")
}

// showWho says whether the table has the NODE and RANK columns: when the
// runs are of several machines, or a rank is known.
func showWho(runs []runlog.Run) bool {
	nodes := map[string]bool{}
	for _, r := range runs {
		if r.Rank >= 0 {
			return true
		}
		nodes[r.Node] = true
	}
	return len(nodes) > 1
}

// whoCells are a run's NODE and RANK cells, "-" where unknown.
func whoCells(r runlog.Run) string {
	node, rank := r.Node, "-"
	if node == "" {
		node = "-"
	}
	if r.Rank >= 0 {
		rank = fmt.Sprint(r.Rank)
	}
	return node + "\t" + rank + "\t"
}

// elsewhereLine lists the devices another tracker counted, grouped by who
// did: "gpu:1, gpu:2 counted by pid 42 (rank 0); cpu:0 counted by ...".
func elsewhereLine(es []runlog.Elsewhere) string {
	var parts []string
	for i := 0; i < len(es); {
		j := i
		var names []string
		for ; j < len(es) && es[j].By == es[i].By; j++ {
			names = append(names, es[j].Name)
		}
		parts = append(parts, strings.Join(names, ", ")+" counted by "+es[i].By)
		i = j
	}
	return strings.Join(parts, "; ")
}

func printReport(w io.Writer, runs []runlog.Run, total runlog.Total, perEpoch, withDir bool) {
	if !withDir {
		dirs := map[string]bool{}
		for _, r := range runs {
			dirs[r.Dir] = true
		}
		withDir = len(dirs) > 1
	}
	// label names a run in the lists below the table: with whose it is
	// when the runs are of several machines or ranks.
	withWho := showWho(runs)
	label := func(r runlog.Run) string {
		if s := who(r); s != "" && withWho {
			return runLabel(r, withDir) + " (" + s + ")"
		}
		return runLabel(r, withDir)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	whoHead, whoTotal := "", ""
	if withWho {
		whoHead, whoTotal = "NODE\tRANK\t", "\t\t"
	}
	fmt.Fprintln(tw, "RUN\t"+whoHead+"FORMAT\tEPOCHS\tDURATION\tFACILITY kWh\tDEVICE kWh\tCO2e g\tBASIS")
	var notes []string
	for _, r := range runs {
		epochs := fmt.Sprintf("%d/%s", r.Completed, epochsOrQ(r.Epochs))
		basis := basisLabel(r.Basis)
		note := r.Note
		if r.SharingNote != "" {
			if note != "" {
				note += "; "
			}
			note += "devices may be counted twice: " + r.SharingNote
		}
		if note != "" {
			notes = append(notes, fmt.Sprintf("[%d] %s: %s", len(notes)+1, label(r), note))
			basis += fmt.Sprintf(" [%d]", len(notes))
		}
		cells := ""
		if withWho {
			cells = whoCells(r)
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", runLabel(r, withDir), cells, r.Format, epochs,
			span(r.Used.Duration), human(r.Used.FacilityKWh), deviceCell(r.Used), human(r.Used.Grams), basis)
	}
	plural := "runs"
	if total.Runs == 1 {
		plural = "run"
	}
	device := "-"
	if total.DeviceRuns > 0 {
		device = human(total.Used.DeviceKWh)
		if total.DeviceRuns < total.Runs {
			device += fmt.Sprintf(" (%d of %d runs)", total.DeviceRuns, total.Runs)
		}
	}
	fmt.Fprintf(tw, "TOTAL (%d %s)\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", total.Runs, plural, whoTotal, total.Completed, span(total.Used.Duration),
		human(total.Used.FacilityKWh), device, human(total.Used.Grams), totalBasis(total))
	_ = tw.Flush()
	fmt.Fprintln(w, "\nFACILITY kWh includes the PUE (device energy × PUE); DEVICE kWh is what the devices drew, before PUE.")
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	var intervals []string
	for _, r := range runs {
		if lo, hi, ok := usedInterval(r); ok {
			intervals = append(intervals, fmt.Sprintf("  %s: %s g CO2e%s", label(r), human(r.Used.Grams),
				intervalNote(lo, hi, r.EmissionsUncertainty)))
		}
	}
	if len(intervals) > 0 {
		fmt.Fprintln(w, "\nEstimated devices (emissions with their uncertainty: half of the estimates checked lay within it):")
		for _, l := range intervals {
			fmt.Fprintln(w, l)
		}
		switch lo, hi, _ := totalInterval(runs); {
		case len(runs) < 2:
		case hi > lo:
			fmt.Fprintf(w, "  TOTAL: %s g CO2e (%s–%s)\n", human(total.Used.Grams), human(lo), human(hi))
		default:
			fmt.Fprintf(w, "  TOTAL: %s g CO2e (not quantified)\n", human(total.Used.Grams))
		}
	}
	var elsewhere []string
	for _, r := range runs {
		if len(r.MeasuredElsewhere) > 0 {
			elsewhere = append(elsewhere, fmt.Sprintf("  %s: %s", label(r), elsewhereLine(r.MeasuredElsewhere)))
		}
	}
	if len(elsewhere) > 0 {
		fmt.Fprintln(w, "\nMeasured elsewhere (devices of the run's machine in another run's log; not added again):")
		for _, l := range elsewhere {
			fmt.Fprintln(w, l)
		}
	}
	if total.Duplicates > 0 {
		plural := "copies"
		if total.Duplicates == 1 {
			plural = "copy"
		}
		fmt.Fprintf(w, "\nDuplicates skipped: %d %s of runs' logs found again, not counted (each run counts once):\n", total.Duplicates, plural)
		for _, r := range runs {
			for _, d := range r.Duplicates {
				how := "a copy"
				if d.SameFiles {
					how = "the same files, found again"
				}
				fmt.Fprintf(w, "  %s: also in %s (%s)\n", label(r), d.Dir, how)
			}
		}
	}
	if !perEpoch {
		return
	}
	for _, r := range runs {
		whose := ""
		if s := who(r); s != "" {
			whose = ", " + s
		}
		fmt.Fprintf(w, "\n%s (%s, PUE %v%s):\n", runLabel(r, withDir), r.Format, r.PUE, whose)
		if len(r.EpochRecords) == 0 {
			fmt.Fprintln(w, "  no epoch logged")
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		head := "  EPOCH\tSTART\tDURATION\tFACILITY kWh\tDEVICE kWh\tCO2e g"
		for _, k := range r.Components {
			head += "\t" + strings.ToUpper(k) + " (W)"
		}
		rows := 0
		row := func(line string) {
			if rows == 0 {
				fmt.Fprintln(tw, head)
			}
			rows++
			fmt.Fprintln(tw, line)
		}
		for _, e := range r.EpochRecords {
			n := fmt.Sprint(e.N)
			if e.Interrupted {
				n += " (interrupted)"
			}
			line := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s\t%s", n, span(e.Offset), span(e.Duration), human(e.FacilityKWh),
				human(e.DeviceKWh), human(e.Grams))
			for _, k := range r.Components {
				line += "\t" + human(e.Watts[k])
			}
			row(line)
		}
		// The rest of the run, and the whole, where the log says.
		for _, part := range []struct {
			name string
			c    *runlog.Consumption
		}{{"outside epochs", r.OutsideEpochs}, {"whole run", r.Whole}} {
			if part.c == nil {
				continue
			}
			name := part.name
			if part.c == r.Whole && !r.CheckpointAt.IsZero() {
				name += " (to the last checkpoint)"
			}
			row(fmt.Sprintf("  %s\t\t%s\t%s\t%s\t%s", name, span(part.c.Duration), human(part.c.FacilityKWh),
				deviceCell(*part.c), human(part.c.Grams)))
		}
		_ = tw.Flush()
	}
}

// deviceCell is a consumption's device energy for the tables, "-" when
// unknown.
func deviceCell(c runlog.Consumption) string {
	if !c.DeviceKnown {
		return "-"
	}
	return human(c.DeviceKWh)
}

// basisLabel is a basis as the tables show it.
func basisLabel(b runlog.Basis) string {
	if b == runlog.BasisCheckpoint {
		return "checkpoint (killed)"
	}
	return string(b)
}

// span formats a duration: "12.34 s" under a minute, else H:MM:SS.
func span(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return clock(d)
}

func epochsOrQ(n int) string {
	if n <= 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

type basisCount struct {
	basis runlog.Basis
	n     int
}

// basisCounts counts the runs of t by basis, every basis named.
func basisCounts(t runlog.Total) []basisCount {
	return []basisCount{{runlog.BasisRun, t.WholeRun}, {runlog.BasisCheckpoint, t.Checkpointed},
		{runlog.BasisActual, t.Actual}, {runlog.BasisProjection, t.Projected}, {runlog.BasisMeasured, t.Measured},
		{runlog.BasisNone, t.Runs - t.WholeRun - t.Checkpointed - t.Actual - t.Projected - t.Measured}}
}

// totalBasis says how many runs count what: "2 run, 1 checkpoint".
func totalBasis(t runlog.Total) string {
	var parts []string
	for _, b := range basisCounts(t) {
		if b.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", b.n, b.basis))
		}
	}
	return strings.Join(parts, ", ")
}

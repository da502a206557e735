package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

const reportHelp = `Usage: carbontrack report [--plot FILE.png|FILE.svg] [--json] [--per-epoch] [LOGDIR...]

Reads the logs of runs in each LOGDIR and below it (default: $CARBONTRACK_LOG_DIR,
else ./carbontrack-logs): carbontrack's JSON lines and log pairs, and the log
pairs of the Python tool carbontracker. Prints one row per run and the total:

  EPOCHS            epochs completed / epochs announced ("?": unknown)
  DURATION, ENERGY (kWh), CO2e (g)
                    the consumption counted (see COUNTED): the epochs' time,
                    energy (PUE included) and emissions, as carbontracker
                    counts them; time outside the epochs is not in them
  RUN ENERGY (kWh)  the devices' energy from the start of tracking to its
                    end, epochs or not, before PUE: the final value of the
                    Prometheus counter carbontrack_energy_joules_total (over
                    the devices, / 3.6e6), so that the TOTAL over every
                    node's LOGDIR is the offline twin of
                    sum(carbontrack_energy_joules_total{run_id="R"}) / 3.6e6.
                    "-" where the log does not say: carbontracker's log
                    pairs, and the JSON lines of a run killed before its end
  COUNTED           which consumption is counted (below)

Each run counts one consumption, as carbontracker's parser decides (column
COUNTED): "actual" when the run finished or was stopped early; "projection"
(the prediction for all epochs, with a note) when its log ends before the
actual consumption, because it is still going or was killed; "measured" (the
epochs logged) when there is neither.

--plot draws the power of each component over time and the emissions of each
epoch (PNG or SVG, by the file's extension). Exit code 1 when a log could not
be read (the others are still reported), 2 for bad flags. --json has the same
figures: run_energy_kwh is null where the table has "-", and the total's
run_energy_runs says how many runs it adds up.

Examples:
  carbontrack report carbontrack-logs
  carbontrack report --plot power.png runs/node0 runs/node1
  carbontrack report --json ~/carbontracker-logs | jq .total

Each flag has an environment twin, named below; CARBONTRACK_JSON is also
run's, which then appends its JSON report to the command's output.

Flags:
`

// reportJSON is the --json document.
type reportJSON struct {
	Runs  []reportRunJSON `json:"runs"`
	Total reportTotalJSON `json:"total"`
}

type consumptionJSON struct {
	Epochs     int     `json:"epochs"`
	DurationS  float64 `json:"duration_s"`
	EnergyKWh  float64 `json:"energy_kwh"`
	EmissionsG float64 `json:"emissions_g"`
}

type reportRunJSON struct {
	Name            string            `json:"name"`
	Dir             string            `json:"dir"`
	Format          string            `json:"format"`
	Files           []string          `json:"files"`
	Start           *time.Time        `json:"start"`
	EpochsPlanned   int               `json:"epochs_planned"`
	EpochsCompleted int               `json:"epochs_completed"`
	Interrupted     bool              `json:"interrupted"`
	Finished        bool              `json:"finished"`
	Counted         string            `json:"counted"`
	Note            string            `json:"note,omitempty"`
	DurationS       float64           `json:"duration_s"`
	EnergyKWh       float64           `json:"energy_kwh"`
	EmissionsG      float64           `json:"emissions_g"`
	Actual          *consumptionJSON  `json:"actual"`
	Projection      *consumptionJSON  `json:"projection"`
	RunEnergyKWh    *float64          `json:"run_energy_kwh"`
	PUE             float64           `json:"pue"`
	Components      []string          `json:"components"`
	Epochs          []reportEpochJSON `json:"epochs"`
	PowerPoints     int               `json:"power_points"`
}

type reportEpochJSON struct {
	Epoch       int                `json:"epoch"`
	OffsetS     float64            `json:"offset_s"`
	DurationS   float64            `json:"duration_s"`
	EnergyKWh   float64            `json:"energy_kwh"`
	EmissionsG  float64            `json:"emissions_g"`
	AvgPowerW   map[string]float64 `json:"avg_power_w"`
	Interrupted bool               `json:"interrupted"`
}

type reportTotalJSON struct {
	Runs            int     `json:"runs"`
	EpochsCompleted int     `json:"epochs_completed"`
	EpochsCounted   int     `json:"epochs_counted"`
	DurationS       float64 `json:"duration_s"`
	EnergyKWh       float64 `json:"energy_kwh"`
	EmissionsG      float64 `json:"emissions_g"`
	Actual          int     `json:"actual_runs"`
	Projected       int     `json:"projected_runs"`
	Measured        int     `json:"measured_runs"`
	RunEnergyKWh    float64 `json:"run_energy_kwh"`
	RunEnergyRuns   int     `json:"run_energy_runs"`
}

func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", reportHelp, stderr)
	twins := envTwins{}
	env := twins.usage
	plotPath := fs.String("plot", "", env("plot", "CARBONTRACK_PLOT", "draw power over time and emissions per epoch into FILE (.png or .svg)"))
	asJSON := fs.Bool("json", false, env("json", "CARBONTRACK_JSON", "print JSON instead of tables"))
	perEpoch := fs.Bool("per-epoch", false, env("per-epoch", "CARBONTRACK_PER_EPOCH", "also print a table of each run's epochs"))
	// Flags may follow the directories.
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// The environment sets the flags the command line left out.
	if _, err := applyEnv(fs, twins, flagsSet(fs)); err != nil {
		fmt.Fprintf(stderr, "carbontrack report: %v\n", err)
		return 2
	}
	if *plotPath != "" {
		switch strings.ToLower(filepath.Ext(*plotPath)) {
		case ".png", ".svg":
		default:
			fmt.Fprintf(stderr, "carbontrack report: --plot %q: the file must end in .png or .svg\n", *plotPath)
			return 2
		}
	}
	if len(dirs) == 0 {
		dirs = []string{envOr("CARBONTRACK_LOG_DIR", "carbontrack-logs")}
	}

	runs, err := runlog.Read(dirs...)
	code := 0
	if err != nil {
		for _, e := range splitErrors(err) {
			fmt.Fprintf(stderr, "carbontrack report: %v\n", e)
		}
		code = 1
	}
	if len(runs) == 0 {
		fmt.Fprintln(stderr, "carbontrack report: no run found")
		return 1
	}
	total := runlog.Sum(runs)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(buildReportJSON(runs, total)); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %v\n", err)
			return 1
		}
	} else {
		printReport(stdout, runs, total, *perEpoch, len(dirs) > 1)
	}
	if *plotPath != "" {
		if err := runlog.PlotFile(*plotPath, runs); err != nil {
			fmt.Fprintf(stderr, "carbontrack report: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "carbontrack report: plot written to %s\n", *plotPath)
	}
	return code
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
	return &consumptionJSON{Epochs: c.Epochs, DurationS: c.Duration.Seconds(), EnergyKWh: c.KWh, EmissionsG: c.Grams}
}

func buildReportJSON(runs []runlog.Run, total runlog.Total) reportJSON {
	out := reportJSON{Runs: []reportRunJSON{}}
	for _, r := range runs {
		j := reportRunJSON{Name: r.Name, Dir: r.Dir, Format: string(r.Format), Files: r.Files,
			EpochsPlanned: r.Epochs, EpochsCompleted: r.Completed, Interrupted: r.Interrupted, Finished: r.Finished,
			Counted: string(r.Basis), Note: r.Note, DurationS: r.Used.Duration.Seconds(), EnergyKWh: r.Used.KWh,
			EmissionsG: r.Used.Grams, Actual: consJSON(r.Actual), Projection: consJSON(r.Projection), PUE: r.PUE,
			Components: append([]string{}, r.Components...), Epochs: []reportEpochJSON{}, PowerPoints: len(r.Power)}
		if !r.Start.IsZero() {
			s := r.Start
			j.Start = &s
		}
		if r.HasRunEnergy {
			kwh := r.RunEnergyKWh
			j.RunEnergyKWh = &kwh
		}
		for _, e := range r.EpochRecords {
			j.Epochs = append(j.Epochs, reportEpochJSON{Epoch: e.N, OffsetS: e.Offset.Seconds(), DurationS: e.Duration.Seconds(),
				EnergyKWh: e.KWh, EmissionsG: e.Grams, AvgPowerW: e.Watts, Interrupted: e.Interrupted})
		}
		out.Runs = append(out.Runs, j)
	}
	out.Total = reportTotalJSON{Runs: total.Runs, EpochsCompleted: total.Completed, EpochsCounted: total.Used.Epochs,
		DurationS: total.Used.Duration.Seconds(), EnergyKWh: total.Used.KWh, EmissionsG: total.Used.Grams,
		Actual: total.Actual, Projected: total.Projected, Measured: total.Measured,
		RunEnergyKWh: total.RunEnergyKWh, RunEnergyRuns: total.RunEnergyRuns}
	return out
}

// runLabel names a run in the tables: its base name, with its directory
// when several were read.
func runLabel(r runlog.Run, withDir bool) string {
	if withDir {
		return filepath.Join(r.Dir, r.Name)
	}
	return r.Name
}

func printReport(w io.Writer, runs []runlog.Run, total runlog.Total, perEpoch, withDir bool) {
	if !withDir {
		dirs := map[string]bool{}
		for _, r := range runs {
			dirs[r.Dir] = true
		}
		withDir = len(dirs) > 1
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFORMAT\tEPOCHS\tDURATION\tENERGY (kWh)\tCO2e (g)\tRUN ENERGY (kWh)\tCOUNTED")
	var notes []string
	for _, r := range runs {
		epochs := fmt.Sprintf("%d/%s", r.Completed, epochsOrQ(r.Epochs))
		counted := string(r.Basis)
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("[%d] %s: %s", len(notes)+1, runLabel(r, withDir), r.Note))
			counted += fmt.Sprintf(" [%d]", len(notes))
		}
		runKWh := "-"
		if r.HasRunEnergy {
			runKWh = human(r.RunEnergyKWh)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", runLabel(r, withDir), r.Format, epochs,
			span(r.Used.Duration), human(r.Used.KWh), human(r.Used.Grams), runKWh, counted)
	}
	plural := "runs"
	if total.Runs == 1 {
		plural = "run"
	}
	runKWh := "-"
	if total.RunEnergyRuns > 0 {
		runKWh = human(total.RunEnergyKWh)
		if total.RunEnergyRuns < total.Runs {
			runKWh += fmt.Sprintf(" (%d of %d runs)", total.RunEnergyRuns, total.Runs)
		}
	}
	fmt.Fprintf(tw, "TOTAL (%d %s)\t\t%d\t%s\t%s\t%s\t%s\t%s\n", total.Runs, plural, total.Completed, span(total.Used.Duration),
		human(total.Used.KWh), human(total.Used.Grams), runKWh, totalCounted(total))
	_ = tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if !perEpoch {
		return
	}
	for _, r := range runs {
		fmt.Fprintf(w, "\n%s (%s, PUE %v):\n", runLabel(r, withDir), r.Format, r.PUE)
		if len(r.EpochRecords) == 0 {
			fmt.Fprintln(w, "  no epoch logged")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		head := "  EPOCH\tSTART\tDURATION\tENERGY (kWh)\tCO2e (g)"
		for _, k := range r.Components {
			head += "\t" + strings.ToUpper(k) + " (W)"
		}
		fmt.Fprintln(tw, head)
		for _, e := range r.EpochRecords {
			n := fmt.Sprint(e.N)
			if e.Interrupted {
				n += " (interrupted)"
			}
			line := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s", n, span(e.Offset), span(e.Duration), human(e.KWh), human(e.Grams))
			for _, k := range r.Components {
				line += "\t" + human(e.Watts[k])
			}
			fmt.Fprintln(tw, line)
		}
		_ = tw.Flush()
	}
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

func totalCounted(t runlog.Total) string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{t.Actual, "actual"}, {t.Projected, "projection"}, {t.Measured, "measured"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}

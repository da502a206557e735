package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/tracker"
)

// What carbontrack run writes at the end: the report for people and --json.
// (The power series beside the logs is the tracker's, WithPowerSeries.)

// runJSON is run's report, for --json and --report-file.
type runJSON struct {
	Command     []string `json:"command"`
	ExitCode    int      `json:"exit_code"`
	Signal      string   `json:"signal,omitempty"`
	Mode        string   `json:"mode"`
	DurationS   float64  `json:"duration_s"`
	DeviceKWh   float64  `json:"device_energy_kwh"`
	FacilityKWh float64  `json:"facility_energy_kwh"`
	EmissionsG  float64  `json:"emissions_g"`
	// EmissionsLowG and EmissionsHighG bound EmissionsG by the uncertainty
	// of the estimated devices, which EmissionsUncertainty names ("CPU
	// estimated ±34 %"); left out when no device was estimated.
	EmissionsLowG        float64           `json:"emissions_low_g,omitempty"`
	EmissionsHighG       float64           `json:"emissions_high_g,omitempty"`
	EmissionsUncertainty string            `json:"emissions_uncertainty,omitempty"`
	IntensityGPerKW      float64           `json:"intensity_g_per_kwh"`
	InEpochs             runTotalsJSON     `json:"in_epochs"`
	Actual               runTotalsJSON     `json:"actual"`
	OutsideEpochs        runTotalsJSON     `json:"outside_epochs"`
	Intensity            intensityUsedJSON `json:"intensity"`
	PUE                  float64           `json:"pue"`
	Components           []componentJSON   `json:"components"`
	Unavailable          []unavailableJSON `json:"unavailable"`
	// MeasuredElsewhere are the machine's devices that another tracker on
	// it counts (not in this report); SharingNote why the machine may be
	// counted twice.
	MeasuredElsewhere []elsewhereJSON `json:"measured_elsewhere"`
	// OffsetCost is what offsetting EmissionsG costs at the price given
	// (--offset-price, --currency); absent without a price.
	OffsetCost          float64         `json:"offset_cost,omitempty"`
	OffsetCurrency      string          `json:"offset_currency,omitempty"`
	OffsetPricePerTonne float64         `json:"offset_price_per_tonne,omitempty"`
	SharingNote         string          `json:"sharing_note,omitempty"`
	RunID               string          `json:"run_id,omitempty"`
	Node                string          `json:"node,omitempty"`
	Rank                *int            `json:"rank,omitempty"`
	EpochsPlanned       int             `json:"epochs_planned"`
	EpochsCompleted     int             `json:"epochs_completed"`
	Interrupted         bool            `json:"interrupted"`
	Epochs              []runEpochJSON  `json:"epochs"`
	Prediction          *predictionJSON `json:"prediction"`
	BudgetExceeded      bool            `json:"budget_exceeded"`
	StoppedByBudget     bool            `json:"stopped_by_budget"`
	Files               []string        `json:"files"`
	// Work is the epochs' work (--work-per-epoch), in WorkUnit;
	// PerMillionWork divides the energy and emissions of the epochs with
	// work by it. Left out without work.
	Work           float64             `json:"work,omitempty"`
	WorkUnit       string              `json:"work_unit,omitempty"`
	PerMillionWork *perMillionWorkJSON `json:"per_million_work,omitempty"`
}

// perMillionWorkJSON is the energy (facility, PUE included) and emissions
// per million units of work, over Epochs epochs with work.
type perMillionWorkJSON struct {
	FacilityKWh float64 `json:"facility_energy_kwh"`
	EmissionsG  float64 `json:"emissions_g"`
	Epochs      int     `json:"epochs"`
}

type elsewhereJSON struct {
	Name string `json:"name"`
	By   string `json:"by"`
}

// runTotalsJSON is a part of the run: tracker.Totals.
type runTotalsJSON struct {
	DurationS   float64 `json:"duration_s"`
	DeviceKWh   float64 `json:"device_energy_kwh"`
	FacilityKWh float64 `json:"facility_energy_kwh"`
	EmissionsG  float64 `json:"emissions_g"`
}

func runTotals(t tracker.Totals) runTotalsJSON {
	return runTotalsJSON{DurationS: t.Duration.Seconds(), DeviceKWh: t.DeviceEnergy.KWh(),
		FacilityKWh: t.FacilityEnergy.KWh(), EmissionsG: t.Grams}
}

type intensityUsedJSON struct {
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	Source   string `json:"source"`
	Fallback string `json:"fallback,omitempty"`
	// ZoneFrom says how the zone was found: "--zone", "the time zone
	// Europe/Berlin", "the GCP metadata service", "no zone found".
	ZoneFrom string `json:"zone_from,omitempty"`
}

type componentJSON struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Device    string  `json:"device"`
	Method    string  `json:"method"`
	EnergyJ   float64 `json:"device_energy_j"`
	AvgPowerW float64 `json:"avg_power_w"`
	Lost      bool    `json:"lost,omitempty"`
	// Uncertainty is an estimated device's (power.Info.Uncertainty); left
	// out for measured devices and unquantified estimates.
	Uncertainty float64 `json:"uncertainty,omitempty"`
}

type runEpochJSON struct {
	Epoch            int       `json:"epoch"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	DurationS        float64   `json:"duration_s"`
	DeviceKWh        float64   `json:"device_energy_kwh"`
	FacilityKWh      float64   `json:"facility_energy_kwh"`
	EmissionsG       float64   `json:"emissions_g"`
	IntensityGPerKWh float64   `json:"intensity_g_per_kwh"`
	Interrupted      bool      `json:"interrupted"`
	Work             float64   `json:"work,omitempty"`
}

type predictionJSON struct {
	Epochs          int      `json:"epochs"`
	KnownEpochs     int      `json:"known_epochs"`
	DurationS       float64  `json:"duration_s"`
	FacilityKWh     float64  `json:"facility_energy_kwh"`
	EmissionsG      float64  `json:"emissions_g"`
	EmissionsLowG   float64  `json:"emissions_low_g"`
	EmissionsHighG  float64  `json:"emissions_high_g"`
	TrendEmissionsG *float64 `json:"trend_emissions_g,omitempty"`
}

// buildRunJSON gathers the report from the tracker's Report after Stop:
// the whole run is the headline, epochs and outside time partition it.
func buildRunJSON(argv []string, code int, sig string, dur time.Duration, rep *tracker.Report, st *tracker.Status,
	process bool) runJSON {
	out := runJSON{Command: argv, ExitCode: code, Signal: sig, Mode: "machine", DurationS: dur.Seconds(),
		DeviceKWh: rep.Run.DeviceEnergy.KWh(), FacilityKWh: rep.Run.FacilityEnergy.KWh(), EmissionsG: rep.Run.Grams,
		PUE: rep.PUE, IntensityGPerKW: float64(rep.MeanIntensity), InEpochs: runTotals(rep.InEpochs),
		Actual: runTotals(rep.Actual), OutsideEpochs: runTotals(rep.OutsideEpochs),
		Intensity: intensityUsedJSON{Zone: rep.Intensity.Zone, Provider: rep.Intensity.Provider,
			Source: rep.Intensity.Source, Fallback: rep.Intensity.Fallback, ZoneFrom: rep.Location.From},
		Components: []componentJSON{}, Unavailable: []unavailableJSON{}, Epochs: []runEpochJSON{},
		EpochsPlanned: rep.Epochs, EpochsCompleted: rep.Completed, Interrupted: rep.Interrupted,
		BudgetExceeded: rep.BudgetExceeded, Files: append([]string{}, rep.Files...)}
	if process {
		out.Mode = "process"
	}
	if iv := rep.Interval; len(iv.Estimated) > 0 {
		out.EmissionsLowG, out.EmissionsHighG, out.EmissionsUncertainty = iv.Low, iv.High, iv.Note()
	}
	out.MeasuredElsewhere, out.SharingNote = []elsewhereJSON{}, rep.SharingNote
	for _, e := range rep.Elsewhere {
		out.MeasuredElsewhere = append(out.MeasuredElsewhere, elsewhereJSON{Name: e.Source.Name, By: e.By})
	}
	out.RunID, out.Node = rep.Identity.RunID, rep.Identity.Node
	if r := rep.Identity.Rank; r >= 0 {
		out.Rank = &r
	}
	measured := st.Time.Sub(st.Start).Seconds()
	for _, s := range st.Sources {
		c := componentJSON{Name: s.Info.Name, Kind: string(s.Info.Kind), Device: s.Info.Device,
			Method: string(s.Info.Method), EnergyJ: float64(s.DeviceEnergy), Lost: s.Lost, Uncertainty: s.Info.Uncertainty}
		if measured > 0 {
			c.AvgPowerW = c.EnergyJ / measured
		}
		out.Components = append(out.Components, c)
	}
	for _, u := range rep.Unavailable {
		out.Unavailable = append(out.Unavailable, unavailableJSON{Name: u.Name, Reason: u.Reason()})
	}
	for _, e := range rep.EpochRecords {
		out.Epochs = append(out.Epochs, runEpochJSON{Epoch: e.N, Start: e.Start.UTC(), End: e.End.UTC(),
			DurationS: e.Duration.Seconds(), DeviceKWh: e.DeviceEnergy.KWh(), FacilityKWh: e.FacilityEnergy.KWh(), EmissionsG: e.Grams,
			IntensityGPerKWh: float64(e.Intensity), Interrupted: e.Interrupted, Work: e.Work})
	}
	if rep.Work > 0 {
		out.Work, out.WorkUnit = rep.Work, rep.WorkUnit
		if out.WorkUnit == "" {
			out.WorkUnit = "units"
		}
		out.PerMillionWork = &perMillionWorkJSON{FacilityKWh: rep.FacilityKWhPerMillionWork(),
			EmissionsG: rep.GramsPerMillionWork(), Epochs: rep.WorkEpochs}
	}
	if p := rep.Projection; p != nil {
		out.Prediction = &predictionJSON{Epochs: p.Epochs, KnownEpochs: p.Known, DurationS: p.Duration.Seconds(),
			FacilityKWh: p.FacilityEnergy.KWh(), EmissionsG: p.Grams, EmissionsLowG: p.GramsLow, EmissionsHighG: p.GramsHigh}
		if p.Trend {
			g := p.TrendGrams
			out.Prediction.TrendEmissionsG = &g
		}
	}
	return out
}

// printRunReport prints the final report for people.
func printRunReport(w io.Writer, out *runJSON, rep *tracker.Report) {
	how := fmt.Sprintf("exited with code %d", out.ExitCode)
	if out.Signal != "" {
		how = fmt.Sprintf("was killed by %s (exit code %d)", out.Signal, out.ExitCode)
	}
	fmt.Fprintf(w, "\ncarbontrack: %s %s after %s\n", shellQuote(out.Command), how, clock(fromSeconds(out.DurationS)))
	scope := "this machine"
	if out.Mode == "process" {
		scope = "the command's process tree"
	}
	fmt.Fprintf(w, "  measured:   %s\n", scope)
	fmt.Fprintf(w, "  energy:     %s kWh facility (PUE %v included); %s kWh drawn by the devices\n", human(out.FacilityKWh), out.PUE, human(out.DeviceKWh))
	fmt.Fprintf(w, "  emissions:  %s g CO2e%s, at a mean %s g CO2e/kWh\n", human(out.EmissionsG),
		intervalNote(out.EmissionsLowG, out.EmissionsHighG, out.EmissionsUncertainty), human(out.IntensityGPerKW))
	fmt.Fprintf(w, "  intensity:  %s\n", rep.Intensity.String())
	if l := rep.Location.String(); l != "" {
		fmt.Fprintf(w, "  zone:       %s\n", l)
	}
	fmt.Fprintf(w, "  epochs:     %d of %d completed", out.EpochsCompleted, out.EpochsPlanned)
	if out.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	if out.EpochsCompleted > 0 || out.Interrupted {
		fmt.Fprintf(w, "  of which:   completed epochs %s g, %s kWh; ", human(out.Actual.EmissionsG), human(out.Actual.FacilityKWh))
		if cut := out.InEpochs.EmissionsG - out.Actual.EmissionsG; cut > 0 {
			fmt.Fprintf(w, "interrupted epoch %s g; ", human(cut))
		}
		fmt.Fprintf(w, "outside epochs %s g, %s kWh (%s)\n", human(out.OutsideEpochs.EmissionsG),
			human(out.OutsideEpochs.FacilityKWh), clock(fromSeconds(out.OutsideEpochs.DurationS)))
	}
	if line := tracker.PerWorkLine(rep); line != "" {
		fmt.Fprintf(w, "  efficiency: %s\n", line)
	}
	if out.OffsetCurrency != "" {
		fmt.Fprintf(w, "  offset:     %s %s at %s %s per tonne CO2e (price given). %s\n", human(out.OffsetCost),
			out.OffsetCurrency, human(out.OffsetPricePerTonne), out.OffsetCurrency, estimate.OffsetCaveat)
	}
	if p := out.Prediction; p != nil && out.EpochsCompleted < p.Epochs {
		fmt.Fprintf(w, "  projection: %s g CO2e, %s kWh for %d epochs (from %d)\n", human(p.EmissionsG), human(p.FacilityKWh), p.Epochs, p.KnownEpochs)
	}
	if out.BudgetExceeded {
		what := "passed"
		if out.StoppedByBudget {
			what = "passed: the command was stopped"
		}
		fmt.Fprintf(w, "  budget:     %s\n", what)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "    COMPONENT\tKIND\tMETHOD\tDEVICE ENERGY (J)\tAVG POWER (W)\tDEVICE\n")
	for _, c := range out.Components {
		lost := ""
		if c.Lost {
			lost = " (lost)"
		}
		fmt.Fprintf(tw, "    %s%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, lost, c.Kind, c.Method, human(c.EnergyJ), human(c.AvgPowerW), c.Device)
	}
	_ = tw.Flush()
	for _, u := range out.Unavailable {
		fmt.Fprintf(w, "  not measured: %s: %s\n", u.Name, u.Reason)
	}
	for _, e := range out.MeasuredElsewhere {
		fmt.Fprintf(w, "  not counted here: %s (measured by %s)\n", e.Name, e.By)
	}
	if out.SharingNote != "" {
		fmt.Fprintf(w, "  warning: %s\n", out.SharingNote)
	}
	for _, f := range out.Files {
		fmt.Fprintf(w, "  log: %s\n", f)
	}
}

// shellQuote joins argv as a shell would need it typed.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '+' ||
				(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func fromSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// writeJSONFile writes v, indented, to path.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// intervalNote says an emissions interval after its figure: " (9.8–14.1,
// CPU estimated ±34 %)", " (DRAM estimated (not quantified))" when the
// bounds are the figure, "" without estimated devices.
func intervalNote(low, high float64, note string) string {
	switch {
	case note == "":
		return ""
	case low == high:
		return " (" + note + ")"
	}
	return fmt.Sprintf(" (%s–%s, %s)", human(low), human(high), note)
}

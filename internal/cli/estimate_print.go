package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
)

// What estimate prints: for people, and its --json documents.

// estimateJSON is the --json document of one estimate.
type estimateJSON struct {
	Device           *string       `json:"device"`
	Watts            float64       `json:"watts"`
	WattsSource      string        `json:"watts_source"`
	Utilization      float64       `json:"utilization"`
	AverageWatts     float64       `json:"average_watts"`
	Count            int           `json:"count"`
	Hours            float64       `json:"hours"`
	DeviceHours      float64       `json:"device_hours"`
	PUE              float64       `json:"pue"`
	IntensityGPerKWh float64       `json:"intensity_g_per_kwh"`
	Zone             *string       `json:"zone"`
	ZoneFrom         *string       `json:"zone_from"`
	IntensitySource  string        `json:"intensity_source"`
	IntensityYear    *int          `json:"intensity_year"`
	ITEnergyKWh      float64       `json:"it_energy_kwh"`
	EnergyKWh        float64       `json:"energy_kwh"`
	EmissionsKg      float64       `json:"emissions_kg"`
	EmbodiedKg       *float64      `json:"embodied_kg"`
	TotalKg          float64       `json:"total_kg"`
	Embodied         *embodiedJSON `json:"embodied,omitempty"`
	Performance      *perfJSON     `json:"performance,omitempty"`
	FLOPs            *float64      `json:"flops,omitempty"`
	PeakTFLOPS       *float64      `json:"peak_tflops,omitempty"`
	MFU              *float64      `json:"mfu,omitempty"`
	OffsetCost       *float64      `json:"offset_cost,omitempty"`
	OffsetCurrency   *string       `json:"offset_currency,omitempty"`
	OffsetPrice      *float64      `json:"offset_price_per_tonne,omitempty"`
	Formula          string        `json:"formula"`
	Steps            []stepJSON    `json:"steps"`
	Notes            []string      `json:"notes"`
}

type embodiedJSON struct {
	GPUKg               float64 `json:"gpu_kg"`
	ServerKg            float64 `json:"server_kg"`
	GPUsPerServer       int     `json:"gpus_per_server"`
	Servers             int     `json:"servers"`
	LifetimeYears       float64 `json:"lifetime_years"`
	LifetimeUtilization float64 `json:"lifetime_utilization"`
	Source              string  `json:"source"`
}

// perfJSON is what the performance model rests on, present only with it.
type perfJSON struct {
	Params             *float64 `json:"params"`
	Tokens             *float64 `json:"tokens"`
	FLOPsSource        string   `json:"flops_source"`
	PeakTFLOPSSource   string   `json:"peak_tflops_source"`
	MFUSource          string   `json:"mfu_source"`
	PerformanceFormula string   `json:"formula"`
}

type stepJSON struct {
	Quantity   string  `json:"quantity"`
	Expression string  `json:"expression"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
}

// compareJSON is the --json document of --compare-zones.
type compareJSON struct {
	Device       *string    `json:"device"`
	Watts        float64    `json:"watts"`
	Utilization  float64    `json:"utilization"`
	Count        int        `json:"count"`
	Hours        float64    `json:"hours"`
	PUE          float64    `json:"pue"`
	EnergyKWh    float64    `json:"energy_kwh"`
	EmbodiedKg   *float64   `json:"embodied_kg"`
	BaselineZone string     `json:"baseline_zone"`
	Zones        []zoneJSON `json:"zones"`
	Notes        []string   `json:"notes"`
}

type zoneJSON struct {
	Zone             string  `json:"zone"`
	IntensityGPerKWh float64 `json:"intensity_g_per_kwh"`
	IntensitySource  string  `json:"intensity_source"`
	IntensityYear    *int    `json:"intensity_year"`
	EmissionsKg      float64 `json:"emissions_kg"`
	TotalKg          float64 `json:"total_kg"`
	SavingKg         float64 `json:"saving_kg"`
	SavingPercent    float64 `json:"saving_percent"`
}

type deviceJSON struct {
	Name      string   `json:"name"`
	Aliases   []string `json:"aliases"`
	Kind      string   `json:"kind"`
	Watts     float64  `json:"watts"`
	Basis     string   `json:"basis"`
	MeanWatts *float64 `json:"mean_watts"`
	Year      int      `json:"year"`
	Verified  bool     `json:"verified"`
	Source    string   `json:"source"`
	// PeakTFLOPS is null where the table has no trustworthy figure.
	PeakTFLOPS *float64 `json:"peak_tflops"`
	PeakSource *string  `json:"peak_tflops_source"`
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	if err := encodeJSON(stdout, v); err != nil {
		fmt.Fprintf(stderr, "carbontrack estimate: %v\n", err)
		return 1
	}
	return 0
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optYear(y int) *int {
	if y == 0 {
		return nil
	}
	return &y
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func estimateDoc(r estimate.Result) estimateJSON {
	out := estimateJSON{
		Device: optString(r.Device), Watts: r.Watts, WattsSource: r.WattsSource, Utilization: r.Utilization,
		AverageWatts: r.AverageWatts, Count: r.Count, Hours: r.Hours, DeviceHours: r.DeviceHours, PUE: r.PUE,
		IntensityGPerKWh: float64(r.Intensity.Value), Zone: optString(r.Intensity.Zone),
		IntensitySource: r.Intensity.Source, IntensityYear: optYear(r.Intensity.Year),
		ITEnergyKWh: r.ITEnergyKWh, EnergyKWh: r.EnergyKWh, EmissionsKg: r.EmissionsKg, TotalKg: r.TotalKg,
		Formula: sourceFormula + ": " + estimate.Formula, Steps: []stepJSON{}, Notes: nonNil(r.Notes),
	}
	if r.Embodied != nil {
		e := r.EmbodiedKg
		out.EmbodiedKg = &e
		m := *r.Embodied
		src := sourceEmbodied
		if m != estimate.DefaultEmbodiedModel() {
			src = "given"
		}
		out.Embodied = &embodiedJSON{GPUKg: m.GPUKg, ServerKg: m.ServerKg, GPUsPerServer: m.GPUsPerServer, Servers: r.Servers,
			LifetimeYears: m.LifetimeYears, LifetimeUtilization: m.LifetimeUtilization, Source: src}
	}
	if r.Performance {
		fl, pk, u := r.FLOPs, r.PeakTFLOPS, r.MFU
		out.FLOPs, out.PeakTFLOPS, out.MFU = &fl, &pk, &u
		p := &perfJSON{FLOPsSource: "given", PeakTFLOPSSource: r.PeakSource, MFUSource: "given",
			PerformanceFormula: estimate.PerformanceFormula}
		if r.Params > 0 {
			n, d := r.Params, r.Tokens
			p.Params, p.Tokens, p.FLOPsSource = &n, &d, source6ND
		}
		if r.MFUSource == "default" {
			p.MFUSource = sourceMFU
		}
		out.Performance = p
	}
	if r.OffsetCurrency != "" {
		c, cur, price := r.OffsetCost, r.OffsetCurrency, r.OffsetPrice
		out.OffsetCost, out.OffsetCurrency, out.OffsetPrice = &c, &cur, &price
	}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, stepJSON{s.Quantity, s.Expression, s.Value, s.Unit})
	}
	return out
}

func compareDoc(c estimate.Comparison) compareJSON {
	r := c.Result
	out := compareJSON{Device: optString(r.Device), Watts: r.Watts, Utilization: r.Utilization, Count: r.Count, Hours: r.Hours,
		PUE: r.PUE, EnergyKWh: r.EnergyKWh, BaselineZone: c.Baseline, Zones: []zoneJSON{}, Notes: nonNil(r.Notes)}
	if r.Embodied != nil {
		e := r.EmbodiedKg
		out.EmbodiedKg = &e
	}
	for _, z := range c.Zones {
		out.Zones = append(out.Zones, zoneJSON{Zone: z.Zone, IntensityGPerKWh: float64(z.Intensity.Value),
			IntensitySource: z.Intensity.Source, IntensityYear: optYear(z.Intensity.Year), EmissionsKg: z.EmissionsKg,
			TotalKg: z.TotalKg, SavingKg: z.SavingKg, SavingPercent: z.SavingPercent})
	}
	return out
}

// jobLine describes the run in one line: "8 × H100 SXM, 168 h (7 days), PUE 1.58".
func jobLine(r estimate.Result, job estimate.Job) string {
	what := r.Device
	if what == "" || r.WattsSource == "given" {
		if what != "" {
			what += " at "
		}
		what += estimate.FormatNumber(r.Watts) + " W"
	}
	s := fmt.Sprintf("%d × %s, %s h", r.Count, what, estimate.FormatNumber(r.Hours))
	switch {
	case job.Days > 0:
		s += fmt.Sprintf(" (%s days)", estimate.FormatNumber(job.Days))
	case job.DeviceHours > 0:
		s += fmt.Sprintf(" (%s device-h)", estimate.FormatNumber(job.DeviceHours))
	case r.Performance:
		s += fmt.Sprintf(" (%s device-h: %s FLOP at %s TFLOPS × MFU %s)", estimate.FormatNumber(r.DeviceHours),
			estimate.FormatSig(r.FLOPs, 3), estimate.FormatNumber(r.PeakTFLOPS), estimate.FormatNumber(r.MFU))
	}
	if r.Utilization != 1 {
		s += ", utilization " + estimate.FormatNumber(r.Utilization)
	}
	return s + ", PUE " + estimate.FormatNumber(r.PUE)
}

func intensityLabel(v factor.Intensity) string {
	s := estimate.FormatNumber(float64(v.Value)) + " gCO2e/kWh"
	switch {
	case v.Source == "given":
		s += " (given)"
	case v.Zone == "world":
		s += fmt.Sprintf(" (world average, %d)", v.Year)
	case v.Year != 0:
		s += fmt.Sprintf(" (%s, %d)", v.Zone, v.Year)
	default:
		s += fmt.Sprintf(" (%s)", v.Zone)
	}
	return s
}

func printEstimate(w io.Writer, r estimate.Result, job estimate.Job, loc factor.Location) {
	label := intensityLabel(r.Intensity)
	if loc.Method != factor.LocatedDefault && loc.From != "" {
		label += ", zone " + loc.How()
	}
	fmt.Fprintf(w, "%s, %s\n\n", jobLine(r, job), label)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "energy\t%s\n", estimate.FormatEnergy(r.EnergyKWh))
	if r.Embodied == nil {
		fmt.Fprintf(tw, "emissions\t%s CO2e\n", estimate.FormatMass(r.EmissionsKg))
	} else {
		fmt.Fprintf(tw, "emissions\t%s CO2e\toperational (electricity)\n", estimate.FormatMass(r.EmissionsKg))
		fmt.Fprintf(tw, "embodied\t%s CO2e\tmanufacturing, amortised\n", estimate.FormatMass(r.EmbodiedKg))
		fmt.Fprintf(tw, "total\t%s CO2e\n", estimate.FormatMass(r.TotalKg))
	}
	if r.OffsetCurrency != "" {
		fmt.Fprintf(tw, "offset\t%s %s\tat %s %s per tonne CO2e (price given)\n", estimate.FormatSig(r.OffsetCost, 3),
			r.OffsetCurrency, estimate.FormatNumber(r.OffsetPrice), r.OffsetCurrency)
	}
	_ = tw.Flush()
	if r.OffsetCurrency != "" {
		fmt.Fprintf(w, "%s\n", estimate.OffsetCaveat)
	}

	if r.Performance {
		fmt.Fprintf(w, "\nArithmetic (performance model: %s;\nthen Patterson et al. 2021: kWh = hours × devices × W per device × PUE / 1000):\n",
			estimate.PerformanceFormula)
	} else {
		fmt.Fprintf(w, "\nArithmetic (Patterson et al. 2021: kWh = hours × devices × W per device × PUE / 1000):\n")
	}
	tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "  %s\t= %s\t= %s %s\n", s.Quantity, s.Expression, estimate.FormatNumber(s.Value), s.Unit)
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nSources:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.Performance {
		if r.Params > 0 {
			fmt.Fprintf(tw, "  compute\t%s FLOP: %s\n", estimate.FormatNumber(r.FLOPs), source6ND)
		} else {
			fmt.Fprintf(tw, "  compute\t%s FLOP: given\n", estimate.FormatNumber(r.FLOPs))
		}
		if r.PeakSource == "given" {
			fmt.Fprintf(tw, "  peak\t%s TFLOPS per device: given\n", estimate.FormatNumber(r.PeakTFLOPS))
		} else {
			fmt.Fprintf(tw, "  peak\t%s %s TFLOPS: %s\n", r.Device, estimate.FormatNumber(r.PeakTFLOPS), r.PeakSource)
		}
		if r.MFUSource == "default" {
			fmt.Fprintf(tw, "  MFU\t%s: %s\n", estimate.FormatNumber(r.MFU), sourceMFU)
		} else {
			fmt.Fprintf(tw, "  MFU\t%s: given\n", estimate.FormatNumber(r.MFU))
		}
	}
	if r.WattsSource == "given" {
		fmt.Fprintf(tw, "  power\t%s W per device: given\n", estimate.FormatNumber(r.Watts))
	} else {
		fmt.Fprintf(tw, "  power\t%s %s W: %s\n", r.Device, estimate.FormatNumber(r.Watts), r.WattsSource)
	}
	if job.PUE == 0 {
		fmt.Fprintf(tw, "  PUE\t%s: %s (default)\n", estimate.FormatNumber(r.PUE), sourcePUE)
	} else {
		fmt.Fprintf(tw, "  PUE\t%s: given\n", estimate.FormatNumber(r.PUE))
	}
	if r.Intensity.Source == "given" {
		fmt.Fprintf(tw, "  intensity\t%s gCO2e/kWh: given\n", estimate.FormatNumber(float64(r.Intensity.Value)))
	} else {
		fmt.Fprintf(tw, "  intensity\t%s: %s\n", intensityLabel(r.Intensity), r.Intensity.Source)
	}
	if r.Embodied != nil {
		if *r.Embodied == estimate.DefaultEmbodiedModel() {
			fmt.Fprintf(tw, "  embodied\t%s\n", sourceEmbodied)
		} else {
			fmt.Fprintf(tw, "  embodied\tgiven: %s kg per GPU, %s kg per server of %d, %s-year life at %s utilisation\n",
				estimate.FormatNumber(r.Embodied.GPUKg), estimate.FormatNumber(r.Embodied.ServerKg), r.Embodied.GPUsPerServer,
				estimate.FormatNumber(r.Embodied.LifetimeYears), estimate.FormatNumber(r.Embodied.LifetimeUtilization))
		}
	}
	if r.OffsetCurrency != "" {
		fmt.Fprintf(tw, "  offset price\t%s %s per tonne CO2e: given\n", estimate.FormatNumber(r.OffsetPrice), r.OffsetCurrency)
	}
	fmt.Fprintf(tw, "  formula\t%s\n", sourceFormula)
	_ = tw.Flush()
	// The offset caveat stands under the offset line already.
	printNotes(w, slices.DeleteFunc(slices.Clone(r.Notes), func(n string) bool { return n == estimate.OffsetCaveat }))
}

func printNotes(w io.Writer, notes []string) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNotes:\n")
	for _, n := range notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}

func printComparison(w io.Writer, c estimate.Comparison, job estimate.Job) {
	r := c.Result
	fmt.Fprintf(w, "%s: %s in every zone", jobLine(r, job), estimate.FormatEnergy(r.EnergyKWh))
	if r.Embodied != nil {
		fmt.Fprintf(w, ", %s CO2e embodied", estimate.FormatMass(r.EmbodiedKg))
	}
	fmt.Fprintf(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "ZONE\tgCO2e/kWh\tEMISSIONS"
	if r.Embodied != nil {
		header += "\tTOTAL"
	}
	fmt.Fprintf(tw, "%s\tSAVING vs %s\tSOURCE\n", header, c.Baseline)
	for _, z := range c.Zones {
		line := fmt.Sprintf("%s\t%s\t%s", z.Zone, estimate.FormatNumber(float64(z.Intensity.Value)), estimate.FormatMass(z.EmissionsKg))
		if r.Embodied != nil {
			line += "\t" + estimate.FormatMass(z.TotalKg)
		}
		saving := "baseline"
		if z.Zone != c.Baseline {
			saving = fmt.Sprintf("%s (%s %%)", signed(estimate.FormatMass(z.SavingKg)), signed(estimate.FormatSig(z.SavingPercent, 3)))
		}
		src := z.Intensity.Source
		if z.Intensity.Year != 0 {
			src += fmt.Sprintf(", %d", z.Intensity.Year)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", line, saving, src)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nLowest emissions first. SAVING is against %s, the first zone given: negative means more than %s.\n",
		c.Baseline, c.Baseline)
	printNotes(w, r.Notes)
}

func signed(s string) string {
	if strings.HasPrefix(s, "-") || s == "0 kg" || s == "0" {
		return s
	}
	return "+" + s
}

func printDeviceTable(stdout, stderr io.Writer, asJSON bool) int {
	all, err := estimate.Accelerators()
	if err != nil {
		fmt.Fprintf(stderr, "carbontrack estimate: %s\n", plainError(err))
		return 1
	}
	if asJSON {
		out := make([]deviceJSON, 0, len(all))
		for _, a := range all {
			d := deviceJSON{Name: a.Name, Aliases: nonNil(a.Aliases), Kind: a.Kind, Watts: a.Watts, Basis: a.Basis,
				Year: a.Year, Verified: a.Verified, Source: a.Source}
			if a.MeanWatts > 0 {
				m := a.MeanWatts
				d.MeanWatts = &m
			}
			if a.PeakTFLOPS > 0 {
				p, ps := a.PeakTFLOPS, a.PeakSource
				d.PeakTFLOPS, d.PeakSource = &p, &ps
			}
			out = append(out, d)
		}
		return writeJSON(stdout, stderr, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME\tKIND\tWATTS\tBASIS\tPEAK TFLOPS\tYEAR\tALSO MATCHES\n")
	for _, a := range all {
		name := a.Name
		if !a.Verified {
			name += " (*)"
		}
		aliases := a.Aliases
		if len(aliases) > 3 {
			aliases = aliases[:3]
		}
		pk := "-"
		if a.PeakTFLOPS > 0 {
			pk = estimate.FormatNumber(a.PeakTFLOPS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", name, a.Kind, estimate.FormatNumber(a.Watts), a.Basis, pk, a.Year,
			strings.Join(aliases, ", "))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "\nSources:\n")
	for _, a := range all {
		fmt.Fprintf(stdout, "  %s: %s\n", a.Name, a.Source)
		if a.PeakTFLOPS > 0 {
			fmt.Fprintf(stdout, "  %s peak: %s\n", a.Name, a.PeakSource)
		}
	}
	fmt.Fprintf(stdout, "\n(*) not confirmed against a primary source: give --watts if you know better.\n"+
		"PEAK TFLOPS: dense BF16/FP16 tensor throughput per device, without sparsity; - where no trustworthy figure was\n"+
		"found: give --peak-tflops for the performance model (--flops, --params/--tokens).\n"+
		"Names match case-insensitively, ignoring punctuation and word order (a100-80gb, \"NVIDIA A100-SXM4-80GB\").\n")
	return 0
}

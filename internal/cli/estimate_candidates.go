package cli

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
)

// Model selection: --candidate, its parsing, its table and its --json.

// candidateKeys are the keys of --candidate, the names of the flags they
// override.
var candidateKeys = []string{"device", "count", "watts", "utilization", "hours", "days", "gpu-hours", "flops", "params",
	"tokens", "mfu", "peak-tflops", "zone", "region", "intensity", "pue"}

// candidateSpec is one --candidate: a name and its KEY=VALUE overrides.
type candidateSpec struct {
	name string
	vals map[string]string
}

// candidateFlags is the repeatable --candidate flag.
type candidateFlags []candidateSpec

func (c *candidateFlags) String() string { return "" }

// Set parses 'NAME: KEY=VALUE ...': the name is what comes before the first
// colon; the pairs are separated by spaces, a value may be quoted with
// double or single quotes.
func (c *candidateFlags) Set(s string) error {
	name, rest, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return fmt.Errorf("want 'NAME: KEY=VALUE ...', e.g. '7B: params=7e9', got %q", clipArg(s))
	case name == "":
		return fmt.Errorf("a candidate needs a name before the colon ('7B: params=7e9'), got %q", clipArg(s))
	}
	for _, o := range *c {
		if o.name == name {
			return fmt.Errorf("candidate %q is given twice: names must differ", clipArg(name))
		}
	}
	fields, err := splitQuoted(rest)
	if err != nil {
		return fmt.Errorf("candidate %q: %v", clipArg(name), err)
	}
	spec := candidateSpec{name: name, vals: map[string]string{}}
	for _, fld := range fields {
		k, v, ok := strings.Cut(fld, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch {
		case !ok || v == "":
			return fmt.Errorf("candidate %q: want KEY=VALUE, got %q", clipArg(name), clipArg(fld))
		case !slices.Contains(candidateKeys, k):
			return fmt.Errorf("candidate %q: unknown key %q: the keys are %s", clipArg(name), clipArg(k), strings.Join(candidateKeys, ", "))
		case spec.vals[k] != "":
			return fmt.Errorf("candidate %q: %s given twice", clipArg(name), k)
		}
		spec.vals[k] = v
	}
	*c = append(*c, spec)
	return nil
}

// splitQuoted splits s at spaces outside double or single quotes, dropping
// the quotes.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote %c", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// apply returns shared with the candidate's overrides; a bad value is an
// error naming the key.
func (c candidateSpec) apply(shared estimate.Job) (estimate.Job, error) {
	j := shared
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := c.vals[k]; ok {
				return true
			}
		}
		return false
	}
	if g := slices.DeleteFunc([]string{"zone", "region", "intensity"}, func(k string) bool { return !has(k) }); len(g) > 1 {
		return j, fmt.Errorf("give one of zone, region and intensity, not %s", strings.Join(g, " and "))
	}
	// What a key replaces among the shared flags.
	if has("hours", "days", "gpu-hours") {
		j.Hours, j.Days, j.DeviceHours, j.FLOPs, j.Params, j.Tokens = 0, 0, 0, 0, 0, 0
		if !has("mfu", "peak-tflops") {
			j.MFU, j.PeakTFLOPS = 0, 0
		}
	}
	if has("flops") {
		j.Hours, j.Days, j.DeviceHours, j.Params, j.Tokens = 0, 0, 0, 0, 0
	}
	if has("params", "tokens") {
		j.Hours, j.Days, j.DeviceHours, j.FLOPs = 0, 0, 0, 0
	}
	if has("zone", "region", "intensity") {
		j.Zone, j.Intensity = "", 0
	}
	if has("device") {
		if !has("watts") {
			j.Watts = 0
		}
		if !has("peak-tflops") {
			j.PeakTFLOPS = 0
		}
	}
	for _, k := range candidateKeys {
		v, ok := c.vals[k]
		if !ok {
			continue
		}
		switch k {
		case "device":
			j.Device = v
			continue
		case "zone", "region":
			if err := factor.CheckZone(v); err != nil {
				return j, fmt.Errorf("%s=%s: %s", k, clipArg(v), plainError(err))
			}
			j.Zone = v
			continue
		case "count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return j, fmt.Errorf("count must be a whole number greater than 0, got %q", clipArg(v))
			}
			j.Count = n
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if k == "flops" || k == "params" || k == "tokens" {
			x, err = estimate.ParseCount(v)
		}
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return j, fmt.Errorf("%s must be a number greater than 0, got %q", k, clipArg(v))
		}
		if k == "intensity" {
			j.Intensity = factor.GramsPerKWh(x)
			continue
		}
		*numericField(&j, k) = x
	}
	return j, nil
}

// numericField is the job's field that the numeric key k of --candidate
// sets (every key of candidateKeys but device, zone, region, count and
// intensity).
func numericField(j *estimate.Job, k string) *float64 {
	return map[string]*float64{
		"watts": &j.Watts, "utilization": &j.Utilization, "hours": &j.Hours, "days": &j.Days,
		"gpu-hours": &j.DeviceHours, "flops": &j.FLOPs, "params": &j.Params, "tokens": &j.Tokens,
		"mfu": &j.MFU, "peak-tflops": &j.PeakTFLOPS, "pue": &j.PUE,
	}[k]
}

// candidatesJSON is the --json document of --candidate.
type candidatesJSON struct {
	Baseline   string          `json:"baseline"`
	Candidates []candidateJSON `json:"candidates"`
	Notes      []string        `json:"notes"`
}

type candidateJSON struct {
	Name             string   `json:"name"`
	Device           *string  `json:"device"`
	Watts            float64  `json:"watts"`
	Utilization      float64  `json:"utilization"`
	Count            int      `json:"count"`
	Hours            float64  `json:"hours"`
	DeviceHours      float64  `json:"device_hours"`
	FLOPs            *float64 `json:"flops"`
	Params           *float64 `json:"params"`
	Tokens           *float64 `json:"tokens"`
	PeakTFLOPS       *float64 `json:"peak_tflops"`
	MFU              *float64 `json:"mfu"`
	PUE              float64  `json:"pue"`
	IntensityGPerKWh float64  `json:"intensity_g_per_kwh"`
	Zone             *string  `json:"zone"`
	IntensitySource  string   `json:"intensity_source"`
	EnergyKWh        float64  `json:"energy_kwh"`
	EmissionsKg      float64  `json:"emissions_kg"`
	EmbodiedKg       *float64 `json:"embodied_kg"`
	TotalKg          float64  `json:"total_kg"`
	SavingKg         float64  `json:"saving_kg"`
	SavingPct        float64  `json:"saving_pct"`
}

func optFloat(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}

func candidatesDoc(c estimate.JobComparison) candidatesJSON {
	out := candidatesJSON{Baseline: c.Baseline, Candidates: []candidateJSON{}, Notes: candidateNotes(c)}
	for _, e := range c.Candidates {
		r := e.Result
		d := candidateJSON{Name: e.Name, Device: optString(r.Device), Watts: r.Watts, Utilization: r.Utilization,
			Count: r.Count, Hours: r.Hours, DeviceHours: r.DeviceHours, FLOPs: optFloat(r.FLOPs), Params: optFloat(r.Params),
			Tokens: optFloat(r.Tokens), PeakTFLOPS: optFloat(r.PeakTFLOPS), MFU: optFloat(r.MFU), PUE: r.PUE,
			IntensityGPerKWh: float64(r.Intensity.Value), Zone: optString(r.Intensity.Zone), IntensitySource: r.Intensity.Source,
			EnergyKWh: r.EnergyKWh, EmissionsKg: r.EmissionsKg, TotalKg: r.TotalKg, SavingKg: e.SavingKg, SavingPct: e.SavingPercent}
		if r.Embodied != nil {
			d.EmbodiedKg = &r.EmbodiedKg
		}
		out.Candidates = append(out.Candidates, d)
	}
	return out
}

// candidateNotes is every candidate's notes, each once, in the table's
// order.
func candidateNotes(c estimate.JobComparison) []string {
	var notes []string
	seen := map[string]bool{}
	for _, e := range c.Candidates {
		for _, n := range e.Result.Notes {
			if !seen[n] {
				seen[n] = true
				notes = append(notes, n)
			}
		}
	}
	return nonNil(notes)
}

func printCandidates(w io.Writer, c estimate.JobComparison) {
	embodied := false
	for _, e := range c.Candidates {
		embodied = embodied || e.Result.Embodied != nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "NAME\tDEVICE-H\tENERGY\tEMISSIONS"
	if embodied {
		header += "\tTOTAL"
	}
	fmt.Fprintf(tw, "%s\tSAVING vs %s\n", header, c.Baseline)
	for _, e := range c.Candidates {
		r := e.Result
		line := fmt.Sprintf("%s\t%s\t%s\t%s", e.Name, estimate.FormatSig(r.DeviceHours, 3), estimate.FormatEnergy(r.EnergyKWh),
			estimate.FormatMass(r.EmissionsKg))
		if embodied {
			line += "\t" + estimate.FormatMass(r.TotalKg)
		}
		saving := "baseline"
		if e.Name != c.Baseline {
			saving = fmt.Sprintf("%s (%s %%)", signed(estimate.FormatMass(e.SavingKg)), signed(estimate.FormatSig(e.SavingPercent, 3)))
		}
		fmt.Fprintf(tw, "%s\t%s\n", line, saving)
	}
	_ = tw.Flush()
	what := "emissions"
	if embodied {
		what = "total (embodied included)"
	}
	fmt.Fprintf(w, "\nLowest %s first. SAVING is against %s, the first candidate given: negative means more than %s.\n\n",
		what, c.Baseline, c.Baseline)
	fmt.Fprintf(w, "Candidates:\n")
	for _, e := range c.Candidates {
		fmt.Fprintf(w, "  %s: %s, %s\n", e.Name, jobLine(e.Result, e.Job), intensityLabel(e.Result.Intensity))
	}
	printNotes(w, candidateNotes(c))
}

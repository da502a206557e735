package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
)

const estimateHelp = `Usage: carbontrack estimate (--device NAME | --watts W) [--utilization U] [--count N]
           (--hours H | --days D | --gpu-hours H |
            (--flops F | --params N --tokens D) [--peak-tflops T] [--mfu U]) [--pue P]
           [--intensity G | --zone Z | --region R] [--embodied [--embodied-gpu-kg KG] ...]
           [--offset-price P --currency CUR] [--compare-zones Z1,Z2,...]
           [--candidate 'NAME: KEY=VALUE ...' ...] [--json]
       carbontrack estimate --list-devices [--json]

Estimates the energy and carbon emissions of a training run from its hardware
and duration alone, the way published papers do (Patterson et al. 2021):

  kWh    = hours × devices × W per device × utilization × PUE / 1000
  kgCO2e = kWh × gCO2e/kWh / 1000

and prints the arithmetic step by step with the source of every number.
Energy is printed in kWh (MWh from 1,000 kWh), emissions in kg CO2e (t from
1,000 kg).

Power: --device looks the accelerator up in an embedded table of vendor
figures (--list-devices: V100, A100, H100, H200, B200, L4, T4, A10, TPU v2-v4,
...; spelling is flexible: a100-80gb, "A100 80GB", h100-sxm); --watts gives
the W per device yourself and wins over the table. A TDP is an upper bound:
training averages below it, so --utilization (default 1) scales it (e.g. 0.7).

Duration: --hours (wall clock), --days (24 h each), or --gpu-hours, the total
device-hours papers often report: then hours = gpu-hours / count.

Performance model: instead of a duration, give the work and let the
hardware's throughput give the time. --flops is the total training compute
in FLOPs (e.g. 3.14e23); --params N --tokens D estimate it as 6 × N × D, the
dense-transformer rule (Kaplan et al. 2020: 6 FLOPs per parameter and token,
forward and backward). Then

  device-hours = FLOPs / (peak TFLOPS × 10^12 × MFU × 3600)
  hours        = device-hours / count

with the peak dense BF16/FP16 tensor throughput per device from the table
(vendor datasheets, without sparsity; --list-devices shows it) or
--peak-tflops, and --mfu, the model-FLOPs utilisation, default 0.4:
published large runs sustain roughly 0.3-0.55 of the peak (PaLM 46 %;
Llama 2's GPU-hours imply 0.35-0.43 on A100s). The power model follows.

PUE (facility energy / IT energy): default 1.58, the global average data
centre (Uptime Institute Global Data Center Survey 2023); hyperscale clouds
report about 1.1 (Google 1.10, AWS 1.135, Azure 1.12). --pue 1 counts the
devices alone.

Intensity: --intensity in gCO2e/kWh, or the annual average of a --zone
(country: FR, DEU, Sweden) or --region (gcp:europe-west4, aws:us-east-1,
azure:westeurope) from the embedded tables, as "carbontrack intensity" shows.
Without any, the world average, 483.18 gCO2e/kWh (Our World in Data, 2023),
with a note.

Embodied: --embodied adds the run's share of the hardware's manufacturing
emissions (Luccioni et al. 2022, BLOOM): 150 kgCO2e per GPU and 2,500 kgCO2e
per server (servers = ceil(GPUs / 8)), spread over a 6-year life at 85 %
utilisation, i.e. share = hours / (6 × 8,760 × 0.85). --embodied-gpu-kg,
--embodied-server-kg, --gpus-per-server, --lifetime-years and
--lifetime-utilization change these figures (and imply --embodied).

Comparing zones: --compare-zones FR,DE,US,gcp:europe-north1 prints the same
run in each zone, lowest emissions first, with the saving against the FIRST
zone given. A cleaner grid is the cheapest lever there is.

Model selection: --candidate 'NAME: KEY=VALUE ...', repeated, compares
several configurations side by side, lowest emissions first, with the saving
against the FIRST candidate given. Each candidate starts from the flags given
outside --candidate and overrides them; the keys are those flags' names:
device, count, watts, utilization, hours, days, gpu-hours, flops, params,
tokens, mfu, peak-tflops, zone, region, intensity, pue. Quote a value with
spaces: device="H100 SXM". A duration key replaces the shared duration and
compute, flops the shared duration and params/tokens, params or tokens the
shared duration and flops; zone, region and intensity replace the shared
location; device drops the shared --watts and --peak-tflops.

Offsets: --offset-price P --currency EUR prints what offsetting the total
emissions would cost at P per tonne CO2e, a price you give: none is assumed.
Offsets do not undo emissions; avoiding them (a cleaner zone, fewer runs)
comes first.

Examples:
  carbontrack estimate --watts 1000 --hours 100 --intensity 500 --pue 1
  carbontrack estimate --device h100-sxm --count 8 --days 7 --zone FR --embodied
  carbontrack estimate --device "A100 80GB" --count 64 --gpu-hours 100000 --utilization 0.7 --region gcp:us-central1 --json
  carbontrack estimate --device tpu-v4 --count 256 --days 3 --pue 1.1 --compare-zones US,FR,SE,gcp:europe-north1
  carbontrack estimate --device a100-80gb --count 1024 --params 7e9 --tokens 2e12 --mfu 0.4 --zone US
  carbontrack estimate --device h100-sxm --count 64 --flops 1e23 --zone DE --offset-price 80 --currency EUR
  carbontrack estimate --tokens 2e12 --device "A100 80GB" --count 1024 --zone US \
      --candidate '7B: params=7e9' --candidate '13B: params=13e9' --candidate '7B in FR: params=7e9 zone=FR'
  carbontrack estimate --list-devices

Environment: CARBONTRACK_PUE, CARBONTRACK_ZONE and CARBONTRACK_REGION set
--pue, --zone and --region when the flags are not given (a flag given wins).

Flags:
`

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

const (
	sourcePUE      = "Uptime Institute Global Data Center Survey 2023, global average"
	sourceEmbodied = "Luccioni et al. 2022 (BLOOM): 150 kg per GPU, 2,500 kg per server, 6-year life at 85 % utilisation"
	sourceFormula  = "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training (arXiv:2104.10350)"
	source6ND      = "6 × parameters × tokens, the dense-transformer estimate (Kaplan et al. 2020, arXiv:2001.08361)"
	sourceMFU      = "default; published large runs sustain roughly 0.3-0.55 (PaLM 46.2 %, Chowdhery et al. 2022; " +
		"Llama 2's GPU-hours imply about 0.4, Touvron et al. 2023)"
)

func runEstimate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("estimate", estimateHelp, stderr)
	env := f.env
	device := f.String("device", "", "accelerator from the embedded table (see --list-devices), e.g. h100-sxm, \"A100 80GB\", tpu-v4")
	watts := f.Float64("watts", 0, "power per device in W (instead of, or overriding, --device)")
	utilization := f.Float64("utilization", 1, "mean fraction of the W per device drawn, in (0, 1]: TDP is an upper bound")
	count := f.Int("count", 1, "number of devices")
	hours := f.Float64("hours", 0, "wall-clock duration in hours")
	days := f.Float64("days", 0, "wall-clock duration in days (24 h)")
	gpuHours := f.Float64("gpu-hours", 0, "total device-hours; hours = gpu-hours / count")
	pue := f.Float64("pue", estimate.DefaultPUE, env("pue", "CARBONTRACK_PUE", "power usage effectiveness (Uptime Institute 2023 global average)"))
	intensity := f.Float64("intensity", 0, "carbon intensity in gCO2e/kWh (default: the zone's, else the world average)")
	f.String("zone", "", env("zone", zoneEnv, "country for the embedded intensity tables, e.g. FR"))
	f.String("region", "", env("region", regionEnv, "cloud region, e.g. gcp:europe-north1"))
	embodied := f.bool("embodied", false, "add amortised manufacturing emissions (Luccioni et al. 2022)")
	gpuKg := f.Float64("embodied-gpu-kg", estimate.EmbodiedGPUKg, "embodied kgCO2e per GPU")
	serverKg := f.Float64("embodied-server-kg", estimate.EmbodiedServerKg, "embodied kgCO2e per server without GPUs")
	perServer := f.Int("gpus-per-server", estimate.GPUsPerServer, "GPUs per server; servers = ceil(count / this)")
	lifeYears := f.Float64("lifetime-years", estimate.LifetimeYears, "years the embodied emissions are spread over")
	lifeUtil := f.Float64("lifetime-utilization", estimate.LifetimeUtilization, "fraction of the lifetime the hardware is busy, in (0, 1]")
	flops := f.Float64("flops", 0, "total training compute in FLOPs, e.g. 3.14e23 (instead of a duration)")
	params := f.Float64("params", 0, "parameters of a dense transformer, with --tokens: compute = 6 × params × tokens")
	tokens := f.Float64("tokens", 0, "training tokens, with --params")
	peak := f.Float64("peak-tflops", 0, "peak dense TFLOPS per device (default: the table's for --device)")
	mfu := f.Float64("mfu", estimate.DefaultMFU, "model-FLOPs utilisation, the fraction of the peak sustained, in (0, 1]")
	offsetPrice := f.Float64("offset-price", 0, "price per tonne CO2e to cost offsetting the emissions (with --currency); none is assumed")
	currency := f.String("currency", "", "ISO 4217 currency of --offset-price, e.g. EUR")
	compare := f.String("compare-zones", "", "comma-separated zones or regions to compare, e.g. FR,DE,US,gcp:europe-north1")
	var cands candidateFlags
	f.Var(&cands, "candidate", "a configuration to compare, 'NAME: KEY=VALUE ...' (keys: the flags' names), repeatable")
	asJSON := f.bool("json", false, "print JSON")
	listDevices := f.bool("list-devices", false, "list the embedded accelerator table and exit")
	rest, code, ok := f.parse(args, false)
	if !ok {
		return code
	}
	usageErr := f.usageError
	if len(rest) > 0 {
		return usageErr("unexpected argument %q (quote names with spaces: --device \"A100 80GB\")", rest[0])
	}
	if *listDevices {
		return printDeviceTable(stdout, stderr, *asJSON)
	}
	// set holds the flags of the command line: two of them may conflict,
	// a flag never conflicts with a variable.
	set := f.onCmdLine

	// Values the library would read as "use the default" must not be 0 or
	// negative when given.
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"watts", *watts}, {"utilization", *utilization}, {"count", float64(*count)}, {"hours", *hours},
		{"days", *days}, {"gpu-hours", *gpuHours}, {"pue", *pue}, {"intensity", *intensity},
		{"gpus-per-server", float64(*perServer)}, {"lifetime-years", *lifeYears}, {"lifetime-utilization", *lifeUtil},
		{"flops", *flops}, {"params", *params}, {"tokens", *tokens}, {"peak-tflops", *peak}, {"mfu", *mfu},
		{"offset-price", *offsetPrice},
	} {
		if f.given(p.name) && !(p.v > 0) {
			return usageErr("%s must be greater than 0, got %v", f.what(p.name), p.v)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"embodied-gpu-kg", *gpuKg}, {"embodied-server-kg", *serverKg}} {
		if f.given(p.name) && !(p.v >= 0) {
			return usageErr("%s must not be negative, got %v", f.what(p.name), p.v)
		}
	}

	selecting := len(cands) > 0
	switch {
	case selecting && *compare != "":
		return usageErr("give --candidate or --compare-zones, not both: a candidate names its zone with zone=Z")
	case selecting && set["offset-price"]:
		return usageErr("--offset-price applies to one estimate: drop --candidate or --offset-price")
	}
	if strings.TrimSpace(*device) == "" && !set["watts"] && !selecting {
		return usageErr("give --device NAME or --watts W (carbontrack estimate --list-devices shows the devices)")
	}
	compute := given(set, "flops", "params", "tokens")
	d := given(set, "hours", "days", "gpu-hours")
	switch {
	case len(compute) > 0 && len(d) > 0:
		return usageErr("give the duration or the compute, not %s and %s: the compute gives the duration", d[0], compute[0])
	case set["flops"] && (set["params"] || set["tokens"]):
		return usageErr("give --flops or --params and --tokens (6 × N × D), not both")
	case set["params"] != set["tokens"] && !set["flops"] && !selecting:
		return usageErr("--params and --tokens go together: the compute is 6 × params × tokens")
	case len(compute) == 0 && len(d) == 0 && !selecting:
		return usageErr("give the duration: --hours H, --days D or --gpu-hours H (total device-hours), " +
			"or the compute: --flops F or --params N --tokens D")
	case len(d) > 1:
		return usageErr("give one duration, not %s", strings.Join(d, " and "))
	case len(compute) == 0 && (set["peak-tflops"] || set["mfu"]) && !selecting:
		return usageErr("%s belongs to the performance model: give --flops or --params and --tokens", given(set, "peak-tflops", "mfu")[0])
	}
	switch {
	case set["offset-price"] && strings.TrimSpace(*currency) == "":
		return usageErr("give the currency of --offset-price with --currency (e.g. EUR): none is assumed")
	case set["currency"] && !set["offset-price"]:
		return usageErr("--currency goes with --offset-price, the price per tonne CO2e you want costed")
	case set["offset-price"] && *compare != "":
		return usageErr("--offset-price applies to one estimate: drop --compare-zones or --offset-price")
	}
	if g := given(set, "intensity", "zone", "region"); len(g) > 1 {
		return usageErr("give one of --intensity, --zone and --region, not %s", strings.Join(g, " and "))
	} else if *compare != "" && len(g) > 0 {
		return usageErr("--compare-zones sets the zones: drop %s", g[0])
	}

	job := estimate.Job{
		Device: *device, Count: *count, Utilization: *utilization,
		Hours: *hours, Days: *days, DeviceHours: *gpuHours,
		FLOPs: *flops, Params: *params, Tokens: *tokens, PeakTFLOPS: *peak,
		OffsetPrice: *offsetPrice, Currency: *currency,
	}
	if set["mfu"] {
		job.MFU = *mfu
	}
	if set["watts"] {
		job.Watts = *watts
	}
	if f.given("pue") {
		job.PUE = *pue
	}
	var loc factor.Location
	switch {
	case *compare != "":
	case set["intensity"]:
		job.Intensity = factor.GramsPerKWh(*intensity)
	default:
		// The zone given, else this machine's: an estimate is most often
		// made where the job will run.
		lctx, cancel := context.WithTimeout(ctx, factor.DefaultMetadataBudget+time.Second)
		l, err := locateZone(lctx, f, false, nil, "carbontrack estimate")
		cancel()
		if err != nil {
			return usageErr("%s", plainError(err))
		}
		if err := factor.CheckZone(l.Zone); err != nil {
			return usageErr("%s: %s", l.From, plainError(err))
		}
		loc = l
		if l.Method != factor.LocatedDefault {
			job.Zone = l.Zone
		} // else the estimate's note says the world average is used, and how to name the zone
	}
	if e := given(set, "embodied-gpu-kg", "embodied-server-kg", "gpus-per-server", "lifetime-years", "lifetime-utilization"); *embodied || len(e) > 0 {
		job.Embodied = true
		job.EmbodiedModel = estimate.EmbodiedModel{GPUKg: *gpuKg, ServerKg: *serverKg, GPUsPerServer: *perServer,
			LifetimeYears: *lifeYears, LifetimeUtilization: *lifeUtil}
	}

	fail := func(err error) int {
		msg := plainError(err)
		if errors.Is(err, estimate.ErrUnknownDevice) {
			msg += " (--watts W); carbontrack estimate --list-devices shows the table"
		}
		fmt.Fprintf(stderr, "carbontrack estimate: %s\n", msg)
		if errors.Is(err, estimate.ErrInvalid) || errors.Is(err, estimate.ErrUnknownDevice) || errors.Is(err, factor.ErrUnknownZone) {
			return 2
		}
		return 1
	}

	if selecting {
		list := make([]estimate.Candidate, 0, len(cands))
		for _, c := range cands {
			j, err := c.apply(job)
			if err != nil {
				return usageErr("--candidate %q: %s", clipArg(c.name), err)
			}
			list = append(list, estimate.Candidate{Name: c.name, Job: j})
		}
		c, err := estimate.CompareJobs(list)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return writeJSON(stdout, stderr, candidatesDoc(c))
		}
		printCandidates(stdout, c)
		return 0
	}
	if *compare != "" {
		c, err := estimate.CompareZones(job, strings.Split(*compare, ","))
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return writeJSON(stdout, stderr, compareDoc(c))
		}
		printComparison(stdout, c, job)
		return 0
	}
	r, err := estimate.Estimate(job)
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		doc := estimateDoc(r)
		doc.ZoneFrom = optString(loc.From)
		return writeJSON(stdout, stderr, doc)
	}
	printEstimate(stdout, r, job, loc)
	return 0
}

// given returns, as "--name", the flags of names that were set.
func given(set map[string]bool, names ...string) []string {
	var out []string
	for _, n := range names {
		if set[n] {
			out = append(out, "--"+n)
		}
	}
	return out
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
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return j, fmt.Errorf("%s must be a number greater than 0, got %q", k, clipArg(v))
		}
		switch k {
		case "watts":
			j.Watts = x
		case "utilization":
			j.Utilization = x
		case "hours":
			j.Hours = x
		case "days":
			j.Days = x
		case "gpu-hours":
			j.DeviceHours = x
		case "flops":
			j.FLOPs = x
		case "params":
			j.Params = x
		case "tokens":
			j.Tokens = x
		case "mfu":
			j.MFU = x
		case "peak-tflops":
			j.PeakTFLOPS = x
		case "intensity":
			j.Intensity = factor.GramsPerKWh(x)
		case "pue":
			j.PUE = x
		}
	}
	return j, nil
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

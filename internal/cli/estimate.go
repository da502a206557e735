package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/estimate"
	"github.com/carbontrack/carbontrack/factor"
)

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
	var flopsV, paramsV, tokensV countValue
	f.Var(&flopsV, "flops", "total training compute in FLOPs, e.g. 3.14e23 (instead of a duration)")
	f.Var(&paramsV, "params", "parameters of a dense transformer, e.g. 7B or 7e9, with --tokens: compute = 6 × params × tokens")
	f.Var(&tokensV, "tokens", "training tokens, e.g. 2T or 2e12, with --params")
	flops, params, tokens := (*float64)(&flopsV), (*float64)(&paramsV), (*float64)(&tokensV)
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

// countValue is a flag of a count of parameters, tokens or FLOPs, taken as
// estimate.ParseCount does: 7e9, 7000000000 or 7B.
type countValue float64

func (c *countValue) String() string { return strconv.FormatFloat(float64(*c), 'g', -1, 64) }

// Set parses s with estimate.ParseCount.
func (c *countValue) Set(s string) error {
	v, err := estimate.ParseCount(s)
	*c = countValue(v)
	return err
}

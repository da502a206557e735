package estimate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

// Formula is the estimator this package implements, as Patterson et al.
// (2021, "Carbon Emissions and Large Neural Network Training",
// arXiv:2104.10350) state it.
const Formula = "kWh = hours × devices × W per device × PUE / 1000; kgCO2e = kWh × gCO2e/kWh / 1000"

// PerformanceFormula is the performance model: the work and the hardware's
// throughput give the device-hours, which Formula turns into energy.
const PerformanceFormula = "device-hours = FLOPs / (peak TFLOPS × 10^12 × MFU × 3600); hours = device-hours / devices"

// DenseTransformerFLOPsPerParamToken is the training compute of a dense
// transformer per parameter and token: about 2 FLOPs forward and 4 backward,
// so FLOPs ≈ 6 · N · D for N parameters and D tokens (Kaplan et al. 2020,
// "Scaling Laws for Neural Language Models", arXiv:2001.08361; Hoffmann et
// al. 2022). It leaves out attention over the context, activation
// recomputation and any mixture-of-experts sparsity: give FLOPs for those.
const DenseTransformerFLOPsPerParamToken = 6

// DefaultMFU is the model-FLOPs utilisation used when Job.MFU is 0: 0.4, the
// fraction of the peak dense throughput large training runs sustain.
// Published runs report roughly 0.3 to 0.55: PaLM 540B 46.2 % (Chowdhery et
// al. 2022, Table 3); Llama 2's GPU-hours (Touvron et al. 2023, Table 2)
// imply 0.35 to 0.43 with 6·N·D on A100s at 312 TFLOPS (0.41 for 7B); the
// runs of Patterson et al. 2021 (Table 4) imply 0.28 to 0.39 on TPU v3 (T5,
// Meena, GShard-600B, Switch Transformer) and, for GPT-3's 3.14e23 FLOPs on
// 10,000 V100s in 14.8 days, about 0.2 of the V100's 125 TFLOPS. Small or
// badly tuned jobs run lower.
const DefaultMFU = 0.4

// DefaultPUE is the power usage effectiveness used when Job.PUE is 0: 1.58,
// the average annual PUE of data centres worldwide (Uptime Institute Global
// Data Center Survey 2023; 1.56 in 2024). Hyperscale clouds report about 1.1
// (Google 1.10, AWS 1.135 per Cloud Carbon Footprint, Azure 1.12).
const DefaultPUE = 1.58

// MaxPUE is the largest PUE Job accepts, the bound package tracker applies
// too: against a global average of 1.58 (DefaultPUE), a larger value is a
// typing or unit error.
const MaxPUE = 5

// HoursPerYear is 365 × 24, the year the amortisation of embodied emissions
// counts in.
const HoursPerYear = 8760

// Embodied emissions of hardware: Luccioni, Viguier and Ligozat (2022),
// "Estimating the Carbon Footprint of BLOOM, a 176B Parameter Language
// Model" (arXiv:2211.02001), for the HPE Apollo servers of Jean Zay.
const (
	// EmbodiedGPUKg is the manufacturing emissions of one GPU, in kgCO2e
	// (about 150; Luccioni et al. 2022).
	EmbodiedGPUKg = 150.0
	// EmbodiedServerKg is the manufacturing emissions of one server without
	// its GPUs, in kgCO2e (about 2,500; Luccioni et al. 2022).
	EmbodiedServerKg = 2500.0
	// GPUsPerServer is the number of GPUs a server holds by default (8, as
	// in BLOOM's servers and DGX/HGX machines).
	GPUsPerServer = 8
	// LifetimeYears is the service life the embodied emissions are spread
	// over, in years (6; Luccioni et al. 2022).
	LifetimeYears = 6.0
	// LifetimeUtilization is the fraction of that life the hardware is busy
	// (0.85; Luccioni et al. 2022).
	LifetimeUtilization = 0.85
)

var (
	// ErrInvalid means a Job field is out of range or fields contradict each
	// other; the message names the field and says what to do.
	ErrInvalid = errors.New("estimate: invalid job")
	// ErrUnknownDevice means Job.Device (or a LookupAccelerator name) is not
	// in the embedded table; the message lists close matches.
	ErrUnknownDevice = errors.New("estimate: unknown device")
)

// EmbodiedModel is how Estimate amortises the manufacturing emissions of the
// hardware: the job's share is hours / (LifetimeYears × 8760 ×
// LifetimeUtilization) of (GPUKg × devices + ServerKg × servers), with
// servers = ceil(devices / GPUsPerServer). The zero value means
// DefaultEmbodiedModel. It is a plain value.
type EmbodiedModel struct {
	// GPUKg is the manufacturing emissions of one accelerator, in kgCO2e.
	GPUKg float64
	// ServerKg is the manufacturing emissions of one server without its
	// accelerators, in kgCO2e.
	ServerKg float64
	// GPUsPerServer is the number of accelerators per server, at least 1.
	GPUsPerServer int
	// LifetimeYears is the service life, in years, over which the emissions
	// are spread.
	LifetimeYears float64
	// LifetimeUtilization is the fraction of the life the hardware is busy,
	// in (0, 1].
	LifetimeUtilization float64
}

// DefaultEmbodiedModel returns Luccioni et al. (2022)'s figures: 150 kgCO2e
// per GPU, 2,500 kgCO2e per server of 8 GPUs, over 6 years at 85 %
// utilisation.
func DefaultEmbodiedModel() EmbodiedModel {
	return EmbodiedModel{
		GPUKg:               EmbodiedGPUKg,
		ServerKg:            EmbodiedServerKg,
		GPUsPerServer:       GPUsPerServer,
		LifetimeYears:       LifetimeYears,
		LifetimeUtilization: LifetimeUtilization,
	}
}

// Job describes a training run for Estimate. Power comes from Device (a name
// in the embedded table, see Accelerators) or Watts; the duration from
// exactly one of Hours, Days and DeviceHours; the carbon intensity from
// Intensity, Zone, or else the world average. Fields left zero take the
// defaults their comments give. A Job is a plain value; Estimate only reads
// it.
type Job struct {
	// Device names an accelerator in the embedded table ("h100-sxm",
	// "A100 80GB", "tpu v4"), matched as LookupAccelerator does. Its Watts
	// is the power per device unless Watts is set.
	Device string
	// Watts is the power per device in watts. When set it overrides the
	// table (Device then only names the hardware); a measured mean belongs
	// here, with Utilization 1.
	Watts float64
	// Utilization is the mean fraction of Watts drawn over the run, in
	// (0, 1]; 0 means 1. TDP is an upper bound: training averages below it.
	Utilization float64
	// Count is the number of devices; 0 means 1.
	Count int
	// Hours is the wall-clock duration in hours.
	Hours float64
	// Days is the wall-clock duration in days of 24 hours.
	Days float64
	// DeviceHours is the total device-hours (GPU-hours, chip-hours), as
	// papers often report; the wall-clock hours are DeviceHours / Count.
	DeviceHours float64
	// PUE is the data centre's power usage effectiveness, in [1, MaxPUE]; 0
	// means DefaultPUE. 1 estimates the IT energy alone.
	PUE float64
	// Intensity is the carbon intensity of the electricity in gCO2e/kWh,
	// in (0, factor.MaxPlausible]. 0 means: look Zone up, or else use
	// factor.WorldAverage, with a note in Result.Notes.
	Intensity factor.GramsPerKWh
	// Zone is a country or cloud region for factor.Lookup ("FR",
	// "gcp:europe-north1"), used when Intensity is 0.
	Zone string
	// Embodied adds the amortised manufacturing emissions of the hardware
	// (Result.EmbodiedKg), per EmbodiedModel.
	Embodied bool
	// EmbodiedModel is the amortisation model; the zero value means
	// DefaultEmbodiedModel. It is used only with Embodied.
	EmbodiedModel EmbodiedModel

	// The performance model: instead of a duration, the work (FLOPs, or
	// Params and Tokens) and the hardware's throughput (PeakTFLOPS × MFU)
	// give the device-hours, per PerformanceFormula. Hours, Days and
	// DeviceHours must then be 0.

	// FLOPs is the total training compute in floating-point operations
	// (e.g. 3.14e23 for GPT-3). Exclusive with Params and Tokens.
	FLOPs float64
	// Params is the number of parameters of a dense transformer; with
	// Tokens, the compute is 6 · Params · Tokens
	// (DenseTransformerFLOPsPerParamToken).
	Params float64
	// Tokens is the number of training tokens; it goes with Params.
	Tokens float64
	// PeakTFLOPS is the peak dense throughput per device in TFLOPS
	// (10^12 FLOP/s); 0 means the table's (Accelerator.PeakTFLOPS) for
	// Device. A device without a figure in the table needs it.
	PeakTFLOPS float64
	// MFU is the model-FLOPs utilisation, the fraction of PeakTFLOPS the run
	// sustains, in (0, 1]; 0 means DefaultMFU.
	MFU float64

	// OffsetPrice is a price per tonne of CO2e, given by the caller (none is
	// ever assumed); when set, Result.OffsetCost is what offsetting
	// Result.TotalKg would cost at it. 0 means no offset line.
	OffsetPrice float64
	// Currency is the currency of OffsetPrice, an ISO 4217 code ("EUR",
	// "usd"); required with OffsetPrice.
	Currency string
}

// OffsetCaveat is the sentence that goes with every offset cost.
const OffsetCaveat = "Offsets do not undo emissions: the CO2e is emitted all the same. " +
	"Avoiding it comes first: a cleaner zone, fewer or shorter runs."

// Step is one line of the arithmetic: Quantity = Expression = Value Unit. It
// is a plain value.
type Step struct {
	// Quantity names what is computed ("IT energy").
	Quantity string
	// Expression is the computation with its numbers and units
	// ("1,344 device-h × 700 W / 1000").
	Expression string
	// Value is the result, in Unit.
	Value float64
	// Unit is the unit of Value ("kWh").
	Unit string
}

// String formats the step for people, for example
// "IT energy = 1,344 device-h × 700 W / 1000 = 940.8 kWh".
func (s Step) String() string {
	return s.Quantity + " = " + s.Expression + " = " + FormatNumber(s.Value) + " " + s.Unit
}

// Result is what Estimate computed, with every input it used (defaults
// applied) and the arithmetic. It is a plain value.
type Result struct {
	// Device is the canonical name of the accelerator from the table, or ""
	// when the job gave only Watts.
	Device string
	// Accelerator is the table row behind Device; the zero value when Device
	// is "".
	Accelerator Accelerator
	// Watts is the power per device in watts before Utilization: the
	// table's, or Job.Watts.
	Watts float64
	// WattsSource says where Watts came from: the table row's source, or
	// "given".
	WattsSource string
	// Utilization is the fraction of Watts drawn on average.
	Utilization float64
	// AverageWatts is Watts × Utilization, the mean power per device in W.
	AverageWatts float64
	// Count is the number of devices.
	Count int
	// Hours is the wall-clock duration in hours.
	Hours float64
	// DeviceHours is Hours × Count.
	DeviceHours float64
	// PUE is the power usage effectiveness applied.
	PUE float64
	// Intensity is the carbon intensity used, with its zone and source: a
	// static table value for a zone or the world average, or Source "given"
	// for Job.Intensity.
	Intensity factor.Intensity
	// ITEnergyKWh is the energy of the devices alone, in kWh.
	ITEnergyKWh float64
	// EnergyKWh is the facility energy, ITEnergyKWh × PUE, in kWh.
	EnergyKWh float64
	// EmissionsKg is the operational emissions, EnergyKWh × intensity, in
	// kgCO2e.
	EmissionsKg float64
	// EmbodiedKg is the job's share of the manufacturing emissions of the
	// hardware, in kgCO2e; 0 unless Job.Embodied.
	EmbodiedKg float64
	// Embodied is the model EmbodiedKg was computed with; nil unless
	// Job.Embodied.
	Embodied *EmbodiedModel
	// Servers is the number of servers the embodied emissions count; 0
	// unless Job.Embodied.
	Servers int
	// TotalKg is EmissionsKg + EmbodiedKg, in kgCO2e.
	TotalKg float64
	// Steps is the arithmetic, in order.
	Steps []Step
	// Notes are caveats for people: defaults taken, upper bounds, figures
	// that could not be confirmed.
	Notes []string

	// Performance is true when the device-hours came from the work and the
	// throughput (Job.FLOPs or Job.Params × Job.Tokens) rather than a
	// duration; the fields below are then set.
	Performance bool
	// FLOPs is the training compute, in FLOPs: Job.FLOPs, or 6 · Params ·
	// Tokens.
	FLOPs float64
	// Params and Tokens are Job's, when the compute came from them; else 0.
	Params, Tokens float64
	// PeakTFLOPS is the peak dense throughput per device used, in TFLOPS.
	PeakTFLOPS float64
	// PeakSource says where PeakTFLOPS came from: the table row's
	// PeakSource, or "given".
	PeakSource string
	// MFU is the model-FLOPs utilisation used.
	MFU float64
	// MFUSource is "given" (Job.MFU) or "default" (DefaultMFU).
	MFUSource string

	// OffsetCost is what offsetting TotalKg would cost at OffsetPrice, in
	// OffsetCurrency; 0 unless Job.OffsetPrice was given.
	OffsetCost float64
	// OffsetPrice is Job.OffsetPrice, per tonne of CO2e.
	OffsetPrice float64
	// OffsetCurrency is Job.Currency, upper-cased; "" without an offset.
	OffsetCurrency string
}

// Estimate computes the energy and emissions of job with Formula, and, with
// Job.Embodied, the amortised manufacturing emissions. An invalid job is an
// error wrapping ErrInvalid (or ErrUnknownDevice, or factor.ErrUnknownZone
// for a zone not in the embedded tables). Estimate is safe for concurrent
// use.
func Estimate(job Job) (Result, error) {
	var r Result
	bad := func(format string, args ...any) (Result, error) {
		return Result{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}

	// Devices and power.
	r.Count = job.Count
	switch {
	case job.Count < 0:
		return bad("count must be at least 1, got %d", job.Count)
	case job.Count == 0:
		r.Count = 1
	}
	if !finite(job.Watts) || job.Watts < 0 {
		return bad("watts must be a positive number of W per device, got %v", job.Watts)
	}
	if strings.TrimSpace(job.Device) != "" {
		a, err := LookupAccelerator(job.Device)
		if err != nil {
			return Result{}, err
		}
		r.Device, r.Accelerator = a.Name, a
		r.Watts, r.WattsSource = a.Watts, a.Source
	}
	switch {
	case job.Watts > 0:
		if r.Device != "" && job.Watts != r.Watts {
			r.Notes = append(r.Notes, fmt.Sprintf("%s W per device given; it replaces the table's %s W for %s.",
				FormatNumber(job.Watts), FormatNumber(r.Watts), r.Device))
		}
		r.Watts, r.WattsSource = job.Watts, "given"
	case r.Device == "":
		return bad("no power: name a device from the table (see Accelerators) or give the watts per device")
	}
	r.Utilization = job.Utilization
	switch {
	case !finite(job.Utilization) || job.Utilization < 0 || job.Utilization > 1:
		return bad("utilization must be a fraction in (0, 1], got %v: it scales the W per device to the run's mean "+
			"(for a measured mean above the table's figure, give the watts instead)", job.Utilization)
	case job.Utilization == 0:
		r.Utilization = 1
	}
	r.AverageWatts = r.Watts * r.Utilization

	// Performance model: the work and the throughput give the device-hours.
	perf, err := r.performance(job)
	if err != nil {
		return Result{}, err
	}

	// Duration.
	given := 0
	for _, d := range []struct {
		name string
		v    float64
	}{{"hours", job.Hours}, {"days", job.Days}, {"device-hours", job.DeviceHours}} {
		if !finite(d.v) || d.v < 0 {
			return bad("%s must be positive, got %v", d.name, d.v)
		}
		if d.v > 0 {
			given++
		}
	}
	switch {
	case perf && given > 0:
		return bad("give the compute (FLOPs, or parameters and tokens) or a duration, not both: the compute gives the duration")
	case perf:
	case given == 0:
		return bad("no duration: give the hours, the days or the device-hours (GPU-hours) of the run, or its compute (FLOPs)")
	case given > 1:
		return bad("give one duration, not several: hours, days or device-hours (hours %v, days %v, device-hours %v)",
			job.Hours, job.Days, job.DeviceHours)
	}
	switch {
	case job.Days > 0:
		r.Hours = job.Days * 24
		r.Steps = append(r.Steps, Step{"hours", FormatNumber(job.Days) + " days × 24 h", r.Hours, "h"})
	case perf:
		r.Hours = r.DeviceHours / float64(r.Count)
		r.Steps = append(r.Steps, Step{"hours", FormatNumber(r.DeviceHours) + " device-h / " + plural(r.Count, "device"), r.Hours, "h"})
	case job.DeviceHours > 0:
		r.Hours = job.DeviceHours / float64(r.Count)
		r.Steps = append(r.Steps, Step{"hours", FormatNumber(job.DeviceHours) + " device-h / " + plural(r.Count, "device"), r.Hours, "h"})
	default:
		r.Hours = job.Hours
	}

	// PUE.
	r.PUE = job.PUE
	switch {
	case job.PUE == 0:
		r.PUE = DefaultPUE
		r.Notes = append(r.Notes, "PUE "+FormatNumber(DefaultPUE)+" is the global average data centre (Uptime Institute 2023); "+
			"hyperscale clouds report about 1.1 (Google 1.10, AWS 1.135, Azure 1.12). Give the PUE of yours if you know it.")
	case !finite(job.PUE) || job.PUE < 1 || job.PUE > MaxPUE:
		return bad("PUE must be in [1, %v], got %v: it is facility energy / IT energy (1 counts the devices alone)", MaxPUE, job.PUE)
	}

	// Intensity.
	switch {
	case !finite(float64(job.Intensity)) || job.Intensity < 0 || job.Intensity > factor.MaxPlausible:
		return bad("intensity must be in (0, %v] gCO2e/kWh, got %v", float64(factor.MaxPlausible), float64(job.Intensity))
	case job.Intensity > 0 && strings.TrimSpace(job.Zone) != "":
		return bad("give an intensity or a zone, not both (intensity %v, zone %q)", float64(job.Intensity), clip(job.Zone))
	case job.Intensity > 0:
		r.Intensity = factor.Intensity{Value: job.Intensity, Provider: "fixed", Source: "given"}
	case strings.TrimSpace(job.Zone) != "":
		// Zones as the tracker takes them: a sub-national zone ("DK1",
		// "US-CAL-CISO") counts its country's annual average, with a note.
		if err := factor.CheckZone(job.Zone); err != nil {
			return Result{}, fmt.Errorf("estimate: %w", err)
		}
		v, err := factor.Static(job.Zone).Intensity(context.Background(), time.Time{})
		if err != nil {
			return Result{}, fmt.Errorf("estimate: %w", err)
		}
		v.At = time.Time{}
		if v.Fallback != "" {
			r.Notes = append(r.Notes, strings.ToUpper(v.Fallback[:1])+v.Fallback[1:]+".")
		}
		r.Intensity = v
	default:
		v, err := factor.Lookup("world")
		if err != nil {
			return Result{}, fmt.Errorf("estimate: %w", err)
		}
		r.Intensity = v
		r.Notes = append(r.Notes, fmt.Sprintf("No intensity or zone given: using the world average, %s gCO2e/kWh "+
			"(Our World in Data, %d). Name the zone the run draws power from: grids range from under 50 to over 800.",
			FormatNumber(float64(v.Value)), v.Year))
	}

	// The arithmetic (Patterson et al. 2021).
	if !perf {
		r.DeviceHours = job.DeviceHours // as given, not rounded through Hours
	}
	if r.DeviceHours == 0 {
		r.DeviceHours = float64(r.Count) * r.Hours
	}
	r.ITEnergyKWh = r.DeviceHours * r.AverageWatts / 1000
	r.EnergyKWh = r.ITEnergyKWh * r.PUE
	r.EmissionsKg = r.EnergyKWh * float64(r.Intensity.Value) / 1000
	wattsLabel := FormatNumber(r.Watts) + " W"
	if r.Device != "" && r.WattsSource != "given" {
		wattsLabel += " (" + r.Device + ", " + r.Accelerator.Basis + ")"
	}
	r.Steps = append(r.Steps,
		Step{"power per device", wattsLabel + " × " + FormatNumber(r.Utilization) + " utilization", r.AverageWatts, "W"})
	if job.DeviceHours == 0 && !perf {
		r.Steps = append(r.Steps, Step{"device-hours", plural(r.Count, "device") + " × " + FormatNumber(r.Hours) + " h", r.DeviceHours, "device-h"})
	}
	r.Steps = append(r.Steps,
		Step{"IT energy", FormatNumber(r.DeviceHours) + " device-h × " + FormatNumber(r.AverageWatts) + " W / 1000", r.ITEnergyKWh, "kWh"},
		Step{"energy", FormatNumber(r.ITEnergyKWh) + " kWh × " + FormatNumber(r.PUE) + " PUE", r.EnergyKWh, "kWh"},
		Step{"emissions", FormatNumber(r.EnergyKWh) + " kWh × " + FormatNumber(float64(r.Intensity.Value)) + " gCO2e/kWh / 1000", r.EmissionsKg, "kg"},
	)
	r.TotalKg = r.EmissionsKg

	if job.Embodied {
		if err := r.addEmbodied(job.EmbodiedModel); err != nil {
			return Result{}, err
		}
	}
	if err := r.addOffset(job); err != nil {
		return Result{}, err
	}
	r.notes()
	return r, nil
}

// performance applies the performance model when job gives its compute:
// it sets the compute, throughput and device-hours, with their steps, and
// reports whether it applied. It runs after the power (Device is known).
func (r *Result) performance(job Job) (bool, error) {
	bad := func(format string, args ...any) (bool, error) {
		return false, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"FLOPs", job.FLOPs}, {"parameters", job.Params}, {"tokens", job.Tokens}, {"peak TFLOPS", job.PeakTFLOPS}, {"MFU", job.MFU}} {
		if !finite(p.v) || p.v < 0 {
			return bad("%s must be a positive number, got %v", p.name, p.v)
		}
	}
	if job.FLOPs == 0 && job.Params == 0 && job.Tokens == 0 {
		if job.PeakTFLOPS > 0 || job.MFU > 0 {
			return bad("peak TFLOPS and MFU belong to the performance model: give the compute too (FLOPs, or parameters and tokens)")
		}
		return false, nil
	}
	switch {
	case job.FLOPs > 0 && (job.Params > 0 || job.Tokens > 0):
		return bad("give the FLOPs or the parameters and tokens, not both")
	case job.FLOPs == 0 && (job.Params == 0 || job.Tokens == 0):
		return bad("the compute 6 · N · D needs both the parameters (N) and the tokens (D), got %v and %v", job.Params, job.Tokens)
	case job.MFU > 1:
		return bad("MFU must be a fraction in (0, 1], got %v: it is the share of the peak throughput the run sustains", job.MFU)
	}
	r.Performance = true
	if job.FLOPs > 0 {
		r.FLOPs = job.FLOPs
	} else {
		r.Params, r.Tokens = job.Params, job.Tokens
		r.FLOPs = DenseTransformerFLOPsPerParamToken * job.Params * job.Tokens
		r.Steps = append(r.Steps, Step{"compute", "6 × " + FormatNumber(job.Params) + " parameters × " +
			FormatNumber(job.Tokens) + " tokens", r.FLOPs, "FLOP"})
		r.Notes = append(r.Notes, "The compute is 6 · N · D, the dense-transformer estimate (Kaplan et al. 2020): "+
			"6 FLOPs per parameter and token, forward and backward. It leaves out attention over long contexts, "+
			"recomputation and mixture-of-experts sparsity: give the FLOPs if you know them.")
	}
	a := r.Accelerator
	switch {
	case job.PeakTFLOPS > 0:
		if r.Device != "" && a.PeakTFLOPS > 0 && job.PeakTFLOPS != a.PeakTFLOPS {
			r.Notes = append(r.Notes, fmt.Sprintf("%s TFLOPS per device given; it replaces the table's %s TFLOPS for %s.",
				FormatNumber(job.PeakTFLOPS), FormatNumber(a.PeakTFLOPS), r.Device))
		}
		r.PeakTFLOPS, r.PeakSource = job.PeakTFLOPS, "given"
	case r.Device != "" && a.PeakTFLOPS > 0:
		r.PeakTFLOPS, r.PeakSource = a.PeakTFLOPS, a.PeakSource
	case r.Device != "":
		return bad("the table has no trustworthy peak throughput for %s: give its peak dense TFLOPS per device "+
			"(BF16/FP16 tensor, without sparsity, from its datasheet)", r.Device)
	default:
		return bad("no peak throughput: name a device from the table or give the peak dense TFLOPS per device")
	}
	r.MFU, r.MFUSource = job.MFU, "given"
	if r.MFU == 0 {
		r.MFU, r.MFUSource = DefaultMFU, "default"
		r.Notes = append(r.Notes, "MFU "+FormatNumber(DefaultMFU)+" is a default: published large runs sustain roughly "+
			"0.3-0.55 of the peak (PaLM 46 %; Llama 2's GPU-hours imply about 0.4). Give the run's MFU if you know it.")
	}
	sustained := r.PeakTFLOPS * r.MFU
	peakLabel := FormatNumber(r.PeakTFLOPS) + " TFLOPS"
	if r.PeakSource != "given" {
		peakLabel += " (" + r.Device + ", dense peak)"
	}
	r.DeviceHours = r.FLOPs / (r.PeakTFLOPS * 1e12 * r.MFU * 3600)
	r.Steps = append(r.Steps,
		Step{"throughput per device", peakLabel + " × " + FormatNumber(r.MFU) + " MFU", sustained, "TFLOPS"},
		Step{"device-hours", FormatNumber(r.FLOPs) + " FLOP / (" + FormatNumber(sustained) + " TFLOPS × 10^12 × 3,600 s/h)",
			r.DeviceHours, "device-h"},
	)
	return true, nil
}

// OffsetCost returns what offsetting kg of CO2e costs at price per tonne,
// in currency (an ISO 4217 code, returned upper-case). No price or currency
// is ever assumed: a price without a currency, or the other way round, is
// an error whose message, for people, says what to give (Estimate wraps it
// in ErrInvalid); no price (0) and no currency is a zero cost and "". Say
// OffsetCaveat with every cost.
func OffsetCost(kg, price float64, currency string) (cost float64, cur string, err error) {
	cur = strings.ToUpper(strings.TrimSpace(currency))
	switch {
	case !finite(price) || price < 0:
		return 0, "", fmt.Errorf("offset price must be a positive amount per tonne CO2e, got %v", price)
	case price == 0 && cur != "":
		return 0, "", errors.New("a currency without an offset price: give the price per tonne CO2e too")
	case price == 0:
		return 0, "", nil
	case !isCurrency(cur):
		return 0, "", fmt.Errorf("the offset price needs its currency, as an ISO 4217 code such as EUR or USD, got %q "+
			"(none is assumed)", clip(currency))
	}
	return kg / 1000 * price, cur, nil
}

// addOffset prices the offsetting of TotalKg at the price the job gives.
func (r *Result) addOffset(job Job) error {
	cost, cur, err := OffsetCost(r.TotalKg, job.OffsetPrice, job.Currency)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if cur == "" {
		return nil
	}
	r.OffsetPrice, r.OffsetCurrency = job.OffsetPrice, cur
	tonnes := r.TotalKg / 1000
	r.OffsetCost = cost
	r.Steps = append(r.Steps, Step{"offset cost", FormatNumber(tonnes) + " t × " + FormatNumber(job.OffsetPrice) + " " + cur + "/t",
		r.OffsetCost, cur})
	r.Notes = append(r.Notes, OffsetCaveat)
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// addEmbodied adds the job's share of the hardware's manufacturing emissions.
func (r *Result) addEmbodied(m EmbodiedModel) error {
	if m == (EmbodiedModel{}) {
		m = DefaultEmbodiedModel()
	}
	switch {
	case !finite(m.GPUKg) || m.GPUKg < 0:
		return fmt.Errorf("%w: embodied kgCO2e per GPU must be 0 or more, got %v", ErrInvalid, m.GPUKg)
	case !finite(m.ServerKg) || m.ServerKg < 0:
		return fmt.Errorf("%w: embodied kgCO2e per server must be 0 or more, got %v", ErrInvalid, m.ServerKg)
	case m.GPUsPerServer < 1:
		return fmt.Errorf("%w: GPUs per server must be at least 1, got %d", ErrInvalid, m.GPUsPerServer)
	case !finite(m.LifetimeYears) || !(m.LifetimeYears > 0) || m.LifetimeYears > 100:
		return fmt.Errorf("%w: lifetime must be in (0, 100] years, got %v", ErrInvalid, m.LifetimeYears)
	case !finite(m.LifetimeUtilization) || !(m.LifetimeUtilization > 0) || m.LifetimeUtilization > 1:
		return fmt.Errorf("%w: lifetime utilization must be a fraction in (0, 1], got %v", ErrInvalid, m.LifetimeUtilization)
	}
	r.Embodied = &m
	r.Servers = int(math.Ceil(float64(r.Count) / float64(m.GPUsPerServer)))
	// Explicit conversions keep each product rounded on its own (no fused
	// multiply-add), so results are the same on every architecture.
	hardwareKg := float64(m.GPUKg*float64(r.Count)) + float64(m.ServerKg*float64(r.Servers))
	lifeHours := HoursPerYear * m.LifetimeYears * m.LifetimeUtilization
	r.EmbodiedKg = hardwareKg * r.Hours / lifeHours
	r.TotalKg = float64(r.EmissionsKg) + float64(r.EmbodiedKg)
	r.Steps = append(r.Steps,
		Step{"embodied hardware", FormatNumber(m.GPUKg) + " kg × " + plural(r.Count, "device") + " + " +
			FormatNumber(m.ServerKg) + " kg × " + plural(r.Servers, "server"), hardwareKg, "kg"},
		Step{"lifetime", FormatNumber(m.LifetimeYears) + " years × 8,760 h × " + FormatNumber(m.LifetimeUtilization) + " utilization", lifeHours, "h"},
		Step{"embodied", FormatNumber(hardwareKg) + " kg × " + FormatNumber(r.Hours) + " h / " + FormatNumber(lifeHours) + " h", r.EmbodiedKg, "kg"},
		Step{"total", FormatNumber(r.EmissionsKg) + " kg + " + FormatNumber(r.EmbodiedKg) + " kg", r.TotalKg, "kg"},
	)
	return nil
}

// notes adds the caveats about the device's figure.
func (r *Result) notes() {
	a := r.Accelerator
	if r.Device == "" || r.WattsSource == "given" {
		return
	}
	if !a.Verified {
		r.Notes = append(r.Notes, fmt.Sprintf("The %s figure (%s W) could not be confirmed against a primary source: "+
			"give the watts per device if you know better.", a.Name, FormatNumber(a.Watts)))
	}
	if r.Utilization == 1 {
		s := fmt.Sprintf("%s W is the %s's %s, an upper bound: training averages below it. Give a utilization "+
			"(e.g. 0.8) or a measured mean in W.", FormatNumber(a.Watts), a.Name, basisWords(a.Basis))
		if a.MeanWatts > 0 {
			s = fmt.Sprintf("%s W is the %s's %s, an upper bound: the vendor measured a mean of %s W "+
				"(utilization %s).", FormatNumber(a.Watts), a.Name, basisWords(a.Basis), FormatNumber(a.MeanWatts),
				FormatSig(a.MeanWatts/a.Watts, 2))
		}
		r.Notes = append(r.Notes, s)
	}
}

func basisWords(b string) string {
	if b == "TDP" {
		return "maximum power (TDP)"
	}
	return "highest measured power per chip"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return FormatNumber(float64(n)) + " " + word + "s"
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

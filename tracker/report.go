package tracker

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// Errors passed to the WithCancel function.
var (
	// ErrBudgetExceeded means the projected or actual emissions (or energy)
	// passed the configured budget.
	ErrBudgetExceeded = errors.New("tracker: budget exceeded")
	// ErrStoppedByUser means the user answered "n" to "Continue training
	// (y/n)?".
	ErrStoppedByUser = errors.New("tracker: training stopped by user")
)

// Components is energy by kind of device. The zero value is no energy.
type Components struct {
	GPU, CPU, DRAM power.Joules
}

func (c *Components) add(k power.Kind, j power.Joules) {
	switch k {
	case power.KindGPU:
		c.GPU += j
	case power.KindCPU:
		c.CPU += j
	case power.KindDRAM:
		c.DRAM += j
	}
}

// Total returns the energy of all kinds.
func (c Components) Total() power.Joules { return c.GPU + c.CPU + c.DRAM }

// Totals are the time, energy and emissions of a part of a run. Two
// energies are named apart everywhere in carbontrack: device energy, what
// the devices drew (before PUE), and facility energy, what the data centre
// drew for them (device energy × PUE). The zero value is nothing.
type Totals struct {
	// Duration is the wall time covered.
	Duration time.Duration
	// DeviceEnergy is the devices' energy, summed over devices, before PUE;
	// ByKind splits it.
	DeviceEnergy power.Joules
	ByKind       Components
	// FacilityEnergy is DeviceEnergy × PUE.
	FacilityEnergy power.Joules
	// Grams is the emissions in grams CO2e, PUE included: each sampled
	// interval's energy × PUE × the intensity at its time.
	Grams float64
}

// sub returns t - u, never below zero.
func (t Totals) sub(u Totals) Totals {
	return Totals{Duration: max(t.Duration-u.Duration, 0), DeviceEnergy: max(t.DeviceEnergy-u.DeviceEnergy, 0),
		FacilityEnergy: max(t.FacilityEnergy-u.FacilityEnergy, 0), Grams: max(t.Grams-u.Grams, 0),
		ByKind: Components{GPU: max(t.ByKind.GPU-u.ByKind.GPU, 0), CPU: max(t.ByKind.CPU-u.ByKind.CPU, 0),
			DRAM: max(t.ByKind.DRAM-u.ByKind.DRAM, 0)}}
}

// Epoch is one monitored epoch.
type Epoch struct {
	// N is the epoch's number, from 1.
	N int
	// Start and End delimit the epoch; Duration is End - Start.
	Start, End time.Time
	Duration   time.Duration
	// DeviceEnergy is the devices' energy (before PUE), summed over
	// devices; ByKind splits it; FacilityEnergy is DeviceEnergy × PUE.
	DeviceEnergy   power.Joules
	ByKind         Components
	FacilityEnergy power.Joules
	// Devices is the device energy of each source (before PUE), in the
	// order of Report.Sources.
	Devices []power.Joules
	// Grams is the emissions in grams CO2e: each sampled interval's energy ×
	// PUE × the intensity at its time.
	Grams float64
	// Intensity is the mean intensity the epoch met: Grams over its facility
	// energy (0 for an epoch without energy).
	Intensity factor.GramsPerKWh
	// Interrupted is true for an epoch still open when Stop was called.
	Interrupted bool
	// Work is the work the epoch did, as EpochEndWork reported it (0: none
	// reported), in Report.WorkUnit.
	Work float64
}

// Projection is the predicted consumption of the whole run.
type Projection struct {
	// Epochs is the number of epochs projected (New's epochs); Known is the
	// number of epochs it rests on.
	Epochs, Known int
	// Duration, FacilityEnergy (PUE included) and Grams are
	// carbontracker's projection: the mean epoch × Epochs.
	Duration       time.Duration
	FacilityEnergy power.Joules
	Grams          float64
	// Trend is true when at least 3 epochs are known; TrendGrams and
	// TrendFacilityEnergy then extrapolate a least-squares line through
	// the epochs' values.
	Trend               bool
	TrendGrams          float64
	TrendFacilityEnergy power.Joules
	// GramsLow and GramsHigh bound Grams with 95 % (Student's t prediction
	// interval for the sum of the remaining epochs); equal to Grams with
	// fewer than 2 epochs known.
	GramsLow, GramsHigh float64
}

// BudgetEvent says why the budget was passed.
type BudgetEvent struct {
	// Projected is true when the projection passed the budget, false when
	// the actual consumption did.
	Projected bool
	// Grams and KWh are the value that passed (facility kWh).
	Grams, KWh float64
	// BudgetGrams and BudgetKWh are the limits (0: none).
	BudgetGrams, BudgetKWh float64
}

// Equivalent is an interpretable equivalent of some emissions.
type Equivalent struct {
	// Value is in Unit.
	Value float64
	// Unit is what is counted, as carbontracker prints it.
	Unit string
	// Source says where the conversion factor comes from.
	Source string
}

// Conversion factors for Equivalents.
const (
	// GramsPerKmCar is the average emissions of new passenger cars registered
	// in the EU in 2020, 107.5 gCO2e/km (EEA, "CO2 performance of new
	// passenger cars in Europe", 2021; carbontracker's factor).
	GramsPerKmCar = 107.5
	// GramsPerLitrePetrol is the CO2 from burning one litre of petrol: 8,887
	// g per US gallon (US EPA, Greenhouse Gas Equivalencies Calculator; 40
	// CFR 600.113) / 3.785411784 L per gallon = 2,347.7 g/L.
	GramsPerLitrePetrol = 8887 / 3.785411784
)

// Equivalents converts grams CO2e into interpretable equivalents.
func Equivalents(grams float64) []Equivalent {
	return []Equivalent{
		{Value: grams / GramsPerKmCar, Unit: "km travelled by car", Source: "EEA 2020, new passenger cars in the EU, 107.5 gCO2e/km"},
		{Value: grams / GramsPerLitrePetrol, Unit: "litres of petrol burned", Source: "US EPA Greenhouse Gas Equivalencies, 8,887 gCO2/gallon"},
	}
}

// SourceReport is one measured device.
type SourceReport struct {
	Info power.Info
	// DeviceEnergy is the device's energy over the whole run, New to Stop
	// (before PUE); EpochsDeviceEnergy its part within epochs.
	DeviceEnergy, EpochsDeviceEnergy power.Joules
	// Lost is true when the source stopped answering; Err says why.
	Lost bool
	Err  string
}

// Report is everything the tracker knows. It is a copy: the caller owns it.
type Report struct {
	// Epochs is the number of epochs announced to New; Completed the number
	// monitored to their end.
	Epochs, Completed int
	// Interrupted is true when Stop came before all monitored epochs ended,
	// in an epoch or between two.
	Interrupted bool
	// Stopped is true once Stop was called.
	Stopped bool
	// Start is when New returned; End when the last epoch ended.
	Start, End time.Time
	// Run is the whole run, from New to Stop (to the latest read before
	// Stop): every joule measured, in epochs or not. It is the headline;
	// the parts below partition it.
	Run Totals
	// InEpochs is the epochs, an interrupted epoch's part included;
	// Actual the completed epochs only (the "Actual consumption" block of
	// carbontracker's log, which leaves an interrupted epoch out);
	// OutsideEpochs is Run minus InEpochs: before the first epoch, between
	// epochs and after the last (data loading, evaluation, a crash before
	// any epoch ended).
	InEpochs, Actual, OutsideEpochs Totals
	// PUE is the power usage effectiveness applied.
	PUE float64
	// MeanIntensity is the run's grams over its facility energy; with no
	// energy measured, the intensity in use.
	MeanIntensity factor.GramsPerKWh
	// Intensity is the latest intensity fetched; Intensities counts the
	// fetches and IntensityErrors the failed ones.
	Intensity                    factor.Intensity
	Intensities, IntensityErrors int
	// Identity is the run, machine and rank this tracker belongs to.
	Identity Identity
	// Label names the run for people (WithRunLabel; "carbontrack run" gives
	// the command line); empty when none was given.
	Label string
	// Scope is what was measured: ScopeMachine, the machine's devices, or
	// ScopeProcess, the share of a process tree (WithProcess).
	Scope string
	// Elsewhere are the devices of the machine that other trackers count
	// (WithLeaseDir, WithRank); this report does not include them.
	Elsewhere []Elsewhere
	// SharingNote says, when not empty, why the machine's devices may be
	// counted twice (no lease directory) or why a rank has no GPU.
	SharingNote string
	// Location is the zone of the emission factor and how it was found
	// ("DE (from the time zone Europe/Berlin)"); zero for a fixed value.
	Location factor.Location
	// Sources are the measured devices; Unavailable those that could not be.
	Sources     []SourceReport
	Unavailable []power.Unavailable
	// EpochRecords are the epochs, in order.
	EpochRecords []Epoch
	// Projection is the latest projection (remade at every epoch's end from
	// WithEpochsBeforePred on), nil until made.
	Projection *Projection
	// Interval bounds Run.Grams by the uncertainty of the estimated
	// devices; Low = High = Run.Grams when every device was measured.
	Interval EmissionsInterval
	// Equivalents converts Run.Grams.
	Equivalents []Equivalent
	// Misuse counts calls ignored (EpochEnd without EpochStart, calls after
	// Stop, ...); Dropped counts console messages of WithStopAndConfirm that
	// the writer did not take within the stop timeout (epoch records and
	// consumption blocks are never dropped); WriteErrors counts failed
	// writes.
	Misuse, Dropped, WriteErrors int
	// StopTimeouts names what Stop gave up waiting for after WithStopTimeout
	// ("sampler": a sensor read hung; "writer", "budget callback",
	// "advice", "intensity refresh"); empty when Stop finished everything.
	StopTimeouts []string
	// BudgetExceeded is set once the budget was passed; StoppedByUser when
	// the user answered "n".
	BudgetExceeded, StoppedByUser bool
	// Files are the files written.
	Files []string
	// Work is the work of the epochs (EpochEndWork), summed, in WorkUnit
	// (WithWorkUnit; empty when not named); WorkEpochs counts the epochs
	// with work and WorkTotals are their totals, the energy and emissions
	// that the per-unit figures (FacilityKWhPerWork, GramsPerWork and their
	// per-million twins) divide: facility energy, PUE included, of those
	// epochs only. Epochs without work and the energy outside epochs are
	// not divided (Run and OutsideEpochs hold them).
	Work       float64
	WorkUnit   string
	WorkEpochs int
	WorkTotals Totals
}

// FacilityKWhPerWork returns the facility energy in kWh (PUE included) per
// unit of work, over the epochs with work (WorkTotals); 0 without work.
func (r *Report) FacilityKWhPerWork() float64 {
	if r.Work <= 0 {
		return 0
	}
	return r.WorkTotals.FacilityEnergy.KWh() / r.Work
}

// GramsPerWork returns the grams CO2e (PUE included) per unit of work, over
// the epochs with work (WorkTotals); 0 without work.
func (r *Report) GramsPerWork() float64 {
	if r.Work <= 0 {
		return 0
	}
	return r.WorkTotals.Grams / r.Work
}

// FacilityKWhPerMillionWork is FacilityKWhPerWork per million units (kWh
// per million tokens).
func (r *Report) FacilityKWhPerMillionWork() float64 { return r.FacilityKWhPerWork() * 1e6 }

// GramsPerMillionWork is GramsPerWork per million units (g CO2e per
// million tokens).
func (r *Report) GramsPerMillionWork() float64 { return r.GramsPerWork() * 1e6 }

// projStats accumulates the completed epochs for the projection in constant
// memory and time per epoch, so that it can be remade at every EpochEnd
// without allocating: the means of the durations (s), facility energies (J)
// and grams, Welford's sum of squared deviations of the grams, and the
// least-squares co-deviations of energy and grams with the epoch's index
// x = 1, 2, ... (updated the same way, which stays accurate over millions of
// epochs). The zero value is no epoch.
type projStats struct {
	k          int
	mx         float64 // mean of x
	md, me, mg float64 // means of duration, energy and grams
	m2x, m2g   float64 // sums of squared deviations of x and grams
	cxe, cxg   float64 // sums of co-deviations of x with energy and grams
}

// scaleGrams multiplies the grams of every epoch added by k.
func (s *projStats) scaleGrams(k float64) {
	s.mg *= k
	s.m2g *= k * k
	s.cxg *= k
}

// scaleGrams multiplies the projection's grams by k.
func (p *Projection) scaleGrams(k float64) {
	p.Grams *= k
	p.TrendGrams *= k
	p.GramsLow *= k
	p.GramsHigh *= k
}

// add adds an epoch of dur seconds, e joules of facility energy and g grams.
func (s *projStats) add(dur, e, g float64) {
	s.k++
	k := float64(s.k)
	dx := k - s.mx
	s.mx += dx / k
	s.md += (dur - s.md) / k
	s.me += (e - s.me) / k
	dg := g - s.mg
	s.mg += dg / k
	s.m2x += dx * (k - s.mx)
	s.m2g += dg * (g - s.mg)
	s.cxe += dx * (e - s.me)
	s.cxg += dx * (g - s.mg)
}

// projection returns the projection for total epochs.
func (s *projStats) projection(total int) Projection {
	k := s.k
	p := Projection{Epochs: total, Known: k}
	if k == 0 {
		return p
	}
	n := float64(total)
	p.Duration = time.Duration(s.md * n * float64(time.Second))
	p.FacilityEnergy = power.Joules(s.me * n)
	p.Grams = s.mg * n
	p.GramsLow, p.GramsHigh = p.Grams, p.Grams
	if k >= 2 && total > k {
		sd := math.Sqrt(s.m2g / float64(k-1))
		rest := float64(total - k)
		// Prediction interval for the sum of the remaining epochs: each
		// varies by sd, and the mean is known to sd/√k.
		half := tQuantile(k-1) * sd * math.Sqrt(rest+rest*rest/float64(k))
		known := s.mg * float64(k)
		p.GramsLow = math.Max(known+s.mg*rest-half, known)
		p.GramsHigh = known + s.mg*rest + half
	}
	if k >= 3 {
		p.Trend = true
		p.TrendGrams = trendSum(k, s.mx, s.m2x, s.mg, s.cxg, total)
		p.TrendFacilityEnergy = power.Joules(trendSum(k, s.mx, s.m2x, s.me, s.cxe, total))
	}
	return p
}

// trendSum fits y = a + b·x by least squares over the k known epochs (x =
// 1..k, mean mx, squared deviations m2x; y's mean my, co-deviation cxy) and
// returns the known values' sum plus the line's values for x = k+1..total,
// each never below 0, in closed form.
func trendSum(k int, mx, m2x, my, cxy float64, total int) float64 {
	sum := my * float64(k)
	if total <= k {
		return sum
	}
	b := 0.0
	if m2x > 0 {
		b = cxy / m2x
	}
	a := my - b*mx
	lo, hi := float64(k+1), float64(total)
	switch {
	case b > 0: // a + b·x >= 0 from x >= -a/b
		lo = math.Max(lo, math.Ceil(-a/b))
	case b < 0: // a + b·x >= 0 up to x <= -a/b
		hi = math.Min(hi, math.Floor(-a/b))
	case a <= 0:
		return sum
	}
	if !(lo <= hi) {
		return sum
	}
	cnt := hi - lo + 1
	return sum + math.Max(cnt*a+b*(lo+hi)*cnt/2, 0)
}

// tTable is Student's t 0.975 quantile (two-sided 95 %) for 1 to 30 degrees
// of freedom, and tTail for 30, 40, 60, 120 and infinitely many (any
// statistics table, e.g. NIST/SEMATECH e-Handbook, table 1.4.2.3).
var (
	tTable = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	tTailDF = [...]float64{30, 40, 60, 120, math.Inf(1)}
	tTail   = [...]float64{2.042, 2.021, 2.000, 1.980, 1.960}
)

// tQuantile returns Student's t 0.975 quantile for df degrees of freedom:
// exact to df 30, then interpolated linearly in 1/df between 30, 40, 60,
// 120 and infinity (within 0.001 of the exact value).
func tQuantile(df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	if df <= len(tTable) {
		return tTable[df-1]
	}
	inv := 1 / float64(df)
	for i := 1; i < len(tTailDF); i++ {
		if float64(df) <= tTailDF[i] {
			lo, hi := 1/tTailDF[i-1], 1/tTailDF[i] // hi < inv <= lo
			return tTail[i] + (tTail[i-1]-tTail[i])*(inv-hi)/(lo-hi)
		}
	}
	return tTail[len(tTail)-1]
}

// EmissionsInterval is a run's emissions with the uncertainty of its
// estimated devices: a CPU estimated from load and TDP is a model, and its
// figure carries that model's typical error (power.Info.Uncertainty). The
// measured and declared devices are taken as exact. The zero value is no
// interval (no energy).
type EmissionsInterval struct {
	// Low and High bound Run.Grams: the grams of each estimated device ×
	// (1 ∓ its Uncertainty), the other devices' grams as they are. Half
	// the published measurements of a model lay within its estimate ×
	// (1 ± Uncertainty), so this is a typical range, not a guarantee.
	// Both equal Run.Grams when no device has a quantified uncertainty.
	Low, High float64
	// Estimated are the run's estimated devices, in the order of
	// Report.Sources, quantified or not; empty when every device was
	// measured or declared.
	Estimated []EstimatedPart
}

// EstimatedPart is an estimated device's part of a run's emissions.
type EstimatedPart struct {
	// Name and Kind are the source's (power.Info).
	Name string
	Kind power.Kind
	// Grams is the device's emissions over the run, PUE included.
	Grams float64
	// Uncertainty is its relative uncertainty (power.Info.Uncertainty); 0
	// when not quantified. Calibrated is true when the estimate rests on a
	// measured calibration of the CPU (power.CPUCalibration).
	Uncertainty float64
	Calibrated  bool
	// Source says where Uncertainty comes from, or that it is not
	// quantified.
	Source string
}

// Note says which estimates widen the interval, for people: "CPU
// estimated ±34 %", "CPU estimated (calibrated) ±18 %, DRAM estimated
// (not quantified)"; empty when nothing was estimated.
func (iv EmissionsInterval) Note() string {
	var b strings.Builder
	for i, p := range iv.Estimated {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strings.ToUpper(string(p.Kind)))
		b.WriteString(" estimated")
		if p.Calibrated {
			b.WriteString(" (calibrated)")
		}
		if p.Uncertainty > 0 {
			fmt.Fprintf(&b, " ±%.0f %%", p.Uncertainty*100)
		} else {
			b.WriteString(" (not quantified)")
		}
	}
	return b.String()
}

// Quantified reports whether Low and High differ from the emissions: some
// estimated device has a quantified uncertainty.
func (iv EmissionsInterval) Quantified() bool {
	for _, p := range iv.Estimated {
		if p.Uncertainty > 0 {
			return true
		}
	}
	return false
}

// emissionsInterval returns the interval of total grams, whose sources
// (infos) emitted grams each.
func emissionsInterval(total float64, infos []power.Info, grams []float64) EmissionsInterval {
	iv := EmissionsInterval{Low: total, High: total}
	for i, info := range infos {
		if !info.Estimated() || i >= len(grams) {
			continue
		}
		u := max(info.Uncertainty, 0)
		g := grams[i]
		iv.Low -= g * min(u, 1)
		iv.High += g * u
		iv.Estimated = append(iv.Estimated, EstimatedPart{Name: info.Name, Kind: info.Kind, Grams: g, Uncertainty: u,
			Calibrated: strings.HasPrefix(info.Detail, "calibrated"), Source: info.UncertaintySource})
	}
	iv.Low = max(iv.Low, 0)
	return iv
}

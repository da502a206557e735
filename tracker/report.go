package tracker

import (
	"errors"
	"math"
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

// Epoch is one monitored epoch. Energies are what the devices drew (before
// PUE); Grams includes PUE.
type Epoch struct {
	// N is the epoch's number, from 1.
	N int
	// Start and End delimit the epoch; Duration is End - Start.
	Start, End time.Time
	Duration   time.Duration
	// Energy is the devices' energy, summed over devices; ByKind splits it.
	Energy power.Joules
	ByKind Components
	// Devices is the energy of each source, in the order of Report.Sources.
	Devices []power.Joules
	// Grams is the emissions in grams CO2e: each sampled interval's energy ×
	// PUE × the intensity at its time.
	Grams float64
	// Intensity is the mean intensity the epoch met: Grams over its facility
	// energy (0 for an epoch without energy).
	Intensity factor.GramsPerKWh
	// Interrupted is true for an epoch still open when Stop was called.
	Interrupted bool
}

// Projection is the predicted consumption of the whole run.
type Projection struct {
	// Epochs is the number of epochs projected (New's epochs); Known is the
	// number of epochs it rests on.
	Epochs, Known int
	// Duration, Energy (facility energy, PUE included) and Grams are
	// carbontracker's projection: the mean epoch × Epochs.
	Duration time.Duration
	Energy   power.Joules
	Grams    float64
	// Trend is true when at least 3 epochs are known; TrendGrams and
	// TrendEnergy then extrapolate a least-squares line through the
	// epochs' values.
	Trend       bool
	TrendGrams  float64
	TrendEnergy power.Joules
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
	// Energy is the device's energy within epochs; RunEnergy since New.
	Energy, RunEnergy power.Joules
	// Lost is true when the source stopped answering; Err says why.
	Lost bool
	Err  string
}

// Report is everything the tracker knows. It is a copy: the caller owns it.
type Report struct {
	// Epochs is the number of epochs announced to New; Completed the number
	// monitored to their end.
	Epochs, Completed int
	// Interrupted is true when Stop came before all monitored epochs ended.
	Interrupted bool
	// Stopped is true once Stop was called.
	Stopped bool
	// Start is when New returned; End when the last epoch ended.
	Start, End time.Time
	// Duration is the sum of the epochs' durations.
	Duration time.Duration
	// Energy is the devices' energy in epochs (summed over devices), before
	// PUE; ByKind splits it; FacilityEnergy is Energy × PUE.
	Energy         power.Joules
	ByKind         Components
	FacilityEnergy power.Joules
	// RunEnergy is the devices' energy from New to Stop, epochs or not.
	RunEnergy power.Joules
	// PUE is the power usage effectiveness applied.
	PUE float64
	// Grams is the emissions of the epochs in grams CO2e (PUE included).
	Grams float64
	// MeanIntensity is Grams over the facility energy.
	MeanIntensity factor.GramsPerKWh
	// Intensity is the latest intensity fetched; Intensities counts the
	// fetches and IntensityErrors the failed ones.
	Intensity                    factor.Intensity
	Intensities, IntensityErrors int
	// Sources are the measured devices; Unavailable those that could not be.
	Sources     []SourceReport
	Unavailable []power.Unavailable
	// EpochRecords are the epochs, in order.
	EpochRecords []Epoch
	// Projection is the projection, nil until made.
	Projection *Projection
	// Equivalents converts Grams.
	Equivalents []Equivalent
	// Misuse counts calls ignored (EpochEnd without EpochStart, calls after
	// Stop, ...); Dropped counts records the writer could not keep up with;
	// WriteErrors counts failed writes.
	Misuse, Dropped, WriteErrors int
	// BudgetExceeded is set once the budget was passed; StoppedByUser when
	// the user answered "n".
	BudgetExceeded, StoppedByUser bool
	// Files are the files written.
	Files []string
}

// project computes the projection for total epochs from the known epochs'
// durations, facility energies and grams.
func project(total int, durs []float64, energies, grams []float64) Projection {
	k := len(durs)
	p := Projection{Epochs: total, Known: k}
	if k == 0 {
		return p
	}
	n := float64(total)
	p.Duration = time.Duration(mean(durs) * n * float64(time.Second))
	p.Energy = power.Joules(mean(energies) * n)
	p.Grams = mean(grams) * n
	p.GramsLow, p.GramsHigh = p.Grams, p.Grams
	if k >= 2 && total > k {
		m, sd := mean(grams), stddev(grams)
		rest := float64(total - k)
		// Prediction interval for the sum of the remaining epochs: each
		// varies by sd, and the mean is known to sd/√k.
		half := tQuantile(k-1) * sd * math.Sqrt(rest+rest*rest/float64(k))
		known := m * float64(k)
		p.GramsLow = math.Max(known+m*rest-half, known)
		p.GramsHigh = known + m*rest + half
	}
	if k >= 3 {
		p.Trend = true
		p.TrendGrams = trendSum(grams, total)
		p.TrendEnergy = power.Joules(trendSum(energies, total))
	}
	return p
}

// trendSum fits y = a + b·x by least squares over x = 1..k and returns the
// known values plus the line's values for x = k+1..total, never below 0.
func trendSum(y []float64, total int) float64 {
	k := len(y)
	var sx, sy, sxx, sxy float64
	for i, v := range y {
		x := float64(i + 1)
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	kf := float64(k)
	den := kf*sxx - sx*sx
	b := 0.0
	if den != 0 {
		b = (kf*sxy - sx*sy) / den
	}
	a := (sy - b*sx) / kf
	sum := sy
	for x := k + 1; x <= total; x++ {
		sum += math.Max(a+b*float64(x), 0)
	}
	return sum
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func stddev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}

// tQuantile returns Student's t 0.975 quantile for df degrees of freedom.
func tQuantile(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086}
	switch {
	case df < 1:
		return math.Inf(1)
	case df <= len(table):
		return table[df-1]
	case df <= 30:
		return 2.042
	}
	return 1.960
}

package factor

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// GramsPerKWh is a carbon intensity of electricity in grams of CO2-equivalent
// per kilowatt-hour (gCO2e/kWh). The zero value is carbon-free electricity.
// Like time.Duration it is a plain number.
type GramsPerKWh float64

// Grams returns the emissions, in grams CO2e, of kwh kilowatt-hours at
// intensity g.
func (g GramsPerKWh) Grams(kwh float64) float64 { return float64(g) * kwh }

// String formats the intensity with its unit, for example "56.039 gCO2e/kWh".
func (g GramsPerKWh) String() string {
	return strconv.FormatFloat(float64(g), 'f', -1, 64) + " gCO2e/kWh"
}

// WorldAverage is the world's average carbon intensity of electricity:
// 483.18 gCO2e/kWh in 2023 (Our World in Data, carbon_intensity_elec, based on
// Ember and Energy Institute, CC BY 4.0). It is the last resort of Static when
// a zone is unknown. For comparison: 471.08 in 2024 (same series); CodeCarbon
// and Green Algorithms use 475 (IEA 2019), carbontracker 481.
const WorldAverage GramsPerKWh = 483.18

// WorldAverageYear is the year WorldAverage describes.
const WorldAverageYear = 2023

// MaxPlausible is the largest intensity, in gCO2e/kWh, that this package
// accepts from any source. The most carbon-intensive national grids average
// about 1,300 gCO2e/kWh (Turkmenistan, 1,306 in OWID 2022) and lignite plants
// about 1,100-1,200 (lifecycle); a value above 2,000 is a unit or data error.
const MaxPlausible GramsPerKWh = 2000

// Intensity is the carbon intensity of electricity in one zone at one time,
// with where it came from. The zero value has no source and means nothing;
// providers never return it without an error. It is a plain value, safe to
// copy and to share between goroutines.
type Intensity struct {
	// Value is the intensity in gCO2e/kWh, in [0, MaxPlausible].
	Value GramsPerKWh
	// At is the start of the period the value describes: the start of the
	// grid's interval (hour, half hour, 5 minutes) for live values, the time
	// asked for for annual averages and fixed values.
	At time.Time
	// Zone is the canonical zone that answered: an ISO 3166-1 alpha-2 code
	// ("FR"), a cloud region ("gcp:europe-west4"), a live zone ("DE",
	// "DK-DK1", "GB", "GB:RG10"), "world" for the world average, or "" for a
	// fixed value.
	Zone string
	// Provider names the implementation that answered: "fixed", "static",
	// "electricitymaps", "carbonintensity.org.uk", "energidataservice".
	Provider string
	// Source is the attribution of the data (dataset, publisher, licence).
	Source string
	// Year is the year an annual average describes; 0 for live values and
	// where the source does not state it.
	Year int
	// Estimated is true when the provider marks the value as an estimate or
	// a forecast rather than a measurement.
	Estimated bool
	// Fallback is "" when the provider that was asked answered for the zone
	// that was asked. Otherwise it says, for people, why another one answered
	// (for example "electricitymaps: ...: 503 Service Unavailable; answered
	// by static"). A fallback is never silent.
	Fallback string
	// Cause holds the errors behind Fallback (errors.Join of one error per
	// provider that did not answer), for errors.Is and errors.As; nil when
	// Fallback is "". It is not serialised.
	Cause error `json:"-"`
}

// String formats the intensity for people, for example
// "56.039 gCO2e/kWh (FR, static, 2023)".
func (i Intensity) String() string {
	s := i.Value.String() + " ("
	if i.Zone != "" {
		s += i.Zone + ", "
	}
	s += i.Provider
	if i.Year != 0 {
		s += ", " + strconv.Itoa(i.Year)
	}
	if i.Estimated {
		s += ", estimated"
	}
	s += ")"
	if i.Fallback != "" {
		s += " fallback: " + i.Fallback
	}
	return s
}

// Point is one value of a time series: the intensity from At until the next
// point's At. The zero value is 0 gCO2e/kWh at the zero time. It is a plain
// value.
type Point struct {
	// At is the start of the interval the value describes.
	At time.Time
	// Value is the intensity in gCO2e/kWh.
	Value GramsPerKWh
}

// Provider answers the carbon intensity of one zone, chosen when the provider
// is built, at a time. Implementations in this package are safe for concurrent
// use.
type Provider interface {
	// Intensity returns the intensity that applies at at; the zero time
	// means now. It honours ctx. An error means no usable value: a provider
	// never returns an implausible or made-up number.
	Intensity(ctx context.Context, at time.Time) (Intensity, error)
}

// Forecaster is a Provider that can also forecast. Forecast returns the
// forecast intensities from about now on, oldest first, at the grid's
// resolution.
type Forecaster interface {
	Forecast(ctx context.Context) ([]Point, error)
}

// checkPlausible returns an error wrapping ErrImplausible when v cannot be a
// carbon intensity in gCO2e/kWh.
func checkPlausible(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > float64(MaxPlausible) {
		return fmt.Errorf("%w: %v gCO2e/kWh is outside [0, %v]", ErrImplausible, v, float64(MaxPlausible))
	}
	return nil
}

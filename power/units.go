package power

import (
	"strconv"
	"time"
)

// JoulesPerKWh is the number of joules in one kilowatt-hour (3.6 MJ, exact by
// definition of the watt-hour).
const JoulesPerKWh = 3.6e6

// Joules is an amount of energy in joules (watt-seconds). The zero value is no
// energy. Like time.Duration it is a plain number: add and subtract freely.
type Joules float64

// Watts is a power in watts (joules per second). The zero value is no power.
type Watts float64

// KWh returns the energy in kilowatt-hours.
func (j Joules) KWh() float64 { return float64(j) / JoulesPerKWh }

// WattHours returns the energy in watt-hours.
func (j Joules) WattHours() float64 { return float64(j) / 3600 }

// Millijoules returns the energy in millijoules, the unit of NVML's energy
// counter.
func (j Joules) Millijoules() float64 { return float64(j) * 1e3 }

// Microjoules returns the energy in microjoules, the unit of RAPL's energy_uj.
func (j Joules) Microjoules() float64 { return float64(j) * 1e6 }

// Over returns the mean power that delivers j in d. It returns 0 when d is not
// positive.
func (j Joules) Over(d time.Duration) Watts {
	if d <= 0 {
		return 0
	}
	return Watts(float64(j) / d.Seconds())
}

// String formats the energy with its unit, for example "12.5 J".
func (j Joules) String() string {
	return strconv.FormatFloat(float64(j), 'f', -1, 64) + " J"
}

// FromKWh returns the energy of kwh kilowatt-hours.
func FromKWh(kwh float64) Joules { return Joules(kwh * JoulesPerKWh) }

// For returns the energy delivered by w sustained for d.
func (w Watts) For(d time.Duration) Joules { return Joules(float64(w) * d.Seconds()) }

// Milliwatts returns the power in milliwatts, NVML's power unit.
func (w Watts) Milliwatts() float64 { return float64(w) * 1e3 }

// String formats the power with its unit, for example "300 W".
func (w Watts) String() string {
	return strconv.FormatFloat(float64(w), 'f', -1, 64) + " W"
}

package runlog

import (
	"math"
	"testing"
	"time"
)

// FuzzParsePair feeds carbontracker log pairs (standard log, output log) to
// the parser: it never panics, and what it reads has no negative or NaN
// duration, energy, power or emissions. The seed corpus is in
// testdata/fuzz/FuzzParsePair (carbontracker's and the tracker's logs, and
// the values that once got through: "[NaN]", "-5", "1e999" hours; the
// tracker's whole-run block).
func FuzzParsePair(f *testing.F) {
	f.Add([]byte("2024-03-05 14:02:11 - Only predicted and actual consumptions are multiplied by a PUE coefficient of 1.5\n"+
		"2024-03-05 14:12:12 - Epoch 1:\n2024-03-05 14:12:12 - Duration: 0:10:00.00\n"+
		"2024-03-05 14:12:12 - Average power usage (W) for gpu: [ 90.5  209.5]\n"),
		[]byte("2024-03-05 14:12:13 - CarbonTracker: \nActual consumption for 1 epoch(s):\n\tTime:\t0:10:00\n"+
			"\tEnergy:\t0.080000000000 kWh\n\tCO2eq:\t16.000000000000 g\n"))
	f.Fuzz(func(t *testing.T, std, out []byte) {
		var r Run
		if err := parsePair(std, out, "fuzz", &r); err != nil {
			return
		}
		summarize(&r)
		nonNegative := func(what string, v float64) {
			if !(v >= 0) {
				t.Errorf("%s = %v", what, v)
			}
		}
		nonNegativeDur := func(what string, d time.Duration) {
			if d < 0 {
				t.Errorf("%s = %v", what, d)
			}
		}
		consumption := func(what string, c *Consumption) {
			if c == nil {
				return
			}
			nonNegativeDur(what+".Duration", c.Duration)
			nonNegative(what+".FacilityKWh", c.FacilityKWh)
			nonNegative(what+".DeviceKWh", c.DeviceKWh)
			nonNegative(what+".Grams", c.Grams)
			if c.Epochs < 0 {
				t.Errorf("%s.Epochs = %d", what, c.Epochs)
			}
		}
		consumption("Used", &r.Used)
		consumption("Measured", &r.Measured)
		consumption("Actual", r.Actual)
		consumption("Projection", r.Projection)
		consumption("Whole", r.Whole)
		consumption("InEpochs", r.InEpochs)
		consumption("OutsideEpochs", r.OutsideEpochs)
		if r.Whole != nil && r.Basis != BasisRun {
			t.Errorf("Basis = %s with the whole run logged", r.Basis)
		}
		if !(r.PUE >= 1) || math.IsInf(r.PUE, 0) {
			t.Errorf("PUE = %v", r.PUE)
		}
		if r.Completed < 0 || r.Epochs < 0 || (r.Whole == nil && r.Completed != len(r.EpochRecords)) || r.Completed < len(r.EpochRecords) {
			t.Errorf("Completed = %d, Epochs = %d, %d epochs logged", r.Completed, r.Epochs, len(r.EpochRecords))
		}
		for _, e := range r.EpochRecords {
			nonNegativeDur("epoch Duration", e.Duration)
			nonNegative("epoch FacilityKWh", e.FacilityKWh)
			nonNegative("epoch DeviceKWh", e.DeviceKWh)
			nonNegative("epoch Grams", e.Grams)
			for k, w := range e.Watts {
				nonNegative("epoch Watts["+k+"]", w)
			}
		}
	})
}

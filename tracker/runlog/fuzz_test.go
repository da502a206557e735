package runlog

import (
	"math"
	"strings"
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

// checkRun fails t for what no log can make Read return: a negative or NaN
// duration, energy, power or emissions, an epoch number out of range.
func checkRun(t *testing.T, r *Run) {
	t.Helper()
	nonNegative := func(what string, v float64) {
		if !(v >= 0) {
			t.Errorf("%s = %v", what, v)
		}
	}
	consumption := func(what string, c *Consumption) {
		if c == nil {
			return
		}
		if c.Duration < 0 {
			t.Errorf("%s.Duration = %v", what, c.Duration)
		}
		nonNegative(what+".FacilityKWh", c.FacilityKWh)
		nonNegative(what+".DeviceKWh", c.DeviceKWh)
		nonNegative(what+".Grams", c.Grams)
		if c.Epochs < 0 || c.Epochs > maxEpoch {
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
	for _, e := range r.EpochRecords {
		if e.N < 0 || e.N > maxEpoch {
			t.Errorf("epoch N = %d", e.N)
		}
		if e.Duration < 0 {
			t.Errorf("epoch Duration = %v", e.Duration)
		}
		nonNegative("epoch FacilityKWh", e.FacilityKWh)
		nonNegative("epoch DeviceKWh", e.DeviceKWh)
		nonNegative("epoch Grams", e.Grams)
		for k, w := range e.Watts {
			nonNegative("epoch Watts["+k+"]", w)
		}
	}
}

const fuzzJSONL = `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_device_energy_kwh":0.05,"emissions_g":15.8,"pue":1.58,"devices":[{"name":"gpu:0","kind":"gpu"}]}
{"type":"projection","epochs":10,"known_epochs":1,"duration_s":6000,"facility_energy_kwh":0.79,"emissions_g":158}
{"type":"checkpoint","at":"2025-03-01T12:10:05Z","duration_s":605,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"gpu_device_energy_kwh":0.05,"emissions_g":15.8,"completed_epochs":1}
{"type":"final","epochs":10,"completed_epochs":1,"interrupted":true,"duration_s":700,"device_energy_kwh":0.06,"facility_energy_kwh":0.09,"emissions_g":18,"in_epochs":{"duration_s":600,"facility_energy_kwh":0.079,"emissions_g":15.8},"outside_epochs":{"duration_s":100,"facility_energy_kwh":0.011,"emissions_g":2.2}}
`

// FuzzParseJSONLines feeds the tracker's JSON lines to the reader: it never
// panics, and what it reads is within range (the seeds: a tracker's lines,
// a garbage line among them, an absurd epoch number, a negative energy, a
// duration past a time.Duration, an empty file).
func FuzzParseJSONLines(f *testing.F) {
	f.Add([]byte(fuzzJSONL))
	f.Add([]byte("garbage\n" + fuzzJSONL))
	f.Add([]byte(strings.Replace(fuzzJSONL, `"epoch":1,`, `"epoch":4000000000,`, 1)))
	f.Add([]byte(strings.Replace(fuzzJSONL, `"epoch":1,`, `"epoch":99999999999999999999,`, 1)))
	f.Add([]byte(strings.Replace(fuzzJSONL, `"facility_energy_kwh":0.79`, `"facility_energy_kwh":-5`, 1)))
	f.Add([]byte(strings.Replace(fuzzJSONL, `"duration_s":700`, `"duration_s":9223372036.9`, 1)))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Run{Rank: -1}
		if err := parseJSONLines(data, "fuzz", &r); err != nil {
			return
		}
		summarize(&r)
		checkRun(t, &r)
	})
}

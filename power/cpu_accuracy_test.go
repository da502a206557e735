package power

import (
	_ "embed"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpuLoadProfilesCSV is CodeCarbon's published CPU load profiles measured
// with RAPL (see the file's header for the source and licence).
//
//go:embed data/cpu_load_profiles.csv
var cpuLoadProfilesCSV string

// profilePoint is one 30 s phase of a load profile: the CPU load and the
// mean RAPL package power over it.
type profilePoint struct {
	machine, cpu string
	sockets      int
	load         float64 // 0..1
	watts        float64 // rapl_energy_kwh × 3.6e6 / duration_s
}

func loadProfiles(t *testing.T) []profilePoint {
	t.Helper()
	var lines []string
	for l := range strings.Lines(cpuLoadProfilesCSV) {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, ""))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"machine", "load_type", "cpu_name", "sockets", "cpu_load", "rapl_energy_kwh", "duration_s"}, rows[0])
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		return v
	}
	var pts []profilePoint
	for _, r := range rows[1:] {
		pts = append(pts, profilePoint{machine: r[0], cpu: r[2], sockets: int(num(r[3])), load: num(r[4]) / 100,
			watts: num(r[5]) * 3.6e6 / num(r[6])})
	}
	return pts
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// TestCPUEstimateAccuracy recomputes the CPU estimate's uncertainty
// (cpuEstimateUncertainty, cpuCalibratedUncertainty) from CodeCarbon's
// published load profiles: carbontrack's TDP model against the mean RAPL
// package power of each 30 s phase.
func TestCPUEstimateAccuracy(t *testing.T) {
	pts := loadProfiles(t)
	require.Len(t, pts, 106)
	cpus, machines := map[string]bool{}, map[string]bool{}
	for _, p := range pts {
		cpus[p.cpu], machines[p.machine] = true, true
	}
	require.Len(t, cpus, 4)
	require.Len(t, machines, 5)

	// The TDP model, as a bare-metal machine with the profile's CPU gets it.
	var ofMeasured, ofEstimate []float64
	for _, p := range pts {
		m := chooseCPUModel(p.cpu, p.sockets, 0, false, nil)
		require.Positive(t, float64(m.tdp), "%s is in the TDP table", p.cpu)
		est := float64(m.at(p.load))
		ofMeasured = append(ofMeasured, math.Abs(est/p.watts-1))
		ofEstimate = append(ofEstimate, math.Abs(p.watts/est-1))
	}
	// The user-facing figure: the estimate's error as a share of the
	// measurement, median 35.6 %, worst 311 %.
	assert.InDelta(t, 0.356, median(ofMeasured), 0.0005)
	assert.InDelta(t, 3.106, slices.Max(ofMeasured), 0.0005)
	// The interval's: the measurement's distance from the estimate, so that
	// half the measurements lie within estimate × (1 ± u).
	assert.InDelta(t, cpuEstimateUncertainty, median(ofEstimate), 0.0005)
	assert.InDelta(t, 0.756, slices.Max(ofEstimate), 0.0005)

	// The calibrated model: each machine's idle (load ≤ 5 %) and full-load
	// (≥ 99 %) mean power, checked on the other points.
	type cal struct{ idle, full []float64 }
	cals := map[string]*cal{}
	for _, p := range pts {
		c := cals[p.machine]
		if c == nil {
			c = &cal{}
			cals[p.machine] = c
		}
		switch {
		case p.load <= 0.05:
			c.idle = append(c.idle, p.watts)
		case p.load >= 0.99:
			c.full = append(c.full, p.watts)
		}
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	calFor := func(machine, cpu string, sockets int) *CPUCalibration {
		c := cals[machine]
		require.NotEmpty(t, c.idle, machine)
		require.NotEmpty(t, c.full, machine)
		return &CPUCalibration{CPUModel: cpu, Sockets: sockets, IdleW: mean(c.idle), FullW: mean(c.full)}
	}
	var calErr []float64
	for _, p := range pts {
		if p.load <= 0.05 || p.load >= 0.99 {
			continue
		}
		m := chooseCPUModel(p.cpu, p.sockets, 0, false, calFor(p.machine, p.cpu, p.sockets))
		require.True(t, m.calibrated)
		calErr = append(calErr, math.Abs(p.watts/float64(m.at(p.load))-1))
	}
	assert.Len(t, calErr, 87)
	assert.InDelta(t, cpuCalibratedUncertainty, median(calErr), 0.0005)
	assert.InDelta(t, 0.699, slices.Max(calErr), 0.0005)

	// The same CPU name on two machines: 49.5 W and 96.6 W at full load; a
	// calibration carried from one to the other is no better than TDP.
	assert.InDelta(t, 49.5, mean(cals["E3-1240"].full), 0.05)
	assert.InDelta(t, 96.6, mean(cals["E5-1240"].full), 0.05)
	for _, tc := range []struct {
		from, to string
		median   float64
	}{{"E3-1240", "E5-1240", 0.979}, {"E5-1240", "E3-1240", 0.480}} {
		var e []float64
		for _, p := range pts {
			if p.machine == tc.to {
				m := chooseCPUModel(p.cpu, p.sockets, 0, false, calFor(tc.from, p.cpu, p.sockets))
				e = append(e, math.Abs(p.watts/float64(m.at(p.load))-1))
			}
		}
		assert.InDelta(t, tc.median, median(e), 0.0005, "%s calibration on %s", tc.from, tc.to)
	}
}

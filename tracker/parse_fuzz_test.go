package tracker

import (
	"bufio"
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// FuzzParseLog checks records.ParseLog on any input (no panic; durations finite and
// non-negative; what it returns is well-formed) and that it reads back the
// numbers the tracker's writer writes: an epoch of durNs nanoseconds at
// watts, and a projection block of kwh and grams, printed with prec
// decimals. Its seed corpus is in testdata/fuzz/FuzzParseLog.
func FuzzParseLog(f *testing.F) {
	f.Add("", "", int64(90*time.Second), 400.0, 0.5, 100.0, uint8(6))
	f.Fuzz(func(t *testing.T, std, out string, durNs int64, watts, kwh, grams float64, prec uint8) {
		checkParse(t, std, out)
		roundTrip(t, durNs, watts, kwh, grams, int(prec%13))
	})
}

// checkParse checks what records.ParseLog makes of any input.
func checkParse(t *testing.T, std, out string) {
	l, err := records.ParseLog(strings.NewReader(std), strings.NewReader(out))
	if err != nil {
		require.Nil(t, l)
		require.True(t, strings.HasPrefix(err.Error(), "records: parse log: "), err.Error())
		return
	}
	require.NotNil(t, l.Components)
	for name, c := range l.Components {
		require.NotNil(t, c, name)
	}
	for _, d := range l.EpochDurations {
		require.False(t, math.IsNaN(d) || math.IsInf(d, 0), "duration %v", d)
		require.GreaterOrEqual(t, d, 0.0)
	}
	for _, c := range []*records.Consumption{l.Predicted, l.Actual} {
		if c != nil {
			require.GreaterOrEqual(t, c.Duration, time.Duration(0))
			require.GreaterOrEqual(t, c.Epochs, 0)
		}
	}
	// Parsing is a function of the text: twice, the same.
	l2, err := records.ParseLog(strings.NewReader(std), strings.NewReader(out))
	require.NoError(t, err)
	require.Equal(t, len(l.EpochDurations), len(l2.EpochDurations))
}

// roundTrip writes an epoch and a projection with the log pair's sink and
// parses them back.
func roundTrip(t *testing.T, durNs int64, watts, kwh, grams float64, prec int) {
	// The ranges a run produces: an epoch of 1 ms to 1000 h, power to 1 MW,
	// energy and emissions to 1e9.
	dur := time.Millisecond + time.Duration(uint64(durNs)%uint64(1000*time.Hour))
	watts = fold(watts, 1e6)
	kwh, grams = fold(kwh, 1e9), fold(grams, 1e9)

	tr := &Tracker{opts: defaultOptions(), predAt: 1, monitor: 3, nsrc: 2,
		infos: []power.Info{{Name: "gpu:0", Kind: power.KindGPU}, {Name: "cpu:0", Kind: power.KindCPU}}}
	tr.opts.precision, tr.opts.verbose = prec, 0
	tr.start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &carbontrackerSink{t: tr, text: newCTText(tr)}
	var std, out bytes.Buffer
	s.stdW.w, s.outW.w = bufio.NewWriter(&std), bufio.NewWriter(&out)
	s.handle(&event{kind: evStart, at: tr.start, intensity: "100 gCO2e/kWh (fixed)"})
	e := power.Joules(watts * dur.Seconds())
	rec := epochRec{start: 0, end: dur, energy: e + 1}
	s.handle(&event{kind: evEpoch, at: tr.start.Add(dur), n: 1, rec: &rec, dev: []power.Joules{e, 1}})
	p := Projection{Epochs: 3, Known: 1, Duration: 3 * dur, FacilityEnergy: power.Joules(kwh * 3.6e6), Grams: grams}
	s.handle(&event{kind: evPrediction, at: tr.start.Add(dur), proj: p, intensity: "100 gCO2e/kWh (fixed)"})
	require.NoError(t, s.stdW.w.Flush())
	require.NoError(t, s.outW.w.Flush())

	l, err := records.ParseLog(&std, &out)
	require.NoError(t, err, "std:\n%s\nout:\n%s", std.String(), out.String())
	require.Equal(t, []string{"gpu:0"}, l.Components["gpu"].Devices)
	require.Len(t, l.EpochDurations, 1)
	require.InDelta(t, dur.Seconds(), l.EpochDurations[0], 0.005+1e-9)
	half := 0.5 * math.Pow10(-prec) // the rounding of a number printed with prec decimals
	tol := func(v float64) float64 { return half + 1e-15*math.Abs(v) }
	gpuW := float64(e) / dur.Seconds()
	require.Len(t, l.Components["gpu"].AvgPower, 1)
	require.InDelta(t, gpuW, l.Components["gpu"].AvgPower[0], tol(gpuW))
	require.NotNil(t, l.Predicted)
	require.Equal(t, 3, l.Predicted.Epochs)
	require.InDelta(t, p.Duration.Seconds(), l.Predicted.Duration.Seconds(), 0.5)
	require.InDelta(t, p.FacilityEnergy.KWh(), l.Predicted.KWh, tol(p.FacilityEnergy.KWh()))
	require.InDelta(t, grams, l.Predicted.Grams, tol(grams))
	km := grams / GramsPerKmCar
	require.InDelta(t, km, l.Predicted.Equivalents["km travelled by car"], tol(km))
	require.Nil(t, l.Actual)
	require.False(t, l.EarlyStop)
}

// fold maps any float to [0, limit].
func fold(v, limit float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Mod(math.Abs(v), limit)
}

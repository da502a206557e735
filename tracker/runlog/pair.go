package runlog

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// pairPatterns are the patterns of the carbontracker log pair's lines.
type pairPatterns struct {
	stamp, epoch, dur, pow, pue, runSplit *regexp.Regexp
}

// patterns compiles the pair patterns on first use, not when the package is
// loaded: a program that never reads a log pair never needs them.
var patterns = sync.OnceValue(func() *pairPatterns {
	return &pairPatterns{
		// A line starts with Python logging's asctime, "2024-03-05 14:02:11"
		// (then ",123" in carbontracker's older format).
		stamp: regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})`),
		epoch: regexp.MustCompile(` - Epoch (\d+):\s*$`),
		dur:   regexp.MustCompile(` - Duration: (\d+):(\d{2}):(\d\d?(?:\.\d+)?)\s*$`),
		// carbontracker prints a numpy array, one value per device:
		// "[251.0775 248.3122]", "[ 9.5  58.91]", or "None"; the tracker a
		// plain number.
		pow: regexp.MustCompile(` - Average power usage \(W\) for ([^:]+): (\[[^\]]*\]|None|nan|[-+0-9.eE]+)\s*$`),
		pue: regexp.MustCompile(`PUE coefficient of ([0-9.]+)`),
		// The line after the whole run's block that the tracker adds to the
		// output log at Stop: how the run splits.
		runSplit: regexp.MustCompile(`Of the run: (\d+) completed epoch\(s\) (\S+) kWh, (\S+) g; ` +
			`(?:the interrupted epoch (\S+) kWh, (\S+) g; )?outside epochs (\S+) kWh, (\S+) g \((\d+):(\d{2}):(\d\d?(?:\.\d+)?) before`),
	}
})

// readPair reads a carbontracker log pair (either path may be empty).
func readPair(stdPath, outPath string, r *Run) error {
	read := func(p string) ([]byte, error) {
		if p == "" {
			return nil, nil
		}
		return readFile(p)
	}
	std, err := read(stdPath)
	if err != nil {
		return err
	}
	out, err := read(outPath)
	if err != nil {
		return err
	}
	name := stdPath
	if name == "" {
		name = outPath
	}
	return parsePair(std, out, name, r)
}

// parsePair reads a carbontracker log pair from its contents (either may be
// nil); name is the file its errors name. Values a log could not have
// written (a negative or infinite power or energy, a duration past a
// time.Duration) are errors, so that every duration, energy and emission
// read is a non-negative number.
func parsePair(std, out []byte, name string, r *Run) error {
	var stdR, outR io.Reader
	if std != nil {
		stdR = bytes.NewReader(std)
	}
	if out != nil {
		outR = bytes.NewReader(out)
	}
	l, err := records.ParseLog(stdR, outR)
	if err != nil {
		return fmt.Errorf("runlog: %s: %w", name, err)
	}
	for _, c := range []*records.Consumption{l.Actual, l.Predicted, l.Run} {
		if c == nil {
			continue
		}
		if err := checkConsumption(c); err != nil {
			return fmt.Errorf("runlog: %s: %w", name, err)
		}
	}
	r.Format = FormatCarbontracker
	r.PUE = records.DefaultPUE
	if m := patterns().pue.FindSubmatch(std); m != nil {
		if v, err := strconv.ParseFloat(string(m[1]), 64); err == nil && v >= 1 {
			r.PUE = v
		}
	}
	kinds := map[string]bool{}
	for k := range l.Components {
		kinds[strings.ToLower(k)] = true
	}
	if err := r.readStd(std, name, kinds); err != nil {
		return err
	}
	r.Components = SortComponents(kinds)
	r.Interrupted = l.EarlyStop
	if l.Actual != nil {
		r.Finished = true
		r.Actual = &Consumption{Epochs: l.Actual.Epochs, Duration: l.Actual.Duration, FacilityKWh: l.Actual.KWh, Grams: l.Actual.Grams}
		if r.Actual.Epochs == 0 {
			// "Actual consumption:" without a count (no projection asked).
			r.Actual.Epochs = r.Completed
		}
	}
	if l.Predicted != nil {
		r.Projection = &Consumption{Epochs: l.Predicted.Epochs, Duration: l.Predicted.Duration, FacilityKWh: l.Predicted.KWh, Grams: l.Predicted.Grams}
		r.Epochs = l.Predicted.Epochs
	} else if r.Actual != nil && !r.Interrupted {
		r.Epochs = r.Actual.Epochs
	}
	if l.Run != nil {
		if err := r.readRunBlock(l.Run, out); err != nil {
			return fmt.Errorf("runlog: %s: %w", name, err)
		}
	}
	// No emissions per epoch in the pair: use the run's mean intensity.
	intensity := 0.0
	for _, c := range []*Consumption{r.Actual, r.Whole, r.Projection} {
		if c != nil && c.FacilityKWh > 0 {
			if i := c.Grams / c.FacilityKWh; !math.IsInf(i, 0) {
				intensity = i
			}
			break
		}
	}
	for i := range r.EpochRecords {
		r.EpochRecords[i].Grams = r.EpochRecords[i].FacilityKWh * intensity
	}
	offsets(r)
	return nil
}

// readRunBlock reads the whole run's block that the tracker writes at Stop
// (records.RunBlockTitle, parsed as c) into Whole, and the "Of the run:"
// line after it into InEpochs and OutsideEpochs. The block gives facility
// energy only, and its time to the second; the in-epochs part is the rest
// of the run.
func (r *Run) readRunBlock(c *records.Consumption, out []byte) error {
	r.Finished = true
	if s := patterns().runSplit.FindSubmatch(out); s != nil {
		n, err := strconv.Atoi(string(s[1]))
		if err != nil {
			return fmt.Errorf("whole run: completed epochs %q: %w", s[1], err)
		}
		r.Completed = max(r.Completed, n)
		outDur, err := hmsDuration(string(s[8]), string(s[9]), string(s[10]))
		if err != nil {
			return fmt.Errorf("outside epochs: %w", err)
		}
		raw, what := [][]byte{s[2], s[3], s[6], s[7]}, []string{"energy", "CO2eq", "energy", "CO2eq"}
		if s[4] != nil {
			raw, what = append(raw, s[4], s[5]), append(what, "energy", "CO2eq")
		}
		v, err := quantities(raw, what)
		if err != nil {
			return fmt.Errorf("whole run: %w", err)
		}
		outside := Consumption{Duration: min(outDur, c.Duration), FacilityKWh: v[2], Grams: v[3]}
		in := Consumption{Epochs: n, Duration: c.Duration - outside.Duration, FacilityKWh: v[0], Grams: v[1]}
		if len(v) > 4 {
			in.FacilityKWh += v[4]
			in.Grams += v[5]
		}
		r.InEpochs, r.OutsideEpochs = &in, &outside
	}
	r.Whole = &Consumption{Epochs: r.Completed, Duration: c.Duration, FacilityKWh: c.KWh, Grams: c.Grams}
	return nil
}

// quantities parses non-negative, finite numbers; what names each in
// errors.
func quantities(raw [][]byte, what []string) ([]float64, error) {
	out := make([]float64, len(raw))
	for i, b := range raw {
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what[i], b, err)
		}
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s %v: not a non-negative number", what[i], v)
		}
		out[i] = v
	}
	return out, nil
}

// hmsDuration converts H:MM:SS(.ss), refusing one past a time.Duration.
func hmsDuration(h, m, s string) (time.Duration, error) {
	hv, err1 := strconv.ParseFloat(h, 64)
	mv, err2 := strconv.ParseFloat(m, 64)
	sv, err3 := strconv.ParseFloat(s, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("duration %s:%s:%s: not H:MM:SS", h, m, s)
	}
	sec := hv*3600 + mv*60 + sv
	if !(sec <= maxSeconds) {
		return 0, fmt.Errorf("duration %s:%s:%s out of range", h, m, s)
	}
	return seconds(sec), nil
}

// maxEpoch is the largest epoch number read from a log: no training runs a
// billion epochs; a larger number is a damaged log.
const maxEpoch = 1_000_000_000

// maxSeconds is the longest duration read from a log: what a
// time.Duration holds (about 292 years).
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// checkConsumption refuses what carbontracker's output log cannot say: a
// negative, infinite or NaN energy or emissions, or a negative duration
// (records.ParseLog's conversion of an H:MM:SS too long for a
// time.Duration).
func checkConsumption(c *records.Consumption) error {
	for _, v := range []struct {
		what string
		x    float64
	}{{"energy", c.KWh}, {"CO2eq", c.Grams}} {
		if !(v.x >= 0) || math.IsInf(v.x, 0) {
			return fmt.Errorf("%s %v: not a non-negative number", v.what, v.x)
		}
	}
	if c.Duration < 0 {
		return fmt.Errorf("duration out of range")
	}
	return nil
}

// readStd reads the epochs of a standard log line by line: "Epoch N:", its
// "Duration: H:MM:SS.ss" and one "Average power usage (W) for KIND: ..."
// per component.
func (r *Run) readStd(std []byte, path string, kinds map[string]bool) error {
	re := patterns()
	var cur *Epoch
	finish := func() {
		if cur == nil {
			return
		}
		var w float64
		for _, v := range cur.Watts {
			w += v
		}
		cur.DeviceKWh = w * cur.Duration.Seconds() / jouleKWh
		cur.FacilityKWh = cur.DeviceKWh * r.PUE
		if !cur.End.IsZero() {
			cur.Start = cur.End.Add(-cur.Duration)
		}
		r.EpochRecords = append(r.EpochRecords, *cur)
		r.Completed++
		cur = nil
	}
	for n, line := range strings.Split(string(std), "\n") {
		line = strings.TrimRight(line, "\r")
		var stamp time.Time
		if m := re.stamp.FindStringSubmatch(line); m != nil {
			// Python's logging writes local time.
			stamp, _ = time.ParseInLocation(records.LogTimeLayout, m[1], time.Local)
			if r.Start.IsZero() {
				r.Start = stamp
			}
		}
		if m := re.epoch.FindStringSubmatch(line); m != nil {
			finish()
			num, err := strconv.Atoi(m[1])
			if err != nil || num > maxEpoch {
				return fmt.Errorf("runlog: %s:%d: epoch number %s out of range", path, n+1, m[1])
			}
			cur = &Epoch{N: num, End: stamp, Watts: map[string]float64{}}
			continue
		}
		if cur == nil {
			continue
		}
		if m := re.dur.FindStringSubmatch(line); m != nil {
			h, _ := strconv.ParseFloat(m[1], 64)
			mi, _ := strconv.ParseFloat(m[2], 64)
			s, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return fmt.Errorf("runlog: %s:%d: duration: %w", path, n+1, err)
			}
			sec := h*3600 + mi*60 + s
			if !(sec <= maxSeconds) {
				return fmt.Errorf("runlog: %s:%d: duration %s:%s:%s out of range", path, n+1, m[1], m[2], m[3])
			}
			cur.Duration = seconds(sec)
			continue
		}
		if m := re.pow.FindStringSubmatch(line); m != nil {
			kind := strings.ToLower(strings.TrimSpace(m[1]))
			kinds[kind] = true
			var w float64
			for _, f := range strings.Fields(strings.Trim(m[2], "[]")) {
				if f == "None" {
					continue
				}
				v, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return fmt.Errorf("runlog: %s:%d: power %q: %w", path, n+1, m[2], err)
				}
				if math.IsNaN(v) {
					continue // numpy's nan, whatever its case: no measurement
				}
				w += v
			}
			if !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("runlog: %s:%d: power %q: not a power in W", path, n+1, m[2])
			}
			cur.Watts[kind] = w
		}
	}
	finish()
	return nil
}

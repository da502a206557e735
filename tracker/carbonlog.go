package tracker

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// carbontracker's text: its log pair's lines and blocks and what each of
// the writer's events says in them, for the log pair's sink and the
// console's (carbontracker's console repeats its output log). Reading a
// pair back is records.ParseLog's.

// LogTimeLayout is the time stamp of each line of the carbontracker log pair
// (Python's "%Y-%m-%d %H:%M:%S", local time).
const LogTimeLayout = records.LogTimeLayout

// RunBlockTitle opens the block of carbontracker's output log that
// carbontrack adds at Stop: the whole run's measured consumption, epochs or
// not. carbontracker's own parser does not read it (it reads the predicted
// and actual blocks, which are unchanged); tracker/runlog does.
const RunBlockTitle = records.RunBlockTitle

// logFileTimeLayout is carbontracker's "%Y-%m-%dT%H%M%SZ" for file names:
// local time, with a literal Z, as carbontracker writes it.
const logFileTimeLayout = "2006-01-02T150405Z"

// consolePrefix starts every output-log message, as carbontracker's.
const consolePrefix = "CarbonTracker: "

// timeString formats seconds as carbontracker's convert_to_timestring:
// "H:MM:SS", or "H:MM:SS.ss" with centiseconds.
func timeString(seconds float64, centis bool) string {
	neg := seconds < 0
	seconds = math.Abs(seconds)
	m := math.Floor(seconds / 60)
	s := seconds - m*60
	var ss string
	if centis {
		ss = fmt.Sprintf("%05.2f", s)
		if strings.HasPrefix(ss, "60") {
			m++
			ss = "00.00"
		}
	} else {
		si := int(math.RoundToEven(s))
		if si == 60 {
			m++
			si = 0
		}
		ss = fmt.Sprintf("%02d", si)
	}
	h := int(m / 60)
	mi := int(m) % 60
	out := fmt.Sprintf("%d:%02d:%s", h, mi, ss)
	if neg {
		return "-" + out
	}
	return out
}

// formatBlock returns carbontracker's consumption block, starting with a
// newline: "\nActual consumption for 3 epoch(s):\n\tTime:\t0:00:30\n...".
func formatBlock(desc string, d time.Duration, kwh, grams float64, eqs []Equivalent, precision int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n\tTime:\t%s\n\tEnergy:\t%s kWh\n\tCO2eq:\t%s g", desc,
		timeString(d.Seconds(), false), plain(kwh, precision), plain(grams, precision))
	if eqs != nil {
		b.WriteString("\n\tThis is equivalent to:")
		for _, e := range eqs {
			fmt.Fprintf(&b, "\n\t%s %s", plain(e.Value, precision), e.Unit)
		}
	}
	return b.String()
}

// plain formats v as a plain decimal with prec decimals: never an exponent,
// never NaN (written 0).
func plain(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// lineWriter writes "YYYY-MM-DD HH:MM:SS - msg\n" lines.
type lineWriter struct {
	w     *bufio.Writer
	err   error
	dirty bool // written since the last sync
}

func (lw *lineWriter) line(t time.Time, msg string) {
	if lw.err != nil {
		return
	}
	lw.dirty = true
	_, lw.err = fmt.Fprintf(lw.w, "%s - %s\n", t.Format(LogTimeLayout), msg)
}

// deviceName makes a device name safe for carbontracker's parser, which cuts
// at the first '.' and splits at ','.
func deviceName(s string) string {
	return strings.NewReplacer(".", "_", ",", ";", "\n", " ").Replace(s)
}

// ctText says the writer's events in carbontracker's words.
type ctText struct {
	t     *Tracker
	kinds []power.Kind // the kinds measured, in carbontracker's order
}

func newCTText(t *Tracker) ctText {
	c := ctText{t: t}
	for _, k := range []power.Kind{power.KindGPU, power.KindCPU, power.KindDRAM} {
		for _, info := range t.infos {
			if info.Kind == k {
				c.kinds = append(c.kinds, k)
				break
			}
		}
	}
	return c
}

// say gives ev's lines of the standard log to std and those of the output
// log (which carbontracker's console repeats) to out, without the output
// log's prefix, in order; either may be nil. A line of the question
// (evSay) is the output log's.
func (c *ctText) say(ev *event, std, out func(at time.Time, msg string)) {
	noStd := std == nil
	if noStd {
		std = func(time.Time, string) {}
	}
	if out == nil {
		out = func(time.Time, string) {}
	}
	t, at := c.t, ev.at
	prec := t.opts.precision
	switch ev.kind {
	case evStart:
		comps := c.componentsLine()
		std(at, "carbontrack version "+Version)
		std(at, fmt.Sprintf("Only predicted and actual consumptions are multiplied by a PUE coefficient of %v.", t.opts.pue))
		std(at, comps)
		out(at, comps)
		if msg := t.sharingLine(); msg != "" {
			std(at, msg)
			out(at, msg)
		}
		std(at, "Carbon intensity: "+ev.intensity)
		std(at, "Monitoring thread started.")
	case evEpoch:
		if noStd || ev.rec.interrupted {
			return
		}
		dur := ev.rec.duration().Seconds()
		std(at, fmt.Sprintf("Epoch %d:", ev.n))
		std(at, "Duration: "+timeString(dur, true))
		for _, k := range c.kinds {
			var e power.Joules
			for i, info := range t.infos {
				if info.Kind == k {
					e += ev.dev[i]
				}
			}
			std(at, fmt.Sprintf("Average power usage (W) for %s: %s", k, plain(float64(e)/max(dur, 1e-9), prec)))
		}
	case evPrediction:
		p := ev.proj
		out(at, formatBlock(fmt.Sprintf("Predicted consumption for %d epoch(s):", p.Epochs), p.Duration,
			p.FacilityEnergy.KWh(), p.Grams, Equivalents(p.Grams), prec))
		msg := fmt.Sprintf("Carbon intensity used: %s; PUE %v.", ev.intensity, t.opts.pue)
		if p.Trend {
			msg += fmt.Sprintf(" Trend over %d epochs: %s g; 95 %% interval %s to %s g.", p.Known,
				plain(p.TrendGrams, 2), plain(p.GramsLow, 2), plain(p.GramsHigh, 2))
		}
		out(at, msg)
		std(at, msg)
	case evAdvice:
		out(at, ev.text)
		std(at, ev.text)
	case evBudget:
		b := ev.budget
		what := "Actual"
		if b.Projected {
			what = "Predicted"
		}
		out(at, fmt.Sprintf("%s consumption exceeds the budget: %s g, %s kWh (budget: %s g, %s kWh).", what,
			plain(b.Grams, 2), plain(b.KWh, 6), plain(b.BudgetGrams, 2), plain(b.BudgetKWh, 6)))
	case evActual:
		c.actual(at, &ev.actual, std, out)
	case evSay:
		out(at, ev.text)
	case evWarn:
		out(at, "Warning: "+ev.text)
	case evFinal:
		c.runBlock(at, ev.report, std, out)
	}
}

// componentsLine names the devices of each kind, as carbontracker's parser
// reads them.
func (c *ctText) componentsLine() string {
	if len(c.t.infos) == 0 {
		// Every device is counted by another tracker of the machine (the
		// sharing line that follows says which).
		return "No components are measured by this tracker."
	}
	parts := []string{"The following components were found:"}
	for _, k := range c.kinds {
		var devs []string
		for _, info := range c.t.infos {
			if info.Kind == k {
				devs = append(devs, deviceName(info.Name))
			}
		}
		parts = append(parts, fmt.Sprintf("%s with device(s) %s.", strings.ToUpper(string(k)), strings.Join(devs, ", ")))
	}
	return strings.Join(parts, " ")
}

// actual says the actual consumption: the completed epochs, as
// carbontracker, an epoch cut short by Stop left out and told.
func (c *ctText) actual(at time.Time, a *actualEvent, std, out func(time.Time, string)) {
	t := c.t
	prec := t.opts.precision
	if a.interrupted {
		std(at, fmt.Sprintf("Training was interrupted before all %d epochs were monitored.", t.monitor))
	}
	if a.isCut {
		msg := fmt.Sprintf("Epoch %d was cut short by Stop after %s; its %s kWh and %s g are not in the actual consumption.",
			a.cutN, timeString(a.cut.duration().Seconds(), true), plain(a.cut.energy.KWh()*t.opts.pue, prec),
			plain(a.cut.grams, prec))
		std(at, msg)
		out(at, msg)
	}
	desc := fmt.Sprintf("Actual consumption for %d epoch(s):", a.totals.epochs)
	if t.predAt == 0 {
		desc = "Actual consumption:"
	}
	out(at, formatBlock(desc, a.totals.duration, a.totals.facility.KWh(), a.totals.grams, Equivalents(a.totals.grams), prec))
	out(at, fmt.Sprintf("Average carbon intensity during training was %s gCO2/kWh.", plain(float64(a.mean), 2)))
	std(at, "Monitoring thread ended.")
	out(at, "Finished monitoring.")
}

// runBlock says the whole run's consumption and how it splits: the
// completed epochs (the actual consumption), the interrupted epoch, and
// the time outside epochs.
func (c *ctText) runBlock(at time.Time, r *Report, std, out func(time.Time, string)) {
	prec := c.t.opts.precision
	out(at, formatBlock(RunBlockTitle, r.Run.Duration, r.Run.FacilityEnergy.KWh(), r.Run.Grams,
		Equivalents(r.Run.Grams), prec))
	cut := r.InEpochs.sub(r.Actual)
	msg := fmt.Sprintf("Of the run: %d completed epoch(s) %s kWh, %s g; ", r.Completed,
		plain(r.Actual.FacilityEnergy.KWh(), prec), plain(r.Actual.Grams, prec))
	if cut.Duration > 0 || cut.DeviceEnergy > 0 {
		msg += fmt.Sprintf("the interrupted epoch %s kWh, %s g; ", plain(cut.FacilityEnergy.KWh(), prec), plain(cut.Grams, prec))
	}
	msg += fmt.Sprintf("outside epochs %s kWh, %s g (%s before, between and after epochs). Energy includes a PUE of %v; the mean intensity was %s gCO2/kWh.",
		plain(r.OutsideEpochs.FacilityEnergy.KWh(), prec), plain(r.OutsideEpochs.Grams, prec),
		timeString(r.OutsideEpochs.Duration.Seconds(), true), r.PUE, plain(float64(r.MeanIntensity), 2))
	out(at, msg)
	std(at, msg)
	if line := IntervalLine(r); line != "" {
		out(at, line)
	}
	if line := PerWorkLine(r); line != "" {
		out(at, line)
	}
}

// IntervalLine says the run's emissions with the uncertainty of its
// estimated devices: "Emissions 12.3 g CO2e (9.8–14.1 g, CPU estimated ±34
// %)." Empty when no device was estimated.
func IntervalLine(r *Report) string {
	iv := r.Interval
	if len(iv.Estimated) == 0 {
		return ""
	}
	if !iv.Quantified() {
		return fmt.Sprintf("Emissions %s g CO2e (%s).", sig(r.Run.Grams), iv.Note())
	}
	return fmt.Sprintf("Emissions %s g CO2e (%s–%s g, %s).", sig(r.Run.Grams), sig(iv.Low), sig(iv.High), iv.Note())
}

// PerWorkLine says the energy and emissions per million units of work over
// the epochs with work: "Per million tokens: 0.12 kWh, 45.6 g CO2e (over 3
// epochs, 12,000,000 tokens)." Empty without work. The energy is facility
// energy, PUE included.
func PerWorkLine(r *Report) string {
	if r.Work <= 0 {
		return ""
	}
	unit := r.WorkUnit
	if unit == "" {
		unit = "units"
	}
	return fmt.Sprintf("Per million %s: %s kWh, %s g CO2e (over %d epoch(s), %s %s).", unit,
		sig(r.FacilityKWhPerMillionWork()), sig(r.GramsPerMillionWork()), r.WorkEpochs, grouped(r.Work), unit)
}

// sig formats v with 3 significant digits at least, never in exponent form
// for the values a run gives.
func sig(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// grouped formats v with thousands separators when it is whole or at least
// 1,000 (then rounded): 12,000,000; else with 6 significant digits.
func grouped(v float64) string {
	if v != math.Trunc(v) && v < 1000 {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

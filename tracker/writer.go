package tracker

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// Version is written into the logs.
const Version = "0.1.0"

// writeBatch is the number of epochs the writer copies under the tracker's
// lock at a time, so that EpochEnd never waits long for it.
const writeBatch = 256

// ctlMsg is a line of WithStopAndConfirm's dialogue for the writer to print.
type ctlMsg struct {
	at   time.Time
	say  string
	done chan struct{} // closed once printed
}

// writer owns the files and the console; only its goroutine touches them.
// It is level-triggered: the tracker keeps every record in its state and
// wakes the writer (a non-blocking send on a 1-buffered channel); the writer
// then writes everything it has not written yet (the epochs since the last
// it wrote, the projection, the advice, the budget, the actual
// consumption) and syncs once. Nothing is ever dropped, and EpochEnd never
// waits for it.
type writer struct {
	t                *Tracker
	std, out         *os.File
	stdW, outW       lineWriter
	jsonl            *os.File
	jsonW            *bufio.Writer
	who              []byte // the identity's JSON fields, made on the first record
	csvPath          string
	stdPath, outPath string
	jsonlPath        string
	kindList         []power.Kind

	wake chan struct{} // 1-buffered: something new to write
	ctl  chan ctlMsg
	quit chan struct{} // closed by Stop: write the rest and the final record
	done chan struct{} // closed when the goroutine ends

	// The writer goroutine's own state.
	last                                      int // epochs written
	projGen                                   int // projections written
	predDone, adviceDone, budgetDone, actDone bool
	dirty                                     bool // written since the last sync
	jsonDirty                                 bool // the JSON lines written since the last sync
	recBuf                                    []epochRec
	devBuf                                    []power.Joules
}

// csvHeader is CodeCarbon 3.x's emissions.csv header, in its order.
var csvHeader = [...]string{"timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
	"emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy",
	"energy_consumed", "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider",
	"cloud_region", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
	"gpu_model", "longitude", "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent",
	"gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"}

// CSVHeader returns CodeCarbon 3.x's emissions.csv header, in its order, as
// the tracker writes it: a new slice each call, which the caller owns.
func CSVHeader() []string { return append([]string(nil), csvHeader[:]...) }

// LogBaseName returns carbontracker's log base name
// "<prefix_><pid>.<id>_<YYYY-MM-DDTHHMMSSZ>"; the pair adds
// "_carbontracker.log" and "_carbontracker_output.log".
func LogBaseName(prefix string, pid, id int, at time.Time) string {
	if prefix != "" {
		prefix += "_"
	}
	return fmt.Sprintf("%s%d.%d_%s", prefix, pid, id, at.Format(logFileTimeLayout))
}

func newWriter(t *Tracker) (*writer, error) {
	o := &t.opts
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("tracker: log dir: %w", err)
	}
	base := filepath.Join(o.logDir, LogBaseName(o.logPrefix, os.Getpid(), newLogID(), o.now()))
	w := &writer{t: t, stdPath: base + "_carbontracker.log", outPath: base + "_carbontracker_output.log"}
	var err error
	open := func(p string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		return f
	}
	w.std = open(w.stdPath)
	w.out = open(w.outPath)
	if o.jsonl {
		w.jsonlPath = base + "_carbontrack.jsonl"
		w.jsonl = open(w.jsonlPath)
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("tracker: log files: %w", err)
	}
	if o.csv {
		w.csvPath = filepath.Join(o.logDir, "emissions.csv")
	}
	w.stdW.w, w.outW.w = bufio.NewWriter(w.std), bufio.NewWriter(w.out)
	if w.jsonl != nil {
		w.jsonW = bufio.NewWriter(w.jsonl)
	}
	w.init()
	return w, nil
}

// newConsoleWriter returns a writer without files: the console only.
func newConsoleWriter(t *Tracker) *writer {
	w := &writer{t: t}
	w.init()
	return w
}

func (w *writer) init() {
	w.wake, w.ctl = make(chan struct{}, 1), make(chan ctlMsg)
	w.quit, w.done = make(chan struct{}), make(chan struct{})
	for _, k := range []power.Kind{power.KindGPU, power.KindCPU, power.KindDRAM} {
		for _, info := range w.t.infos {
			if info.Kind == k {
				w.kindList = append(w.kindList, k)
				break
			}
		}
	}
}

func (w *writer) files() []string {
	var fs []string
	for _, p := range []string{w.stdPath, w.outPath, w.jsonlPath, w.csvPath} {
		if p != "" {
			fs = append(fs, p)
		}
	}
	return fs
}

func (w *writer) close() {
	for _, f := range []*os.File{w.std, w.out, w.jsonl} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// run writes the header, then whatever is new each time it is woken, until
// Stop closes quit: then the rest, the final record and emissions.csv; then
// it closes the files.
func (w *writer) run(start time.Time) {
	defer close(w.done)
	defer w.close()
	w.guard(func() { w.header(start) })
	w.sync()
	for {
		select {
		case <-w.wake:
			w.catchUp()
		case m := <-w.ctl:
			w.catchUp()
			w.guard(func() { w.say(m) })
			w.sync()
			close(m.done)
		case <-w.quit:
			w.catchUp()
			w.guard(w.final)
			w.sync()
			return
		}
	}
}

// guard runs f, turning a panic into a log line: the writer must go on.
func (w *writer) guard(f func()) {
	defer func() {
		if v := recover(); v != nil {
			w.t.logger.Error("tracker: writer panicked", "panic", fmt.Sprint(v))
		}
	}()
	f()
}

func (w *writer) header(at time.Time) {
	t := w.t
	comps := w.componentsLine()
	w.std0(at, "carbontrack version "+Version)
	w.std0(at, fmt.Sprintf("Only predicted and actual consumptions are multiplied by a PUE coefficient of %v.", t.opts.pue))
	w.std0(at, comps)
	w.output(at, comps)
	if msg := t.sharingLine(); msg != "" {
		w.std0(at, msg)
		w.output(at, msg)
	}
	w.std0(at, "Carbon intensity: "+t.intensityLine())
	w.std0(at, "Monitoring thread started.")
}

// pending is what the writer may have to write besides epochs, read under
// the tracker's lock together with the number of epochs, so that it comes
// after them.
type pending struct {
	projGen   int
	proj      Projection
	first     Projection
	firstAt   time.Time
	hasFirst  bool
	advice    string
	adviceSet bool
	budget    BudgetEvent
	budgetSet bool
	actual    actualMark
	ckpt      bool
}

// catchUp writes everything new: the epochs not written yet, in batches,
// then the rest, and syncs once.
func (w *writer) catchUp() {
	t := w.t
	for {
		var p pending
		t.mu.Lock()
		lo := w.last
		hi := min(len(t.recs), lo+writeBatch)
		w.recBuf = append(w.recBuf[:0], t.recs[lo:hi]...)
		w.devBuf = append(w.devBuf[:0], t.devE[lo*t.nsrc:hi*t.nsrc]...)
		caughtUp := hi == len(t.recs)
		if caughtUp {
			p = pending{projGen: t.projGen, proj: t.proj, first: t.firstProj, firstAt: t.firstAt,
				hasFirst: !t.firstAt.IsZero(), advice: t.advice, adviceSet: t.adviceSet,
				budget: t.budgetEv, budgetSet: t.budgetFired, actual: t.actual, ckpt: t.ckptDue}
			t.ckptDue = false
		}
		t.mu.Unlock()
		w.last = hi
		for i := range w.recBuf {
			w.guard(func() { w.epoch(lo+i+1, &w.recBuf[i], w.devBuf[i*t.nsrc:(i+1)*t.nsrc]) })
		}
		if caughtUp {
			w.guard(func() { w.rest(&p) })
			if p.ckpt {
				w.guard(w.checkpoint)
			}
			break
		}
	}
	if w.dirty {
		w.sync()
	}
}

func (w *writer) epoch(n int, rec *epochRec, dev []power.Joules) {
	t := w.t
	if w.stdW.w == nil && w.jsonl == nil {
		return // the console has no epoch lines
	}
	w.dirty = true
	at := t.start.Add(rec.end)
	if !rec.interrupted {
		dur := rec.duration().Seconds()
		w.std0(at, fmt.Sprintf("Epoch %d:", n))
		w.std0(at, "Duration: "+timeString(dur, true))
		for _, k := range w.kindList {
			var e power.Joules
			for i, info := range t.infos {
				if info.Kind == k {
					e += dev[i]
				}
			}
			w.std0(at, fmt.Sprintf("Average power usage (W) for %s: %s", k, plain(float64(e)/max(dur, 1e-9), t.opts.precision)))
		}
	}
	w.json(epochJSON(t, n, rec, dev))
}

// rest writes, once each, the projection block, the latest projection, the
// advice, the budget message and the actual consumption.
func (w *writer) rest(p *pending) {
	t := w.t
	if p.hasFirst && !w.predDone {
		w.predDone, w.dirty = true, true
		w.prediction(p.first, p.firstAt)
	}
	if p.projGen != w.projGen {
		w.projGen, w.dirty = p.projGen, true
		w.json(projJSON(p.proj))
	}
	if p.adviceSet && w.predDone && !w.adviceDone {
		w.adviceDone, w.dirty = true, true
		at := t.opts.now()
		w.output(at, p.advice)
		w.std0(at, p.advice)
	}
	if p.budgetSet && !w.budgetDone {
		w.budgetDone, w.dirty = true, true
		b := p.budget
		what := "Actual"
		if b.Projected {
			what = "Predicted"
		}
		w.output(t.opts.now(), fmt.Sprintf("%s consumption exceeds the budget: %s g, %s kWh (budget: %s g, %s kWh).", what,
			plain(b.Grams, 2), plain(b.KWh, 6), plain(b.BudgetGrams, 2), plain(b.BudgetKWh, 6)))
	}
	if p.actual.set && !w.actDone {
		w.actDone, w.dirty = true, true
		w.actual(p.actual)
	}
}

func (w *writer) prediction(p Projection, at time.Time) {
	t := w.t
	block := formatBlock(fmt.Sprintf("Predicted consumption for %d epoch(s):", p.Epochs), p.Duration,
		p.FacilityEnergy.KWh(), p.Grams, Equivalents(p.Grams), t.opts.precision)
	w.output(at, block)
	msg := fmt.Sprintf("Carbon intensity used: %s; PUE %v.", t.intensityLine(), t.opts.pue)
	if p.Trend {
		msg += fmt.Sprintf(" Trend over %d epochs: %s g; 95 %% interval %s to %s g.", p.Known,
			plain(p.TrendGrams, 2), plain(p.GramsLow, 2), plain(p.GramsHigh, 2))
	}
	w.output(at, msg)
	w.std0(at, msg)
}

func (w *writer) actual(m actualMark) {
	t := w.t
	t.mu.Lock()
	a := t.actualLocked()
	cut, cutN, isCut := t.cutLocked()
	t.mu.Unlock()
	at := m.at
	if m.interrupted {
		w.std0(at, fmt.Sprintf("Training was interrupted before all %d epochs were monitored.", t.monitor))
	}
	if isCut {
		msg := fmt.Sprintf("Epoch %d was cut short by Stop after %s; its %s kWh and %s g are not in the actual consumption.",
			cutN, timeString(cut.duration().Seconds(), true), plain(cut.energy.KWh()*t.opts.pue, t.opts.precision),
			plain(cut.grams, t.opts.precision))
		w.std0(at, msg)
		w.output(at, msg)
	}
	desc := fmt.Sprintf("Actual consumption for %d epoch(s):", a.epochs)
	if t.predAt == 0 {
		desc = "Actual consumption:"
	}
	w.output(at, formatBlock(desc, a.duration, a.facility.KWh(), a.grams, Equivalents(a.grams), t.opts.precision))
	t.mu.Lock()
	mean := t.meanIntensityLocked(Totals{FacilityEnergy: a.facility, Grams: a.grams})
	t.mu.Unlock()
	w.output(at, fmt.Sprintf("Average carbon intensity during training was %s gCO2/kWh.", plain(float64(mean), 2)))
	w.std0(at, "Monitoring thread ended.")
	w.output(at, "Finished monitoring.")
}

// say prints a line of the question on the console, whatever the verbosity,
// and in the output log.
func (w *writer) say(m ctlMsg) {
	if w.outW.w != nil {
		w.outW.line(m.at, consolePrefix+m.say)
		w.dirty = true
	}
	if _, err := io.WriteString(w.t.promptW, consolePrefix+m.say+"\n"); err != nil {
		w.fail(err)
	}
}

// final writes the whole run's block (the headline: every joule measured,
// in epochs or not), the final JSON record and the emissions.csv row.
func (w *writer) final() {
	t := w.t
	t.mu.Lock()
	rep := t.summaryLocked()
	at := t.stopAt
	t.mu.Unlock()
	if at.IsZero() {
		at = t.opts.now()
	}
	w.runBlock(at, &rep)
	w.json(finalJSON(&rep))
	w.writeCSV(at, rep, at.Sub(rep.Start))
	w.dirty = true
}

// RunBlockTitle opens the block of carbontracker's output log that
// carbontrack adds at Stop: the whole run's measured consumption, epochs or
// not. carbontracker's own parser does not read it (it reads the predicted
// and actual blocks, which are unchanged); tracker/runlog does.
const RunBlockTitle = "Measured consumption of the whole run:"

// runBlock writes the whole run's consumption and how it splits: the
// completed epochs (the actual consumption above), the interrupted epoch,
// and the time outside epochs.
func (w *writer) runBlock(at time.Time, r *Report) {
	t := w.t
	prec := t.opts.precision
	w.output(at, formatBlock(RunBlockTitle, r.Run.Duration, r.Run.FacilityEnergy.KWh(), r.Run.Grams,
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
	w.output(at, msg)
	w.std0(at, msg)
}

// checkpoint appends the run's totals so far to the JSON lines (synced with
// the rest): a process killed later loses at most one checkpoint interval.
func (w *writer) checkpoint() {
	t := w.t
	if w.jsonl == nil {
		return
	}
	t.mu.Lock()
	rep := t.summaryLocked()
	at := t.lastTick
	t.mu.Unlock()
	w.json(checkpointJSON(at, &rep))
	w.dirty = true
}

// deviceName makes a device name safe for carbontracker's parser, which cuts
// at the first '.' and splits at ','.
func deviceName(s string) string {
	return strings.NewReplacer(".", "_", ",", ";", "\n", " ").Replace(s)
}

func (w *writer) componentsLine() string {
	parts := []string{"The following components were found:"}
	for _, k := range w.kindList {
		var devs []string
		for _, info := range w.t.infos {
			if info.Kind == k {
				devs = append(devs, deviceName(info.Name))
			}
		}
		parts = append(parts, fmt.Sprintf("%s with device(s) %s.", strings.ToUpper(string(k)), strings.Join(devs, ", ")))
	}
	return strings.Join(parts, " ")
}

// std0 writes a line to the standard log.
func (w *writer) std0(at time.Time, msg string) {
	if w.stdW.w != nil {
		w.stdW.line(at, msg)
	}
}

// output writes a message to the output log and the console, with
// carbontracker's prefix.
func (w *writer) output(at time.Time, msg string) {
	if w.outW.w != nil {
		w.outW.line(at, consolePrefix+msg)
	}
	o := &w.t.opts
	if o.verbose <= 0 {
		return
	}
	if !o.interpretable {
		if i := strings.Index(msg, "\n\tThis is equivalent to:"); i >= 0 {
			msg = msg[:i]
		}
	}
	if _, err := io.WriteString(o.console, consolePrefix+msg+"\n"); err != nil {
		w.fail(err)
	}
}

// whoFields are the identity's JSON fields, without braces: run_id and
// node when known, rank when known (>= 0).
func whoFields(id Identity) []byte {
	var parts []string
	if id.RunID != "" {
		b, _ := json.Marshal(id.RunID)
		parts = append(parts, `"run_id":`+string(b))
	}
	if id.Node != "" {
		b, _ := json.Marshal(id.Node)
		parts = append(parts, `"node":`+string(b))
	}
	if id.Rank >= 0 {
		parts = append(parts, `"rank":`+strconv.Itoa(id.Rank))
	}
	return []byte(strings.Join(parts, ","))
}

func (w *writer) json(v any) {
	if w.jsonl == nil {
		return
	}
	w.jsonDirty = true
	b, err := json.Marshal(v)
	if err == nil {
		// Every record says whose it is: "run_id", "node", "rank" first.
		if w.who == nil {
			w.who = whoFields(w.t.id)
		}
		if len(w.who) > 0 && len(b) > 2 && b[0] == '{' {
			b = append(append(append([]byte{'{'}, w.who...), ','), b[1:]...)
		}
		_, err = w.jsonW.Write(append(b, '\n'))
	}
	if err != nil {
		w.fail(err)
	}
}

func (w *writer) fail(err error) {
	w.t.mu.Lock()
	w.t.writeErrs++
	w.t.mu.Unlock()
	w.t.logger.Error("tracker: write failed", "err", err)
}

// sync flushes and syncs the files written since the last sync, so that a
// killed process loses at most the open epoch (and what the writer had not
// caught up with); a file not written to is not synced again (a checkpoint
// touches the JSON lines alone).
func (w *writer) sync() {
	w.dirty = false
	for _, p := range []struct {
		lw *lineWriter
		f  *os.File
	}{{&w.stdW, w.std}, {&w.outW, w.out}} {
		if p.f == nil || !p.lw.dirty {
			continue
		}
		p.lw.dirty = false
		if p.lw.err == nil {
			p.lw.err = p.lw.w.Flush()
		}
		if p.lw.err != nil {
			w.fail(p.lw.err)
			p.lw.err = nil
			p.lw.w.Reset(p.f)
		}
		_ = p.f.Sync()
	}
	if w.jsonl != nil && w.jsonDirty {
		w.jsonDirty = false
		if err := w.jsonW.Flush(); err != nil {
			w.fail(err)
			w.jsonW.Reset(w.jsonl)
		}
		_ = w.jsonl.Sync()
	}
}

func (w *writer) writeCSV(at time.Time, rep Report, wall time.Duration) {
	if w.csvPath == "" {
		return
	}
	f, err := os.OpenFile(w.csvPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.fail(err)
		return
	}
	st, err := f.Stat()
	cw := csv.NewWriter(f)
	if err == nil && st.Size() == 0 {
		err = cw.Write(csvHeader[:])
	}
	if err == nil {
		err = cw.Write(csvRow(w.t, at, rep, wall))
	}
	cw.Flush()
	err = errors.Join(err, cw.Error(), f.Sync(), f.Close())
	if err != nil {
		w.fail(err)
	}
}

func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// csvRow fills CodeCarbon 3.x's columns with the whole run (as CodeCarbon
// measures from start to stop): duration is the run's wall time (New to
// Stop) in s, and emissions_rate the emissions over it; emissions in kg;
// energies in kWh with PUE, as CodeCarbon applies it to each component
// (cpu, gpu and ram energy sum to energy_consumed); powers in W, the mean
// over the run; the country by ISO 3166-1 alpha-3 code and
// name when the zone is a country (or a country's region, "DK-DK1"); what
// does not apply is empty, as CodeCarbon leaves unknown values.
func csvRow(t *Tracker, at time.Time, rep Report, wall time.Duration) []string {
	dur := wall.Seconds()
	kg := rep.Run.Grams / 1000
	rate := 0.0
	if dur > 0 {
		rate = kg / dur
	}
	span := rep.Run.Duration.Seconds()
	pw := func(j power.Joules) string {
		if span <= 0 {
			return "0"
		}
		return f64(float64(j) / span)
	}
	kwh := func(j power.Joules) string { return f64(j.KWh() * rep.PUE) }
	var cpuModel, gpuModel []string
	gpus := 0
	for _, s := range rep.Sources {
		switch s.Info.Kind {
		case power.KindCPU:
			cpuModel = append(cpuModel, s.Info.Device)
		case power.KindGPU:
			gpus++
			gpuModel = append(gpuModel, s.Info.Device)
		}
	}
	mode := "machine"
	if t.opts.pid > 0 {
		mode = "process"
	}
	iso, country := "", ""
	if c, ok := zoneCountry(rep.Intensity.Zone); ok {
		iso, country = c.Alpha3, c.Name
	}
	row := map[string]string{
		"timestamp": at.Format("2006-01-02T15:04:05"), "project_name": t.opts.project,
		"run_id": fmt.Sprintf("%d-%d", os.Getpid(), rep.Start.UnixNano()), "experiment_id": "",
		"duration": f64(dur), "emissions": f64(kg), "emissions_rate": f64(rate),
		"cpu_power": pw(rep.Run.ByKind.CPU), "gpu_power": pw(rep.Run.ByKind.GPU), "ram_power": pw(rep.Run.ByKind.DRAM),
		"cpu_energy": kwh(rep.Run.ByKind.CPU), "gpu_energy": kwh(rep.Run.ByKind.GPU), "ram_energy": kwh(rep.Run.ByKind.DRAM),
		"energy_consumed": f64(rep.Run.FacilityEnergy.KWh()), "water_consumed": "0",
		"country_name": country, "country_iso_code": iso, "region": "", "cloud_provider": "", "cloud_region": "",
		"os": runtime.GOOS + "/" + runtime.GOARCH, "python_version": "", "codecarbon_version": "",
		"cpu_count": strconv.Itoa(runtime.NumCPU()), "cpu_model": strings.Join(cpuModel, "; "),
		"gpu_count": strconv.Itoa(gpus), "gpu_model": strings.Join(gpuModel, "; "),
		"longitude": "", "latitude": "", "ram_total_size": "", "tracking_mode": mode,
		"cpu_utilization_percent": "", "gpu_utilization_percent": "", "ram_utilization_percent": "", "ram_used_gb": "",
		"on_cloud": "N", "pue": f64(rep.PUE), "wue": "0",
	}
	if strings.Contains(rep.Intensity.Zone, ":") {
		prov, reg, _ := strings.Cut(rep.Intensity.Zone, ":")
		row["cloud_provider"], row["cloud_region"], row["on_cloud"] = prov, reg, "Y"
	}
	out := make([]string, len(csvHeader))
	for i, h := range csvHeader {
		out[i] = row[h]
	}
	return out
}

// zoneCountry returns the country of a zone that is a country ("DK",
// "DNK") or a country's region ("DK-DK1", "US-CAL-CISO"); not of a cloud
// region or "world".
func zoneCountry(zone string) (factor.Country, bool) {
	if zone == "" || strings.Contains(zone, ":") {
		return factor.Country{}, false
	}
	if c, err := factor.LookupCountry(zone); err == nil {
		return c, true
	}
	if cc, _, ok := strings.Cut(zone, "-"); ok {
		if c, err := factor.LookupCountry(cc); err == nil {
			return c, true
		}
	}
	return factor.Country{}, false
}

type deviceJSON struct {
	Name            string  `json:"name"`
	Kind            string  `json:"kind"`
	Device          string  `json:"device"`
	Method          string  `json:"method"`
	DeviceEnergyKWh float64 `json:"device_energy_kwh"`
}

// The JSON lines name two energies apart: device_* is what the devices
// drew (before PUE), facility_* includes PUE; per-kind energies are device
// energies. No field is called plain "energy".
type epochRecordJSON struct {
	Type              string       `json:"type"`
	Epoch             int          `json:"epoch"`
	Start             time.Time    `json:"start"`
	End               time.Time    `json:"end"`
	DurationS         float64      `json:"duration_s"`
	DeviceEnergyKWh   float64      `json:"device_energy_kwh"`
	FacilityEnergyKWh float64      `json:"facility_energy_kwh"`
	GPUEnergyKWh      float64      `json:"gpu_device_energy_kwh"`
	CPUEnergyKWh      float64      `json:"cpu_device_energy_kwh"`
	DRAMEnergyKWh     float64      `json:"dram_device_energy_kwh"`
	EmissionsG        float64      `json:"emissions_g"`
	IntensityGPerKWh  float64      `json:"intensity_g_per_kwh"`
	PUE               float64      `json:"pue"`
	Interrupted       bool         `json:"interrupted"`
	Devices           []deviceJSON `json:"devices"`
}

func epochJSON(t *Tracker, n int, r *epochRec, dev []power.Joules) epochRecordJSON {
	j := epochRecordJSON{Type: "epoch", Epoch: n, Start: t.start.Add(r.start), End: t.start.Add(r.end), DurationS: r.duration().Seconds(),
		DeviceEnergyKWh: r.energy.KWh(), FacilityEnergyKWh: r.energy.KWh() * t.opts.pue,
		GPUEnergyKWh: r.byKind.GPU.KWh(), CPUEnergyKWh: r.byKind.CPU.KWh(), DRAMEnergyKWh: r.byKind.DRAM.KWh(),
		EmissionsG: r.grams, PUE: t.opts.pue, Interrupted: r.interrupted}
	if j.FacilityEnergyKWh > 0 {
		j.IntensityGPerKWh = r.grams / j.FacilityEnergyKWh
	}
	for i, info := range t.infos {
		j.Devices = append(j.Devices, deviceJSON{Name: info.Name, Kind: string(info.Kind), Device: info.Device,
			Method: string(info.Method), DeviceEnergyKWh: dev[i].KWh()})
	}
	return j
}

type projectionJSON struct {
	Type              string  `json:"type"`
	Epochs            int     `json:"epochs"`
	KnownEpochs       int     `json:"known_epochs"`
	DurationS         float64 `json:"duration_s"`
	FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
	EmissionsG        float64 `json:"emissions_g"`
	Trend             bool    `json:"trend"`
	TrendEmissionsG   float64 `json:"trend_emissions_g,omitempty"`
	TrendEnergyKWh    float64 `json:"trend_facility_energy_kwh,omitempty"`
	EmissionsLowG     float64 `json:"emissions_low_g"`
	EmissionsHighG    float64 `json:"emissions_high_g"`
}

func projJSON(p Projection) projectionJSON {
	return projectionJSON{Type: "projection", Epochs: p.Epochs, KnownEpochs: p.Known, DurationS: p.Duration.Seconds(),
		FacilityEnergyKWh: p.FacilityEnergy.KWh(), EmissionsG: p.Grams, Trend: p.Trend, TrendEmissionsG: p.TrendGrams,
		TrendEnergyKWh: p.TrendFacilityEnergy.KWh(), EmissionsLowG: p.GramsLow, EmissionsHighG: p.GramsHigh}
}

// totalsJSON is a Totals in the JSON lines.
type totalsJSON struct {
	DurationS         float64 `json:"duration_s"`
	DeviceEnergyKWh   float64 `json:"device_energy_kwh"`
	FacilityEnergyKWh float64 `json:"facility_energy_kwh"`
	GPUEnergyKWh      float64 `json:"gpu_device_energy_kwh"`
	CPUEnergyKWh      float64 `json:"cpu_device_energy_kwh"`
	DRAMEnergyKWh     float64 `json:"dram_device_energy_kwh"`
	EmissionsG        float64 `json:"emissions_g"`
}

func totalsOf(t Totals) totalsJSON {
	return totalsJSON{DurationS: t.Duration.Seconds(), DeviceEnergyKWh: t.DeviceEnergy.KWh(),
		FacilityEnergyKWh: t.FacilityEnergy.KWh(), GPUEnergyKWh: t.ByKind.GPU.KWh(), CPUEnergyKWh: t.ByKind.CPU.KWh(),
		DRAMEnergyKWh: t.ByKind.DRAM.KWh(), EmissionsG: t.Grams}
}

// checkpointRecordJSON is the run so far, appended every checkpoint
// interval: the run's totals (the headline's fields at top level, as in the
// final record) up to At.
type checkpointRecordJSON struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	totalsJSON
	CompletedEpochs int `json:"completed_epochs"`
}

func checkpointJSON(at time.Time, r *Report) checkpointRecordJSON {
	return checkpointRecordJSON{Type: "checkpoint", At: at.UTC(), totalsJSON: totalsOf(r.Run), CompletedEpochs: r.Completed}
}

// finalJSONRecord is written at Stop. Its top-level duration, energies and
// emissions are the whole run's (the headline); "epochs" holds the epochs'
// part (an interrupted epoch's included), "actual" the completed epochs'
// (carbontracker's actual consumption) and "outside_epochs" the rest.
type finalJSONRecord struct {
	Type string `json:"type"`
	totalsJSON
	Epochs            int        `json:"epochs"`
	CompletedEpochs   int        `json:"completed_epochs"`
	Interrupted       bool       `json:"interrupted"`
	InEpochs          totalsJSON `json:"in_epochs"`
	Actual            totalsJSON `json:"actual"`
	OutsideEpochs     totalsJSON `json:"outside_epochs"`
	IntensityGPerKWh  float64    `json:"intensity_g_per_kwh"`
	IntensityZone     string     `json:"intensity_zone"`
	IntensityProvider string     `json:"intensity_provider"`
	IntensityFallback string     `json:"intensity_fallback,omitempty"`
	IntensityZoneFrom string     `json:"intensity_zone_from,omitempty"`
	PUE               float64    `json:"pue"`
	CarKm             float64    `json:"car_km"`
	Misuse            int        `json:"misuse"`
	Dropped           int        `json:"dropped_records"`
	BudgetExceeded    bool       `json:"budget_exceeded"`
	StoppedByUser     bool       `json:"stopped_by_user"`
	StopTimeouts      []string   `json:"stop_timeouts,omitempty"`
	// MeasuredElsewhere are the devices of the machine that another
	// tracker counted; SharingNote why devices may be counted twice.
	MeasuredElsewhere []elsewhereJSON `json:"measured_elsewhere,omitempty"`
	SharingNote       string          `json:"sharing_note,omitempty"`
}

type elsewhereJSON struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	By   string `json:"by"`
}

func finalJSON(r *Report) finalJSONRecord {
	f := finalJSONRecord{Type: "final", totalsJSON: totalsOf(r.Run), Epochs: r.Epochs, CompletedEpochs: r.Completed,
		Interrupted: r.Interrupted, InEpochs: totalsOf(r.InEpochs), Actual: totalsOf(r.Actual),
		OutsideEpochs: totalsOf(r.OutsideEpochs), IntensityGPerKWh: float64(r.MeanIntensity),
		IntensityZone: r.Intensity.Zone, IntensityProvider: r.Intensity.Provider, IntensityFallback: r.Intensity.Fallback,
		IntensityZoneFrom: r.Location.From, PUE: r.PUE, CarKm: r.Run.Grams / GramsPerKmCar, Misuse: r.Misuse, Dropped: r.Dropped,
		BudgetExceeded: r.BudgetExceeded, StoppedByUser: r.StoppedByUser, StopTimeouts: r.StopTimeouts}
	for _, e := range r.Elsewhere {
		f.MeasuredElsewhere = append(f.MeasuredElsewhere, elsewhereJSON{Name: e.Source.Name, Kind: string(e.Source.Kind), By: e.By})
	}
	f.SharingNote = r.SharingNote
	return f
}

package tracker

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// Version is written into the logs.
const Version = "0.1.0"

// writeBatch is the number of epochs the writer copies under the tracker's
// lock at a time, so that EpochEnd never waits long for it.
const writeBatch = 256

// The writer's goroutine turns what the tracker records into events and
// hands each to every output, a sink: one file per format (sink_*.go). It
// is the loop and the assembly; what each output writes, and where, is the
// sink's.

// eventKind says what happened.
type eventKind uint8

const (
	evStart      eventKind = iota // the run started: the headers (intensity)
	evEpoch                       // an epoch was closed (n, rec, dev)
	evProjection                  // the projection was remade (proj)
	evPrediction                  // the first projection, printed once (proj, intensity)
	evAdvice                      // the carbon-aware advice (text)
	evBudget                      // the budget was passed (budget)
	evActual                      // the actual consumption is due (actual)
	evSay                         // a line of WithStopAndConfirm's question (text)
	evWarn                        // a warning for the console and the output log (text)
	evCheckpoint                  // the run so far, every checkpoint interval (report, tick)
	evFinal                       // Stop: the whole run (report, tick)
	evPower                       // points of the power series were closed (pts, vals)
)

// event is what the writer hands every sink, at at. The writer reads its
// data under the tracker's lock; a sink reads the tracker's fixed
// configuration (options, sources, identity, start) and never its state.
// An event is lent for the call: a sink keeps none of it.
type event struct {
	kind eventKind
	at   time.Time
	// evEpoch: the epoch's number, record, and its devices' energies in
	// the order of the tracker's sources.
	n   int
	rec *epochRec
	dev []power.Joules
	// evProjection, evPrediction.
	proj Projection
	// evStart, evPrediction: the intensity in use, in words.
	intensity string
	// evAdvice, evSay, evWarn.
	text string
	// evBudget.
	budget BudgetEvent
	// evActual.
	actual actualEvent
	// evCheckpoint, evFinal: the run so far (a Report without its
	// epochs), and the time of the latest sample it counts (Status.Time).
	report *Report
	tick   time.Time
	// evPower: the points closed since the last, and their values
	// (seriesAcc).
	pts  []seriesPoint
	vals []float64
}

// actualEvent is the actual consumption: the completed epochs, the epoch
// Stop cut short (when isCut) and the completed epochs' mean intensity.
type actualEvent struct {
	interrupted bool // Stop came before the monitored epochs ended
	totals      actualTotals
	cut         epochRec
	cutN        int
	isCut       bool
	mean        factor.GramsPerKWh
}

// A sink is one output. Only the writer's goroutine calls it: handle for
// each event, in order (a sink ignores the kinds it does not write); sync
// after each batch of events, to make what it wrote since the last sync
// durable (a sink that wrote nothing does nothing); close once, at the
// end. A sink reports a failed write with Tracker.writeFailed and goes on;
// a panic loses the event for that sink alone.
type sink interface {
	handle(ev *event)
	sync()
	close()
}

// opened is a sink made for the log directory.
type opened struct {
	sink sink // nil: its format is off
	// files are the files it writes, for Report.Files.
	files []string
	// checkpoints: it wants evCheckpoint, every WithCheckpointInterval.
	checkpoints bool
}

// sinkMaker opens a sink for t's log directory; base is the directory
// joined with the run's base name (LogBaseName). It returns a zero opened
// when its format is off.
type sinkMaker func(t *Tracker, base string) (opened, error)

// fileSinks are the outputs written to the log directory, in the order of
// Report.Files; the console (sink_console.go) is always added. A new
// format is a file with its sink and a line here.
var fileSinks = []sinkMaker{
	newCarbontrackerSink, // the carbontracker log pair
	newJSONLSink,         // the JSON lines
	newCSVSink,           // CodeCarbon's emissions.csv
	newPowerSink,         // the power series (WithPowerSeries)
}

// ctlMsg is a line of WithStopAndConfirm's dialogue for the writer to print.
type ctlMsg struct {
	at   time.Time
	say  string
	done chan struct{} // closed once printed
}

// writer owns the outputs; only its goroutine touches them. It is
// level-triggered: the tracker keeps every record in its state and wakes
// the writer (a non-blocking send on a 1-buffered channel); the writer
// then hands the sinks everything they have not had yet (the epochs since
// the last it wrote, the projection, the advice, the budget, the actual
// consumption, a checkpoint) and syncs them once. Nothing is ever dropped,
// and EpochEnd never waits for it.
type writer struct {
	t           *Tracker
	sinks       []sink
	paths       []string // the sinks' files
	checkpoints bool     // a sink wants evCheckpoint

	wake chan struct{} // 1-buffered: something new to write
	ctl  chan ctlMsg
	quit chan struct{} // closed by Stop: write the rest and the final record
	done chan struct{} // closed when the goroutine ends

	// The writer goroutine's own state.
	last                                      int // epochs written
	projGen                                   int // projections written
	predDone, adviceDone, budgetDone, actDone bool
	recBuf                                    []epochRec
	devBuf                                    []power.Joules
	ptsBuf                                    []seriesPoint // the power series' points taken
	valBuf                                    []float64
	ev                                        event // the event being handed out
}

// LogBaseName returns carbontracker's log base name
// "<prefix_><pid>.<id>_<YYYY-MM-DDTHHMMSSZ>"; the pair adds
// "_carbontracker.log" and "_carbontracker_output.log".
func LogBaseName(prefix string, pid, id int, at time.Time) string {
	if prefix != "" {
		prefix += "_"
	}
	return fmt.Sprintf("%s%d.%d_%s", prefix, pid, id, at.Format(logFileTimeLayout))
}

// newWriter opens the sinks of the log directory, and the console.
func newWriter(t *Tracker) (*writer, error) {
	o := &t.opts
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("tracker: log dir: %w", err)
	}
	base := filepath.Join(o.logDir, LogBaseName(o.logPrefix, os.Getpid(), newLogID(), o.now()))
	w := &writer{t: t}
	for _, mk := range fileSinks {
		s, err := mk(t, base)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("tracker: log files: %w", err)
		}
		if s.sink == nil {
			continue
		}
		w.sinks = append(w.sinks, s.sink)
		w.paths = append(w.paths, s.files...)
		w.checkpoints = w.checkpoints || s.checkpoints
	}
	w.sinks = append(w.sinks, newConsoleSink(t))
	w.init()
	return w, nil
}

// newConsoleWriter returns a writer without files: the console only.
func newConsoleWriter(t *Tracker) *writer {
	w := &writer{t: t, sinks: []sink{newConsoleSink(t)}}
	w.init()
	return w
}

func (w *writer) init() {
	w.wake, w.ctl = make(chan struct{}, 1), make(chan ctlMsg)
	w.quit, w.done = make(chan struct{}), make(chan struct{})
}

// files returns the files the sinks write, in the order of fileSinks.
func (w *writer) files() []string { return w.paths }

func (w *writer) close() {
	for _, s := range w.sinks {
		s.close()
	}
}

// openLog opens a log file for appending, creating it.
func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// run hands out the start, then whatever is new each time it is woken,
// until Stop closes quit: then the rest and the final event; then it
// closes the sinks.
func (w *writer) run(start time.Time) {
	defer close(w.done)
	defer w.close()
	w.emit(event{kind: evStart, at: start, intensity: w.t.intensityLine()})
	w.sync()
	for {
		select {
		case <-w.wake:
			w.catchUp()
		case m := <-w.ctl:
			w.catchUp()
			w.emit(event{kind: evSay, at: m.at, text: m.say})
			w.sync()
			close(m.done)
		case <-w.quit:
			w.catchUp()
			w.final()
			w.sync()
			return
		}
	}
}

// emit hands ev to every sink, in order.
func (w *writer) emit(ev event) {
	w.ev = ev
	for _, s := range w.sinks {
		w.handle(s, &w.ev)
	}
	w.ev = event{}
}

// handle hands ev to s; a panic is logged: the writer must go on.
func (w *writer) handle(s sink, ev *event) {
	defer w.recoverPanic()
	s.handle(ev)
}

// sync syncs every sink (those that wrote nothing since their last sync do
// nothing).
func (w *writer) sync() {
	for _, s := range w.sinks {
		func() {
			defer w.recoverPanic()
			s.sync()
		}()
	}
}

func (w *writer) recoverPanic() {
	if v := recover(); v != nil {
		w.t.logger.Error("tracker: writer panicked", "panic", fmt.Sprint(v))
	}
}

// writeFailed counts a failed write and logs it.
func (t *Tracker) writeFailed(err error) {
	t.mu.Lock()
	t.writeErrs++
	t.mu.Unlock()
	t.logger.Error("tracker: write failed", "err", err)
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
	warn      string
}

// catchUp hands out everything new: the epochs not written yet, in
// batches, then the rest; then it syncs once.
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
				budget: t.budgetEv, budgetSet: t.budgetFired, actual: t.actual, ckpt: t.ckptDue, warn: t.warnNote}
			t.ckptDue, t.warnNote = false, ""
			w.takePowerLocked()
		}
		t.mu.Unlock()
		w.last = hi
		for i := range w.recBuf {
			rec := &w.recBuf[i]
			w.emit(event{kind: evEpoch, at: t.start.Add(rec.end), n: lo + i + 1, rec: rec,
				dev: w.devBuf[i*t.nsrc : (i+1)*t.nsrc]})
		}
		if caughtUp {
			w.emitPower()
			w.rest(&p)
			if p.ckpt {
				w.checkpoint()
			}
			break
		}
	}
	w.sync()
}

// rest hands out, once each, the first projection, the latest projection,
// the advice, the budget and the actual consumption.
func (w *writer) rest(p *pending) {
	t := w.t
	if p.warn != "" {
		w.emit(event{kind: evWarn, at: t.opts.now(), text: p.warn})
	}
	if p.hasFirst && !w.predDone {
		w.predDone = true
		w.emit(event{kind: evPrediction, at: p.firstAt, proj: p.first, intensity: t.intensityLine()})
	}
	if p.projGen != w.projGen {
		w.projGen = p.projGen
		w.emit(event{kind: evProjection, proj: p.proj})
	}
	if p.adviceSet && w.predDone && !w.adviceDone {
		w.adviceDone = true
		w.emit(event{kind: evAdvice, at: t.opts.now(), text: p.advice})
	}
	if p.budgetSet && !w.budgetDone {
		w.budgetDone = true
		w.emit(event{kind: evBudget, at: t.opts.now(), budget: p.budget})
	}
	if p.actual.set && !w.actDone {
		w.actDone = true
		w.emitActual(p.actual)
	}
}

func (w *writer) emitActual(m actualMark) {
	t := w.t
	a := actualEvent{interrupted: m.interrupted}
	t.mu.Lock()
	a.totals = t.actualLocked()
	a.cut, a.cutN, a.isCut = t.cutLocked()
	a.mean = t.meanIntensityLocked(Totals{FacilityEnergy: a.totals.facility, Grams: a.totals.grams})
	t.mu.Unlock()
	w.emit(event{kind: evActual, at: m.at, actual: a})
}

// checkpoint hands out the run's totals so far: a process killed later
// loses at most one checkpoint interval.
func (w *writer) checkpoint() {
	t := w.t
	t.mu.Lock()
	rep := t.summaryLocked()
	at := t.lastTick
	t.mu.Unlock()
	w.emit(event{kind: evCheckpoint, at: at, report: &rep, tick: at})
}

// final hands out the whole run, at Stop.
func (w *writer) final() {
	t := w.t
	t.mu.Lock()
	rep := t.summaryLocked()
	at, tick := t.stopAt, t.lastTick
	if t.series != nil {
		t.series.closeRest(tick.Sub(t.start))
	}
	w.takePowerLocked()
	t.mu.Unlock()
	if at.IsZero() {
		at = t.opts.now()
	}
	w.emitPower()
	w.emit(event{kind: evFinal, at: at, report: &rep, tick: tick})
}

// takePowerLocked takes the power series' closed points, if any.
func (w *writer) takePowerLocked() {
	if s := w.t.series; s != nil {
		w.ptsBuf, w.valBuf = s.take(w.ptsBuf[:0], w.valBuf[:0])
	}
}

// emitPower hands out the power series' points taken, if any.
func (w *writer) emitPower() {
	if len(w.ptsBuf) > 0 {
		w.emit(event{kind: evPower, pts: w.ptsBuf, vals: w.valBuf})
		w.ptsBuf, w.valBuf = w.ptsBuf[:0], w.valBuf[:0]
	}
}

package cli

// Epochs read from the command's output: a lineTee cuts what the command
// prints into screen updates, an epochMatcher reads epoch marks from them (a
// user's --epoch-pattern and --epoch-start-pattern, or an --epochs-from
// preset), and an epochCounter turns the marks into the tracker's
// EpochStart and EpochEnd.

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/tracker"
)

// maxLine bounds the part of a line matched against the epoch marks (64
// KiB): a longer line is matched on its start.
const maxLine = 64 << 10

// lineTee passes the command's output on, byte for byte, and calls update
// with each screen update it holds, as a terminal shows it: "\r" and "\n"
// end an update, ANSI escape sequences (colours, cursor moves) and other
// control characters are left out. final is true for the last text of a
// line (ended by "\n" or "\r\n"), false for text a carriage return let the
// next update draw over: a progress bar's redraws ("\rEpoch 0: 45%|...").
// An update is passed on when its end is seen and, if a write ends before
// it does, also then, with what it holds so far (final false): a redraw is
// read when it is drawn, not when the next one comes, but its text may be
// cut (print("epoch", 12) writes "epoch", " ", "12" and "\n"). Write is
// called by one goroutine at a time (exec's copier); update may be nil.
type lineTee struct {
	write  func([]byte) (int, error)
	update func(text []byte, final bool)
	seg    []byte // the update so far, raw
	text   []byte // its visible text, reused
	cr     bool   // the last byte was '\r'
}

func (w *lineTee) Write(p []byte) (int, error) {
	n, err := w.write(p)
	if w.update == nil {
		return n, err
	}
	for _, b := range p[:n] {
		if w.cr {
			// Whether a "\r" ends a line or an update is known only now.
			w.cr = false
			if b == '\n' {
				w.emit(true)
				continue
			}
			w.emit(false)
		}
		switch b {
		case '\n':
			w.emit(true)
		case '\r':
			w.cr = true
		default:
			if len(w.seg) < maxLine {
				w.seg = append(w.seg, b)
			}
		}
	}
	if len(w.seg) > 0 {
		// What the screen shows now: the rest may come much later.
		w.text = appendVisible(w.text[:0], w.seg)
		if len(w.text) > 0 {
			w.update(w.text, false)
		}
	}
	return n, err
}

// emit passes the update on, if any text of it shows, and starts the next.
func (w *lineTee) emit(final bool) {
	w.text = appendVisible(w.text[:0], w.seg)
	w.seg = w.seg[:0]
	if len(w.text) > 0 {
		w.update(w.text, final)
	}
}

// appendVisible appends to dst what a terminal shows of seg: its text
// without ANSI escape sequences (CSI such as colours and ESC[K, OSC, two-byte
// ones) and control characters other than tabs (backspaces included: Keras
// writes them before its "\r").
func appendVisible(dst, seg []byte) []byte {
	for i := 0; i < len(seg); i++ {
		switch b := seg[i]; {
		case b == 0x1b:
			i = escapeEnd(seg, i)
		case b == '\t' || (b >= 0x20 && b != 0x7f):
			dst = append(dst, b)
		}
	}
	return dst
}

// escapeEnd returns the index of the last byte of the escape sequence that
// starts at seg[i] (ESC); an unfinished one runs to the end of seg.
func escapeEnd(seg []byte, i int) int {
	if i+1 >= len(seg) {
		return i
	}
	switch seg[i+1] {
	case '[': // CSI: parameter and intermediate bytes, then a final byte
		j := i + 2
		for j < len(seg) && seg[j] >= 0x20 && seg[j] <= 0x3f {
			j++
		}
		if j < len(seg) && seg[j] >= 0x40 && seg[j] <= 0x7e {
			return j
		}
		return j - 1
	case ']': // OSC: up to BEL or ST (ESC \)
		for j := i + 2; j < len(seg); j++ {
			if seg[j] == 0x07 {
				return j
			}
			if seg[j] == 0x1b && j+1 < len(seg) && seg[j+1] == '\\' {
				return j + 1
			}
		}
		return len(seg) - 1
	default: // ESC and one byte: ESC 7, ESC =, ...
		return i + 1
	}
}

// epochMark is what one screen update says about epochs. The zero value
// says nothing.
type epochMark struct {
	// start: an epoch begins here (the open one ends first); end: the open
	// epoch ends here. Both: it ends, and the next begins.
	start, end bool
	// epoch, when numbered, is the number the trainer printed with the
	// mark: for a start, the epoch that begins (in its own numbering, 0 or
	// 1 first); for an end, how many epochs have ended. A progress bar's
	// redraws repeat it: a start counts only when the number changes, an
	// end only when it grows.
	epoch    int
	numbered bool
	// total is the number of epochs the command announced (0: none).
	total int
}

// epochMatcher reads the epoch marks of a command's output. It holds no
// state: safe for concurrent use.
type epochMatcher struct {
	// what names it in messages: "--epochs-from keras", "--epoch-pattern".
	what string
	// mark reads one screen update's visible text (see lineTee).
	mark func(text []byte, final bool) epochMark
	// endsOnly says that the command marks only the ends of its epochs:
	// each end starts the next epoch, and the first starts with the run.
	endsOnly bool
}

// patternMatcher matches the user's --epoch-start-pattern and
// --epoch-pattern (either may be nil; both nil: no matcher) on the last
// text of each line, as a terminal shows it: a progress bar's redraws are
// not matched, so a pattern that also matches them counts once a line.
func patternMatcher(start, end *regexp.Regexp) *epochMatcher {
	var what []string
	if start != nil {
		what = append(what, "--epoch-start-pattern")
	}
	if end != nil {
		what = append(what, "--epoch-pattern")
	}
	if len(what) == 0 {
		return nil
	}
	return &epochMatcher{
		what:     strings.Join(what, " and "),
		endsOnly: start == nil,
		mark: func(text []byte, final bool) epochMark {
			if !final {
				return epochMark{}
			}
			return epochMark{start: start != nil && start.Match(text), end: end != nil && end.Match(text)}
		},
	}
}

// epochPreset is an --epochs-from choice: the epoch marks of a trainer's
// own output.
type epochPreset struct {
	name string
	// about says, for the help, what it reads.
	about   string
	matcher epochMatcher
}

// epochPresets returns the --epochs-from presets. Each is built on the
// trainer's own format strings, named in its mark function's comment.
func epochPresets() []epochPreset {
	return []epochPreset{
		{name: "keras", about: `"Epoch 3/10" starts an epoch; the progress bar's last line, "10/10 ━━━━ ... - loss: ...", ends it`,
			matcher: epochMatcher{mark: kerasMark}},
		{name: "lightning", about: `PyTorch Lightning's bar "Epoch 2: 45%|..." starts epoch 2, once however often it is redrawn; "` + "`Trainer.fit` stopped" + `" ends the last`,
			matcher: epochMatcher{mark: lightningMark}},
		{name: "transformers", about: `Hugging Face Trainer's logs "{..., 'epoch': 2.0}" end epoch 2; the first starts with the command`,
			matcher: epochMatcher{mark: transformersMark, endsOnly: true}},
		{name: "plain", about: `a line that starts with "epoch N" or "Epoch N/TOTAL" (any case) starts epoch N, once per number`,
			matcher: epochMatcher{mark: plainMark}},
	}
}

// presetNames lists the presets' names, for messages.
func presetNames() []string {
	var names []string
	for _, p := range epochPresets() {
		names = append(names, p.name)
	}
	return names
}

// presetMatcher returns the matcher of the preset called name (any case).
func presetMatcher(name string) (*epochMatcher, error) {
	for _, p := range epochPresets() {
		if strings.EqualFold(p.name, name) {
			m := p.matcher
			m.what = "--epochs-from " + p.name
			return &m, nil
		}
	}
	return nil, fmt.Errorf("unknown preset %q (valid: %s)", name, strings.Join(presetNames(), ", "))
}

var (
	// Keras' ProgbarLogger.on_epoch_begin: f"Epoch {epoch + 1}/{self.epochs}"
	// (printed only when epochs > 1; pinned, after "\033[H\033[K").
	kerasStart = lazyRegexp(`^Epoch (\d+)/(\d+)\s*$`)
	// Keras' Progbar.update at finalize (on_epoch_end, after the silent
	// validation): "%{numdigits}d/%d" then the bar "━━━" (Keras 3), "[===]"
	// (tf.keras 2) or, with verbose=2, " - 1s - ...". Mid-epoch updates
	// are redrawn (\b...\r) and have current < target.
	kerasEnd = lazyRegexp(`^\s*(\d+)/(\d+) (?:━|\[=|- )`)
	// Lightning's TQDMProgressBar.on_train_epoch_start:
	// set_description(f"Epoch {trainer.current_epoch}"), drawn by tqdm as
	// "Epoch 0:  45%|████▌     | 45/100 [...]"; its RichProgressBar
	// draws "Epoch 0/9 ━━━━ ...". Read by hand in lightningMark: every
	// redraw passes there.
	lightningStart = []byte("Epoch ")
	// Lightning's fit loop: rank_zero_info("`Trainer.fit` stopped:
	// `max_epochs=3` reached."), also for max_steps and max_time.
	lightningEnd = []byte("`Trainer.fit` stopped:")
	// transformers' ProgressCallback.on_log: tqdm.write(str(logs)) with
	// logs["epoch"] = round(state.epoch, 2): "{'loss': 0.69, ..., 'epoch':
	// 1.0}", newer versions quote the values ("'epoch': '2'");
	// PrinterCallback prints the same dict.
	hfEpoch = lazyRegexp(`\{.*['"]epoch['"]: ['"]?(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)['"]?[,}]`)
	// Trainer._inner_training_loop: logger.info(f"  Num Epochs = {num_train_epochs:,}").
	hfTotal = lazyRegexp(`Num Epochs = (\d[\d,]*)`)
	// plain: "epoch 3", "Epoch 3/10", "EPOCH 3 of 10", "[Epoch 3/10]",
	// "epoch: 3" at the start of a line.
	plainStart = lazyRegexp(`(?i)^\s*\[?epoch\s*[:=#]?\s*(\d+)(?:\s*(?:/|of)\s*(\d+))?(?:\D|$)`)
)

// kerasMark reads Keras' (keras 3 and tf.keras 2) fit output.
func kerasMark(text []byte, final bool) epochMark {
	if !final {
		return epochMark{}
	}
	if bytes.HasPrefix(text, []byte("Epoch ")) {
		if m := kerasStart().FindSubmatch(text); m != nil {
			n, ok1 := atoi(m[1])
			total, ok2 := atoi(m[2])
			if ok1 && ok2 {
				return epochMark{start: true, epoch: n, numbered: true, total: total}
			}
		}
		return epochMark{}
	}
	if m := kerasEnd().FindSubmatch(text); m != nil && bytes.Equal(m[1], m[2]) {
		return epochMark{end: true}
	}
	return epochMark{}
}

// lightningMark reads PyTorch Lightning's progress bar and fit loop.
func lightningMark(text []byte, _ bool) epochMark {
	if rest, ok := bytes.CutPrefix(text, lightningStart); ok {
		// "Epoch N:" or "Epoch N/M".
		i := 0
		for i < len(rest) && i < 10 && isDigit(rest[i]) {
			i++
		}
		if i == 0 || i == len(rest) || !(rest[i] == ':' || rest[i] == '/' && i+1 < len(rest) && isDigit(rest[i+1])) {
			return epochMark{}
		}
		if n, ok := atoi(rest[:i]); ok {
			return epochMark{start: true, epoch: n, numbered: true}
		}
		return epochMark{}
	}
	if bytes.Contains(text, lightningEnd) {
		return epochMark{end: true}
	}
	return epochMark{}
}

// transformersMark reads Hugging Face transformers' Trainer logs: the
// "epoch" of a logged dict is the epochs done so far (1.5: half of the
// second), so its whole part, when it grows, ends that many epochs.
func transformersMark(text []byte, final bool) epochMark {
	if final && bytes.Contains(text, []byte("Num Epochs")) {
		if m := hfTotal().FindSubmatch(text); m != nil {
			if n, ok := atoi(bytes.ReplaceAll(m[1], []byte(","), nil)); ok {
				return epochMark{total: n}
			}
		}
	}
	if !bytes.Contains(text, []byte("epoch")) {
		return epochMark{}
	}
	m := hfEpoch().FindSubmatch(text)
	if m == nil {
		return epochMark{}
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || v > math.MaxInt32 {
		return epochMark{}
	}
	// round(epoch, 2) may print 2.0 a step early; 1e-6 absorbs 0.9999999.
	return epochMark{end: true, epoch: int(math.Floor(v + 1e-6)), numbered: true}
}

// plainMark reads a line that starts with "epoch N".
func plainMark(text []byte, final bool) epochMark {
	m := plainStart().FindSubmatch(text)
	if m == nil {
		return epochMark{}
	}
	if !final && len(m[0]) == len(text) && isDigit(text[len(text)-1]) {
		return epochMark{} // the number may go on in the next write
	}
	n, ok := atoi(m[1])
	if !ok {
		return epochMark{}
	}
	mk := epochMark{start: true, epoch: n, numbered: true}
	if len(m[2]) > 0 {
		mk.total, _ = atoi(m[2])
	}
	return mk
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// atoi parses a run of decimal digits; false when it overflows an int32.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= math.MaxInt32
}

// epochMarker is the part of *tracker.Tracker an epochCounter drives.
type epochMarker interface {
	EpochStart()
	EpochEnd()
}

var _ epochMarker = (*tracker.Tracker)(nil)

// shortFirstEpoch is the share of the time since it began (1 %) under
// which the first epoch is reported as suspect when the second ends: a
// mark printed when an epoch begins, taken for its end, makes the first
// epoch the moment between the command's start and its first line.
const shortFirstEpoch = 0.01

// epochEvent is a mark as the counter takes it: ends epochs end, then one
// starts if start.
type epochEvent struct {
	ends  int
	start bool
}

// epochCounter turns epoch marks into the tracker's epochs: with no
// matcher, the whole run is one epoch; with one whose marks are only ends,
// the first epoch starts with the run and each end starts the next;
// otherwise epochs start at start marks (ending the open one) and end at
// end marks. At most total epochs are started. Its methods are safe for
// concurrent use (stdout's and stderr's copiers, the main goroutine); its
// messages (say) are said outside its lock.
type epochCounter struct {
	m     *epochMatcher // nil: the whole run is one epoch
	total int
	say   func(string)     // carbontrack's messages; nil: none
	now   func() time.Time // the clock

	mu              sync.Mutex
	t               epochMarker // nil until begin
	early           []epochEvent
	started, ended  int
	open            bool
	taken           int // marks taken, early ones included
	lastStart       int // the last numbered start's epoch, if startSeen
	startSeen       bool
	lastEnd         int // the epochs ended by the last numbered end
	firstStart      time.Time
	firstEnd        time.Time
	checked         bool // the first epoch's length was checked
	announcedWarned bool
	pending         []string // messages to say once unlocked
}

// newEpochCounter returns a counter of total epochs (at least 1) read by m
// (nil: none), saying its warnings with say (nil: none), on the clock now
// (nil: time.Now).
func newEpochCounter(total int, m *epochMatcher, say func(string), now func() time.Time) *epochCounter {
	if now == nil {
		now = time.Now
	}
	return &epochCounter{m: m, total: total, say: say, now: now}
}

// lineFunc returns the lineTee update function that feeds the counter, or
// nil when it has no matcher.
func (e *epochCounter) lineFunc() func(text []byte, final bool) {
	if e.m == nil {
		return nil
	}
	return e.update
}

// update reads one screen update of the command's output.
func (e *epochCounter) update(text []byte, final bool) {
	mk := e.m.mark(text, final)
	if !mk.start && !mk.end && mk.total == 0 {
		return
	}
	e.mu.Lock()
	e.markLocked(mk)
	e.unlockAndSay()
}

// begin starts counting on t, the run's tracker: the first epoch starts now
// when no start mark is awaited, then the marks seen before are taken, at
// once.
func (e *epochCounter) begin(t epochMarker) {
	e.mu.Lock()
	e.t = t
	now := e.now()
	if e.m == nil || e.m.endsOnly {
		e.openLocked(now)
	}
	for _, ev := range e.early {
		e.applyLocked(ev, now)
	}
	e.early = nil
	e.unlockAndSay()
}

// finish is called when the command has exited, before the tracker's Stop.
// success (exit code 0) completes the open epoch when a start mark opened
// it, or, when the command marks only ends, when it is the last one; any
// other open epoch is left for Stop, which records it as interrupted.
func (e *epochCounter) finish(success bool) {
	e.mu.Lock()
	if e.t == nil {
		e.mu.Unlock()
		return
	}
	now := e.now()
	if e.open && success && ((e.m != nil && !e.m.endsOnly) || e.ended == e.total-1) {
		e.closeLocked(now)
	}
	if e.m != nil {
		e.checkFirstLocked(now)
		if e.taken == 0 && success && !(e.m.endsOnly && e.total == 1) {
			e.pending = append(e.pending, fmt.Sprintf("carbontrack: no line of the command's output marked an epoch (%s): "+
				"if it is a Python program, run it with -u (or PYTHONUNBUFFERED=1) so that its lines arrive as printed\n", e.m.what))
		}
	}
	e.unlockAndSay()
}

// markLocked takes a mark: numbered ones only when their number moves.
func (e *epochCounter) markLocked(mk epochMark) {
	if mk.total > 0 && mk.total != e.total && !e.announcedWarned {
		e.announcedWarned = true
		e.pending = append(e.pending, fmt.Sprintf("carbontrack: the command announced %d epochs, but --epochs is %d: "+
			"the projection and the report count %d\n", mk.total, e.total, e.total))
	}
	ev := epochEvent{start: mk.start}
	if mk.start && mk.numbered {
		if e.startSeen && mk.epoch == e.lastStart {
			ev.start = false // a redraw of the same epoch
		}
		e.startSeen, e.lastStart = true, mk.epoch
	}
	if mk.end {
		ev.ends = 1
		if mk.numbered {
			ev.ends = max(mk.epoch-e.lastEnd, 0)
			e.lastEnd = max(e.lastEnd, mk.epoch)
		}
	}
	if !ev.start && ev.ends == 0 {
		return
	}
	e.taken++
	if e.t == nil {
		// Before the tracker started (--process): kept, in order, for
		// begin; more than the epochs there are to count is noise.
		if len(e.early) < 2*e.total+2 {
			e.early = append(e.early, ev)
		}
		return
	}
	e.applyLocked(ev, e.now())
}

func (e *epochCounter) applyLocked(ev epochEvent, now time.Time) {
	for range ev.ends {
		if !e.open {
			break
		}
		e.closeLocked(now)
		if e.m.endsOnly {
			e.openLocked(now)
		}
	}
	if ev.start {
		if e.open {
			e.closeLocked(now)
		}
		e.openLocked(now)
	}
}

// openLocked starts an epoch, if any is left.
func (e *epochCounter) openLocked(now time.Time) {
	if e.started >= e.total {
		return
	}
	e.t.EpochStart()
	e.open = true
	e.started++
	if e.started == 1 {
		e.firstStart = now
	}
}

// closeLocked ends the open epoch.
func (e *epochCounter) closeLocked(now time.Time) {
	e.t.EpochEnd()
	e.open = false
	e.ended++
	switch e.ended {
	case 1:
		e.firstEnd = now
	case 2:
		e.checkFirstLocked(now)
	}
}

// checkFirstLocked warns, once, when the first epoch lasted under
// shortFirstEpoch of the time from its start to now: the end of the second
// epoch, or the command's exit when that comes first. Checked when the
// first epoch ends, it would always pass: in a run whose marks are ends,
// the first epoch is the whole run so far.
func (e *epochCounter) checkFirstLocked(now time.Time) {
	if e.m == nil || e.checked || e.ended == 0 {
		return
	}
	e.checked = true
	first, since := e.firstEnd.Sub(e.firstStart), now.Sub(e.firstStart)
	if since <= 0 || float64(first) >= shortFirstEpoch*float64(since) {
		return
	}
	hint := "the line that ends an epoch may be printed when one begins (Keras' \"Epoch 1/10\" is): " +
		"match it with --epoch-start-pattern, or use --epochs-from"
	if !e.m.endsOnly {
		hint = "an epoch may have been ended by a line printed just after it began"
	}
	e.pending = append(e.pending, fmt.Sprintf("carbontrack: warning: the first epoch lasted %v, under 1 %% of the %v since it began "+
		"(%s): %s\n", roundDuration(first), roundDuration(since), e.m.what, hint))
}

// unlockAndSay releases e.mu and says the pending messages.
func (e *epochCounter) unlockAndSay() {
	msgs := e.pending
	e.pending = nil
	e.mu.Unlock()
	if e.say == nil {
		return
	}
	for _, m := range msgs {
		e.say(m)
	}
}

// roundDuration keeps about three significant digits of d.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Second:
		return d.Round(time.Second)
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// presetHelp lists the presets for run's help, one a paragraph, wrapped to
// 76 columns.
func presetHelp() string {
	const indent, width = 16, 76
	var b strings.Builder
	for _, p := range epochPresets() {
		line := fmt.Sprintf("  %-*s", indent-3, p.name)
		for _, w := range strings.Fields(p.about) {
			if len(line) > indent && len(line)+1+len(w) > width {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", indent-1)
			}
			line += " " + w
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

package cli

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// The console of carbontrack run: the command's output, carbontrack's
// messages and the live status line.

// holdMax is how long a message of carbontrack's waits for the command to
// finish its line on stderr before it is written on a line of its own.
const holdMax = time.Second

// console serializes what reaches stdout and stderr: the command's output
// (when carbontrack reads it), carbontrack's messages and the status line.
// The status line is drawn only when the screen's cursor is at the start of
// a line, and erased ("\r" then ESC[K) before anything else is written;
// messages wait (up to holdMax) for the command's partial line on stderr to
// end. Its methods are safe for concurrent use; say and the Writers of
// messages never block on a slow terminal.
type console struct {
	// pending counts messages still to come from other goroutines (the
	// zone's warning); finish waits for them.
	pending sync.WaitGroup

	mu                     sync.Mutex // guards the fields below and the writes
	out, err               io.Writer
	outTTY, errTTY, status bool
	width                  int
	direct                 bool // the command writes to stderr itself
	shown                  bool // the status line is on the screen
	text                   string
	outLast, errLast       byte // last byte written to stdout, stderr (0: none)
	screenLast             byte // last byte written to the terminal

	qmu       sync.Mutex // guards queue and heldSince
	queue     []string
	heldSince time.Time
	queued    chan struct{} // 1-buffered: a message was queued (wakes run without a status line)
}

func newConsole(out, err io.Writer, outTTY, errTTY, status bool, width int) *console {
	return &console{out: out, err: err, outTTY: outTTY, errTTY: errTTY, status: status, width: width,
		queued: make(chan struct{}, 1)}
}

// childOut writes the command's stdout.
func (c *console) childOut(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outTTY {
		c.eraseLocked()
	}
	n, err := c.out.Write(p)
	if n > 0 {
		c.outLast = p[n-1]
		if c.outTTY {
			c.screenLast = c.outLast
		}
	}
	c.flushLocked(false)
	c.drawLocked()
	return n, err
}

// childErr writes the command's stderr.
func (c *console) childErr(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	n, err := c.err.Write(p)
	if n > 0 {
		c.errLast = p[n-1]
		if c.errTTY {
			c.screenLast = c.errLast
		}
	}
	c.flushLocked(false)
	c.drawLocked()
	return n, err
}

// say queues a message for stderr and writes it if it can now.
func (c *console) say(msg string) {
	c.qmu.Lock()
	if len(c.queue) == 0 {
		c.heldSince = time.Now()
	}
	c.queue = append(c.queue, msg)
	c.qmu.Unlock()
	select {
	case c.queued <- struct{}{}:
	default:
	}
	if c.mu.TryLock() {
		c.flushLocked(false)
		c.drawLocked()
		c.mu.Unlock()
	}
}

// messages returns a Writer whose every Write is a message (a tracker's
// console, an slog handler), prefixed.
func (c *console) messages(prefix string) io.Writer { return msgWriter{c: c, prefix: prefix} }

type msgWriter struct {
	c      *console
	prefix string
}

func (w msgWriter) Write(p []byte) (int, error) {
	w.c.say(w.prefix + string(p))
	return len(p), nil
}

// cleanLocked says whether no partial line of the command is pending where
// a message would go.
func (c *console) cleanLocked() bool {
	if c.direct {
		return true
	}
	if c.errLast != 0 && c.errLast != '\n' {
		return false
	}
	return !c.errTTY || c.screenLast == 0 || c.screenLast == '\n'
}

func (c *console) eraseLocked() {
	if c.shown {
		_, _ = io.WriteString(c.err, "\r\x1b[K")
		c.shown = false
	}
}

func (c *console) drawLocked() {
	if c.status && c.text != "" && !c.shown && c.cleanLocked() {
		_, _ = io.WriteString(c.err, c.text)
		c.shown = true
	}
}

// flushLocked writes the queued messages when no partial line is pending,
// or when they waited holdMax, or if force; then on a line of their own.
func (c *console) flushLocked(force bool) {
	c.qmu.Lock()
	q, held := c.queue, c.heldSince
	clean := c.cleanLocked()
	if len(q) == 0 || (!clean && !force && time.Since(held) < holdMax) {
		c.qmu.Unlock()
		return
	}
	c.queue = nil
	c.qmu.Unlock()
	c.eraseLocked()
	var b strings.Builder
	if !clean {
		b.WriteByte('\n')
	}
	for _, m := range q {
		b.WriteString(m)
		if !strings.HasSuffix(m, "\n") {
			b.WriteByte('\n')
		}
	}
	_, _ = io.WriteString(c.err, b.String())
	c.errLast = '\n'
	if c.errTTY {
		c.screenLast = '\n'
	}
}

// run refreshes the console every tick in a goroutine: the status line from
// text, and the messages held too long. The returned function stops it,
// waits for it and erases the status line for good.
func (c *console) run(every time.Duration, text func(*tracker.Status) string) (stop func()) {
	stopc, done := make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	on := c.status
	c.mu.Unlock()
	if !on {
		// No status line: wake only for a message held behind the
		// command's partial line, never on a clock.
		go func() {
			defer close(done)
			c.flushHeld(stopc)
		}()
	} else {
		go func() {
			defer close(done)
			c.tick(every, text, stopc)
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stopc)
			<-done
			c.mu.Lock()
			c.eraseLocked()
			c.status = false
			c.mu.Unlock()
		})
	}
}

// flushHeld writes the messages held behind the command's partial line once
// they waited holdMax, until stopc is closed.
func (c *console) flushHeld(stopc <-chan struct{}) {
	for {
		select {
		case <-stopc:
			return
		case <-c.queued:
		}
		for {
			c.qmu.Lock()
			n, held := len(c.queue), c.heldSince
			c.qmu.Unlock()
			if n == 0 {
				break
			}
			timer := time.NewTimer(max(holdMax-time.Since(held), 0))
			select {
			case <-stopc:
				timer.Stop()
				return
			case <-timer.C:
			}
			c.mu.Lock()
			c.flushLocked(false)
			c.mu.Unlock()
		}
	}
}

// tick redraws the status line every tick, and writes the messages held too
// long, until stopc is closed.
func (c *console) tick(every time.Duration, text func(*tracker.Status) string, stopc <-chan struct{}) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	var st tracker.Status
	for {
		s := c.fit(text(&st))
		c.mu.Lock()
		c.flushLocked(false)
		if c.status {
			c.text = s
			if c.shown {
				_, _ = io.WriteString(c.err, "\r"+s+"\x1b[K")
			} else {
				c.drawLocked()
			}
		}
		c.mu.Unlock()
		select {
		case <-stopc:
			return
		case <-tk.C:
		}
	}
}

// fit cuts s to the terminal's width, so that it never wraps.
func (c *console) fit(s string) string {
	if w := c.width - 1; w > 0 && len(s) > w {
		return s[:w]
	}
	return s
}

// finish erases the status line and writes every message left.
func (c *console) finish() {
	c.pending.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	c.status = false
	c.flushLocked(true)
}

// outPartial says whether the command's stdout ended in a partial line.
func (c *console) outPartial() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outLast != 0 && c.outLast != '\n'
}

// statusLine is the status line: elapsed time, epoch, the devices' power
// now by kind, energy (PUE included) and emissions so far, projection;
// shortened to fit width columns (0: no
// limit; the line never takes the last column, where a terminal would
// wrap). The parts give way in this order: the power by kind becomes the
// total power, "projected" becomes "proj", the power goes, "g CO2e" becomes
// "g", the energy goes, "carbontrack" goes, the epoch goes; elapsed time,
// emissions and the projection stay to the last.
func statusLine(st *tracker.Status, began, now time.Time, width int) string {
	total := st.Power
	var kinds []string
	for _, k := range []power.Kind{power.KindGPU, power.KindCPU, power.KindDRAM} {
		if st.Kinds.Has(k) {
			kinds = append(kinds, fmt.Sprintf("%s %.0f W", k, float64(st.PowerByKind.Of(k))))
		}
	}
	epoch := ""
	if st.Epochs > 1 {
		epoch = fmt.Sprintf("epoch %d/%d", min(max(st.Started, 1), st.Epochs), st.Epochs)
	}
	grams := human(st.Grams)
	// The shortenings, applied one after the other until the line fits.
	var (
		label      = true
		powerParts = strings.Join(kinds, " ")
		projWord   = "projected"
		unit       = "g CO2e"
		energy     = true
	)
	steps := []func(){
		func() {
			if len(kinds) > 1 {
				powerParts = fmt.Sprintf("%.0f W", float64(total))
			}
		},
		func() { projWord = "proj" },
		func() { powerParts = "" },
		func() { unit = "g" },
		func() { energy = false },
		func() { label = false },
		func() { epoch = "" },
	}
	render := func() string {
		var b strings.Builder
		if label {
			b.WriteString("carbontrack ")
		}
		b.WriteString(clock(now.Sub(began)))
		if epoch != "" {
			b.WriteString(" " + epoch)
		}
		if powerParts != "" {
			b.WriteString(" | " + powerParts)
		}
		b.WriteString(" | ")
		if energy {
			b.WriteString(energyText(st.FacilityEnergy.KWh()) + " ")
		}
		b.WriteString(grams + " " + unit)
		if st.HasProjection {
			fmt.Fprintf(&b, " | %s %s g", projWord, human(st.Projection.Grams))
		}
		return b.String()
	}
	line := render()
	for _, step := range steps {
		if width <= 0 || len(line) < width {
			break
		}
		step()
		line = render()
	}
	return line
}

// energyText formats kWh, in Wh below 1 kWh.
func energyText(kwh float64) string {
	if kwh < 1 {
		return human(kwh*1000) + " Wh"
	}
	return human(kwh) + " kWh"
}

// clock formats d as H:MM:SS.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// human formats v with about three significant digits, never an exponent.
func human(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	d := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	return fmt.Sprintf("%.*f", min(max(d, 0), 12), v)
}

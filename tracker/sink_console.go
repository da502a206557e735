package tracker

import (
	"io"
	"strings"
	"time"
)

// consoleSink prints carbontracker's console: the output log's messages
// (ctText, carbonlog.go) with WithVerbose > 0, the equivalents left out
// unless WithInterpretable; and WithStopAndConfirm's question, whatever
// the verbosity (on stderr without a console).
type consoleSink struct {
	t    *Tracker
	text ctText
}

func newConsoleSink(t *Tracker) *consoleSink { return &consoleSink{t: t, text: newCTText(t)} }

func (c *consoleSink) handle(ev *event) {
	if ev.kind == evSay {
		c.write(c.t.promptW, ev.text)
		return
	}
	if c.t.opts.verbose <= 0 {
		return
	}
	c.text.say(ev, nil, c.print)
}

func (c *consoleSink) print(_ time.Time, msg string) {
	o := &c.t.opts
	if !o.interpretable {
		if i := strings.Index(msg, "\n\tThis is equivalent to:"); i >= 0 {
			msg = msg[:i]
		}
	}
	c.write(o.console, msg)
}

func (c *consoleSink) write(w io.Writer, msg string) {
	if _, err := io.WriteString(w, consolePrefix+msg+"\n"); err != nil {
		c.t.writeFailed(err)
	}
}

// sync does nothing: the console is written unbuffered.
func (c *consoleSink) sync() {}

func (c *consoleSink) close() {}

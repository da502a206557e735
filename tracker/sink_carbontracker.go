package tracker

import (
	"bufio"
	"errors"
	"os"
	"time"

	"github.com/carbontrack/carbontrack/tracker/records"
)

// carbontrackerSink writes carbontracker's log pair: the standard log
// (…_carbontracker.log) and the output log (…_carbontracker_output.log),
// which carbontracker's own parser reads. What each event says is ctText's
// (carbonlog.go).
type carbontrackerSink struct {
	t          *Tracker
	text       ctText
	std, out   *os.File
	stdW, outW lineWriter
}

func newCarbontrackerSink(t *Tracker, base string) (opened, error) {
	std, err := openLog(base + records.SuffixStdLog)
	if err != nil {
		return opened{}, err
	}
	out, err := openLog(base + records.SuffixOutputLog)
	if err != nil {
		return opened{}, errors.Join(err, std.Close())
	}
	s := &carbontrackerSink{t: t, text: newCTText(t), std: std, out: out}
	s.stdW.w, s.outW.w = bufio.NewWriter(std), bufio.NewWriter(out)
	return opened{sink: s, files: []string{std.Name(), out.Name()}}, nil
}

func (s *carbontrackerSink) handle(ev *event) { s.text.say(ev, s.stdLine, s.outLine) }

func (s *carbontrackerSink) stdLine(at time.Time, msg string) { s.stdW.line(at, msg) }

func (s *carbontrackerSink) outLine(at time.Time, msg string) { s.outW.line(at, consolePrefix+msg) }

// sync flushes and syncs the files written since the last sync, so that a
// killed process loses at most the open epoch (and what the writer had not
// caught up with); a file not written to is not synced again. A failed
// write is reported once, and the file written again from the next line.
func (s *carbontrackerSink) sync() {
	for _, p := range []struct {
		lw *lineWriter
		f  *os.File
	}{{&s.stdW, s.std}, {&s.outW, s.out}} {
		if !p.lw.dirty {
			continue
		}
		p.lw.dirty = false
		if p.lw.err == nil {
			p.lw.err = p.lw.w.Flush()
		}
		if p.lw.err != nil {
			s.t.writeFailed(p.lw.err)
			p.lw.err = nil
			p.lw.w.Reset(p.f)
		}
		_ = p.f.Sync()
	}
}

func (s *carbontrackerSink) close() {
	_ = s.std.Close()
	_ = s.out.Close()
}

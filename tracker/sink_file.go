package tracker

import (
	"bufio"
	"encoding/json"
	"os"
)

// jsonLines is a JSON-lines file that a sink appends records to: buffered,
// flushed and synced only when written to since the last sync.
type jsonLines struct {
	t     *Tracker
	f     *os.File
	w     *bufio.Writer
	dirty bool // written since the last sync
}

func newJSONLines(t *Tracker, f *os.File) jsonLines {
	return jsonLines{t: t, f: f, w: bufio.NewWriter(f)}
}

// write appends v as one line; it says whether it was written.
func (l *jsonLines) write(v any) bool {
	l.dirty = true
	b, err := json.Marshal(v)
	if err == nil {
		_, err = l.w.Write(append(b, '\n'))
	}
	if err != nil {
		l.t.writeFailed(err)
		return false
	}
	return true
}

// sync flushes and syncs what was written since the last sync.
func (l *jsonLines) sync() {
	if !l.dirty {
		return
	}
	l.dirty = false
	if err := l.w.Flush(); err != nil {
		l.t.writeFailed(err)
		l.w.Reset(l.f)
	}
	_ = l.f.Sync()
}

func (l *jsonLines) close() { _ = l.f.Close() }

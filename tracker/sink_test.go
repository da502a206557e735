package tracker

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// testSink is an output that only a test adds: it writes each event's kind
// to its own file and keeps what it was handed.
type testSink struct {
	f              *os.File
	w              *bufio.Writer
	kinds          []eventKind
	epochs         []int
	syncs, closes  int
	finalRun       Totals
	lastCheckpoint time.Time
}

func (s *testSink) handle(ev *event) {
	s.kinds = append(s.kinds, ev.kind)
	switch ev.kind {
	case evEpoch:
		s.epochs = append(s.epochs, ev.n)
	case evCheckpoint:
		s.lastCheckpoint = ev.tick
	case evFinal:
		s.finalRun = ev.report.Run
	}
	fmt.Fprintf(s.w, "%d %d\n", ev.kind, ev.n)
}

func (s *testSink) sync() {
	s.syncs++
	_ = s.w.Flush()
}

func (s *testSink) close() {
	s.closes++
	_ = s.f.Close()
}

// addTestSink registers a sink maker for the rest of the test: the line
// a new format adds to fileSinks.
func addTestSink(t *testing.T, got **testSink) {
	saved := fileSinks
	t.Cleanup(func() { fileSinks = saved })
	fileSinks = append(slices.Clip(fileSinks), func(_ *Tracker, base string) (opened, error) {
		f, err := openLog(base + "_test.txt")
		if err != nil {
			return opened{}, err
		}
		s := &testSink{f: f, w: bufio.NewWriter(f)}
		*got = s
		return opened{sink: s, files: []string{f.Name()}, checkpoints: true}, nil
	})
}

// sinkRun runs 3 epochs of 25 s, 6 s apart, then stops 4 s into a fourth;
// it returns the Report and the files written to dir, by name after the
// base name (which holds the pid and a random id).
func sinkRun(t *testing.T, dir string, opts ...Option) (Report, map[string]string) {
	var rep Report
	synctest.Test(t, func(t *testing.T) {
		srcs := []power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, time.Now()),
			powertest.Constant("cpu:0", power.KindCPU, power.MethodSampled, 50, time.Now()),
		}
		tr, err := New(4, append([]Option{WithSources(srcs), WithVerbose(0), WithPUE(1.5), WithFixedIntensity(200),
			WithLogDir(dir)}, opts...)...)
		require.NoError(t, err)
		time.Sleep(7 * time.Second)
		for range 3 {
			tr.EpochStart()
			time.Sleep(25 * time.Second)
			tr.EpochEnd()
			time.Sleep(6 * time.Second)
		}
		tr.EpochStart()
		time.Sleep(4 * time.Second)
		synctest.Wait()
		tr.Stop()
		rep = tr.Report()
	})
	files := map[string]string{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		name := e.Name()
		if _, rest, ok := strings.Cut(name, "Z_"); ok {
			name = rest
		}
		files[name] = string(b)
	}
	return rep, files
}

// A new output is a sink and a line in fileSinks: it is handed every event
// in order, its file is in Report.Files, it is synced and closed, and the
// other outputs write what they wrote without it, byte for byte.
func TestNewSinkLeavesTheOthersAlone(t *testing.T) {
	without, before := sinkRun(t, t.TempDir())

	var s *testSink
	addTestSink(t, &s)
	with, after := sinkRun(t, t.TempDir())
	require.NotNil(t, s)

	require.Contains(t, after, "test.txt")
	assert.NotEmpty(t, after["test.txt"])
	delete(after, "test.txt")
	assert.Equal(t, before, after, "the other files are unchanged")
	require.Len(t, with.Files, len(without.Files)+1)
	assert.True(t, strings.HasSuffix(with.Files[len(with.Files)-1], "_test.txt"), "its file comes last: %v", with.Files)
	assert.Zero(t, with.WriteErrors)

	require.NotEmpty(t, s.kinds)
	assert.Equal(t, evStart, s.kinds[0])
	assert.Equal(t, evFinal, s.kinds[len(s.kinds)-1])
	assert.Equal(t, []int{1, 2, 3, 4}, s.epochs, "every epoch, in order, the interrupted one last")
	for _, k := range []eventKind{evProjection, evPrediction, evActual, evCheckpoint} {
		assert.Contains(t, s.kinds, k)
	}
	assert.Equal(t, 1, s.closes)
	assert.Positive(t, s.syncs)
	assert.Equal(t, with.Run, s.finalRun, "the final event is the Report's run")
}

// Checkpoints follow the sinks that want them, not the JSON lines: without
// them, a sink that asks still gets one every checkpoint interval.
func TestCheckpointsForAnySinkThatWantsThem(t *testing.T) {
	var s *testSink
	addTestSink(t, &s)
	rep, files := sinkRun(t, t.TempDir(), WithJSONLines(false))
	require.NotNil(t, s)
	for name := range files {
		assert.NotContains(t, name, ".jsonl")
	}
	n := 0
	for _, k := range s.kinds {
		if k == evCheckpoint {
			n++
		}
	}
	// 101 s: checkpoints at 10, 20, ..., 100 s.
	assert.Equal(t, 10, n)
	assert.Equal(t, rep.Start.Add(100*time.Second), s.lastCheckpoint)
}

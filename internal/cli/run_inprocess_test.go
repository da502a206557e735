//go:build unix

package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run in the test process: the console, the status line, the child's
// lines and exit status.

// fakeTerminalDeps makes stderr a terminal 200 columns wide, refreshes the
// console every 20 ms and leaves signals alone.
func fakeTerminalDeps(stderr io.Writer) runDeps {
	d := defaultRunDeps()
	d.stdin = nil
	d.isTerminal = func(w io.Writer) bool { return w == stderr }
	d.termWidth = func(io.Writer) int { return 200 }
	d.tick = 20 * time.Millisecond
	d.notify = func(chan<- os.Signal, ...os.Signal) {}
	d.stopNotify = func(chan<- os.Signal) {}
	return d
}

// TestRunInProcessStatusLine runs the command in the test process, with a
// fake terminal on stderr: the status line is drawn and erased without
// mixing with the command's lines.
func TestRunInProcessStatusLine(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	logDir := t.TempDir()
	var out, errb bytes.Buffer
	deps := fakeTerminalDeps(&errb)
	code := runCommand(t.Context(), []string{"--sysfs-root", sysfs, "--log-dir", logDir, "--interval", "20ms",
		"--epochs", "3", "--epoch-pattern", `epoch \d+ done`, "--", self, "epochs"}, &out, &errb, deps)
	require.Equal(t, 0, code, errb.String())
	assert.Equal(t, childStdout, out.String(), "no --json: stdout is the command's only")
	s := errb.String()
	assert.Regexp(t, `carbontrack 0:00:0\d epoch \d/3 \| cpu \d+ W dram \d+ W \| [0-9.]+ Wh [0-9.]+ g CO2e`, s)
	assert.Contains(t, s, "\r\x1b[K", "the status line is erased")
	// The command's lines are whole: never broken by the status line.
	assert.Contains(t, s, "progress 50%\repoch 2 done\n")
	assert.Contains(t, s, "stderr tail without newline\n")
	assert.Regexp(t, `projected [0-9.]+ g`, s, "after the first epoch")

	// The power series was logged, beside the tracker's logs.
	runs, err := runlog.Read(logDir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.NotEmpty(t, runs[0].Power)
	assert.Equal(t, 3, runs[0].Completed)
}

func TestRunInProcessCancel(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var out, errb lockedBuffer
	deps := fakeTerminalDeps(nil)
	go func() {
		// Cancel once the child is up (or after 10 s).
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "ready") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	code := runCommand(ctx, []string{"--sysfs-root", sysfs, "--log-dir", "", "--grace-period", "2s", "--", self, "sleep"}, &out, &errb, deps)
	assert.Equal(t, 143, code, errb.String())
	assert.Contains(t, errb.String(), "stopping the command (cancelled)")
	assert.NotContains(t, errb.String(), "log:", "--log-dir '' writes no logs")
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConsoleHoldsMessagesForPartialLines(t *testing.T) {
	var out, errb bytes.Buffer
	c := newConsole(&out, &errb, false, true, true, 80)
	c.mu.Lock()
	c.text = "STATUS"
	c.drawLocked()
	c.mu.Unlock()
	assert.Equal(t, "STATUS", errb.String())

	_, _ = c.childErr([]byte("abc"))
	assert.Equal(t, "STATUS\r\x1b[Kabc", errb.String(), "erased, and not drawn after a partial line")
	c.say("message\n")
	assert.Equal(t, "STATUS\r\x1b[Kabc", errb.String(), "the message waits for the line to end")
	_, _ = c.childErr([]byte("def\nx"))
	assert.Equal(t, "STATUS\r\x1b[Kabcdef\nx", errb.String(), "still a partial line")
	_, _ = c.childErr([]byte("\n"))
	assert.Equal(t, "STATUS\r\x1b[Kabcdef\nx\nmessage\nSTATUS", errb.String())
	_, _ = c.childOut([]byte("stdout is not the terminal\n"))
	assert.Equal(t, "STATUS\r\x1b[Kabcdef\nx\nmessage\nSTATUS", errb.String())
	c.finish()
	assert.Equal(t, "STATUS\r\x1b[Kabcdef\nx\nmessage\nSTATUS\r\x1b[K", errb.String())
	assert.Equal(t, "stdout is not the terminal\n", out.String())
	assert.False(t, c.outPartial())
}

func TestConsoleSharedTerminal(t *testing.T) {
	var out, errb bytes.Buffer
	c := newConsole(&out, &errb, true, true, true, 80)
	c.mu.Lock()
	c.text = "S"
	c.drawLocked()
	c.mu.Unlock()
	_, _ = c.childOut([]byte("half"))
	assert.Equal(t, "S\r\x1b[K", errb.String(), "stdout on the same terminal erases the status line")
	c.say("m")
	assert.Equal(t, "S\r\x1b[K", errb.String(), "a partial stdout line on the screen holds messages")
	c.finish()
	assert.Equal(t, "S\r\x1b[K\nm\n", errb.String(), "at the end, on a line of their own")
	assert.True(t, c.outPartial())
}

func TestConsoleReleasesHeldMessages(t *testing.T) {
	var out, errb bytes.Buffer
	c := newConsole(&out, &errb, false, false, false, 80)
	_, _ = c.childErr([]byte("no newline"))
	c.say("m\n")
	assert.Equal(t, "no newline", errb.String())
	c.qmu.Lock()
	c.heldSince = time.Now().Add(-2 * holdMax)
	c.qmu.Unlock()
	stop := c.run(time.Millisecond, nil)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return errb.String() == "no newline\nm\n"
	}, 2*time.Second, 5*time.Millisecond)
	stop()
	stop()
}

func TestLineTee(t *testing.T) {
	var got bytes.Buffer
	var lines []string
	re := regexp.MustCompile(`^epoch \d+$`)
	w := &lineTee{write: got.Write, update: func(text []byte, final bool) {
		if final && re.Match(text) {
			lines = append(lines, "match")
		}
	}}
	in := []string{"ep", "och 1\r", "\nepoch 2\nno", "t epoch 3\nepoch 4", "", "\n",
		"progress 50%\repoch 5\n", "epoch 6\r", "progress\n", "epoch 7"}
	for _, chunk := range in {
		n, err := w.Write([]byte(chunk))
		require.NoError(t, err)
		assert.Equal(t, len(chunk), n)
	}
	assert.Equal(t, strings.Join(in, ""), got.String(), "passed on byte for byte")
	assert.Len(t, lines, 4, "epochs 1, 2, 4 and 5 (what a terminal shows); 6 was overwritten, 7 has no newline yet")

	matches := 0
	long := &lineTee{write: io.Discard.Write, update: func(text []byte, final bool) {
		if final && regexp.MustCompile(`^a+$`).Match(text) {
			matches++
		}
	}}
	_, _ = long.Write(bytes.Repeat([]byte("a"), 3*maxLine))
	_, _ = long.Write([]byte("\n"))
	assert.Equal(t, 1, matches, "a long line is matched on its first 64 KiB")
	assert.LessOrEqual(t, cap(long.seg), 2*maxLine)
}

func TestExitStatus(t *testing.T) {
	code, sig := exitStatus(nil)
	assert.Equal(t, 1, code)
	assert.Empty(t, sig)
}

func TestHuman(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1234.5: "1234", 12.345: "12.3", 0.0001234: "0.000123", -2.5: "-2.50"} {
		assert.Equal(t, want, human(v), "%v", v)
	}
	assert.Equal(t, "1:01:01", clock(time.Hour+time.Minute+time.Second))
	assert.Equal(t, `python -u 'train it.py' 'it'\''s'`, shellQuote([]string{"python", "-u", "train it.py", "it's"}))
}

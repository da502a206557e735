//go:build unix

package power

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pmFirstSampleWait is how long discovery waits for powermetrics' first
// sample beyond one interval: it starts in well under a second.
const pmFirstSampleWait = 5 * time.Second

// pmStopWait is how long Close waits for a killed powermetrics to be reaped
// before returning anyway (the reaping goroutine finishes on its own).
const pmStopWait = 2 * time.Second

// pmNoRoot is the advice when powermetrics cannot run.
const pmNoRoot = "run carbontrack with sudo (powermetrics reads the SoC's energy counters only as root), " +
	"or declare the power of the parts, such as --declare 'gpu=20W,Apple M2 GPU'; the CPU estimate is used meanwhile"

// openPowermetrics starts the powermetrics at path and, once its first
// sample has arrived (waiting at most wait), returns the sources of the
// parts it measures that o asks for. The error, when there are none, says
// why (powermetrics failed to start, exited, said nothing, or ctx is done).
// The process code is Unix-only, not macOS-only, so that its lifecycle is
// tested with a stand-in on any Unix.
func openPowermetrics(ctx context.Context, path, chip string, o *options, wait time.Duration) ([]Source, error) {
	fail := func(format string, args ...any) ([]Source, error) {
		return nil, errorf(ErrNotSupported, "power: powermetrics: "+format, args...)
	}
	p, err := startPowermetrics(path)
	if err != nil {
		return fail("%w: %s", err, pmNoRoot)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-p.feed.first:
	case <-p.feed.ended:
		select {
		case <-p.feed.first: // a sample, then the end: its sources report it
		default:
			p.stop()
			return fail("%s exited before its first sample: %s%s", path, p.exitReason(), pmNoRoot)
		}
	case <-timer.C:
		p.stop()
		return fail("no sample from %s within %v: %s%s", path, wait, p.exitReason(), pmNoRoot)
	case <-ctx.Done():
		p.stop()
		return fail("discovery cancelled: %w", ctx.Err())
	}
	sources := newPMSources(p.feed, p.stop, chip, o)
	if len(sources) == 0 {
		p.stop()
		return fail("the first sample of %s has no power of the parts asked for", path)
	}
	return sources, nil
}

// pmProcess is a running powermetrics: one goroutine reads its output into
// feed, another waits for it to exit and reaps it.
type pmProcess struct {
	cmd     *exec.Cmd
	feed    *pmFeed
	stderr  *tailBuffer
	exited  chan struct{} // closed once the process is reaped
	waitMu  sync.Mutex
	waitErr error
	once    sync.Once
}

// startPowermetrics starts powermetrics with its output on a pipe.
func startPowermetrics(path string) (*pmProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	p := &pmProcess{feed: newPMFeed(), stderr: &tailBuffer{max: 2048}, exited: make(chan struct{})}
	p.cmd = exec.Command(path, "--samplers", "cpu_power,gpu_power,ane_power", "-f", "plist",
		"-i", strconv.FormatInt(pmInterval.Milliseconds(), 10))
	p.cmd.Stdout = w
	p.cmd.Stderr = p.stderr
	// Its own process group: a Ctrl-C at the terminal is for the training,
	// not for the measurement of its end (stop kills it when it is done).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process it started that holds stderr open must not block the
	// reaping for ever.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	_ = w.Close() // the child holds its own copy: r ends when it exits
	go func() {
		defer r.Close()
		p.feed.run(r, time.Now)
	}()
	go func() {
		err := p.cmd.Wait()
		p.waitMu.Lock()
		p.waitErr = err
		p.waitMu.Unlock()
		close(p.exited)
		// Whatever still holds the pipe's write end, the stream is over.
		_ = r.SetReadDeadline(time.Now())
	}()
	return p, nil
}

// stop kills powermetrics (it has nothing to flush) and waits, at most
// pmStopWait, for it to be reaped. It is idempotent and safe for concurrent
// use.
func (p *pmProcess) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		t := time.NewTimer(pmStopWait)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
		}
	})
}

// exitReason says how powermetrics ended, with the end of its stderr, as
// text ending in "; ", or "" when it has not ended.
func (p *pmProcess) exitReason() string {
	var parts []string
	select {
	case <-p.exited:
		p.waitMu.Lock()
		if p.waitErr != nil {
			parts = append(parts, p.waitErr.Error())
		} else {
			parts = append(parts, "exit status 0")
		}
		p.waitMu.Unlock()
	default:
	}
	if msg := strings.TrimSpace(p.stderr.String()); msg != "" {
		parts = append(parts, strconv.Quote(msg))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ": ") + "; "
}

// tailBuffer keeps the last max bytes written to it. It is safe for
// concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.b, nil))
}

package cli

import (
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// startChild starts cmd and waits for it on a goroutine of its own, whose
// result the returned channel gets. Once the command has exited, and before
// it is reaped, exited runs (on Linux; elsewhere right after the wait): the
// command's /proc entry, its CPU times and its children's, can still be read
// then, so a process view counts the command to its end. Unless keep, the command is started so
// that it gets SIGTERM if carbontrack dies first (killed by SIGKILL or the
// OOM killer), rather than run on unmeasured; see setParentDeathSignal.
// Linux sends that signal when the thread that started the command ends,
// not the process, so the goroutine locks itself to its thread and never
// unlocks it: the thread lives until Wait returns, then ends with it.
func startChild(cmd *exec.Cmd, keep bool, exited func()) (<-chan error, error) {
	if !keep {
		setParentDeathSignal(cmd)
	}
	started := make(chan error, 1)
	waitc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		awaitExit(cmd.Process.Pid)
		exited()
		waitc <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return waitc, nil
}

// runDeps are what run takes from the process, replaceable in tests.
type runDeps struct {
	// stdin is given to the command (nil: /dev/null).
	stdin *os.File
	// isTerminal says whether w is a terminal; termWidth its width.
	isTerminal func(w io.Writer) bool
	termWidth  func(w io.Writer) int
	// notify and stopNotify are signal.Notify and signal.Stop.
	notify     func(c chan<- os.Signal, sig ...os.Signal)
	stopNotify func(c chan<- os.Signal)
	// foreground says whether this process is in the foreground process
	// group of its terminal (so a SIGINT came from it to the command too).
	foreground func() bool
	// tick is how often the console is refreshed (status line, held
	// messages).
	tick time.Duration
}

func defaultRunDeps() runDeps {
	return runDeps{
		stdin: os.Stdin,
		isTerminal: func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
		termWidth: func(w io.Writer) int {
			if f, ok := w.(*os.File); ok {
				if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 0 {
					return wd
				}
			}
			return 80
		},
		notify:     signal.Notify,
		stopNotify: signal.Stop,
		foreground: inForeground,
		tick:       time.Second,
	}
}

// inForeground reads /proc/self/stat: the process is in its terminal's
// foreground group when its pgrp (field 5) is the tpgid (field 8). Off
// Linux it says false, and every signal is passed on.
func inForeground() bool {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 6 {
		return false
	}
	return f[5] != "-1" && f[2] == f[5]
}

// exitStatus returns the command's exit code: its own, or 128+N when
// signal N killed it, with the signal's name ("SIGKILL").
func exitStatus(ps *os.ProcessState) (int, string) {
	if ps == nil {
		return 1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := unix.SignalName(ws.Signal())
		if name == "" {
			name = ws.Signal().String()
		}
		return 128 + int(ws.Signal()), name
	}
	return ps.ExitCode(), ""
}

// cancelWait is how long run waits, once ctx is done, for the signal that
// may have ended it.
const cancelWait = 200 * time.Millisecond

// exitReadTimeout bounds the read of the devices when the command exits
// (startChild's exited hook): a device that hangs must not hold up the
// end of the run.
const exitReadTimeout = 2 * time.Second

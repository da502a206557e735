package main

import (
	"os/exec"
	"runtime"
)

// startChild starts cmd and waits for it on a goroutine of its own, whose
// result the returned channel gets. Unless keep, the command is started so
// that it gets SIGTERM if carbontrack dies first (killed by SIGKILL or the
// OOM killer), rather than run on unmeasured; see setParentDeathSignal.
// Linux sends that signal when the thread that started the command ends,
// not the process, so the goroutine locks itself to its thread and never
// unlocks it: the thread lives until Wait returns, then ends with it.
func startChild(cmd *exec.Cmd, keep bool) (<-chan error, error) {
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
		waitc <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return waitc, nil
}

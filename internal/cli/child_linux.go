package cli

import (
	"errors"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// parentDeathSignal says whether setParentDeathSignal does anything here.
const parentDeathSignal = true

// setParentDeathSignal has the kernel send SIGTERM to the command when the
// thread that starts it ends (prctl PR_SET_PDEATHSIG; Go checks, once it
// is set, that carbontrack did not die in between). Only the command gets
// it, not its own children: a shell that runs the training as its child
// should exec it, or pass the signal on.
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}

// awaitExit returns once the process pid has exited, without reaping it
// (waitid with WNOWAIT): its /proc entry stays readable until cmd.Wait. It
// returns at once if the wait fails for any reason but an interruption.
func awaitExit(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

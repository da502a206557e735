package main

import (
	"os/exec"
	"syscall"
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

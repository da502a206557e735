//go:build !linux

package cli

import "os/exec"

// parentDeathSignal says whether setParentDeathSignal does anything here.
const parentDeathSignal = false

// setParentDeathSignal does nothing off Linux: there is no parent-death
// signal to ask for, and the command outlives a killed carbontrack.
func setParentDeathSignal(*exec.Cmd) {}

// awaitExit returns at once off Linux: the exited hook of startChild then
// runs when the command has been reaped.
func awaitExit(int) {}

//go:build !unix

package cli

import (
	"errors"
	"os"
	"os/exec"
)

// execFull runs carbontrack-full at path, given argv (without the program
// name) and env, and returns its exit code.
func execFull(path string, argv, env []string) (int, error) {
	cmd := exec.Command(path, argv...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/internal/cli/extras/full"
	"github.com/carbontrack/carbontrack/power"
)

// mainEnv makes the test binary act as carbontrack itself, its arguments
// being os.Args[1:]: for the runs that, when they go wrong, end the process.
const mainEnv = "CT_TEST_MAIN"

func init() {
	if os.Getenv(mainEnv) == "1" {
		os.Unsetenv(mainEnv)
		// The command that "run" starts is this binary again, as the test
		// child of run_test.go.
		os.Setenv(childEnv, "1")
		features = full.Set()
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
}

// runMain runs carbontrack with args in a child process and returns its
// exit code and output.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "GORACE=atexit_sleep_ms=0", "CUDA_VISIBLE_DEVICES=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errb.String()
}

// notNVML is a library every Linux process can load that is not NVML.
const notNVML = "libm.so.6"

// A library that loads but is not NVML used to end carbontrack with
// "symbol lookup error: undefined symbol: nvmlInit" (exit 127): devices
// printed nothing and run never started its command.
func TestNVMLLibThatIsNotNVML(t *testing.T) {
	sysfs := t.TempDir()
	t.Run("devices", func(t *testing.T) {
		code, stdout, stderr := runMain(t, "devices", "--sysfs-root", sysfs, "--nvml-lib", notNVML)
		require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
		assert.NotContains(t, stderr, "symbol lookup error")
		if nvmlBuilt {
			assert.Contains(t, stdout, "nvml: libm.so.6 is not NVML (libnvidia-ml.so.1)")
			assert.Contains(t, stdout, "point --nvml-lib or "+power.EnvNVMLLibrary+" at libnvidia-ml.so.1, or leave them unset")
		}
		assert.Contains(t, stdout, "cpu:estimate", "the other devices are listed")
	})
	t.Run("run", func(t *testing.T) {
		logDir := filepath.Join(t.TempDir(), "logs")
		self, err := os.Executable()
		require.NoError(t, err)
		code, stdout, stderr := runMain(t, "run", "--sysfs-root", sysfs, "--log-dir", logDir, "--interval", "50ms",
			"--nvml-lib", notNVML, "--", self, "exit", "3")
		assert.NotContains(t, stderr, "symbol lookup error")
		assert.Equal(t, 3, code, "the command's exit code\nstdout: %s\nstderr: %s", stdout, stderr)
		assert.Contains(t, stdout, "exiting", "the command ran")
	})
}

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The carbontrack build links neither the charts nor Prometheus: their
// package initialisation (gonum/plot parses its fonts; client_golang
// registers its collectors) and their size in memory are what made
// "carbontrack run" slow to start its command. carbontrack-full links them.
func TestLeanBuildLinksNoExtras(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the builds' packages with")
	}
	list := func(pkg string) map[string]bool {
		out, err := exec.Command(gobin, "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, "go list: %s", out)
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		return deps
	}
	lean := list("github.com/carbontrack/carbontrack/cmd/carbontrack")
	all := list("github.com/carbontrack/carbontrack/cmd/carbontrack-full")
	for _, p := range []string{
		"gonum.org/v1/plot",
		"github.com/prometheus/client_golang/prometheus",
		"html/template",
		"github.com/carbontrack/carbontrack/tracker/promexport",
		"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport",
	} {
		assert.False(t, lean[p], "carbontrack links %s", p)
		assert.True(t, all[p], "carbontrack-full links %s", p)
	}
}

// TestDelegation: carbontrack hands report --html and --plot, serve and run
// --metrics-addr to carbontrack-full beside it (run_test.go's binary tests
// of serve and --metrics-addr go through it too); without one it says how
// to install it, and a CARBONTRACK_FULL that lacks the feature too ends in
// an error, not a loop.
func TestDelegation(t *testing.T) {
	c := buildCLI(t, t.TempDir())
	// carbontrack alone, where no carbontrack-full is beside it or on PATH.
	alone := filepath.Join(t.TempDir(), "carbontrack")
	data, err := os.ReadFile(c.bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(alone, data, 0o755))
	// No carbontrack-full on PATH: an empty directory is all of it.
	noFull := []string{"PATH=" + t.TempDir(), "GORACE=atexit_sleep_ms=0"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") && !strings.HasPrefix(e, FullEnv+"=") {
			noFull = append(noFull, e)
		}
	}
	// Subtests append to it side by side: none may write into its array.
	noFull = slices.Clip(noFull)
	exe := func(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String(), errb.String()
		}
		require.NoError(t, err)
		return 0, out.String(), errb.String()
	}

	t.Run("report --html and --plot beside it", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		html, svg := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.svg")
		code, stdout, stderr := exe(t, c.bin, noFull, "report", "--html", html, "--plot", svg, ctFixture)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "TOTAL (3 runs)")
		assert.FileExists(t, html)
		assert.FileExists(t, svg)
	})
	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			what string
		}{
			{[]string{"report", "--plot", filepath.Join(t.TempDir(), "r.png"), ctFixture}, "--plot"},
			{[]string{"report", "--html", filepath.Join(t.TempDir(), "r.html"), ctFixture}, "--html"},
			{[]string{"serve"}, "the exporter"},
			{[]string{"run", "--metrics-addr", "127.0.0.1:0", "--", "true"}, "--metrics-addr"},
		} {
			code, stdout, stderr := exe(t, alone, noFull, tc.args...)
			assert.Equal(t, 1, code, "%v: %s", tc.args, stderr)
			assert.Empty(t, stdout, "%v: nothing done", tc.args)
			assert.Contains(t, stderr, "carbontrack "+tc.args[0]+": "+tc.what+" needs carbontrack-full (", "%v", tc.args)
			assert.Contains(t, stderr, "it is not beside "+alone+" nor on PATH", "%v", tc.args)
			assert.Contains(t, stderr, "go install github.com/carbontrack/carbontrack/cmd/carbontrack-full@latest", "%v", tc.args)
		}
		assert.NoFileExists(t, filepath.Join(filepath.Dir(alone), "r.png"))
		// Set by a twin, the message names the twin.
		code, _, stderr := exe(t, alone, append(noFull, "CARBONTRACK_PLOT="+filepath.Join(t.TempDir(), "r.svg")), "report", ctFixture)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "carbontrack report: CARBONTRACK_PLOT (--plot) needs carbontrack-full")
	})
	t.Run("CARBONTRACK_FULL", func(t *testing.T) {
		t.Parallel()
		svg := filepath.Join(t.TempDir(), "r.svg")
		code, _, stderr := exe(t, alone, append(noFull, FullEnv+"="+c.full), "report", "--plot", svg, ctFixture)
		require.Equal(t, 0, code, stderr)
		assert.FileExists(t, svg)
		assert.NotContains(t, stderr, "warning", "the same version")

		// A carbontrack where carbontrack-full should be.
		code, _, stderr = exe(t, alone, append(noFull, FullEnv+"="+alone), "report", "--plot", svg, ctFixture)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "but "+alone+", to which "+alone+" handed the command, is not it:\npoint CARBONTRACK_FULL at carbontrack-full")

		nothing := filepath.Join(t.TempDir(), "nothing")
		code, _, stderr = exe(t, alone, append(noFull, FullEnv+"="+nothing), "serve")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "CARBONTRACK_FULL="+nothing+": no such file or directory: fix or unset CARBONTRACK_FULL")
	})
	t.Run("beside a link", func(t *testing.T) {
		t.Parallel()
		// bin/carbontrack links to the build in another directory;
		// bin/carbontrack-full is beside the link.
		bin := t.TempDir()
		require.NoError(t, os.Symlink(alone, filepath.Join(bin, "carbontrack")))
		require.NoError(t, os.Symlink(c.full, filepath.Join(bin, FullName)))
		svg := filepath.Join(t.TempDir(), "r.svg")
		code, _, stderr := exe(t, filepath.Join(bin, "carbontrack"), noFull, "report", "--plot", svg, ctFixture)
		require.Equal(t, 0, code, stderr)
		assert.FileExists(t, svg)
	})
	t.Run("versions differ", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := exe(t, c.full, append(noFull, delegatedEnv+"=/opt/old/carbontrack", delegatedVersionEnv+"=0.0.1"), "version")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "carbontrack-full ")
		assert.Contains(t, stderr, "carbontrack: warning: /opt/old/carbontrack (version 0.0.1) handed this command to "+c.full)
	})
	t.Run("the command's environment", func(t *testing.T) {
		t.Parallel()
		env, sysfs := noDevices(t)
		code, stdout, stderr := exe(t, c.bin, append(noFull, env...), "run", "--sysfs-root", sysfs, "--quiet",
			"--log-dir", t.TempDir(), "--metrics-addr", "127.0.0.1:0", "--",
			"/bin/sh", "-c", "echo from=${"+delegatedEnv+":-none} version=${"+delegatedVersionEnv+":-none}")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "from=none version=none\n", stdout, "what carbontrack-full was told is not passed on")
	})
}

// A SIGINT or SIGTERM that ends Main's context before the hand-over ends it
// with the signal's code, instead of handing the command over to run.
func TestSignalCode(t *testing.T) {
	for cause, want := range map[error]int{
		errors.New("terminated signal received"): 143,
		errors.New("interrupt signal received"):  130,
		context.Canceled:                         130,
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		assert.Equal(t, want, signalCode(ctx), "%v", cause)
	}
}

//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// childEnv makes the test binary act as the command run by carbontrack:
// os.Args[1] is what to do (see testChild).
const childEnv = "CT_TEST_CHILD"

func init() {
	if os.Getenv(childEnv) == "1" && len(os.Args) > 1 {
		os.Exit(testChild(os.Args[1], os.Args[2:]))
	}
}

// childStdout is what the "epochs" child writes to stdout: three epoch
// lines (the second on stderr), bytes that are not text, and a last line
// without its newline.
const childStdout = "starting\r\nepoch 1 done\nbinary \x00\xff\xfe\nepoch 3 done\nsaving the model (no newline)"

// testChild is the command's behaviour; it returns the exit code.
func testChild(mode string, args []string) int {
	switch mode {
	case "epochs":
		fmt.Print("starting\r\n")
		time.Sleep(150 * time.Millisecond)
		fmt.Print("epoch 1 done\n")
		time.Sleep(150 * time.Millisecond)
		fmt.Fprint(os.Stderr, "progress 50%")
		fmt.Print("binary \x00\xff\xfe\n")
		fmt.Fprint(os.Stderr, "\repoch 2 done\n")
		time.Sleep(150 * time.Millisecond)
		fmt.Print("epoch 3 done\n")
		fmt.Print("saving the model (no newline)")
		fmt.Fprint(os.Stderr, "stderr tail without newline")
		return 0
	case "partial":
		fmt.Print("abc")
		return 0
	case "exit":
		fmt.Println("exiting")
		n, _ := strconv.Atoi(args[0])
		return n
	case "killself":
		fmt.Println("killing myself")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return 0
	case "trapint":
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt)
		fmt.Println("ready")
		select {
		case <-c:
			fmt.Println("got SIGINT")
			return 130
		case <-time.After(10 * time.Second):
			return 0
		}
	case "touch":
		_ = os.WriteFile(args[0], nil, 0o644)
		fmt.Println("ready")
		time.Sleep(10 * time.Second)
		return 0
	case "sleep":
		fmt.Println("ready")
		time.Sleep(10 * time.Second)
		return 0
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(300 * time.Millisecond)
		fmt.Println("ready")
		time.Sleep(10 * time.Second)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 99
}

// noDevices makes discovery deterministic: no NVML, no RAPL (an empty
// sysfs), so the CPU and RAM estimates are measured.
func noDevices(t *testing.T) (env []string, sysfs string) {
	t.Helper()
	sysfs = t.TempDir()
	nvml := filepath.Join(t.TempDir(), "libnvidia-ml.so.1")
	// GORACE: a race-enabled binary otherwise sleeps a second on exit.
	return []string{power.EnvNVMLLibrary + "=" + nvml, childEnv + "=1", "GORACE=atexit_sleep_ms=0"}, sysfs
}

// cli is the carbontrack binary, built once for TestRunCommand's subtests.
type cli struct {
	bin, self string
}

// buildCLI builds the command into dir, with -race when the tests are
// (so the build reuses the test build's cache).
func buildCLI(t *testing.T, dir string) cli {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build carbontrack with")
	}
	args := []string{"build", "-o", filepath.Join(dir, "carbontrack")}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	out, err := exec.Command(gobin, append(args, ".")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	self, err := os.Executable()
	require.NoError(t, err)
	return cli{bin: filepath.Join(dir, "carbontrack"), self: self}
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
	logDir         string
}

// cmd prepares "carbontrack run [flags] -- <test binary> mode args...".
func (c cli) cmd(t *testing.T, flags []string, mode string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	env, sysfs := noDevices(t)
	logDir := filepath.Join(t.TempDir(), "logs")
	argv := append([]string{"run", "--sysfs-root", sysfs, "--log-dir", logDir, "--interval", "50ms"}, flags...)
	argv = append(argv, "--", c.self, mode)
	argv = append(argv, args...)
	cmd := exec.Command(c.bin, argv...)
	cmd.Env = append(os.Environ(), env...)
	// Its own process group: a SIGINT sent by the test is not one from a
	// terminal, wherever the tests run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, logDir
}

func (c cli) run(t *testing.T, flags []string, mode string, args ...string) result {
	t.Helper()
	cmd, logDir := c.cmd(t, flags, mode, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String(), logDir: logDir}
}

// startWaitingForReady starts the binary and returns once the child has
// printed "ready"; the rest of stdout is read into the returned function's
// result.
func (c cli) startWaitingForReady(t *testing.T, flags []string, mode string) (cmd *exec.Cmd, finish func() result) {
	t.Helper()
	cmd, logDir := c.cmd(t, flags, mode)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	require.NoError(t, cmd.Start())
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	require.NoError(t, err, "stderr: %s", errb.String())
	require.Equal(t, "ready\n", line)
	return cmd, func() result {
		rest, _ := io.ReadAll(br)
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{code: code, stdout: line + string(rest), stderr: errb.String(), logDir: logDir}
	}
}

// runReportJSON mirrors runJSON for the tests.
type runReportDoc struct {
	Command         []string `json:"command"`
	ExitCode        int      `json:"exit_code"`
	Signal          string   `json:"signal"`
	Mode            string   `json:"mode"`
	DurationS       float64  `json:"duration_s"`
	EnergyKWh       float64  `json:"facility_energy_kwh"`
	DeviceKWh       float64  `json:"device_energy_kwh"`
	EmissionsG      float64  `json:"emissions_g"`
	IntensityGPerKW float64  `json:"intensity_g_per_kwh"`
	PUE             float64  `json:"pue"`
	Components      []struct {
		Name      string  `json:"name"`
		Kind      string  `json:"kind"`
		Device    string  `json:"device"`
		Method    string  `json:"method"`
		EnergyJ   float64 `json:"device_energy_j"`
		AvgPowerW float64 `json:"avg_power_w"`
	} `json:"components"`
	EpochsPlanned   int  `json:"epochs_planned"`
	EpochsCompleted int  `json:"epochs_completed"`
	Interrupted     bool `json:"interrupted"`
	Epochs          []struct {
		Epoch       int     `json:"epoch"`
		DurationS   float64 `json:"duration_s"`
		EnergyKWh   float64 `json:"facility_energy_kwh"`
		EmissionsG  float64 `json:"emissions_g"`
		Interrupted bool    `json:"interrupted"`
	} `json:"epochs"`
	Prediction *struct {
		Epochs     int     `json:"epochs"`
		EmissionsG float64 `json:"emissions_g"`
	} `json:"prediction"`
	BudgetExceeded  bool     `json:"budget_exceeded"`
	StoppedByBudget bool     `json:"stopped_by_budget"`
	Files           []string `json:"files"`
}

func readReportFile(t *testing.T, path string) runReportDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc runReportDoc
	require.NoError(t, json.Unmarshal(b, &doc), string(b))
	return doc
}

func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestRunCommand builds carbontrack once and runs it on the test binary
// acting as the command.
func TestRunCommand(t *testing.T) {
	c := buildCLI(t, t.TempDir())

	t.Run("epochs, passthrough, json, report and plot", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, []string{"--epochs", "3", "--epoch-pattern", `^epoch \d+ done$`, "--json"}, "epochs")
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, childStdout), "stdout passes through byte for byte: %q", r.stdout)
		// --json follows the command's output, on a line of its own.
		rest := strings.TrimPrefix(r.stdout, childStdout)
		require.True(t, strings.HasPrefix(rest, "\n{"), "%q", rest)
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(rest), &doc), rest)
		assert.Equal(t, 0, doc.ExitCode)
		assert.Equal(t, "machine", doc.Mode)
		assert.Equal(t, 3, doc.EpochsPlanned)
		assert.Equal(t, 3, doc.EpochsCompleted)
		assert.False(t, doc.Interrupted)
		require.Len(t, doc.Epochs, 3)
		for _, e := range doc.Epochs {
			assert.Greater(t, e.DurationS, 0.1, "each epoch lasts the child's 150 ms sleep")
			assert.False(t, e.Interrupted)
		}
		require.NotNil(t, doc.Prediction, "the projection after epoch 1")
		assert.Equal(t, 3, doc.Prediction.Epochs)
		assert.Equal(t, 1.58, doc.PUE)
		assert.Greater(t, doc.EnergyKWh, 0.0)
		var names []string
		var joules float64
		for _, comp := range doc.Components {
			joules += comp.EnergyJ
			names = append(names, comp.Name)
			assert.Equal(t, "estimated", comp.Method)
			assert.GreaterOrEqual(t, comp.AvgPowerW, 0.0)
		}
		assert.Equal(t, []string{"cpu:estimate", "dram:estimate"}, names)
		assert.InEpsilon(t, joules*1.58/3.6e6, doc.EnergyKWh, 1e-9, "the components' energy, PUE included")
		assert.Len(t, doc.Files, 5, "pair, JSON lines, emissions.csv, power series")

		// stderr: the command's stderr intact, then the tracker's blocks
		// and the report.
		assert.Contains(t, r.stderr, "progress 50%\repoch 2 done\n")
		assert.Contains(t, r.stderr, "stderr tail without newline\n", "the report starts on a new line")
		assert.Contains(t, r.stderr, "CarbonTracker: \nPredicted consumption for 3 epoch(s):")
		assert.Contains(t, r.stderr, "Actual consumption for 3 epoch(s):")
		assert.Regexp(t, `carbontrack: \S+ epochs exited with code 0 after 0:00:0\d`, r.stderr)
		assert.Contains(t, r.stderr, "epochs:     3 of 3 completed")

		// report reads what the tracker wrote.
		var out, errb bytes.Buffer
		plot := filepath.Join(t.TempDir(), "run.png")
		code := run(context.Background(), []string{"report", "--per-epoch", "--plot", plot, r.logDir}, &out, &errb)
		require.Equal(t, 0, code, errb.String())
		assert.Regexp(t, `(?m)^\d+\.\d+_\S+\s+carbontrack\s+3/3\s.*\srun$`, out.String())
		assert.Regexp(t, `(?m)^TOTAL \(1 run\)\s+3\s`, out.String())
		assert.Contains(t, out.String(), "CPU (W)")
		f, err := os.Open(plot)
		require.NoError(t, err)
		defer f.Close()
		img, err := png.Decode(f)
		require.NoError(t, err)
		assert.Equal(t, 768, img.Bounds().Dx())
	})

	t.Run("exit code 3", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, []string{"--json"}, "exit", "3")
		require.Equal(t, 3, r.code, r.stderr)
		assert.Contains(t, r.stderr, "exited with code 3")
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(r.stdout, "exiting\n")), &doc), r.stdout)
		assert.Equal(t, 3, doc.ExitCode)
		assert.True(t, doc.Interrupted, "a failed command did not finish its epoch")
		assert.Equal(t, 0, doc.EpochsCompleted)
		require.Len(t, doc.Epochs, 1)
		assert.True(t, doc.Epochs[0].Interrupted)
		assert.Len(t, logFiles(t, r.logDir), 5)
	})

	t.Run("killed by SIGKILL", func(t *testing.T) {
		t.Parallel()
		rf := filepath.Join(t.TempDir(), "report.json")
		r := c.run(t, []string{"--report-file", rf}, "killself")
		require.Equal(t, 128+9, r.code, r.stderr)
		assert.Contains(t, r.stderr, "was killed by signal killed (exit code 137)")
		doc := readReportFile(t, rf)
		assert.Equal(t, 137, doc.ExitCode)
		assert.Equal(t, "killed", doc.Signal)
		assert.Equal(t, "killing myself\n", r.stdout, "--report-file keeps stdout clean")
	})

	t.Run("Ctrl-C is passed on", func(t *testing.T) {
		t.Parallel()
		rf := filepath.Join(t.TempDir(), "report.json")
		cmd, finish := c.startWaitingForReady(t, []string{"--report-file", rf}, "trapint")
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		r := finish()
		assert.Equal(t, 130, r.code, r.stderr)
		assert.Equal(t, "ready\ngot SIGINT\n", r.stdout)
		assert.Contains(t, r.stderr, "exited with code 130")
		assert.Contains(t, r.stderr, "Actual consumption for 0 epoch(s):")
		doc := readReportFile(t, rf)
		assert.Equal(t, 130, doc.ExitCode)
		assert.True(t, doc.Interrupted)
		assert.Len(t, logFiles(t, r.logDir), 5, "the logs are written")
	})

	t.Run("SIGTERM is passed on", func(t *testing.T) {
		t.Parallel()
		cmd, finish := c.startWaitingForReady(t, nil, "sleep")
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		r := finish()
		assert.Equal(t, 128+15, r.code, r.stderr)
		assert.Contains(t, r.stderr, "was killed by signal terminated (exit code 143)")
		assert.Contains(t, r.stderr, "Actual consumption for 0 epoch(s):")
		std, err := filepath.Glob(filepath.Join(r.logDir, "*"+runlog.SuffixStdLog))
		require.NoError(t, err)
		require.Len(t, std, 1)
		b, err := os.ReadFile(std[0])
		require.NoError(t, err)
		assert.Contains(t, string(b), "Training was interrupted before all 1 epochs were monitored.")
	})

	t.Run("emissions are the energy, PUE included, times the intensity", func(t *testing.T) {
		t.Parallel()
		rf := filepath.Join(t.TempDir(), "report.json")
		r := c.run(t, []string{"--intensity", "500", "--pue", "1.5", "--report-file", rf, "--quiet"}, "exit", "0")
		require.Equal(t, 0, r.code, r.stderr)
		doc := readReportFile(t, rf)
		assert.Equal(t, 1.5, doc.PUE)
		var joules float64
		for _, comp := range doc.Components {
			joules += comp.EnergyJ
		}
		require.Greater(t, joules, 0.0)
		assert.InEpsilon(t, joules*1.5/3.6e6, doc.EnergyKWh, 1e-9, "the components' energy × PUE")
		assert.InEpsilon(t, doc.EnergyKWh*500, doc.EmissionsG, 1e-6, "500 g/kWh")
		assert.InEpsilon(t, 500, doc.IntensityGPerKW, 1e-6)
	})

	t.Run("json after a partial line the command wrote to a file", func(t *testing.T) {
		t.Parallel()
		cmd, _ := c.cmd(t, []string{"--json", "--quiet"}, "partial")
		out, err := os.Create(filepath.Join(t.TempDir(), "stdout.txt"))
		require.NoError(t, err)
		defer out.Close()
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = out, &errb // the command writes to the file itself
		require.NoError(t, cmd.Run(), errb.String())
		b, err := os.ReadFile(out.Name())
		require.NoError(t, err)
		got := string(b)
		require.True(t, strings.HasPrefix(got, "abc\n{"), "the JSON starts on a line of its own: %q", got)
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(got, "abc")), &doc), got)
		assert.Equal(t, 0, doc.ExitCode)
	})

	t.Run("metrics linger after the report, ended by SIGTERM", func(t *testing.T) {
		t.Parallel()
		cmd, _ := c.cmd(t, []string{"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "10s", "--json"}, "exit", "3")
		var out, errb lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		require.NoError(t, cmd.Start())
		waitc := make(chan error, 1)
		go func() { waitc <- cmd.Wait() }()
		// The command exits at once: the report, the JSON and the logs
		// come before the linger, not after its 10 s.
		if !assert.Eventually(t, func() bool { return strings.Contains(errb.String(), "exited with code 3") },
			5*time.Second, 20*time.Millisecond) {
			_ = cmd.Process.Kill()
			t.Fatalf("no report within 5 s; stderr: %s", errb.String())
		}
		require.Eventually(t, func() bool { return strings.HasSuffix(out.String(), "}\n") }, time.Second, 10*time.Millisecond)
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(out.String(), "exiting\n")), &doc), out.String())
		assert.Equal(t, 3, doc.ExitCode)
		m := regexp.MustCompile(`metrics at (http://127\.0\.0\.1:\d+/metrics)`).FindStringSubmatch(errb.String())
		require.NotNil(t, m, errb.String())
		resp, err := http.Get(m[1])
		require.NoError(t, err, "the final values are served while lingering")
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		sent := time.Now()
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-waitc:
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, 3, ee.ExitCode(), "the command's code, not SIGTERM's")
			assert.Less(t, time.Since(sent), 3*time.Second)
		case <-time.After(8 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("SIGTERM did not end the linger; stderr: %s", errb.String())
		}
		_, err = http.Get(m[1])
		assert.Error(t, err, "the endpoint is closed")
	})

	t.Run("budget enforced", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		r := c.run(t, []string{"--budget", "0.000000001", "--enforce-budget", "--json"}, "sleep")
		assert.Equal(t, 143, r.code, r.stderr)
		assert.Less(t, time.Since(start), 5*time.Second, "stopped long before its 10 s")
		assert.Contains(t, r.stderr, "stopping the command (budget exceeded: consumption")
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(r.stdout, "ready\n")), &doc), r.stdout)
		assert.True(t, doc.BudgetExceeded)
		assert.True(t, doc.StoppedByBudget)
	})

	t.Run("budget enforced with SIGKILL after the grace period", func(t *testing.T) {
		t.Parallel()
		// The projection passes the budget when the first epoch ends, once
		// the command ignores SIGTERM.
		r := c.run(t, []string{"--budget", "1", "--enforce-budget", "--grace-period", "300ms", "--quiet",
			"--epochs", "1000000", "--epoch-pattern", "^ready$"}, "ignoreterm")
		assert.Equal(t, 137, r.code, r.stderr)
		assert.Contains(t, r.stderr, "budget exceeded: projected consumption")
		assert.Contains(t, r.stderr, "did not stop within 300ms: SIGKILL")
		assert.NotContains(t, r.stderr, "CarbonTracker", "--quiet")
	})

	t.Run("process tree", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, []string{"--process", "--json"}, "exit", "0")
		require.Equal(t, 0, r.code, r.stderr)
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(r.stdout, "exiting\n")), &doc), r.stdout)
		assert.Equal(t, "process", doc.Mode)
		assert.Equal(t, 1, doc.EpochsCompleted)
		assert.Contains(t, r.stderr, "measured:   the command's process tree")
	})

	t.Run("metrics served while the command runs", func(t *testing.T) {
		t.Parallel()
		cmd, finish := c.startWaitingForReady(t, []string{"--metrics-addr", "127.0.0.1:0", "--run-id", "r1", "--node", "n1"}, "trapint")
		errb := cmd.Stderr.(*lockedBuffer)
		var url string
		require.Eventually(t, func() bool {
			m := regexp.MustCompile(`metrics at (http://127\.0\.0\.1:\d+/metrics)`).FindStringSubmatch(errb.String())
			if m != nil {
				url = m[1]
			}
			return m != nil
		}, 5*time.Second, 20*time.Millisecond, "stderr: %s", errb.String())
		var body string
		require.Eventually(t, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return strings.Contains(body, `carbontrack_energy_joules_total{component="cpu",device="cpu:estimate",method="estimated",node="n1",run_id="r1"}`)
		}, 5*time.Second, 50*time.Millisecond)
		assert.Contains(t, body, "carbontrack_power_watts{")
		assert.Contains(t, body, `carbontrack_source_up{`)
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		r := finish()
		assert.Equal(t, 130, r.code, r.stderr)
		_, err := http.Get(url)
		assert.Error(t, err, "the endpoint is closed when the run ends")
	})

	t.Run("metrics refuse a public address", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, []string{"--metrics-addr", "0.0.0.0:9464"}, "exit", "0")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.stderr, "--allow-public")
	})

	t.Run("missing command", func(t *testing.T) {
		t.Parallel()
		env, sysfs := noDevices(t)
		cmd := exec.Command(c.bin, "run", "--sysfs-root", sysfs, "--", "no-such-command-carbontrack")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 127, ee.ExitCode())
		assert.Equal(t, "carbontrack run: no-such-command-carbontrack: command not found\n", string(out))
	})
}

// TestServeBinarySIGTERM runs "carbontrack serve" as a process: SIGTERM
// (main's signal context, not a test's cancel) stops it cleanly, with exit
// code 0 and its port closed. It lives here, beside buildCLI, as it needs
// Unix signals.
func TestServeBinarySIGTERM(t *testing.T) {
	c := buildCLI(t, t.TempDir())
	sysfs := fakeMachine(t) // its environment is the binary's too
	cmd := exec.Command(c.bin, "serve", "--metrics-addr", "127.0.0.1:0", "--interval", "50ms", "--sysfs-root", sysfs)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Start())
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	urlRE := regexp.MustCompile(`metrics at (http://127\.0\.0\.1:\d+/metrics)`)
	var url string
	eventually(t, "the bound URL on stderr", func() bool {
		if m := urlRE.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
		return url != ""
	})
	assert.Contains(t, scrape(t, url), `carbontrack_energy_joules_total{component="cpu",device="cpu:package-0",method="counter"}`)

	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-waitc:
		require.NoError(t, err, "exit code 0; stderr: %s", errb.String())
		assert.Less(t, time.Since(sent), 5*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10 s after SIGTERM; stderr: %s", errb.String())
	}
	assert.Contains(t, errb.String(), "carbontrack serve: stopped")
	assert.Empty(t, out.String())
	_, err := http.Get(url)
	assert.Error(t, err, "the port is closed")
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "no command given"},
		{"pattern without epochs", []string{"--epoch-pattern", "x", "--", "true"}, nil, "--epoch-pattern needs --epochs"},
		{"epochs without pattern", []string{"--epochs", "3", "--", "true"}, nil, "--epochs needs --epoch-pattern"},
		{"bad pattern", []string{"--epochs", "3", "--epoch-pattern", "(", "--", "true"}, nil, "--epoch-pattern: error parsing regexp"},
		{"enforce without budget", []string{"--enforce-budget", "--", "true"}, nil, "--enforce-budget needs --budget"},
		{"pue", []string{"--pue", "0.5", "--", "true"}, nil, "--pue must be in [1, 5]"},
		{"zone and region", []string{"--zone", "FR", "--region", "gcp:europe-west4", "--", "true"}, nil, "not both"},
		{"bad env", []string{"--", "true"}, map[string]string{"CARBONTRACK_PUE": "lots"}, `CARBONTRACK_PUE="lots"`},
		{"bad provider", []string{"--provider", "nope", "--", "true"}, nil, `unknown provider "nope"`},
		{"unknown flag", []string{"--nope", "--", "true"}, nil, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, stderr := runCLI(t, append([]string{"run"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestRunHelp(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Usage: carbontrack run [flags] [--] COMMAND [ARGS...]")
	assert.Contains(t, stderr, "Examples:")
	assert.Contains(t, stderr, "(env CARBONTRACK_EPOCH_PATTERN)")
}

// A flag on the command line wins over its twin's or its sibling's
// environment variable; two of one layer are an error.
func TestRunZoneRegionLayers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		args         []string
		zone, region string
		err          string
	}{
		{name: "env zone, flag region", env: map[string]string{"CARBONTRACK_ZONE": "FR"},
			args: []string{"--region", "gcp:europe-west4"}, region: "gcp:europe-west4"},
		{name: "env region, flag zone", env: map[string]string{"CARBONTRACK_REGION": "gcp:europe-west4"},
			args: []string{"--zone", "DK1"}, zone: "DK1"},
		{name: "env zone, flag zone", env: map[string]string{"CARBONTRACK_ZONE": "FR"}, args: []string{"--zone", "DE"}, zone: "DE"},
		{name: "both flags", args: []string{"--zone", "FR", "--region", "gcp:europe-west4"}, err: "give --zone or --region, not both"},
		{name: "both env", env: map[string]string{"CARBONTRACK_ZONE": "FR", "CARBONTRACK_REGION": "aws:eu-west-3"},
			err: "CARBONTRACK_ZONE and CARBONTRACK_REGION are both set"},
		{name: "both env, flag zone", env: map[string]string{"CARBONTRACK_ZONE": "FR", "CARBONTRACK_REGION": "aws:eu-west-3"},
			args: []string{"--zone", "SE"}, zone: "SE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			o, _, _, code := parseRunFlags(append(tc.args, "--", "train"), &stderr)
			if tc.err != "" {
				assert.Equal(t, 2, code)
				assert.Contains(t, stderr.String(), tc.err)
				return
			}
			require.Equal(t, -1, code, stderr.String())
			assert.Equal(t, tc.zone, o.zone)
			assert.Equal(t, tc.region, o.region)
		})
	}
}

func TestRunJSONTwin(t *testing.T) {
	t.Setenv("CARBONTRACK_JSON", "1")
	o, _, _, code := parseRunFlags([]string{"--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.True(t, o.asJSON)
	o, _, _, code = parseRunFlags([]string{"--json=false", "--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.False(t, o.asJSON, "the command line wins")

	// Every flag of run has a twin, as the README says.
	fs := runFlagSet(&runOptions{}, io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		assert.Contains(t, fs.twins, f.Name)
		assert.Contains(t, f.Usage, "(env "+fs.twins[f.Name]+")")
	})
}

// Ctrl-C before the command started: the command never starts, and the
// exit code is SIGINT's.
func TestRunInterruptedBeforeStart(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	for _, mode := range []string{"--process=false", "--process"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			marker := filepath.Join(t.TempDir(), "started")
			var out, errb lockedBuffer
			code := runCommand(ctx, []string{"--sysfs-root", sysfs, "--log-dir", "", mode, "--", self, "touch", marker},
				&out, &errb, fakeTerminalDeps(nil))
			assert.Equal(t, 130, code, errb.String())
			assert.Contains(t, errb.String(), "interrupted before the command started")
			assert.NoFileExists(t, marker, "the command never started")
			assert.Empty(t, out.String())
		})
	}
}

// A live provider that does not answer used to hold the command back 20 s
// (two 10 s waits) and then count the world average: the command starts at
// once, and the zone's table value is counted.
func TestRunSlowProviderNeitherDelaysNorFallsToWorld(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	release, held := make(chan struct{}), make(chan struct{}, 8)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer api.Close()
	defer close(release)
	marker := filepath.Join(t.TempDir(), "started")
	var out, errb lockedBuffer
	code := runCommand(t.Context(), []string{"--sysfs-root", sysfs, "--log-dir", "", "--json", "--provider", "ukgrid",
		"--zone", "GB", "--provider-url", api.URL, "--", "sh", "-c", "touch " + marker}, &out, &errb, fakeTerminalDeps(nil))
	require.Equal(t, 0, code, errb.String())
	assert.FileExists(t, marker)
	select {
	case <-held:
	default:
		t.Fatal("the provider was never asked")
	}
	var rep runJSON
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rep), out.String())
	gb, err := factor.Lookup("GB")
	require.NoError(t, err)
	assert.InDelta(t, float64(gb.Value), rep.IntensityGPerKW, 1e-9, "GB's table value, not the world average")
	assert.Equal(t, "GB", rep.Intensity.Zone)
	assert.Equal(t, "--zone", rep.Intensity.ZoneFrom)
}

func TestRunEnvTwins(t *testing.T) {
	t.Setenv("CARBONTRACK_PUE", "1.2")
	t.Setenv("CARBONTRACK_EPOCHS", "4")
	t.Setenv("CARBONTRACK_EPOCH_PATTERN", "done")
	o, argv, re, code := parseRunFlags([]string{"--pue", "1.1", "--", "train", "--lr", "3"}, io.Discard)
	require.Equal(t, -1, code)
	assert.Equal(t, 1.1, o.pue, "the command line wins")
	assert.Equal(t, 4, o.epochs)
	assert.Equal(t, "done", re.String())
	assert.Equal(t, []string{"train", "--lr", "3"}, argv)
}

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

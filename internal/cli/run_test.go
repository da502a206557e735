//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	case "burn":
		// Busy for a moment, then gone: all its CPU time is after the
		// tracker's first read and before any background one.
		fmt.Println("burning")
		for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); {
		}
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
	bin, full, self string // carbontrack, carbontrack-full, the test binary
}

// buildCLI builds carbontrack and carbontrack-full into dir, with -race
// when the tests are (so the build reuses the test build's cache): the
// tests run carbontrack, which hands what it lacks to carbontrack-full
// beside it, as where both are installed.
func buildCLI(t *testing.T, dir string) cli {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build carbontrack with")
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	out, err := exec.Command(gobin, append(args, "github.com/carbontrack/carbontrack/cmd/carbontrack", "github.com/carbontrack/carbontrack/cmd/carbontrack-full")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	self, err := os.Executable()
	require.NoError(t, err)
	return cli{bin: filepath.Join(dir, "carbontrack"), full: filepath.Join(dir, FullName), self: self}
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
		assert.Contains(t, r.stderr, "was killed by SIGKILL (exit code 137)")
		doc := readReportFile(t, rf)
		assert.Equal(t, 137, doc.ExitCode)
		assert.Equal(t, "SIGKILL", doc.Signal)
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
		assert.Contains(t, r.stderr, "was killed by SIGTERM (exit code 143)")
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

	// The command is read once it has exited, before it is reaped: a
	// process view counts its CPU time to the end, even when no background
	// read came while it ran (it counted 0 J before).
	t.Run("process tree read at its exit", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, []string{"--process", "--json", "--interval", "1h"}, "burn")
		require.Equal(t, 0, r.code, r.stderr)
		var doc runReportDoc
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(r.stdout, "burning\n")), &doc), r.stdout)
		var cpuJ float64
		for _, c := range doc.Components {
			if c.Kind == "cpu" {
				cpuJ += c.EnergyJ
			}
		}
		assert.Positive(t, cpuJ, "the command's 0.6 s of CPU are counted: %+v", doc.Components)
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

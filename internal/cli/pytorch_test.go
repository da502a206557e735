//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/records"
	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// pytorchExample is examples/pytorch/train.py, from this package's directory.
const pytorchExample = "../../examples/pytorch/train.py"

// pythonWithTorch finds a python3 that imports torch: the one on PATH, else
// /usr/bin/python3, where Debian's python3-torch installs (a pyenv or venv
// python3 first on PATH does not see it). Without one it skips the test, or
// fails it in CI, where .ci/run installs python3-torch.
func pythonWithTorch(t *testing.T) string {
	t.Helper()
	var why []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			why = append(why, py+": not found")
			continue
		}
		out, err := exec.Command(path, "-c", "import torch").CombinedOutput()
		if err == nil {
			return path
		}
		why = append(why, path+": "+pyErrorLine(string(out)))
	}
	how := "no python3 imports torch (" + strings.Join(why, "; ") + "); install PyTorch with " +
		"`apt-get install python3-torch` (Debian, for /usr/bin/python3) or `pip install torch`"
	if os.Getenv("CI") == "true" {
		t.Fatal(how + "; CI=true, so this end-to-end test must run")
	}
	t.Skip(how + " to run this end-to-end test")
	return ""
}

// pyErrorLine is the last line of what Python printed: its error.
func pyErrorLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestRunPyTorchTraining tracks a real PyTorch training run
// (examples/pytorch/train.py, 3 epochs on the CPU, or a GPU where torch
// finds one) with the built binary, as a user runs it: epochs read from its
// Keras-style output (--epochs-from keras), the report as JSON, the logs in
// a directory. It takes about 10 s on 2 idle cores.
func TestRunPyTorchTraining(t *testing.T) {
	py := pythonWithTorch(t)
	c := buildCLI(t, t.TempDir())
	env, sysfs := noDevices(t) // the CPU and RAM estimates: energy > 0 on any machine
	logDir := filepath.Join(t.TempDir(), "logs")

	const epochs = 3
	// train.py prints Keras' lines: "Epoch 2/3" when an epoch starts,
	// "128/128 - 1.5s - 12ms/step - loss: 0.6668 - accuracy: 0.7827" when it
	// ends.
	args := []string{"run", "--sysfs-root", sysfs, "--log-dir", logDir, "--interval", "50ms", "--json",
		"--epochs", "3", "--epochs-from", "keras", "--", py, pytorchExample, "--epochs", "3"}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout timedLines
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "train.py did not finish within 5 minutes; stderr: %s", stderr.String())
	require.NoError(t, err, "exit code 0; stderr: %s", stderr.String())

	// stdout: the training's lines, passed through, then the JSON report.
	out := stdout.buf.String()
	for e := 1; e <= epochs; e++ {
		assert.Contains(t, out, fmt.Sprintf("Epoch %d/%d\n", e, epochs))
	}
	i := strings.LastIndex(out, "\n{")
	require.GreaterOrEqual(t, i, 0, "the JSON report on a line of its own: %q", out)
	assert.Regexp(t, `(?m)^\d+/\d+ - [0-9.]+s - \d+ms/step - loss: [0-9.]+ - accuracy: [0-9.]+$`, out[:i])
	var doc pytorchReport
	require.NoError(t, json.Unmarshal([]byte(out[i+1:]), &doc), out[i+1:])

	assert.Equal(t, 0, doc.ExitCode)
	assert.Equal(t, epochs, doc.EpochsPlanned)
	assert.Equal(t, epochs, doc.EpochsCompleted)
	assert.False(t, doc.Interrupted)
	require.Len(t, doc.Epochs, epochs, "stderr: %s", stderr.String())
	require.NotNil(t, doc.FacilityKWh, "--json has facility_energy_kwh: %s", out[i+1:])
	var secs, kwh float64
	for _, e := range doc.Epochs {
		assert.False(t, e.Interrupted, "epoch %d", e.Epoch)
		require.NotNil(t, e.FacilityKWh, "epoch %d has facility_energy_kwh", e.Epoch)
		secs += e.DurationS
		kwh += *e.FacilityKWh
	}
	mean := secs / epochs
	for _, e := range doc.Epochs {
		// An epoch boundary off by one line (the start taken for the end)
		// can make one epoch the gap between two lines: near zero.
		assert.GreaterOrEqual(t, e.DurationS, 0.1*mean, "epoch %d lasts %.2f s of a %.2f s mean", e.Epoch, e.DurationS, mean)
		assert.Greater(t, *e.FacilityKWh, 0.0, "epoch %d", e.Epoch)
	}
	assert.LessOrEqual(t, secs, doc.DurationS+0.5, "the epochs lie within the run")
	// Each epoch runs from its "Epoch N/3" line to its end line, as the
	// test saw them arrive (an epoch lasts about 1.5 s on 2 idle cores, the
	// first line comes after importing torch, about 1.5 s): an epoch
	// boundary taken from the wrong line is off by a second or more.
	begins := stdout.seen(regexp.MustCompile(`^Epoch \d+/3$`))
	ends := stdout.seen(regexp.MustCompile(`^\d+/\d+ - .* - loss: `))
	require.Len(t, begins, epochs, "Epoch N/3 lines")
	require.Len(t, ends, epochs, "end-of-epoch lines")
	const slack = 500 * time.Millisecond
	for k, e := range doc.Epochs {
		assert.WithinDuration(t, begins[k], e.Start, slack, "epoch %d starts with its Epoch line", k+1)
		assert.WithinDuration(t, ends[k], e.End, slack, "epoch %d ends with its loss line", k+1)
	}
	assert.Greater(t, *doc.FacilityKWh, 0.0)
	assert.LessOrEqual(t, kwh, *doc.FacilityKWh*(1+1e-9), "the epochs' energy is part of the run's")
	require.NotNil(t, doc.Prediction, "the projection after epoch 1")
	assert.Equal(t, epochs, doc.Prediction.Epochs)
	assert.Contains(t, stderr.String(), "Actual consumption for 3 epoch(s):")

	// The logs: carbontracker's pair (which its parser reads), the JSON
	// lines, emissions.csv.
	for _, pattern := range []string{"*" + runlog.SuffixStdLog, "*" + runlog.SuffixOutputLog, "*" + runlog.SuffixJSONLines, "emissions.csv"} {
		m, err := filepath.Glob(filepath.Join(logDir, pattern))
		require.NoError(t, err)
		assert.Len(t, m, 1, "%s in %v", pattern, logFiles(t, logDir))
	}
	std, err := filepath.Glob(filepath.Join(logDir, "*"+runlog.SuffixStdLog))
	require.NoError(t, err)
	require.Len(t, std, 1)
	stdLog, err := os.Open(std[0])
	require.NoError(t, err)
	defer stdLog.Close()
	outLog, err := os.Open(strings.TrimSuffix(std[0], runlog.SuffixStdLog) + runlog.SuffixOutputLog)
	require.NoError(t, err)
	defer outLog.Close()
	parsed, err := records.ParseLog(stdLog, outLog)
	require.NoError(t, err)
	assert.Len(t, parsed.EpochDurations, epochs)
	assert.False(t, parsed.EarlyStop)
	assert.NotNil(t, parsed.Actual)
	b, err := os.ReadFile(filepath.Join(logDir, "emissions.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 2, "a header and the run's row: %s", b)

	runs, err := runlog.Read(logDir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, epochs, runs[0].Completed)
	assert.True(t, runs[0].Finished)
	assert.False(t, runs[0].Interrupted)
}

// pytorchReport is the part of run's --json this test reads; the energies
// are pointers so that a renamed field fails the test rather than reading 0.
type pytorchReport struct {
	ExitCode        int      `json:"exit_code"`
	DurationS       float64  `json:"duration_s"`
	FacilityKWh     *float64 `json:"facility_energy_kwh"`
	EpochsPlanned   int      `json:"epochs_planned"`
	EpochsCompleted int      `json:"epochs_completed"`
	Interrupted     bool     `json:"interrupted"`
	Epochs          []struct {
		Epoch       int       `json:"epoch"`
		Start       time.Time `json:"start"`
		End         time.Time `json:"end"`
		DurationS   float64   `json:"duration_s"`
		FacilityKWh *float64  `json:"facility_energy_kwh"`
		Interrupted bool      `json:"interrupted"`
	} `json:"epochs"`
	Prediction *struct {
		Epochs int `json:"epochs"`
	} `json:"prediction"`
}

// timedLines is an io.Writer that keeps what is written and when each line
// ended. Not safe for concurrent use: exec's copier writes, the test reads
// after Wait.
type timedLines struct {
	buf   bytes.Buffer
	lines []string
	at    []time.Time
	part  []byte
}

func (w *timedLines) Write(p []byte) (int, error) {
	n, now := len(p), time.Now()
	w.buf.Write(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p...)
			break
		}
		w.lines = append(w.lines, string(append(w.part, p[:i]...)))
		w.at = append(w.at, now)
		w.part, p = w.part[:0], p[i+1:]
	}
	return n, nil
}

// seen returns when the lines matching re arrived.
func (w *timedLines) seen(re *regexp.Regexp) []time.Time {
	var at []time.Time
	for k, l := range w.lines {
		if re.MatchString(l) {
			at = append(at, w.at[k])
		}
	}
	return at
}

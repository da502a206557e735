//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runInProcess runs "carbontrack run" in the test process, without
// devices, logs or signals, and returns its exit code, stderr and report.
func runInProcess(t *testing.T, flags []string, argv ...string) (int, string, runReportDoc) {
	t.Helper()
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	rf := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{"--sysfs-root", sysfs, "--log-dir", "", "--interval", "50ms", "--report-file", rf}, flags...)
	var out, errb lockedBuffer
	code := runCommand(t.Context(), append(append(args, "--"), argv...), &out, &errb, fakeTerminalDeps(nil))
	var doc runReportDoc
	if _, err := os.Stat(rf); err == nil {
		doc = readReportFile(t, rf)
	}
	return code, errb.String(), doc
}

// The usual case: a script that prints "epoch N" when each epoch begins.
// Taken as ends (--epoch-pattern), the first epoch is a moment and the
// last goes uncounted, which a warning now says; --epoch-start-pattern and
// --epochs-from plain count the three as they are.
func TestRunEpochStartMarks(t *testing.T) {
	const script = `for i in 1 2 3; do echo epoch $i; sleep 0.5; done`
	for _, flags := range [][]string{
		{"--epochs", "3", "--epoch-start-pattern", `^epoch \d+$`},
		{"--epochs", "3", "--epochs-from", "plain"},
		{"--epochs", "3", "--epoch-start-pattern", `^epoch \d+$`, "--epoch-pattern", `^never$`},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			code, stderr, doc := runInProcess(t, flags, "sh", "-c", script)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, 3, doc.EpochsCompleted, stderr)
			assert.False(t, doc.Interrupted)
			require.Len(t, doc.Epochs, 3)
			for _, e := range doc.Epochs {
				assert.Greater(t, e.DurationS, 0.4, "epoch %d lasts the script's 0.5 s", e.Epoch)
				assert.False(t, e.Interrupted)
			}
			assert.NotContains(t, stderr, "warning")
		})
	}

	t.Run("a failure in the last epoch leaves it interrupted", func(t *testing.T) {
		code, stderr, doc := runInProcess(t, []string{"--epochs", "3", "--epoch-start-pattern", `^epoch`},
			"sh", "-c", script+"; exit 3")
		require.Equal(t, 3, code, stderr)
		assert.Equal(t, 2, doc.EpochsCompleted)
		assert.True(t, doc.Interrupted)
		require.Len(t, doc.Epochs, 3)
		assert.True(t, doc.Epochs[2].Interrupted)
	})
}

func TestRunWarnsOfAStartTakenForAnEnd(t *testing.T) {
	// "epoch 1" at once, then 8 s of work: as an end, epoch 1 lasts the
	// moment until the first line (the shell's start, tens of ms on a
	// loaded machine), under 1 % of the run when it exits.
	code, stderr, doc := runInProcess(t, []string{"--epochs", "1", "--epoch-pattern", "epoch"},
		"sh", "-c", "echo epoch 1; sleep 8")
	require.Equal(t, 0, code, stderr)
	require.Len(t, doc.Epochs, 1)
	require.Less(t, doc.Epochs[0].DurationS, 0.08, "the machine is too loaded for this test's timing")
	assert.Contains(t, stderr, "carbontrack: warning: the first epoch lasted ")
	assert.Contains(t, stderr, "since it began (--epoch-pattern): the line that ends an epoch may be printed when one begins")
	assert.Equal(t, 1, strings.Count(stderr, "warning"), stderr)

	code, stderr, _ = runInProcess(t, []string{"--epochs", "1", "--epoch-pattern", "epoch", "--quiet"},
		"sh", "-c", "echo epoch 1; sleep 8")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "warning", "--quiet")
}

// A progress bar redrawn with "\r", as PyTorch Lightning's: one epoch a
// number, however many redraws, through the real pipes.
func TestRunEpochsFromProgressBar(t *testing.T) {
	const script = `for e in 0 1 2; do for p in 0 25 50 75 100; do printf '\rEpoch %d: %3d%%|' $e $p; sleep 0.1; done; done; printf '\n'`
	code, stderr, doc := runInProcess(t, []string{"--epochs", "3", "--epochs-from", "lightning"}, "sh", "-c", script)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 3, doc.EpochsCompleted, stderr)
	require.Len(t, doc.Epochs, 3)
	for _, e := range doc.Epochs {
		assert.Greater(t, e.DurationS, 0.35, "epoch %d: its five redraws, 0.1 s apart", e.Epoch)
	}
}

func TestRunEpochFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown preset", []string{"--epochs", "3", "--epochs-from", "tensorflow", "--", "true"}, nil,
			`--epochs-from: unknown preset "tensorflow" (valid: keras, lightning, transformers, plain)`},
		{"unknown preset, before --epochs is asked for", []string{"--epochs-from", "kears", "--", "true"}, nil,
			`--epochs-from: unknown preset "kears"`},
		{"unknown preset in the environment", []string{"--epochs", "3", "--", "true"}, map[string]string{"CARBONTRACK_EPOCHS_FROM": "x"},
			`CARBONTRACK_EPOCHS_FROM (--epochs-from): unknown preset "x"`},
		{"preset and pattern", []string{"--epochs", "3", "--epochs-from", "keras", "--epoch-pattern", "x", "--", "true"}, nil,
			"give --epochs-from or --epoch-pattern/--epoch-start-pattern, not both"},
		{"preset and start pattern", []string{"--epochs", "3", "--epochs-from", "keras", "--epoch-start-pattern", "x", "--", "true"}, nil,
			"give --epochs-from or --epoch-pattern/--epoch-start-pattern, not both"},
		{"preset and pattern in the environment", []string{"--epochs", "3", "--", "true"},
			map[string]string{"CARBONTRACK_EPOCHS_FROM": "keras", "CARBONTRACK_EPOCH_START_PATTERN": "x"},
			"CARBONTRACK_EPOCHS_FROM and CARBONTRACK_EPOCH_START_PATTERN are both set: set one"},
		{"bad start pattern", []string{"--epochs", "3", "--epoch-start-pattern", "(", "--", "true"}, nil,
			"--epoch-start-pattern: error parsing regexp: missing closing ): `(`"},
		{"bad start pattern in the environment", []string{"--epochs", "3", "--", "true"},
			map[string]string{"CARBONTRACK_EPOCH_START_PATTERN": "a**"},
			"CARBONTRACK_EPOCH_START_PATTERN (--epoch-start-pattern): error parsing regexp"},
		{"preset without epochs", []string{"--epochs-from", "keras", "--", "true"}, nil,
			"--epochs-from needs --epochs N, the number of epochs the command runs"},
		{"start pattern without epochs", []string{"--epoch-start-pattern", "x", "--", "true"}, nil,
			"--epoch-start-pattern needs --epochs N"},
		{"epochs alone", []string{"--epochs", "3", "--", "true"}, nil,
			"--epochs needs --epoch-pattern, --epoch-start-pattern or --epochs-from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, stderr := runCLI(t, append([]string{"run"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, "carbontrack run: "+tc.want)
		})
	}
}

// The command line wins over the other flag's environment variable.
func TestRunEpochFlagLayers(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		what string
	}{
		{"env preset", map[string]string{"CARBONTRACK_EPOCHS_FROM": "lightning"}, nil, "--epochs-from lightning"},
		{"env preset, flag start pattern", map[string]string{"CARBONTRACK_EPOCHS_FROM": "keras"},
			[]string{"--epoch-start-pattern", "^Epoch"}, "--epoch-start-pattern"},
		{"env patterns, flag preset", map[string]string{"CARBONTRACK_EPOCH_PATTERN": "done", "CARBONTRACK_EPOCH_START_PATTERN": "go"},
			[]string{"--epochs-from", "PLAIN"}, "--epochs-from plain"},
		{"env start pattern, flag end pattern", map[string]string{"CARBONTRACK_EPOCH_START_PATTERN": "go"},
			[]string{"--epoch-pattern", "done"}, "--epoch-start-pattern and --epoch-pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			o, _, _, code := parseRunFlags(append(append([]string{"--epochs", "3"}, tc.args...), "--", "train"), &stderr)
			require.Equal(t, -1, code, stderr.String())
			require.NotNil(t, o.matcher)
			assert.Equal(t, tc.what, o.matcher.what)
		})
	}

	t.Setenv("CARBONTRACK_KEEP_COMMAND", "true")
	o, _, _, code := parseRunFlags([]string{"--", "train"}, io.Discard)
	require.Equal(t, -1, code)
	assert.True(t, o.keepCommand)
	assert.Nil(t, o.matcher, "the whole run is one epoch")
}

func TestRunHelpEpochs(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--help")
	assert.Equal(t, 0, code)
	for _, s := range []string{
		"-epoch-start-pattern string", "(env CARBONTRACK_EPOCH_START_PATTERN)",
		"-epochs-from string", "keras, lightning, transformers, plain", "(env CARBONTRACK_EPOCHS_FROM)",
		"-keep-command", "(env CARBONTRACK_KEEP_COMMAND)",
		"carbontrack run --epochs 10 --epochs-from keras -- python -u fit.py",
		"--epoch-start-pattern '^Epoch [0-9]+/'",
		"  transformers  Hugging Face Trainer's logs",
	} {
		assert.Contains(t, stderr, s)
	}
	assert.NotContains(t, stderr, "{{presets}}")
}

// TestRunCommandDiesWithCarbontrack kills carbontrack with SIGKILL, which
// it cannot catch: the command must not run on unmeasured (Linux's
// parent-death signal), unless --keep-command.
func TestRunCommandDiesWithCarbontrack(t *testing.T) {
	if !parentDeathSignal {
		t.Skip("no parent-death signal on this system")
	}
	c := buildCLI(t, t.TempDir())
	for _, keep := range []bool{false, true} {
		t.Run("keep="+strconv.FormatBool(keep), func(t *testing.T) {
			env, sysfs := noDevices(t)
			args := []string{"run", "--sysfs-root", sysfs, "--log-dir", "", "--quiet"}
			if keep {
				args = append(args, "--keep-command")
			}
			// The shell prints its pid, then becomes sleep.
			cmd := exec.Command(c.bin, append(args, "--", "sh", "-c", "echo $$; exec sleep 60")...)
			cmd.Env = append(os.Environ(), env...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.WaitDelay = time.Second
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var errb lockedBuffer
			cmd.Stderr = &errb
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err, "stderr: %s", errb.String())
			pid, err := strconv.Atoi(strings.TrimSpace(line))
			require.NoError(t, err, line)
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			require.True(t, running(t, pid), "the command runs")

			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			if keep {
				time.Sleep(500 * time.Millisecond)
				assert.True(t, running(t, pid), "--keep-command: the command runs on")
				return
			}
			assert.Eventually(t, func() bool { return !running(t, pid) }, 5*time.Second, 20*time.Millisecond,
				"the command (pid %d) outlived carbontrack", pid)
		})
	}
}

// running says whether pid is a live process: not gone, not a zombie
// (an orphan waits for init to reap it).
func running(t *testing.T, pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	require.NoError(t, err)
	i := bytes.LastIndexByte(b, ')')
	require.Positive(t, i, string(b))
	state := strings.Fields(string(b[i+1:]))[0]
	return state != "Z" && state != "X"
}

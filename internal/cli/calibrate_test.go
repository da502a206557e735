package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// TestCalibrateWritesTheFile: against a fake powercap tree drawing 30 W,
// and 90 W while calibrate's busy goroutines run, calibrate measures about
// those and writes them with
// the CPU's identity; the CPU estimate of a machine of that model then
// uses the file.
func TestCalibrateWritesTheFile(t *testing.T) {
	sysfs := powertest.WritePowercap(t, powertest.Zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 1000})
	drawLoadPower(t, sysfs, "intel-rapl:0", 30, 90)
	model := "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
	proc := powertest.WriteProc(t, filepath.Join(t.TempDir(), "proc"), powertest.Proc{Model: model, CPUs: 4})
	out := filepath.Join(t.TempDir(), "cal", "cpu.json")
	code, stdout, stderr := runCLI(t, "calibrate", "--sysfs-root", sysfs, "--proc-root", proc, "--idle", "300ms",
		"--load", "1s", "--out", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "Written to "+out)

	c, err := power.ReadCPUCalibration(out)
	require.NoError(t, err)
	assert.Equal(t, model, c.CPUModel)
	assert.Equal(t, 1, c.Sockets)
	assert.Equal(t, 4, c.LogicalCPUs)
	assert.InDelta(t, 30, c.IdleW, 6)
	assert.InDelta(t, 90, c.FullW, 15)
	assert.False(t, c.MeasuredAt.IsZero())

	// Where RAPL is not readable, the estimate for this model uses it.
	d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()),
		power.WithProcRoot(proc), power.WithCPUCalibration(out))
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	require.Len(t, d.Sources, 1)
	assert.Contains(t, d.Sources[0].Info().Detail, "calibrated on "+c.MeasuredAt.Format("2006-01-02"))
}

func TestCalibrateWithoutRAPL(t *testing.T) {
	proc := powertest.WriteProc(t, filepath.Join(t.TempDir(), "proc"), powertest.Proc{Model: "AMD EPYC", CPUs: 2})
	out := filepath.Join(t.TempDir(), "cpu.json")
	code, _, stderr := runCLI(t, "calibrate", "--sysfs-root", t.TempDir(), "--proc-root", proc, "--idle", "10ms",
		"--load", "10ms", "--out", out)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no readable RAPL package counter")
	assert.NoFileExists(t, out)
}

// drawLoadPower makes the fake package draw idle watts, and full watts while
// at least runtime.NumCPU() more goroutines than at its start run (the
// busy goroutines of calibrate's load phase), until the test ends.
func drawLoadPower(t *testing.T, sysfs, zone string, idle, full float64) {
	f, err := os.OpenFile(filepath.Join(sysfs, "class", "powercap", zone, "energy_uj"), os.O_WRONLY, 0)
	require.NoError(t, err)
	stop, done := make(chan struct{}), make(chan struct{})
	base := runtime.NumGoroutine() + 1 // this one
	go func() {
		defer close(done)
		uj, last := 1000.0, time.Now()
		for {
			now := time.Now()
			w := idle
			if runtime.NumGoroutine() >= base+runtime.NumCPU() {
				w = full
			}
			uj += w * now.Sub(last).Seconds() * 1e6
			last = now
			_, _ = f.WriteAt([]byte(fmt.Sprintf("%020d\n", uint64(uj))), 0)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; _ = f.Close() })
}

// Where the file goes is checked before measuring: "off" (from the flag or
// its twin) and a directory are usage errors, and nothing is written.
func TestCalibrateBadOut(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(power.EnvCPUCalibration, "off")
	code, _, stderr := runCLI(t, "calibrate", "--idle", "10ms", "--load", "10ms")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `"off" turns calibrations off`)
	assert.NoFileExists(t, filepath.Join(dir, "off"))
	code, _, stderr = runCLI(t, "calibrate", "--idle", "10ms", "--load", "10ms", "--out", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "is a directory")
}

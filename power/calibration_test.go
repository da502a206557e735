package power_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

func writeCalibration(t *testing.T, c power.CPUCalibration) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sub", "cpu-calibration.json")
	require.NoError(t, power.WriteCPUCalibration(p, c))
	return p
}

func gold6248Calibration() power.CPUCalibration {
	return power.CPUCalibration{CPUModel: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", Sockets: 2, LogicalCPUs: 80,
		IdleW: 60, FullW: 300, MeasuredAt: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), Version: "test"}
}

func TestCPUCalibrationRoundTrip(t *testing.T) {
	c := gold6248Calibration()
	p := writeCalibration(t, c)
	got, err := power.ReadCPUCalibration(p)
	require.NoError(t, err)
	assert.Equal(t, c, got)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"idle_w": 60`)
	assert.Contains(t, string(b), `"cpu_model": "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"`)

	_, err = power.ReadCPUCalibration(filepath.Join(t.TempDir(), "none.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestCPUCalibrationValidate(t *testing.T) {
	for name, mod := range map[string]func(*power.CPUCalibration){
		"no model":       func(c *power.CPUCalibration) { c.CPUModel = "" },
		"no socket":      func(c *power.CPUCalibration) { c.Sockets = 0 },
		"idle over full": func(c *power.CPUCalibration) { c.IdleW = 400 },
		"zero full":      func(c *power.CPUCalibration) { c.IdleW, c.FullW = 0, 0 },
	} {
		t.Run(name, func(t *testing.T) {
			c := gold6248Calibration()
			mod(&c)
			require.Error(t, c.Validate())
			require.Error(t, power.WriteCPUCalibration(filepath.Join(t.TempDir(), "c.json"), c))
		})
	}
	p := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"cpu_model":"x","sockets":1,"idle_w":5,"full_w":2}`), 0o644))
	_, err := power.ReadCPUCalibration(p)
	require.Error(t, err)
}

func TestCPUCalibrationMatches(t *testing.T) {
	c := gold6248Calibration()
	assert.True(t, c.Matches("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 2))
	assert.True(t, c.Matches("intel xeon gold 6248", 2), "names are normalised")
	assert.False(t, c.Matches("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 2), "another model")
	assert.False(t, c.Matches("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 1), "other sockets")
}

func TestDefaultCPUCalibrationPath(t *testing.T) {
	t.Setenv(power.EnvCPUCalibration, "/shared/cal.json")
	p, err := power.DefaultCPUCalibrationPath()
	require.NoError(t, err)
	assert.Equal(t, "/shared/cal.json", p)
	t.Setenv(power.EnvCPUCalibration, "")
	t.Setenv("XDG_CONFIG_HOME", "/home/u/.config")
	t.Setenv("HOME", "/home/u")
	p, err = power.DefaultCPUCalibrationPath()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/home/u/.config", "carbontrack", "cpu-calibration.json"), p)
}

// TestCPUEstimateUsesCalibration: a calibration for the machine's model and
// sockets replaces TDP with its idle and full-load power on the Teads
// curve's shape, and says so; one for another model or other sockets is
// ignored.
func TestCPUEstimateUsesCalibration(t *testing.T) {
	calPath := writeCalibration(t, gold6248Calibration())
	tests := []struct {
		name             string
		spec             procSpec
		calibrated       bool
		idle, half, full float64
	}{
		{name: "same model and sockets", spec: procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 80, Sockets: 2},
			calibrated: true,
			// Teads' shape at 50 %: (0.75 − 0.12) / (1.02 − 0.12) = 0.7.
			idle: 60, half: 60 + 240*0.7, full: 300},
		{name: "same model, a container that sees 20 of the 80 CPUs", spec: procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 20, Sockets: 2},
			calibrated: true, idle: 15, half: (60 + 240*0.7) / 4, full: 75},
		{name: "another model: TDP", spec: procSpec{Model: "AMD EPYC 7763 64-Core Processor", CPUs: 128, Sockets: 2},
			idle: 0.12 * 560, half: 0.75 * 560, full: 1.02 * 560},
		{name: "other sockets: TDP", spec: procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 40, Sockets: 1},
			idle: 0.12 * 150, half: 0.75 * 150, full: 1.02 * 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := writeProc(t, tt.spec)
			d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()),
				power.WithProcRoot(proc), power.WithCPUCalibration(calPath))
			require.NoError(t, err)
			t.Cleanup(func() { _ = d.Close() })
			require.Len(t, d.Sources, 1)
			cpu := d.Sources[0]
			info := cpu.Info()
			assert.Equal(t, power.MethodEstimated, info.Method)
			if tt.calibrated {
				assert.Contains(t, info.Detail, "calibrated on 2026-01-05")
				assert.InDelta(t, 0.183, info.Uncertainty, 1e-9)
				assert.Contains(t, info.UncertaintySource, "same machine")
			} else {
				assert.NotContains(t, info.Detail, "calibrated")
				assert.InDelta(t, 0.342, info.Uncertainty, 1e-9)
			}
			var r power.Reading
			require.NoError(t, cpu.Read(t.Context(), &r))
			for _, step := range []struct{ busy, idle, want float64 }{
				{0, 10, tt.idle}, {5, 15, tt.half}, {15, 15, tt.full},
			} {
				setStat(t, proc, step.busy, step.idle)
				require.NoError(t, cpu.Read(t.Context(), &r))
				assert.InDelta(t, step.want, float64(r.Power), 1e-6, "busy %v idle %v", step.busy, step.idle)
			}
		})
	}
}

// TestCPUEstimateIgnoresABadCalibration: an unreadable calibration leaves the
// TDP model in place; discovery goes on.
func TestCPUEstimateIgnoresABadCalibration(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cal.json")
	require.NoError(t, os.WriteFile(p, []byte("{not json"), 0o644))
	proc := writeProc(t, procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 80, Sockets: 2})
	t.Setenv(power.EnvCPUCalibration, p)
	d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU), power.WithSysfsRoot(t.TempDir()), power.WithProcRoot(proc))
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	require.Len(t, d.Sources, 1)
	assert.Contains(t, d.Sources[0].Info().Detail, "TDP 150 W")
}

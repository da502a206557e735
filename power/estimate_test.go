package power_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

type procSpec = powertest.Proc

// writeProc writes a fake /proc under a new temporary directory.
func writeProc(t testing.TB, s procSpec) string {
	return powertest.WriteProc(t, filepath.Join(t.TempDir(), "proc"), s)
}

func writeProcIn(t testing.TB, dir string, s procSpec) string { return powertest.WriteProc(t, dir, s) }

func setStat(t testing.TB, dir string, busyS, idleS float64) {
	powertest.SetCPUTimes(t, dir, busyS, idleS)
}

func discoverEstimate(t *testing.T, proc string) (cpu, ram power.Source) {
	t.Helper()
	d, err := power.Discover(t.Context(), power.WithKinds(power.KindCPU, power.KindDRAM),
		power.WithSysfsRoot(t.TempDir()), power.WithProcRoot(proc), power.WithCPUCalibration(""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	require.Len(t, d.Sources, 2)
	return d.Sources[0], d.Sources[1]
}

func TestCPUEstimateModels(t *testing.T) {
	tests := []struct {
		name   string
		spec   procSpec
		detail string
		vcpu   bool // the per-vCPU figures, whose error is not quantified
		// watts at 0 %, 50 % and 100 % load
		idle, half, full float64
	}{
		{
			name:   "known model on bare metal: TDP × sockets on Teads' curve",
			spec:   procSpec{Model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", CPUs: 80, Sockets: 2},
			detail: "TDP 150 W (Intel Xeon Gold 6248) × 2 socket(s)",
			idle:   0.12 * 300, half: 0.75 * 300, full: 1.02 * 300,
		},
		{
			name:   "known AMD model in a VM: the vCPUs' share of the host package",
			spec:   procSpec{Model: "AMD EPYC 7763 64-Core Processor", CPUs: 16, VM: true},
			detail: "TDP 280 W (AMD EPYC 7763) × 16 vCPU / 128 threads",
			idle:   0.12 * 35, half: 0.75 * 35, full: 1.02 * 35,
		},
		{
			name:   "unknown model (this CI machine's 'AMD EPYC'): per-vCPU figures",
			spec:   procSpec{Model: "AMD EPYC", CPUs: 2, VM: true},
			detail: "CPU model not in the TDP table: 2 vCPU × 0.74–3.5 W",
			vcpu:   true,
			idle:   2 * 0.74, half: 2 * (0.74 + 0.5*2.76), full: 2 * 3.5,
		},
		{
			name:   "known Intel model in a VM: share unknown, per-vCPU figures",
			spec:   procSpec{Model: "Intel(R) Xeon(R) Platinum 8480+", CPUs: 8, VM: true},
			detail: "VM whose share of the host CPU is unknown",
			vcpu:   true,
			idle:   8 * 0.74, half: 8 * (0.74 + 0.5*2.76), full: 8 * 3.5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := writeProc(t, tt.spec)
			cpu, _ := discoverEstimate(t, proc)
			info := cpu.Info()
			assert.Equal(t, power.MethodEstimated, info.Method)
			assert.Equal(t, power.KindCPU, info.Kind)
			assert.Contains(t, info.Detail, tt.detail)
			// The TDP model's error was measured (CodeCarbon's load
			// profiles); the per-vCPU figures' was not.
			wantU, wantSrc := 0.342, "CodeCarbon"
			if tt.vcpu {
				wantU, wantSrc = 0, "not quantified"
			}
			assert.InDelta(t, wantU, info.Uncertainty, 1e-9, "CodeCarbon's load profiles")
			assert.Contains(t, info.UncertaintySource, wantSrc)

			var r power.Reading
			require.NoError(t, cpu.Read(t.Context(), &r)) // primes at busy 0 s, idle 0 s
			for _, step := range []struct{ busy, idle, want float64 }{
				{0, 10, tt.idle},  // +0 busy, +10 idle: 0 %
				{5, 15, tt.half},  // +5 busy, +5 idle: 50 %
				{15, 15, tt.full}, // +10 busy, +0 idle: 100 %
			} {
				setStat(t, proc, step.busy, step.idle)
				require.NoError(t, cpu.Read(t.Context(), &r))
				assert.True(t, r.Average, "the estimate is a mean over the interval")
				assert.InDelta(t, step.want, float64(r.Power), 1e-6, "busy %v idle %v", step.busy, step.idle)
			}
		})
	}
}

func TestRAMEstimate(t *testing.T) {
	proc := writeProc(t, procSpec{Model: "AMD EPYC", CPUs: 2, MemKB: 24_683_656})
	_, ram := discoverEstimate(t, proc)
	info := ram.Info()
	assert.Equal(t, power.KindDRAM, info.Kind)
	assert.Equal(t, power.MethodEstimated, info.Method)
	assert.Contains(t, info.Detail, "0.392 W/GB")
	assert.Zero(t, info.Uncertainty)
	assert.Contains(t, info.UncertaintySource, "not quantified")
	var r power.Reading
	require.NoError(t, ram.Read(t.Context(), &r))
	assert.InDelta(t, 24_683_656*1024/1e9*0.392, float64(r.Power), 1e-9)
}

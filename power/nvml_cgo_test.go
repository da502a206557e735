//go:build linux && cgo

package power_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/internal/fakenvml"
	"github.com/carbontrack/carbontrack/sampler"
)

// These tests run carbontrack's NVML source through go-nvml's real cgo path:
// dlopen of a C stand-in for libnvidia-ml.so.1 (power/internal/fakenvml),
// built by the tests with gcc, whose GPUs draw a known square wave. A process
// can bind only one such library, so each scenario runs in a child process.

// squareGPU draws 100 W / 300 W at 1 Hz, 50 % duty.
func squareGPU(counter, samples bool) fakenvml.GPU {
	return fakenvml.GPU{IdleW: 100, BusyW: 300, Period: time.Second, Duty: 0.5, Counter: counter, Samples: samples,
		SamplePeriod: 20 * time.Millisecond, PowerMode: fakenvml.PowerInstant, LimitW: 700}
}

var cgoConfigs = map[string]fakenvml.Config{
	// GPU 0: energy counter; GPU 1: power sample buffer only; GPU 2: only
	// nvmlDeviceGetPowerUsage (instantaneous, like A100).
	"accuracy": {GPUs: []fakenvml.GPU{squareGPU(true, true), squareGPU(false, true), squareGPU(false, false)}},
	// GPU 0 falls off the bus after 1.5 s.
	"lost": {GPUs: []fakenvml.GPU{
		{IdleW: 200, BusyW: 200, Counter: true, LimitW: 700, LostAfter: 1500 * time.Millisecond},
		{IdleW: 100, BusyW: 100, Counter: true, LimitW: 700},
	}},
	"init_fails": {InitError: 9, GPUs: []fakenvml.GPU{squareGPU(true, true)}}, // NVML_ERROR_DRIVER_NOT_LOADED
	"forced":     {GPUs: []fakenvml.GPU{squareGPU(true, true)}},
}

var cgoScenarios = map[string]func(t *testing.T){
	"accuracy":   scenarioAccuracy,
	"lost":       scenarioLost,
	"init_fails": scenarioInitFails,
	"forced":     scenarioForced,
	"not_nvml":   scenarioNotNVML,
	"partial":    scenarioPartialNVML,
}

func TestHelperProcess(t *testing.T) { fakenvml.RunHelper(t, cgoScenarios) }

func runCgoScenario(t *testing.T, name string) {
	t.Helper()
	lib := fakenvml.Build(t)
	out := fakenvml.RunInSubprocess(t, name, fakenvml.Env(lib, cgoConfigs[name].Write(t))...)
	t.Log(out)
}

func TestNVMLThroughCgoAccuracy(t *testing.T)  { runCgoScenario(t, "accuracy") }
func TestNVMLThroughCgoLostGPU(t *testing.T)   { runCgoScenario(t, "lost") }
func TestNVMLThroughCgoInitFails(t *testing.T) { runCgoScenario(t, "init_fails") }
func TestNVMLThroughCgoForced(t *testing.T)    { runCgoScenario(t, "forced") }

// A library that loads but is not NVML used to end the process with "symbol
// lookup error: undefined symbol: nvmlInit" (exit 127) at go-nvml's Init:
// the check runs in a child process so that such a death fails the test
// instead of ending the test binary.
func TestNVMLLibraryThatIsNotNVML(t *testing.T) {
	out := fakenvml.RunInSubprocess(t, "not_nvml", fakenvml.EnvLibrary+"=libm.so.6")
	t.Log(out)
}

// partialNVML is a library with NVML's Init and Shutdown but none of the
// device functions: Init succeeds, and the first device call would end the
// process.
const partialNVML = `
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int r) { (void)r; return "error"; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return 0; }
`

func TestNVMLLibraryMissingFunctions(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the partial library with")
	}
	dir := t.TempDir()
	src, lib := filepath.Join(dir, "partial.c"), filepath.Join(dir, "libnvidia-ml.so.1")
	require.NoError(t, os.WriteFile(src, []byte(partialNVML), 0o644))
	out, err := exec.Command(cc, "-shared", "-fPIC", "-o", lib, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Log(fakenvml.RunInSubprocess(t, "partial", fakenvml.EnvLibrary+"="+lib))
}

func scenarioNotNVML(t *testing.T) {
	d := discoverFake(t)
	defer d.Close()
	assert.Empty(t, d.Sources)
	require.Len(t, d.Unavailable, 1)
	u := d.Unavailable[0]
	assert.Equal(t, "nvml", u.Name)
	assert.ErrorIs(t, u.Err, power.ErrNotFound)
	assert.Contains(t, u.Reason(), "libm.so.6 is not NVML (libnvidia-ml.so.1)")
	assert.Contains(t, u.Reason(), "point --nvml-lib or "+power.EnvNVMLLibrary+" at libnvidia-ml.so.1, or leave them unset")
	assert.Contains(t, u.Reason(), "GPUs are not measured")
}

func scenarioPartialNVML(t *testing.T) {
	d := discoverFake(t)
	defer d.Close()
	assert.Empty(t, d.Sources)
	require.Len(t, d.Unavailable, 1)
	assert.Contains(t, d.Unavailable[0].Reason(), "is not a complete NVML (libnvidia-ml.so.1): it lacks nvmlDeviceGetHandleByIndex_v2, ")
}

func discoverFake(t *testing.T, opts ...power.Option) *power.Discovery {
	t.Helper()
	opts = append([]power.Option{power.WithKinds(power.KindGPU), power.WithNVMLLibrary(os.Getenv(fakenvml.EnvLibrary)),
		power.WithCUDAVisibleDevices("0,1,2")}, opts...)
	d, err := power.Discover(context.Background(), opts...)
	require.NoError(t, err)
	d.Unavailable = withoutAMDSMI(d.Unavailable)
	return d
}

func scenarioAccuracy(t *testing.T) {
	d := discoverFake(t)
	defer d.Close()
	require.Len(t, d.Sources, 3, "%v", d.Unavailable)
	assert.Equal(t, power.MethodCounter, d.Sources[0].Info().Method)
	assert.Equal(t, power.MethodSampled, d.Sources[1].Info().Method)
	assert.Contains(t, d.Sources[1].Info().Detail, "sample buffer")
	assert.Equal(t, power.MethodSampled, d.Sources[2].Info().Method)
	assert.Contains(t, d.Sources[2].Info().Detail, "GetPowerUsage")

	s, err := sampler.New(d.Sources) // default settings: power readings every 100 ms
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	time.Sleep(6 * time.Second)
	s.Stop()
	snap := s.Snapshot()
	truth := squareGPU(true, true).EnergyBetween(snap.Start, snap.Time)
	// Counter 0.1 %, buffer 1 %. Plain GetPowerUsage readings of a square
	// wave are at the mercy of when each tick actually runs: in real time on
	// a loaded 2-core machine a 6 s window has seen 1.7 %, so 3 % here; the
	// 1 % claim at the default interval rests on the deterministic sampler
	// tests (synctest and jittered ticks), not on this one.
	for i, want := range []float64{0.001, 0.01, 0.03} {
		got := float64(snap.Sources[i].Energy)
		t.Logf("%s (%s): %.3f J, truth %.3f J, error %+.3f %%", snap.Sources[i].Info.Name, snap.Sources[i].Info.Detail,
			got, truth, 100*(got-truth)/truth)
		assert.InEpsilon(t, truth, got, want, "source %d", i)
	}
}

func scenarioLost(t *testing.T) {
	d := discoverFake(t, power.WithCUDAVisibleDevices("0,1"))
	defer d.Close()
	require.Len(t, d.Sources, 2)
	// A GPU that falls off the bus keeps the energy read before; what it drew
	// since its last read is unknown. Read counters every 100 ms here so that
	// "the energy so far" is about all of it (at the default 10 s it is the
	// energy up to the last read).
	s, err := sampler.New(d.Sources, sampler.WithInterval(100*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	time.Sleep(2500 * time.Millisecond)
	s.Stop()
	snap := s.Snapshot()
	lost, ok := snap.Sources[0], snap.Sources[1]
	assert.True(t, lost.Lost)
	assert.ErrorIs(t, lost.Err, power.ErrLost)
	assert.InDelta(t, 300, float64(lost.Energy), 30, "about 1.5 s at 200 W is kept")
	assert.False(t, ok.Lost)
	assert.InEpsilon(t, 100*snap.Time.Sub(snap.Start).Seconds(), float64(ok.Energy), 0.01, "the other GPU goes on")
}

func scenarioInitFails(t *testing.T) {
	d := discoverFake(t)
	defer d.Close()
	assert.Empty(t, d.Sources)
	require.Len(t, d.Unavailable, 1)
	assert.ErrorIs(t, d.Unavailable[0].Err, power.ErrNotFound)
	assert.Contains(t, d.Unavailable[0].Reason(), "kernel driver is not loaded")
	// Had any NVML call followed the failed Init on a missing library, the
	// process would have died; with the stand-in it would return
	// UNINITIALIZED. Either way, reaching here with nothing discovered is the
	// point.
}

func scenarioForced(t *testing.T) {
	d := discoverFake(t, power.WithCUDAVisibleDevices("0"), power.WithGPUPowerSampling())
	defer d.Close()
	require.Len(t, d.Sources, 1)
	assert.Equal(t, power.MethodSampled, d.Sources[0].Info().Method)
	assert.Contains(t, d.Sources[0].Info().Detail, "power sampling forced")
	var r power.Reading
	require.NoError(t, d.Sources[0].Read(context.Background(), &r))
	require.Len(t, r.Samples, 1, "the first read keeps only the newest buffered sample, not the history")
}

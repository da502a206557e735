//go:build cgo

package fakenvml_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power/internal/fakenvml"
)

// configs holds each helper scenario's config: the parent writes it, the
// helper process reads its expectations from it.
var configs = map[string]fakenvml.Config{
	"init_error_9":  {InitError: int(nvml.ERROR_DRIVER_NOT_LOADED), GPUs: []fakenvml.GPU{fakenvml.DefaultGPU(0)}},
	"init_error_18": {InitError: int(nvml.ERROR_LIB_RM_VERSION_MISMATCH)},
	"identity": {Driver: "535.161.08", GPUs: []fakenvml.GPU{
		{Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-11111111-2222-3333-4444-555555555555",
			IdleW: 70, BusyW: 650, Duty: 0.5, Counter: true, Samples: true, PowerMode: fakenvml.PowerAvg1s,
			LimitW: 700, PIDs: []int{1234, 5678, 4000000000}, MIGUUID: "MIG-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
		{Name: "NVIDIA A100-SXM4-40GB", IdleW: 50, BusyW: 400, LimitW: 312.5},
	}},
	"energy": {GPUs: []fakenvml.GPU{
		{IdleW: 50, BusyW: 350, Period: 137 * time.Millisecond, Duty: 0.6, Counter: true, CounterOffsetMJ: 1e12},
		{IdleW: 50, BusyW: 350, Counter: false},
	}},
	"samples": {GPUs: []fakenvml.GPU{
		{IdleW: 80, BusyW: 400, Period: 250 * time.Millisecond, Duty: 0.4, Samples: true},
		{IdleW: 80, BusyW: 400, Samples: false},
	}},
	"avg1s": {GPUs: []fakenvml.GPU{
		{IdleW: 100, BusyW: 500, Period: 2 * time.Second, Duty: 0.5, PowerMode: fakenvml.PowerAvg1s},
		{IdleW: 100, BusyW: 500, Period: 300 * time.Millisecond, Duty: 0.5, PowerMode: fakenvml.PowerInstant},
	}},
	"lost": {GPUs: []fakenvml.GPU{
		{IdleW: 60, BusyW: 300, Counter: true, Samples: true, LostAfter: 300 * time.Millisecond, PIDs: []int{7}},
		{IdleW: 60, BusyW: 300, Counter: true},
	}},
	"reinit": {GPUs: []fakenvml.GPU{
		{Name: "first config", IdleW: 100, BusyW: 100, Counter: true},
	}},
	"concurrent": {GPUs: []fakenvml.GPU{
		{IdleW: 60, BusyW: 300, Period: 10 * time.Millisecond, Duty: 0.5, Counter: true, Samples: true},
		{IdleW: 40, BusyW: 200, Period: 30 * time.Millisecond, Duty: 0.2, Counter: true, Samples: true},
	}},
	"fails": {},
}

var scenarios = map[string]func(t *testing.T){
	"init_error_9":    scenarioInitError,
	"init_error_18":   scenarioInitError,
	"missing_library": scenarioMissingLibrary,
	"identity":        scenarioIdentity,
	"energy":          scenarioEnergy,
	"samples":         scenarioSamples,
	"avg1s":           scenarioAvg1s,
	"lost":            scenarioLost,
	"reinit":          scenarioReinit,
	"concurrent":      scenarioConcurrent,
	"fails":           func(t *testing.T) { t.Error("deliberate failure") },
	"skips":           func(t *testing.T) { t.Skip("deliberate skip") },
}

// TestHelperProcess runs a scenario in a process started by
// fakenvml.RunInSubprocess; in an ordinary run it does nothing.
func TestHelperProcess(t *testing.T) { fakenvml.RunHelper(t, scenarios) }

// TestThroughGoNVML runs every scenario, each in its own process, against
// one build of the stand-in.
func TestThroughGoNVML(t *testing.T) {
	t.Parallel()
	lib := fakenvml.Build(t)
	for _, name := range []string{"init_error_9", "init_error_18", "identity", "energy", "samples", "avg1s", "lost", "reinit", "concurrent", "missing_library"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var env []string
			if cfg, ok := configs[name]; ok {
				env = fakenvml.Env(lib, cfg.Write(t))
			}
			out := fakenvml.RunInSubprocess(t, name, env...)
			if testing.Verbose() {
				t.Log(out)
			}
		})
	}
}

// scenarioConfig is the config of the running scenario.
func scenarioConfig(t *testing.T) fakenvml.Config {
	c, ok := configs[fakenvml.Scenario()]
	require.True(t, ok, "no config for scenario %q", fakenvml.Scenario())
	return c
}

func device(t *testing.T, l nvml.Interface, i int) nvml.Device {
	t.Helper()
	d, ret := l.DeviceGetHandleByIndex(i)
	require.Equal(t, nvml.SUCCESS, ret, "DeviceGetHandleByIndex(%d)", i)
	return d
}

func scenarioInitError(t *testing.T) {
	want := nvml.Return(scenarioConfig(t).InitError)
	l := nvml.New(nvml.WithLibraryPath(fakenvml.Library(t)))
	ret := l.Init()
	require.Equal(t, want, ret)
	// go-nvml loaded the library, so Return's text now comes from the
	// stand-in's nvmlErrorString.
	names := map[nvml.Return]string{nvml.ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded", nvml.ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch"}
	assert.Equal(t, names[want], ret.Error())
	assert.Equal(t, names[want], l.ErrorString(ret))
	_, ret = l.DeviceGetCount()
	assert.Equal(t, nvml.ERROR_UNINITIALIZED, ret)
	_, ret = l.SystemGetDriverVersion()
	assert.Equal(t, nvml.ERROR_UNINITIALIZED, ret)
	assert.Equal(t, nvml.ERROR_UNINITIALIZED, l.Shutdown())
}

func scenarioMissingLibrary(t *testing.T) {
	l := nvml.New(nvml.WithLibraryPath(filepath.Join(t.TempDir(), "libnvidia-ml.so.1")))
	assert.Equal(t, nvml.ERROR_LIBRARY_NOT_FOUND, l.Init())
}

func scenarioIdentity(t *testing.T) {
	cfg := scenarioConfig(t)
	l := fakenvml.Open(t, fakenvml.Library(t))

	v, ret := l.SystemGetDriverVersion()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, "535.161.08", v)
	v, ret = l.SystemGetNVMLVersion()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, "12.535.161.08", v)

	n, ret := l.DeviceGetCount()
	require.Equal(t, nvml.SUCCESS, ret)
	require.Equal(t, 2, n)
	_, ret = l.DeviceGetHandleByIndex(2)
	assert.Equal(t, nvml.ERROR_INVALID_ARGUMENT, ret)

	wantUUID := []string{cfg.GPUs[0].UUID, fakenvml.DefaultUUID(1)}
	wantArch := []nvml.DeviceArchitecture{nvml.DEVICE_ARCH_HOPPER, nvml.DEVICE_ARCH_AMPERE}
	wantLimit := []uint32{700000, 312500}
	for i := range 2 {
		d := device(t, l, i)
		name, ret := d.GetName()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, cfg.GPUs[i].Name, name)
		uuid, ret := d.GetUUID()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, wantUUID[i], uuid)
		idx, ret := d.GetIndex()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, i, idx)
		arch, ret := d.GetArchitecture()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, wantArch[i], arch)
		lim, ret := d.GetEnforcedPowerLimit()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, wantLimit[i], lim)
		lim, ret = d.GetPowerManagementLimit()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, wantLimit[i], lim)
		isMig, ret := d.IsMigDeviceHandle()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.False(t, isMig)

		byUUID, ret := l.DeviceGetHandleByUUID(wantUUID[i])
		require.Equal(t, nvml.SUCCESS, ret)
		idx, ret = byUUID.GetIndex()
		require.Equal(t, nvml.SUCCESS, ret)
		assert.Equal(t, i, idx)
	}
	_, ret = l.DeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000bad")
	assert.Equal(t, nvml.ERROR_NOT_FOUND, ret)

	// Processes: go-nvml's v3 call, through its INSUFFICIENT_SIZE loop.
	d0, d1 := device(t, l, 0), device(t, l, 1)
	procs, ret := d0.GetComputeRunningProcesses()
	require.Equal(t, nvml.SUCCESS, ret)
	require.Len(t, procs, 3)
	for i, pid := range []uint32{1234, 5678, 4000000000} {
		assert.Equal(t, pid, procs[i].Pid)
		assert.Equal(t, uint64(512<<20), procs[i].UsedGpuMemory)
		assert.Equal(t, uint32(1), procs[i].GpuInstanceId) // MIG enabled
		assert.Equal(t, uint32(0), procs[i].ComputeInstanceId)
	}
	procs, ret = d1.GetComputeRunningProcesses()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Empty(t, procs)

	// MIG.
	cur, pend, ret := d0.GetMigMode()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, [2]int{nvml.DEVICE_MIG_ENABLE, nvml.DEVICE_MIG_ENABLE}, [2]int{cur, pend})
	cur, pend, ret = d1.GetMigMode()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, [2]int{nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_DISABLE}, [2]int{cur, pend})
	mig, ret := l.DeviceGetHandleByUUID(cfg.GPUs[0].MIGUUID)
	require.Equal(t, nvml.SUCCESS, ret)
	isMig, ret := mig.IsMigDeviceHandle()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.True(t, isMig)
	uuid, ret := mig.GetUUID()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, cfg.GPUs[0].MIGUUID, uuid)
	parent, ret := mig.GetDeviceHandleFromMigDeviceHandle()
	require.Equal(t, nvml.SUCCESS, ret)
	uuid, ret = parent.GetUUID()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, cfg.GPUs[0].UUID, uuid)
	_, ret = d0.GetDeviceHandleFromMigDeviceHandle()
	assert.Equal(t, nvml.ERROR_INVALID_ARGUMENT, ret)
	_, ret = mig.GetTotalEnergyConsumption()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = mig.GetPowerUsage()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, _, ret = mig.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = mig.GetEnforcedPowerLimit()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	// MIG mode is off on GPU 1, so a handle lookup by a MIG UUID fails.
	_, ret = l.DeviceGetHandleByUUID("MIG-bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee")
	assert.Equal(t, nvml.ERROR_NOT_FOUND, ret)

	// Functions the stand-in only stubs answer NOT_SUPPORTED instead of
	// killing the process with "symbol lookup error".
	_, ret = d0.GetMemoryInfo()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = d0.GetTemperature(nvml.TEMPERATURE_GPU)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = l.SystemGetCudaDriverVersion()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	assert.Equal(t, "Not Supported", ret.Error())
}

// bracketed calls f between two clock reads, retrying (up to 50 times) until
// the two are within 100 µs of each other so a scheduling delay does not
// blur the time the stand-in read its clock.
func bracketed(t *testing.T, f func() nvml.Return) (before, after time.Time) {
	t.Helper()
	for range 50 {
		before = time.Now()
		ret := f()
		after = time.Now()
		require.Equal(t, nvml.SUCCESS, ret)
		if after.Sub(before) < 100*time.Microsecond {
			break
		}
	}
	return before, after
}

func mid(a, b time.Time) time.Time { return a.Add(b.Sub(a) / 2) }

func scenarioEnergy(t *testing.T) {
	g := scenarioConfig(t).GPUs[0]
	initBefore := time.Now()
	l := fakenvml.Open(t, fakenvml.Library(t))
	initAfter := time.Now()
	d := device(t, l, 0)

	// Read the counter 11 times over ~0.5 s, at varied phases of the wave.
	type read struct {
		before, after time.Time
		mj            uint64
	}
	var reads []read
	for i := range 11 {
		if i > 0 {
			time.Sleep(45 * time.Millisecond)
		}
		var r read
		r.before, r.after = bracketed(t, func() nvml.Return {
			var ret nvml.Return
			r.mj, ret = d.GetTotalEnergyConsumption()
			return ret
		})
		reads = append(reads, r)
	}

	// The counter starts at CounterOffsetMJ at nvmlInit.
	sinceInit := float64(reads[0].mj-g.CounterOffsetMJ) / 1000
	assert.GreaterOrEqual(t, sinceInit, g.EnergyBetween(initAfter, reads[0].before)-0.001)
	assert.LessOrEqual(t, sinceInit, g.EnergyBetween(initBefore, reads[0].after)+0.001)

	// Each interval within exact bounds (power >= 0), give or take the
	// counter's 1 mJ resolution.
	for i := 1; i < len(reads); i++ {
		p, r := reads[i-1], reads[i]
		got := float64(r.mj-p.mj) / 1000
		assert.GreaterOrEqual(t, got, g.EnergyBetween(p.after, r.before)-0.001, "interval %d", i)
		assert.LessOrEqual(t, got, g.EnergyBetween(p.before, r.after)+0.001, "interval %d", i)
	}

	// The whole run within 0.1 %.
	first, last := reads[0], reads[len(reads)-1]
	got := float64(last.mj-first.mj) / 1000
	truth := g.EnergyBetween(mid(first.before, first.after), mid(last.before, last.after))
	assert.InEpsilon(t, truth, got, 0.001, "counter %.3f J, truth %.3f J", got, truth)
	t.Logf("counter delta %.3f J, truth %.3f J over %v", got, truth, last.after.Sub(first.before))

	_, ret := device(t, l, 1).GetTotalEnergyConsumption()
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, ret = device(t, l, 1).GetPowerUsage()
	assert.Equal(t, nvml.SUCCESS, ret)
}

func sampleMW(s nvml.Sample) uint32 { return binary.LittleEndian.Uint32(s.SampleValue[:4]) }

func checkSamples(t *testing.T, g fakenvml.GPU, s []nvml.Sample, after uint64) {
	t.Helper()
	for i, x := range s {
		assert.Greater(t, x.TimeStamp, after, "sample %d", i)
		assert.Zero(t, x.TimeStamp%20000, "sample %d timestamp %d", i, x.TimeStamp)
		if i > 0 {
			assert.Equal(t, s[i-1].TimeStamp+20000, x.TimeStamp, "sample %d", i)
		}
		assert.Equal(t, g.PowerMilliwattsAt(time.UnixMicro(int64(x.TimeStamp))), sampleMW(x), "sample %d at %d", i, x.TimeStamp)
	}
}

func scenarioSamples(t *testing.T) {
	g := scenarioConfig(t).GPUs[0]
	l := fakenvml.Open(t, fakenvml.Library(t))
	d := device(t, l, 0)

	before := time.Now()
	vt, s, ret := d.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
	after := time.Now()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, nvml.VALUE_TYPE_UNSIGNED_INT, vt)
	require.Len(t, s, fakenvml.RingLen) // the buffer is full of earlier history
	checkSamples(t, g, s, 0)
	last := s[len(s)-1].TimeStamp
	assert.LessOrEqual(t, int64(last), after.UnixMicro())
	assert.Greater(t, int64(last), before.UnixMicro()-20000)
	seen := map[uint32]bool{}
	for _, x := range s {
		seen[sampleMW(x)] = true
	}
	assert.Equal(t, map[uint32]bool{80000: true, 400000: true}, seen)

	// Only samples newer than lastSeen.
	lastSeen := s[59].TimeStamp
	_, s2, ret := d.GetSamples(nvml.TOTAL_POWER_SAMPLES, lastSeen)
	require.Equal(t, nvml.SUCCESS, ret)
	require.GreaterOrEqual(t, len(s2), 60)
	assert.Equal(t, lastSeen+20000, s2[0].TimeStamp)
	checkSamples(t, g, s2, lastSeen)

	// Nothing newer: NOT_FOUND, as the driver answers.
	_, s3, ret := d.GetSamples(nvml.TOTAL_POWER_SAMPLES, uint64(time.Now().Add(time.Hour).UnixMicro()))
	assert.Equal(t, nvml.ERROR_NOT_FOUND, ret)
	assert.Empty(t, s3)

	// New samples appear as time passes, one per 20 ms.
	time.Sleep(110 * time.Millisecond)
	before = time.Now()
	_, s4, ret := d.GetSamples(nvml.TOTAL_POWER_SAMPLES, last)
	require.Equal(t, nvml.SUCCESS, ret)
	require.NotEmpty(t, s4)
	assert.Equal(t, last+20000, s4[0].TimeStamp)
	assert.GreaterOrEqual(t, len(s4), int(before.UnixMicro()-int64(last))/20000)
	checkSamples(t, g, s4, last)

	_, _, ret = d.GetSamples(nvml.GPU_UTILIZATION_SAMPLES, 0)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
	_, _, ret = device(t, l, 1).GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
	assert.Equal(t, nvml.ERROR_NOT_SUPPORTED, ret)
}

func scenarioAvg1s(t *testing.T) {
	cfg := scenarioConfig(t)
	l := fakenvml.Open(t, fakenvml.Library(t))
	avg, inst := device(t, l, 0), device(t, l, 1)
	ga, gi := cfg.GPUs[0], cfg.GPUs[1]
	slope := ga.BusyW - ga.IdleW // W/s: the mean over the last second changes at most this fast
	for range 6 {
		var mw uint32
		var ret nvml.Return
		a, b := bracketed(t, func() nvml.Return { mw, ret = avg.GetPowerUsage(); return ret })
		want := ga.AvgPowerAt(a) * 1000
		tol := 1 + slope*1000*b.Sub(a).Seconds()
		assert.InDelta(t, want, float64(mw), tol, "avg1s power at %v", a)

		a, b = bracketed(t, func() nvml.Return { mw, ret = inst.GetPowerUsage(); return ret })
		assert.Contains(t, []uint32{gi.PowerMilliwattsAt(a), gi.PowerMilliwattsAt(b)}, mw, "instant power at %v", a)
		time.Sleep(37 * time.Millisecond)
	}
}

func scenarioLost(t *testing.T) {
	initBefore := time.Now()
	l := fakenvml.Open(t, fakenvml.Library(t))
	d0, d1 := device(t, l, 0), device(t, l, 1)
	if time.Since(initBefore) < 200*time.Millisecond {
		_, ret := d0.GetTotalEnergyConsumption()
		assert.Equal(t, nvml.SUCCESS, ret, "before lost_after")
	}
	time.Sleep(time.Until(initBefore.Add(350 * time.Millisecond)))

	lost := func(what string, ret nvml.Return) {
		assert.Equal(t, nvml.ERROR_GPU_IS_LOST, ret, what)
	}
	_, ret := d0.GetName()
	lost("GetName", ret)
	assert.Equal(t, "GPU is lost", ret.Error())
	_, ret = d0.GetUUID()
	lost("GetUUID", ret)
	_, ret = d0.GetTotalEnergyConsumption()
	lost("GetTotalEnergyConsumption", ret)
	_, ret = d0.GetPowerUsage()
	lost("GetPowerUsage", ret)
	_, _, ret = d0.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
	lost("GetSamples", ret)
	_, ret = d0.GetComputeRunningProcesses()
	lost("GetComputeRunningProcesses", ret)
	_, ret = d0.GetEnforcedPowerLimit()
	lost("GetEnforcedPowerLimit", ret)
	_, ret = l.DeviceGetHandleByIndex(0)
	lost("DeviceGetHandleByIndex", ret)

	_, ret = d1.GetTotalEnergyConsumption()
	assert.Equal(t, nvml.SUCCESS, ret, "GPU 1 is not lost")
	n, ret := l.DeviceGetCount()
	assert.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, 2, n)
}

// scenarioReinit shows one process can Shutdown (go-nvml dlcloses) and
// Init again, the stand-in re-reading $FAKENVML_CONFIG, and that Init and
// Shutdown nest.
func scenarioReinit(t *testing.T) {
	lib := fakenvml.Library(t)
	l := nvml.New(nvml.WithLibraryPath(lib))
	require.Equal(t, nvml.SUCCESS, l.Init())
	d := device(t, l, 0)
	name, ret := d.GetName()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, "first config", name)

	// Nested Init/Shutdown keeps the library initialized, config unchanged.
	second := fakenvml.Config{GPUs: []fakenvml.GPU{
		{Name: "second config", IdleW: 10, BusyW: 10, Counter: true},
		fakenvml.DefaultGPU(1),
	}}
	t.Setenv(fakenvml.EnvConfig, second.Write(t))
	require.Equal(t, nvml.SUCCESS, l.Init())
	require.Equal(t, nvml.SUCCESS, l.Shutdown())
	n, ret := l.DeviceGetCount()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, 1, n)

	// Full Shutdown: go-nvml dlcloses the library, which stays mapped
	// (-z nodelete), so calls return UNINITIALIZED instead of crashing.
	require.Equal(t, nvml.SUCCESS, l.Shutdown())
	_, ret = l.DeviceGetCount()
	assert.Equal(t, nvml.ERROR_UNINITIALIZED, ret)
	_, ret = d.GetName()
	assert.Equal(t, nvml.ERROR_UNINITIALIZED, ret)

	// Init again: the new config is read and the counter restarts.
	before := time.Now()
	require.Equal(t, nvml.SUCCESS, l.Init())
	defer l.Shutdown()
	n, ret = l.DeviceGetCount()
	require.Equal(t, nvml.SUCCESS, ret)
	require.Equal(t, 2, n)
	d = device(t, l, 0)
	name, ret = d.GetName()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, "second config", name)
	e, ret := d.GetTotalEnergyConsumption()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.LessOrEqual(t, float64(e)/1000, second.GPUs[0].EnergyBetween(before, time.Now())+0.001)

	// A second go-nvml instance on the same path shares the library.
	l2 := nvml.New(nvml.WithLibraryPath(lib))
	require.Equal(t, nvml.SUCCESS, l2.Init())
	n, ret = l2.DeviceGetCount()
	require.Equal(t, nvml.SUCCESS, ret)
	assert.Equal(t, 2, n)
	require.Equal(t, nvml.SUCCESS, l2.Shutdown())
	_, ret = d.GetName()
	assert.Equal(t, nvml.SUCCESS, ret, "l still holds an init")
}

// scenarioConcurrent reads from several goroutines while another one
// shuts the library down to zero and initializes it again (reloading the
// config). Readers only call plain device functions: go-nvml's load()
// rewrites package-level function variables (versioned symbols,
// errorStringFunc), so calls through those would race with a re-Init.
func scenarioConcurrent(t *testing.T) {
	cfg := scenarioConfig(t)
	l := fakenvml.Open(t, fakenvml.Library(t))
	devs := []nvml.Device{device(t, l, 0), device(t, l, 1)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[nvml.Return]int{}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[nvml.Return]int{}
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					for k, v := range local {
						counts[k] += v
					}
					mu.Unlock()
					return
				default:
				}
				g, d := cfg.GPUs[(w+i)%2], devs[(w+i)%2]
				mw, ret := d.GetPowerUsage()
				local[ret]++
				if ret == nvml.SUCCESS && mw != uint32(g.IdleW*1000) && mw != uint32(g.BusyW*1000) {
					local[nvml.ERROR_UNKNOWN]++
				}
				_, ret = d.GetTotalEnergyConsumption()
				local[ret]++
				_, _, ret = d.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
				local[ret]++
			}
		}()
	}
	reinits := 0
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); reinits++ {
		require.Equal(t, nvml.SUCCESS, l.Shutdown())
		time.Sleep(time.Millisecond)
		require.Equal(t, nvml.SUCCESS, l.Init())
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d re-inits, results %v", reinits, counts)
	for ret := range counts {
		assert.Contains(t, []nvml.Return{nvml.SUCCESS, nvml.ERROR_UNINITIALIZED}, ret)
	}
	assert.Positive(t, counts[nvml.SUCCESS])
}

// recordTB records RunInSubprocess's verdict instead of failing the test.
type recordTB struct {
	testing.TB
	msg         string
	fatal, skip bool
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatalf(f string, a ...any) {
	r.msg, r.fatal = fmt.Sprintf(f, a...), true
	runtime.Goexit()
}
func (r *recordTB) Fatal(a ...any) { r.Fatalf("%s", fmt.Sprint(a...)) }
func (r *recordTB) Skipf(f string, a ...any) {
	r.msg, r.skip = fmt.Sprintf(f, a...), true
	runtime.Goexit()
}

func record(t *testing.T, f func(tb testing.TB)) *recordTB {
	r := &recordTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r
}

func TestRunInSubprocessVerdicts(t *testing.T) {
	t.Parallel()
	r := record(t, func(tb testing.TB) { fakenvml.RunInSubprocess(tb, "fails") })
	assert.True(t, r.fatal)
	assert.Contains(t, r.msg, `helper scenario "fails" failed`)
	assert.Contains(t, r.msg, "deliberate failure")

	r = record(t, func(tb testing.TB) { fakenvml.RunInSubprocess(tb, "no such scenario") })
	assert.True(t, r.fatal)
	assert.Contains(t, r.msg, `unknown helper scenario "no such scenario"`)

	r = record(t, func(tb testing.TB) { fakenvml.RunInSubprocess(tb, "skips") })
	assert.True(t, r.skip)
	assert.Contains(t, r.msg, "deliberate skip")
}

// compiler is the C compiler Build uses.
func compiler() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "gcc"
}

// goNVMLDir finds go-nvml's module directory, or skips.
func goNVMLDir(t *testing.T) string {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found; cannot locate go-nvml's nvml.h")
	}
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/NVIDIA/go-nvml").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("cannot locate go-nvml's module directory: %v", err)
	}
	return filepath.Join(dir, "pkg", "nvml")
}

// TestCLibrary checks the library at the C level, against go-nvml's own
// sources.
func TestCLibrary(t *testing.T) {
	t.Parallel()
	lib := fakenvml.Build(t)
	hdr := goNVMLDir(t)
	t.Run("prototypes", func(t *testing.T) { testPrototypes(t, hdr) })
	t.Run("abicheck", func(t *testing.T) { testABICheck(t, lib, hdr) })
	t.Run("exports", func(t *testing.T) { testExports(t, lib, hdr) })
}

// testPrototypes compiles the stand-in against go-nvml's nvml.h: every
// implemented function's prototype must match it.
func testPrototypes(t *testing.T, hdr string) {
	src := filepath.Join(t.TempDir(), "fakenvml.c")
	require.NoError(t, os.WriteFile(src, fakenvml.Source(), 0o644))
	out, err := exec.Command(compiler(), "-fsyntax-only", "-Wall", "-Werror", "-DFAKENVML_WITH_NVML_H",
		"-DNVML_NO_UNVERSIONED_FUNC_DEFS=1", "-I", hdr, src).CombinedOutput()
	require.NoError(t, err, "fakenvml.c against go-nvml's nvml.h:\n%s", out)
}

// testABICheck runs testdata/abicheck.c, built with go-nvml's nvml.h,
// against the library, for what go-nvml's Go API cannot reach.
func testABICheck(t *testing.T, lib, hdr string) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "abicheck")
	libDir := filepath.Dir(lib)
	out, err := exec.Command(compiler(), "-Wall", "-DNVML_NO_UNVERSIONED_FUNC_DEFS=1", "-I", hdr,
		"-o", bin, filepath.Join("testdata", "abicheck.c"),
		"-L", libDir, "-l:libnvidia-ml.so.1", "-Wl,-rpath,"+libDir).CombinedOutput()
	require.NoError(t, err, "compiling abicheck.c:\n%s", out)

	good := fakenvml.Config{GPUs: []fakenvml.GPU{{Name: "ABI GPU", IdleW: 100, BusyW: 400, Samples: true,
		PIDs: []int{11, 22, 33}, MIGUUID: "MIG-abi"}}}.Write(t)
	bad := filepath.Join(dir, "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("[gpu]\nidle_watts=5\n"), 0o644))
	out, err = exec.Command(bin, good, bad).CombinedOutput()
	require.NoError(t, err, "abicheck:\n%s", out)
	assert.Contains(t, string(out), "unknown key idle_watts=5")
	assert.Contains(t, string(out), "FAKENVML_CONFIG is not set")
	assert.Contains(t, string(out), "abicheck: OK")
}

// testExports checks that the library defines every function go-nvml can
// call (its C.nvml* call sites), so none can end a process with "symbol
// lookup error".
func testExports(t *testing.T, lib, hdr string) {
	nmTool, err := exec.LookPath("nm")
	if err != nil {
		t.Skip("nm not found")
	}
	out, err := exec.Command(nmTool, "-D", "--defined-only", lib).Output()
	require.NoError(t, err)
	defined := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			defined[f[2]] = true
		}
	}
	files, err := filepath.Glob(filepath.Join(hdr, "*.go"))
	require.NoError(t, err)
	var missing []string
	called := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, part := range strings.Split(string(b), "C.nvml")[1:] {
			end := strings.IndexFunc(part, func(r rune) bool {
				return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
			})
			if end < 0 || part[end] != '(' {
				continue
			}
			name := "nvml" + part[:end]
			called++
			if !defined[name] {
				missing = append(missing, name)
			}
		}
	}
	assert.Greater(t, called, 400)
	assert.Empty(t, missing)
}

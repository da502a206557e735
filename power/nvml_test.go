//go:build linux && cgo

package power_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

// gpuBehaviour scripts what a mock H100 supports.
type gpuBehaviour struct {
	counter, samples, usage bool
	watts                   float64 // constant draw
	pids                    []uint32
}

// h100s returns a DGX H100 mock (8 GPUs) whose devices behave as b says.
func h100s(t testing.TB, b gpuBehaviour) *server.Server {
	t.Helper()
	srv := dgxh100.New()
	start := time.Now()
	for _, d := range srv.Devices {
		dev := d.(*server.Device)
		dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS }
		dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) {
			if !b.counter {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return uint64(b.watts * float64(time.Since(start).Milliseconds())), nvml.SUCCESS
		}
		var mu sync.Mutex
		var last uint64
		dev.GetSamplesFunc = func(typ nvml.SamplingType, lastSeen uint64) (nvml.ValueType, []nvml.Sample, nvml.Return) {
			if !b.samples || typ != nvml.TOTAL_POWER_SAMPLES {
				return 0, nil, nvml.ERROR_NOT_SUPPORTED
			}
			mu.Lock()
			defer mu.Unlock()
			now := uint64(time.Now().UnixMicro())
			if now <= lastSeen || now == last {
				return nvml.VALUE_TYPE_UNSIGNED_INT, nil, nvml.ERROR_NOT_FOUND
			}
			last = now
			var s nvml.Sample
			s.TimeStamp = now
			binary.LittleEndian.PutUint32(s.SampleValue[:], uint32(b.watts*1000))
			return nvml.VALUE_TYPE_UNSIGNED_INT, []nvml.Sample{s}, nvml.SUCCESS
		}
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) {
			if !b.usage {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return uint32(b.watts * 1000), nvml.SUCCESS
		}
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			var out []nvml.ProcessInfo
			for _, p := range b.pids {
				out = append(out, nvml.ProcessInfo{Pid: p})
			}
			return out, nvml.SUCCESS
		}
	}
	return srv
}

func discoverGPUs(t *testing.T, lib nvml.Interface, opts ...power.Option) *power.Discovery {
	t.Helper()
	// The caller's CUDA_VISIBLE_DEVICES option, if any, comes later and wins.
	opts = append([]power.Option{power.WithNVML(lib), power.WithKinds(power.KindGPU), allVisible(),
		power.WithAMDSMILibrary(filepath.Join(t.TempDir(), "libamd_smi.so"))}, opts...)
	d, err := power.Discover(t.Context(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	d.Unavailable = withoutAMDSMI(d.Unavailable)
	return d
}

// withoutAMDSMI drops AMD SMI's entry (no libamd_smi.so in these tests),
// which NVML's tests are not about.
func withoutAMDSMI(u []power.Unavailable) []power.Unavailable {
	return slices.DeleteFunc(u, func(u power.Unavailable) bool { return u.Name == "amdsmi" })
}

func allVisible() power.Option { return power.WithCUDAVisibleDevices("0,1,2,3,4,5,6,7") }

func TestNVMLDiscoversEightH100WithCounters(t *testing.T) {
	srv := h100s(t, gpuBehaviour{counter: true, samples: true, usage: true, watts: 350})
	d := discoverGPUs(t, srv, allVisible())
	require.Len(t, d.Sources, 8)
	for i, s := range d.Sources {
		info := s.Info()
		assert.Equal(t, "gpu:"+string(rune('0'+i)), info.Name)
		assert.Equal(t, power.KindGPU, info.Kind)
		assert.Equal(t, i, info.Index)
		assert.Equal(t, "NVIDIA H100 80GB HBM3", info.Device)
		assert.Equal(t, srv.Devices[i].(*server.Device).UUID, info.UUID)
		assert.Equal(t, power.MethodCounter, info.Method, "the energy counter is preferred")
		assert.InDelta(t, 1400, float64(info.MaxPower), 1e-9, "twice the 700 W enforced limit")
	}
	assert.Empty(t, d.Unavailable)
}

func TestNVMLMethodChoice(t *testing.T) {
	tests := []struct {
		name   string
		b      gpuBehaviour
		force  bool
		method power.Method
		detail string
	}{
		{"counter", gpuBehaviour{counter: true, samples: true, usage: true}, false, power.MethodCounter, "energy counter"},
		{"forced sampling", gpuBehaviour{counter: true, samples: true, usage: true}, true, power.MethodSampled, "power sampling forced"},
		{"sample buffer", gpuBehaviour{samples: true, usage: true}, false, power.MethodSampled, "sample buffer"},
		{"power usage", gpuBehaviour{usage: true}, false, power.MethodSampled, "nvmlDeviceGetPowerUsage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.watts = 200
			opts := []power.Option{power.WithCUDAVisibleDevices("0")}
			if tt.force {
				opts = append(opts, power.WithGPUPowerSampling())
			}
			d := discoverGPUs(t, h100s(t, tt.b), opts...)
			require.Len(t, d.Sources, 1)
			assert.Equal(t, tt.method, d.Sources[0].Info().Method)
			assert.Contains(t, d.Sources[0].Info().Detail, tt.detail)
			var r power.Reading
			require.NoError(t, d.Sources[0].Read(t.Context(), &r))
			if tt.method == power.MethodSampled {
				got := r.Power
				if len(r.Samples) > 0 {
					got = r.Samples[len(r.Samples)-1].Power
				}
				assert.InDelta(t, 200, float64(got), 1e-9, "milliwatts converted to watts")
			}
		})
	}
	t.Run("nothing supported", func(t *testing.T) {
		d := discoverGPUs(t, h100s(t, gpuBehaviour{}), power.WithCUDAVisibleDevices("0"))
		assert.Empty(t, d.Sources)
		require.Len(t, d.Unavailable, 1)
		assert.Equal(t, "gpu:0", d.Unavailable[0].Name)
		assert.ErrorIs(t, d.Unavailable[0].Err, power.ErrNotSupported)
	})
}

func TestNVMLCounterRead(t *testing.T) {
	srv := h100s(t, gpuBehaviour{counter: true})
	dev := srv.Devices[0].(*server.Device)
	mj := uint64(5_000_000)
	dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return mj, nvml.SUCCESS }
	d := discoverGPUs(t, srv, power.WithCUDAVisibleDevices("0"))
	src := d.Sources[0]
	var r power.Reading
	require.NoError(t, src.Read(t.Context(), &r))
	assert.Zero(t, r.Energy)
	mj += 1234
	require.NoError(t, src.Read(t.Context(), &r))
	assert.InDelta(t, 1.234, float64(r.Energy), 1e-12, "mJ to J")
	mj = 10 // driver reload
	require.NoError(t, src.Read(t.Context(), &r))
	assert.True(t, r.Reset)
	assert.InDelta(t, 1.234, float64(r.Energy), 1e-12)
	mj = 1010
	require.NoError(t, src.Read(t.Context(), &r))
	assert.InDelta(t, 2.234, float64(r.Energy), 1e-12)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = src.Read(t.Context(), &r) }), "a counter read allocates nothing")

	dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return 0, nvml.ERROR_GPU_IS_LOST }
	err := src.Read(t.Context(), &r)
	assert.ErrorIs(t, err, power.ErrLost)
	assert.ErrorIs(t, err, nvml.ERROR_GPU_IS_LOST)
}

// spyLib records every NVML call made after Init.
type spyLib struct {
	*mock.Interface
	calls []string
}

func TestNVMLNoCallAfterFailedInit(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_NO_PERMISSION} {
		t.Run(ret.Error(), func(t *testing.T) {
			spy := &spyLib{}
			record := func(name string) { spy.calls = append(spy.calls, name) }
			spy.Interface = &mock.Interface{
				InitFunc:           func() nvml.Return { return ret },
				ShutdownFunc:       func() nvml.Return { record("Shutdown"); return nvml.SUCCESS },
				DeviceGetCountFunc: func() (int, nvml.Return) { record("DeviceGetCount"); return 0, nvml.SUCCESS },
				SystemGetDriverVersionFunc: func() (string, nvml.Return) {
					record("SystemGetDriverVersion")
					return "", nvml.SUCCESS
				},
				ErrorStringFunc: func(nvml.Return) string { record("ErrorString"); return "" },
			}
			d := discoverGPUs(t, spy.Interface)
			assert.Empty(t, d.Sources)
			require.Len(t, d.Unavailable, 1)
			assert.Equal(t, "nvml", d.Unavailable[0].Name)
			assert.ErrorIs(t, d.Unavailable[0].Err, ret)
			assert.Empty(t, spy.calls, "no NVML call after a failed Init: it would kill the process")
		})
	}
	t.Run("library not found says what to do", func(t *testing.T) {
		lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
		d := discoverGPUs(t, lib)
		assert.ErrorIs(t, d.Unavailable[0].Err, power.ErrNotFound)
		assert.Contains(t, d.Unavailable[0].Reason(), power.EnvNVMLLibrary)
	})
}

func TestNVMLShutdownOnceAfterLastClose(t *testing.T) {
	srv := h100s(t, gpuBehaviour{counter: true})
	shutdowns := 0
	srv.ShutdownFunc = func() nvml.Return { shutdowns++; return nvml.SUCCESS }
	d, err := power.Discover(t.Context(), power.WithNVML(srv), power.WithKinds(power.KindGPU), allVisible())
	require.NoError(t, err)
	require.Len(t, d.Sources, 8)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())
	assert.Equal(t, 1, shutdowns)
}

func TestCUDAVisibleDevices(t *testing.T) {
	srv := h100s(t, gpuBehaviour{counter: true})
	uuid := func(i int) string { return srv.Devices[i].(*server.Device).UUID }
	// A MIG instance on GPU 5.
	mig := &mock.Device{
		GetDeviceHandleFromMigDeviceHandleFunc: func() (nvml.Device, nvml.Return) { return srv.Devices[5], nvml.SUCCESS },
	}
	byUUID := srv.DeviceGetHandleByUUIDFunc
	srv.DeviceGetHandleByUUIDFunc = func(u string) (nvml.Device, nvml.Return) {
		if u == "MIG-0d2b2a5e-1c9a-5b63-9e0c-f5c3e7d21a4b" {
			return mig, nvml.SUCCESS
		}
		return byUUID(u)
	}
	tests := []struct {
		name, visible string
		want          []string
		unavailable   string
	}{
		{"indices in CUDA's order", "3,1", []string{"gpu:3", "gpu:1"}, ""},
		{"UUID", uuid(6), []string{"gpu:6"}, ""},
		{"UUID prefix and spaces", " " + uuid(2)[:12] + " , 0", []string{"gpu:2", "gpu:0"}, ""},
		{"MIG UUID maps to its parent", "MIG-0d2b2a5e-1c9a-5b63-9e0c-f5c3e7d21a4b", []string{"gpu:5"}, ""},
		{"duplicates once", "1,1," + uuid(1), []string{"gpu:1"}, ""},
		{"invalid entry stops the list", "4,9,2", []string{"gpu:4"}, "CUDA_VISIBLE_DEVICES=9"},
		{"unknown UUID", "GPU-ffffffff", nil, "CUDA_VISIBLE_DEVICES=GPU-ffffffff"},
		{"empty hides all", "", nil, "nvml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := discoverGPUs(t, srv, power.WithCUDAVisibleDevices(tt.visible))
			assert.Equal(t, tt.want, names(d))
			if tt.unavailable == "" {
				assert.Empty(t, d.Unavailable)
				return
			}
			require.Len(t, d.Unavailable, 1)
			assert.Equal(t, tt.unavailable, d.Unavailable[0].Name)
		})
	}
	t.Run("MIG detail says the parent is measured", func(t *testing.T) {
		d := discoverGPUs(t, srv, power.WithCUDAVisibleDevices("MIG-0d2b2a5e-1c9a-5b63-9e0c-f5c3e7d21a4b"))
		assert.Contains(t, d.Sources[0].Info().Detail, "parent GPU")
	})
}

func TestNVMLProcessView(t *testing.T) {
	self := uint32(os.Getpid())
	srv := h100s(t, gpuBehaviour{counter: true, watts: 100})
	// Our process runs on GPU 1 only.
	srv.Devices[1].(*server.Device).GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: self}}, nvml.SUCCESS
	}
	d := discoverGPUs(t, srv, power.WithCUDAVisibleDevices("0,1"), power.WithProcess(int(self)))
	require.Len(t, d.Sources, 2)
	var r power.Reading
	for range 3 {
		for _, s := range d.Sources {
			require.NoError(t, s.Read(t.Context(), &r))
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, d.Sources[0].Read(t.Context(), &r))
	assert.Zero(t, r.Energy, "GPU 0 runs nothing of ours")
	require.NoError(t, d.Sources[1].Read(t.Context(), &r))
	assert.Positive(t, float64(r.Energy), "GPU 1 counts from when our process was seen on it")
	assert.Contains(t, d.Sources[1].Info().Detail, "process tree")
}

func TestCUDADeviceOrderWarning(t *testing.T) {
	srv := h100s(t, gpuBehaviour{counter: true})
	srv.Devices[3].(*server.Device).GetNameFunc = func() (string, nvml.Return) { return "NVIDIA A100-SXM4-40GB", nvml.SUCCESS }
	t.Setenv("CUDA_VISIBLE_DEVICES", "0")
	t.Setenv("CUDA_DEVICE_ORDER", "")
	d, err := power.Discover(t.Context(), power.WithNVML(srv), power.WithKinds(power.KindGPU))
	require.NoError(t, err)
	defer d.Close()
	require.Len(t, d.Sources, 1)
	assert.Contains(t, d.Sources[0].Info().Detail, "CUDA_DEVICE_ORDER=PCI_BUS_ID", "mixed GPUs selected by index")

	t.Setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
	d2, err := power.Discover(t.Context(), power.WithNVML(srv), power.WithKinds(power.KindGPU))
	require.NoError(t, err)
	defer d2.Close()
	assert.NotContains(t, d2.Sources[0].Info().Detail, "CUDA_DEVICE_ORDER")
}

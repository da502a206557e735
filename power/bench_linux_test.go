//go:build linux && cgo

package power_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// benchGPU returns one mock H100 whose calls allocate nothing themselves, so
// the benchmark shows carbontrack's own cost.
func benchGPU(b *testing.B, counter bool) power.Source {
	srv := dgxh100.New()
	dev := srv.Devices[0].(*server.Device)
	var mj uint64
	var ts uint64
	one := make([]nvml.Sample, 1)
	binary.LittleEndian.PutUint32(one[0].SampleValue[:], 300_000)
	dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS }
	dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) {
		if !counter {
			return 0, nvml.ERROR_NOT_SUPPORTED
		}
		mj += 30_000
		return mj, nvml.SUCCESS
	}
	dev.GetSamplesFunc = func(nvml.SamplingType, uint64) (nvml.ValueType, []nvml.Sample, nvml.Return) {
		ts += 100_000
		one[0].TimeStamp = ts
		return nvml.VALUE_TYPE_UNSIGNED_INT, one, nvml.SUCCESS
	}
	d, err := power.Discover(context.Background(), power.WithNVML(srv), power.WithKinds(power.KindGPU), power.WithCUDAVisibleDevices("0"))
	if err != nil || len(d.Sources) != 1 {
		b.Fatalf("discover: %v %v", err, d.Unavailable)
	}
	b.Cleanup(func() { _ = d.Close() })
	return d.Sources[0]
}

func benchRead(b *testing.B, src power.Source) {
	ctx := context.Background()
	var r power.Reading
	r.Samples = make([]power.PowerSample, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Read(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead measures one read of each kind of source.
func BenchmarkRead(b *testing.B) {
	b.Run("nvml-counter-mock", func(b *testing.B) { benchRead(b, benchGPU(b, true)) })
	b.Run("nvml-sample-buffer-mock", func(b *testing.B) { benchRead(b, benchGPU(b, false)) })
	b.Run("rapl-package", func(b *testing.B) {
		root := powertest.WritePowercap(b, powertest.Zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 123456789})
		d, err := power.Discover(context.Background(), power.WithSysfsRoot(root), power.WithKinds(power.KindCPU))
		if err != nil || len(d.Sources) != 1 {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = d.Close() })
		benchRead(b, d.Sources[0])
	})
	for _, kind := range []power.Kind{power.KindCPU, power.KindDRAM} {
		b.Run(string(kind)+"-estimate", func(b *testing.B) {
			proc := powertest.WriteProc(b, filepath.Join(b.TempDir(), "proc"), powertest.Proc{Model: "AMD EPYC 7763 64-Core Processor", CPUs: 8})
			d, err := power.Discover(context.Background(), power.WithSysfsRoot(b.TempDir()), power.WithProcRoot(proc), power.WithKinds(kind))
			if err != nil || len(d.Sources) != 1 {
				b.Fatal(err)
			}
			benchRead(b, d.Sources[0])
		})
	}
}

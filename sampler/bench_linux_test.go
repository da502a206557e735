//go:build linux && cgo

package sampler_test

import (
	"context"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
)

// BenchmarkTick is one sampler tick over 8 mock H100 GPUs (energy counters)
// and 2 RAPL packages in a powercap tree: the sensor reads plus the
// integration, ring and snapshot bookkeeping.
func BenchmarkTick(b *testing.B) {
	srv := dgxh100.New()
	for _, d := range srv.Devices {
		dev := d.(*server.Device)
		var mj uint64
		dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS }
		dev.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { mj += 30_000; return mj, nvml.SUCCESS }
	}
	root := powertest.WritePowercap(b,
		powertest.Zone{Dir: "intel-rapl:0", Name: "package-0", EnergyUJ: 1e9},
		powertest.Zone{Dir: "intel-rapl:1", Name: "package-1", EnergyUJ: 2e9},
	)
	d, err := power.Discover(context.Background(), power.WithNVML(srv), power.WithSysfsRoot(root),
		power.WithKinds(power.KindGPU, power.KindCPU), power.WithCUDAVisibleDevices("0,1,2,3,4,5,6,7"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if len(d.Sources) != 10 {
		b.Fatalf("want 10 sources, got %d (%v)", len(d.Sources), d.Unavailable)
	}
	s, err := sampler.New(d.Sources)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s.SampleAt(ctx, now)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(100 * time.Millisecond)
		s.SampleAt(ctx, now)
	}
}

// BenchmarkEnergies is what an epoch boundary costs: copying the cumulative
// energies of 10 sources.
func BenchmarkEnergies(b *testing.B) {
	srcs := make([]power.Source, 10)
	for i := range srcs {
		srcs[i] = powertest.Constant("gpu", power.KindGPU, power.MethodCounter, 100, time.Unix(0, 0))
	}
	s, err := sampler.New(srcs)
	if err != nil {
		b.Fatal(err)
	}
	s.Sample(context.Background())
	dst := make([]power.Joules, 0, len(srcs))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = s.Energies(dst)
	}
}

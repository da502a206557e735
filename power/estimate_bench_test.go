//go:build linux

package power_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// benchEstimate discovers the estimate of kind with opts and returns it,
// after one warm-up read (which primes the source and, for a process view,
// walks the process table once).
func benchEstimate(b *testing.B, kind power.Kind, opts ...power.Option) power.Source {
	b.Helper()
	opts = append([]power.Option{power.WithSysfsRoot(b.TempDir()), power.WithKinds(kind)}, opts...)
	d, err := power.Discover(context.Background(), opts...)
	if err != nil || len(d.Sources) != 1 {
		b.Fatalf("discover: %v %v", err, d.Unavailable)
	}
	b.Cleanup(func() { _ = d.Close() })
	var r power.Reading
	if err := d.Sources[0].Read(context.Background(), &r); err != nil {
		b.Fatal(err)
	}
	return d.Sources[0]
}

func benchEstimateRead(b *testing.B, src power.Source) {
	ctx := context.Background()
	var r power.Reading
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Read(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// estimateBenchCases are the views benchmarked for both estimates: the
// machine on a fake /proc (powertest's, a 10-field cpu line), the machine
// on this machine's /proc, and the benchmark's own process tree on this
// machine's /proc (the process table is walked at most every 2 s, amortised
// over the reads).
func estimateBenchCases(b *testing.B) []struct {
	name string
	opts []power.Option
} {
	fake := powertest.WriteProc(b, filepath.Join(b.TempDir(), "proc"), powertest.Proc{Model: "AMD EPYC 7763 64-Core Processor", CPUs: 8})
	return []struct {
		name string
		opts []power.Option
	}{
		{"machine-fake-proc", []power.Option{power.WithProcRoot(fake)}},
		{"machine-real-proc", []power.Option{power.WithProcRoot("/proc")}},
		{"process-tree-real-proc", []power.Option{power.WithProcRoot("/proc"), power.WithProcess(os.Getpid())}},
	}
}

// BenchmarkCPUEstimateRead measures one read of the CPU estimate.
func BenchmarkCPUEstimateRead(b *testing.B) {
	for _, c := range estimateBenchCases(b) {
		b.Run(c.name, func(b *testing.B) { benchEstimateRead(b, benchEstimate(b, power.KindCPU, c.opts...)) })
	}
}

// BenchmarkRAMEstimateRead measures one read of the RAM estimate.
func BenchmarkRAMEstimateRead(b *testing.B) {
	for _, c := range estimateBenchCases(b) {
		b.Run(c.name, func(b *testing.B) { benchEstimateRead(b, benchEstimate(b, power.KindDRAM, c.opts...)) })
	}
}

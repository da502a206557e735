package power

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
)

// A backend finds the sources of one family of devices (NVIDIA GPUs through
// NVML, CPU packages and DRAM through RAPL), or stands in for the devices that
// no earlier backend measures (the CPU and RAM estimates). Discover asks the
// backends of the list below in order, each once; there is no registry and no
// init().
//
// To add a backend (another GPU vendor's library, a BMC, a smart PDU):
//
//  1. Write <name>_backend.go: a type implementing backend that calls into the
//     sources' own files. Code that needs cgo or an OS goes behind build tags,
//     with a stub for the other builds that reports the devices Unavailable
//     and says why (as nvml.go and nvml_stub.go, rapl_linux.go and
//     rapl_other.go do), so that Discover still builds and works everywhere.
//  2. Add the type to backends, before rapl for a device measured directly,
//     and in any case before estimate when it measures a CPU or DRAM: the
//     estimates fill in only the kinds no earlier backend found.
//
// Discover lists the sources by kind, GPUs first, then CPU, then DRAM, each
// kind in the order the backends found them, and the Unavailable entries in
// the order the backends returned them.
type backend interface {
	// discover returns the sources of the kinds o.kinds asks for that the
	// backend can read and, for each device or interface it cannot, why. It
	// never fails: what it cannot measure goes into Unavailable. A source it
	// opened but does not return it closes. With a process view (o.pid > 0)
	// it scales or gates its sources to the tree (o.tree), or reports why it
	// cannot. f holds what the earlier backends found: the estimates, for one,
	// fill in only the kinds f has no source of.
	discover(ctx context.Context, o *options, f *found) ([]Source, []Unavailable)
	// slow reports whether discover can block for long (NVML's Init loads
	// the driver and can take seconds). After a slow backend Discover stops
	// with ctx's error if ctx is done, closing what was found; the quick ones
	// (local files) are not interrupted.
	slow() bool
}

// backends are asked in order; adding a backend is one file and one line here.
var backends = []backend{nvmlBackend{}, amdsmiBackend{}, hwmonBackend{}, raplBackend{}, powermetricsBackend{}, estimateBackend{}}

// found is what the backends asked so far have found.
type found struct {
	sources []Source
}

// has reports whether a source of kind k was found.
func (f *found) has(k Kind) bool {
	return slices.ContainsFunc(f.sources, func(s Source) bool { return s.Info().Kind == k })
}

// kindOrder is the order of Discovery.Sources by kind.
var kindOrder = [...]Kind{KindGPU, KindCPU, KindDRAM}

// byKind returns the sources found, sorted by kindOrder (any other kind
// last), each kind in the order the backends found them.
func (f *found) byKind() []Source {
	rank := func(s Source) int {
		if i := slices.Index(kindOrder[:], s.Info().Kind); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	slices.SortStableFunc(f.sources, func(a, b Source) int { return cmp.Compare(rank(a), rank(b)) })
	return f.sources
}

// Discovery is what Discover found: the sources that work and, for each
// device or interface that does not, why.
type Discovery struct {
	// Sources are the working sources, GPUs first, then CPU, then DRAM.
	Sources []Source
	// Unavailable lists what could not be measured and why.
	Unavailable []Unavailable
}

// Close closes every source that holds resources (RAPL files, the NVML
// session). It is idempotent and returns the errors joined.
func (d *Discovery) Close() error {
	var errs []error
	for _, s := range d.Sources {
		if c, ok := s.(Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Discover finds the sources of this machine:
//
//   - NVIDIA GPUs through NVML (selected by CUDA_VISIBLE_DEVICES when set),
//     with the energy counter where the GPU has one;
//   - AMD GPUs through AMD SMI (libamd_smi.so, loaded at run time) where
//     ROCm is installed, with the energy counter;
//   - AMD GPUs that AMD SMI does not measure (amdgpu), Intel discrete GPUs
//     (xe, i915) and NVIDIA Grace CPUs (ACPI power meters) through Linux
//     hwmon, each meter counted once;
//   - CPU packages and DRAM through RAPL powercap counters;
//   - on an Apple Silicon Mac, the CPU, the GPU and the Neural Engine
//     ("gpu:apple-ane", a GPU-kind source) through powermetrics, which needs
//     root;
//   - where RAPL has no package zone (VMs, containers, AMD without the
//     driver, permission denied), an estimate from CPU load and TDP; where it
//     has no DRAM zone, an estimate from installed memory.
//
// With WithProcess the CPU and DRAM sources are the estimates scaled to the
// process tree (RAPL counts whole packages), NVIDIA GPUs count from the
// first time the tree runs on them, and hwmon devices are not used.
//
// Discover never fails because hardware is missing: the reasons are in
// Unavailable. It returns an error only if ctx is done. Close the Discovery
// when done with its sources.
func Discover(ctx context.Context, opts ...Option) (*Discovery, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.resolve()
	d := &Discovery{}
	var f found
	for _, b := range backends {
		s, u := b.discover(ctx, &o, &f)
		f.sources = append(f.sources, s...)
		d.Unavailable = append(d.Unavailable, u...)
		if !b.slow() {
			continue
		}
		if err := ctx.Err(); err != nil {
			d.Sources = f.sources
			_ = d.Close()
			return nil, fmt.Errorf("power: discover: %w", err)
		}
	}
	d.Sources = f.byKind()
	for _, s := range d.Sources {
		i := s.Info()
		o.logger.DebugContext(ctx, "power source", "name", i.Name, "device", i.Device, "method", string(i.Method), "detail", i.Detail)
	}
	for _, u := range d.Unavailable {
		o.logger.InfoContext(ctx, "power source unavailable", "name", u.Name, "reason", u.Reason())
	}
	return d, nil
}

// closeSource closes s if it holds resources.
func closeSource(s Source) {
	if c, ok := s.(Closer); ok {
		_ = c.Close()
	}
}

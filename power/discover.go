package power

import (
	"context"
	"errors"
	"fmt"
)

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
//   - CPU packages and DRAM through RAPL powercap counters;
//   - where RAPL has no package zone (VMs, containers, AMD without the
//     driver, permission denied), an estimate from CPU load and TDP; where it
//     has no DRAM zone, an estimate from installed memory.
//
// With WithProcess the CPU and DRAM sources are the estimates scaled to the
// process tree (RAPL counts whole packages) and GPUs count from the first
// time the tree runs on them.
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
	if o.kinds[KindGPU] {
		s, u := discoverNVML(ctx, &o)
		d.Sources = append(d.Sources, s...)
		d.Unavailable = append(d.Unavailable, u...)
	}
	if err := ctx.Err(); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("power: discover: %w", err)
	}

	var raplCPU, raplDRAM []Source
	if (o.kinds[KindCPU] || o.kinds[KindDRAM]) && o.pid <= 0 {
		s, u := discoverRAPL(o.sysfsRoot)
		d.Unavailable = append(d.Unavailable, u...)
		for _, src := range s {
			switch k := src.Info().Kind; {
			case k == KindCPU && o.kinds[KindCPU]:
				raplCPU = append(raplCPU, src)
			case k == KindDRAM && o.kinds[KindDRAM]:
				raplDRAM = append(raplDRAM, src)
			default:
				if c, ok := src.(Closer); ok {
					_ = c.Close()
				}
			}
		}
	} else if o.pid > 0 {
		d.Unavailable = append(d.Unavailable, Unavailable{Name: "rapl",
			Err: errorf(ErrNotSupported, "power: rapl: not used with a process view (RAPL measures whole packages); the CPU and RAM estimates are scaled to process %d instead", o.pid)})
	}

	if o.kinds[KindCPU] {
		if len(raplCPU) > 0 {
			d.Sources = append(d.Sources, raplCPU...)
		} else if c, err := newCPUEstimate(ctx, o.procRoot(), o.tree); err == nil {
			d.Sources = append(d.Sources, c)
		} else {
			d.Unavailable = append(d.Unavailable, Unavailable{Name: "cpu:estimate", Err: err})
		}
	}
	if o.kinds[KindDRAM] {
		if len(raplDRAM) > 0 {
			d.Sources = append(d.Sources, raplDRAM...)
		} else if r, err := newRAMEstimate(ctx, o.procRoot(), o.tree); err == nil {
			d.Sources = append(d.Sources, r)
		} else {
			d.Unavailable = append(d.Unavailable, Unavailable{Name: "dram:estimate", Err: err})
		}
	}
	for _, s := range d.Sources {
		i := s.Info()
		o.logger.DebugContext(ctx, "power source", "name", i.Name, "device", i.Device, "method", string(i.Method), "detail", i.Detail)
	}
	for _, u := range d.Unavailable {
		o.logger.InfoContext(ctx, "power source unavailable", "name", u.Name, "reason", u.Reason())
	}
	return d, nil
}

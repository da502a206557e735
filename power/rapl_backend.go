package power

import "context"

// raplBackend measures CPU packages and DRAM through Linux RAPL powercap
// counters (rapl_linux.go; rapl_other.go says why not elsewhere). RAPL counts
// whole packages, so it is not used with a process view: the estimates stand
// in for it, scaled to the tree.
type raplBackend struct{}

func (raplBackend) discover(_ context.Context, o *options, _ *found) ([]Source, []Unavailable) {
	if o.pid > 0 {
		return nil, []Unavailable{{Name: "rapl",
			Err: errorf(ErrNotSupported, "power: rapl: not used with a process view (RAPL measures whole packages); the CPU and RAM estimates are scaled to process %d instead", o.pid)}}
	}
	if !o.kinds[KindCPU] && !o.kinds[KindDRAM] {
		return nil, nil
	}
	zones, unavail := discoverRAPL(o.sysfsRoot)
	var sources []Source
	for _, src := range zones {
		switch k := src.Info().Kind; {
		case k == KindCPU && o.kinds[KindCPU], k == KindDRAM && o.kinds[KindDRAM]:
			sources = append(sources, src)
		default:
			closeSource(src)
		}
	}
	return sources, unavail
}

func (raplBackend) slow() bool { return false }

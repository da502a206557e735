package power

import "context"

// estimateBackend stands in for the CPU and the DRAM where no earlier backend
// measures them (no RAPL zone, RAPL unreadable, or a process view): the CPU
// estimate from load and TDP (cpu_estimate.go) and the RAM estimate from
// memory (ram_estimate.go), with WithProcess scaled to the process tree
// (proctree.go).
type estimateBackend struct{}

func (estimateBackend) discover(ctx context.Context, o *options, f *found) ([]Source, []Unavailable) {
	var (
		sources []Source
		unavail []Unavailable
	)
	if o.kinds[KindCPU] && !f.has(KindCPU) {
		if c, err := newCPUEstimate(ctx, o.procRoot(), o.tree, o.cpuCalibration(ctx)); err == nil {
			sources = append(sources, c)
		} else {
			unavail = append(unavail, Unavailable{Name: "cpu:estimate", Err: err})
		}
	}
	if o.kinds[KindDRAM] && !f.has(KindDRAM) {
		if r, err := newRAMEstimate(ctx, o.procRoot(), o.tree); err == nil {
			sources = append(sources, r)
		} else {
			unavail = append(unavail, Unavailable{Name: "dram:estimate", Err: err})
		}
	}
	return sources, unavail
}

func (estimateBackend) slow() bool { return false }

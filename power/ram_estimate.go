package power

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/shirou/gopsutil/v3/mem"
)

// ramWattsPerGB is the power of DRAM per GB (10^9 bytes) installed or used:
// 0.392 W/GB, Cloud Carbon Footprint methodology (memory coefficient, 2021,
// from Micron and Crucial DDR4 figures). Used only where RAPL has no DRAM
// domain.
const ramWattsPerGB = 0.392

// ramUncertaintySource is the RAM estimate's Info.UncertaintySource: no
// comparison of the W per GB figure with a measurement (RAPL's DRAM domain)
// has been published that carbontrack could recompute, so its error is not
// quantified and Info.Uncertainty is 0.
const ramUncertaintySource = "not quantified: 0.392 W/GB has not been checked against a measurement"

// RAMEstimate estimates DRAM power as 0.392 W per GB (Cloud Carbon Footprint,
// 2021) of installed memory, or of the process tree's resident memory. Its
// method is always MethodEstimated; it is used only where RAPL has no DRAM
// domain. Both change rarely, so Info.Cadence is CadenceRare.
//
// For the machine the power is a constant (installed memory does not
// change), reported as the mean since the previous Read (Reading.Average),
// exact; Read allocates nothing. For a process tree (WithProcess) Read
// reports the power of the tree's resident memory at the moment of the read
// (Average false), which the sampler integrates by the trapezoidal rule
// between reads, never as a mean over the past interval. On Linux it reads
// the resident set of each process of the tree from /proc/<pid>/stat (its
// rss field, the count statm gives as resident), kept open (one pread a
// process, allocation-free); it allocates when the process table is walked
// (at most every 2 s) and when a process joins the tree. Elsewhere gopsutil
// reads it, allocating.
//
// A RAMEstimate is read by one goroutine at a time; Info is safe for
// concurrent use, and Close may be called at any time. A Read after Close
// returns an error wrapping os.ErrClosed.
type RAMEstimate struct {
	info   Info
	watts  Watts // installed memory × ramWattsPerGB
	closed atomic.Bool

	mu   sync.Mutex     // serialises the process view's Read and Close
	tree *procTree      // nil for the machine
	pids *pidStatReader // with tree
}

var (
	_ Source = (*RAMEstimate)(nil)
	_ Closer = (*RAMEstimate)(nil)
)

func newRAMEstimate(ctx context.Context, procRoot string, tree *procTree) (*RAMEstimate, error) {
	vm, err := mem.VirtualMemoryWithContext(withEnv(ctx, procEnv(procRoot)))
	if err != nil {
		return nil, fmt.Errorf("power: ram estimate: reading meminfo: %w", err)
	}
	r := &RAMEstimate{watts: ramWatts(vm.Total), info: Info{
		Name: "dram:estimate", Kind: KindDRAM, Index: -1, Method: MethodEstimated, Cadence: CadenceRare,
		Device:            fmt.Sprintf("%.1f GB RAM", float64(vm.Total)/1e9),
		Detail:            fmt.Sprintf("%g W/GB (Cloud Carbon Footprint) × installed memory", ramWattsPerGB),
		UncertaintySource: ramUncertaintySource,
	}}
	if tree != nil {
		if r.pids, err = newPIDStatReader(tree); err != nil {
			return nil, err
		}
		r.tree = tree
		r.info.Detail = fmt.Sprintf("%g W/GB (Cloud Carbon Footprint) × resident memory of process tree %d", ramWattsPerGB, tree.root)
	}
	return r, nil
}

// ramWatts returns the estimated power of b bytes of DRAM.
func ramWatts(b uint64) Watts { return Watts(float64(b) / 1e9 * ramWattsPerGB) }

// Info describes the estimate.
func (m *RAMEstimate) Info() Info { return m.info }

// Read returns the machine's constant estimated power as the mean since the
// previous Read, or the process tree's estimated power now.
func (m *RAMEstimate) Read(ctx context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	if m.tree == nil {
		if m.closed.Load() {
			return fmt.Errorf("power: ram estimate: %w", os.ErrClosed)
		}
		r.Power, r.Average = m.watts, true
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return fmt.Errorf("power: ram estimate: %w", os.ErrClosed)
	}
	var bytes uint64
	procs := m.tree.procs(ctx)
	for pid := range procs {
		if st, err := m.pids.read(ctx, pid); err == nil {
			bytes += st.rssBytes
		}
	}
	m.pids.prune(procs)
	r.Power = ramWatts(bytes)
	return nil
}

// Close releases the process files of a process view. It is idempotent.
func (m *RAMEstimate) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Swap(true) {
		return nil
	}
	if m.pids != nil {
		if err := m.pids.close(); err != nil {
			return fmt.Errorf("power: ram estimate: close: %w", err)
		}
	}
	return nil
}

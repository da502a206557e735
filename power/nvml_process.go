//go:build linux && cgo

package power

import (
	"context"
	"strconv"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ProcessGPU gates a GPU on a process tree: it counts the GPU's energy from
// the first time a process of the tree appears among the GPU's NVML compute
// processes (checked at most once a second until then). Before that it reports
// no energy. Note that inside a PID namespace (a container) NVML reports host
// PIDs, which then do not match.
type ProcessGPU struct {
	gpu      *GPU
	pid      int
	tree     *procTree
	active   bool
	base     Joules
	nextScan int64 // unix nanoseconds
	info     Info
}

var (
	_ Source = (*ProcessGPU)(nil)
	_ Closer = (*ProcessGPU)(nil)
)

func newProcessGPU(g *GPU, tree *procTree) *ProcessGPU {
	info := g.info
	info.Detail += "; counted from when process tree " + strconv.Itoa(int(tree.root)) + " first runs on it"
	return &ProcessGPU{gpu: g, pid: int(tree.root), tree: tree, info: info}
}

// Info describes the gated GPU.
func (p *ProcessGPU) Info() Info { return p.info }

// Read reads the GPU and reports its energy or power once the tree has used it.
func (p *ProcessGPU) Read(ctx context.Context, r *Reading) error {
	if err := p.gpu.Read(ctx, r); err != nil {
		return err
	}
	if !p.active {
		now := time.Now().UnixNano()
		if now >= p.nextScan {
			p.nextScan = now + 1e9
			p.active = p.runsOnGPU(ctx)
			if p.active && p.gpu.info.Method == MethodCounter {
				p.base = r.Energy
			}
		}
	}
	if !p.active {
		r.Energy, r.Power, r.Samples = 0, 0, r.Samples[:0]
		return nil
	}
	r.Energy -= p.base
	return nil
}

func (p *ProcessGPU) runsOnGPU(ctx context.Context) bool {
	procs, ret := p.gpu.dev.GetComputeRunningProcesses()
	if ret != nvml.SUCCESS {
		return false
	}
	pids := p.tree.procs(ctx)
	for _, pr := range procs {
		if _, ok := pids[int32(pr.Pid)]; ok {
			return true
		}
	}
	return false
}

// Close closes the GPU.
func (p *ProcessGPU) Close() error { return p.gpu.Close() }

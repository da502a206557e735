package power

import (
	"context"
	"os"
	"testing"
)

// BenchmarkEstimateProcTreeWalk measures one walk of this machine's process
// table for a process view's membership, which a view's reads do at most
// every procTreeRefresh (2 s).
func BenchmarkEstimateProcTreeWalk(b *testing.B) {
	t := newProcTree(os.Getpid(), "/proc")
	t.every = 0
	b.ReportAllocs()
	for b.Loop() {
		if len(t.procs(context.Background())) == 0 {
			b.Fatal("the benchmark's own process is not in its tree")
		}
	}
	b.ReportMetric(float64(len(t.parent)), "processes")
}

package power

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestProcTreeBootTime checks that the boot time is read once for all the
// sources of a view, and that a /proc/stat without it fails each of them.
func TestProcTreeBootTime(t *testing.T) {
	proc := t.TempDir()
	stat := filepath.Join(proc, "stat")
	require.NoError(t, os.WriteFile(stat, []byte("cpu  1 2 3 4\nbtime 1700000000\n"), 0o644))
	tree := newProcTree(1, proc)
	a, err := newPIDStatReader(tree)
	require.NoError(t, err)
	require.NoError(t, os.Remove(stat))
	b, err := newPIDStatReader(tree)
	require.NoError(t, err, "read once: the second reader does not read the file")
	assert.Equal(t, int64(1700000000000), a.bootMs)
	assert.Equal(t, a.bootMs, b.bootMs)

	require.NoError(t, os.WriteFile(stat, []byte("cpu  1 2 3 4\n"), 0o644))
	tree = newProcTree(1, proc)
	for range 2 {
		_, err = newPIDStatReader(tree)
		require.ErrorIs(t, err, errNoBootTime)
		assert.Contains(t, err.Error(), "power: process view: "+stat)
	}
}

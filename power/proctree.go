package power

import (
	"context"
	"sync"
	"time"
)

// procTree tracks the processes descending from a root pid, walking the
// process table at most every procTreeRefresh. One tree serves all the
// sources of a process view; it is safe for concurrent use.
type procTree struct {
	mu       sync.Mutex
	root     int32
	procRoot string
	every    time.Duration // procTreeRefresh; tests shorten it
	// members maps each process of the tree to its parent. A walk replaces
	// the map and never changes it, so callers may keep reading it.
	members   map[int32]int32
	refreshed time.Time

	// Scratch space of the walk, reused.
	buf    []byte
	parent map[int32]int32
	in     map[int32]bool
	stack  []int32

	// The boot time, read once for all the sources of the view (Linux:
	// bootMillis).
	bootOnce sync.Once
	bootMs   int64
	bootErr  error
}

// procTreeRefresh bounds how often the process table is walked (one read of
// /proc/<pid>/stat per process on the machine).
const procTreeRefresh = 2 * time.Second

func newProcTree(pid int, procRoot string) *procTree {
	return &procTree{root: int32(pid), procRoot: procRoot, every: procTreeRefresh}
}

// procs returns the tree's processes, each mapped to its parent. The map
// must not be modified.
func (t *procTree) procs(ctx context.Context) map[int32]int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.members != nil && time.Since(t.refreshed) < t.every {
		return t.members
	}
	t.refreshed = time.Now()
	if t.parent == nil {
		t.buf, t.parent, t.in = make([]byte, 1024), map[int32]int32{}, map[int32]bool{}
	}
	clear(t.parent)
	if err := listProcs(ctx, t.procRoot, t.buf, func(pid, ppid int32) { t.parent[pid] = ppid }); err != nil {
		if t.members == nil {
			t.members = map[int32]int32{}
		}
		return t.members
	}
	clear(t.in)
	t.in[t.root] = true
	for pid := range t.parent {
		t.stack = t.stack[:0]
		p, member := pid, false
		for {
			if v, ok := t.in[p]; ok {
				member = v
				break
			}
			t.stack = append(t.stack, p)
			t.in[p] = false // provisional: breaks cycles
			pp, ok := t.parent[p]
			if !ok || pp == p || pp == 0 {
				break
			}
			p = pp
		}
		for _, s := range t.stack {
			t.in[s] = member
		}
	}
	next := make(map[int32]int32, len(t.members))
	for pid, pp := range t.parent {
		if t.in[pid] {
			next[pid] = pp
		}
	}
	t.members = next
	return next
}

//go:build unix && !aix && !solaris

package lease_test

import (
	"fmt"
	"log"
	"os"

	"github.com/carbontrack/carbontrack/tracker/internal/lease"
)

// Two trackers, ranks 0 and 1 of run r7, share a machine's devices: rank 0
// takes GPU 0 and the CPU first, so rank 1 measures only GPU 1.
func Example() {
	dir, err := os.MkdirTemp("", "leases") // lease.DefaultDir() in real use
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	rank0, err := lease.Open(dir, lease.Holder{Run: "r7", Rank: 0})
	if err != nil {
		log.Fatal(err)
	}
	defer rank0.Close()
	rank1, err := lease.Open(dir, lease.Holder{Run: "r7", Rank: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer rank1.Close()

	for _, key := range []string{"gpu-0", "cpu"} {
		if _, _, err := rank0.TryAcquire(key); err != nil {
			log.Fatal(err)
		}
	}
	for _, key := range []string{"gpu-0", "gpu-1", "cpu"} {
		ok, holder, err := rank1.TryAcquire(key)
		if err != nil {
			log.Fatal(err)
		}
		if !ok {
			fmt.Printf("%s: measured by rank %d of run %s\n", key, holder.Rank, holder.Run)
		}
	}
	fmt.Println("rank 1 measures", rank1.Held())
	// Output:
	// gpu-0: measured by rank 0 of run r7
	// cpu: measured by rank 0 of run r7
	// rank 1 measures [gpu-1]
}

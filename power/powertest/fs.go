package powertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Zone is one powercap zone of a fake sysfs tree.
type Zone struct {
	// Dir is the zone's directory under class/powercap, such as
	// "intel-rapl:0" (a package), "intel-rapl:0:2" (a sub-zone) or
	// "intel-rapl-mmio:0".
	Dir string
	// Name is the content of the zone's name file: "package-0", "dram",
	// "core", "uncore", "psys".
	Name string
	// EnergyUJ is the counter (energy_uj), in microjoules.
	EnergyUJ uint64
	// MaxUJ is max_energy_range_uj; zero means a real Xeon's 262143328850.
	MaxUJ uint64
}

// WritePowercap writes zones under root/class/powercap in a new temporary
// directory and returns root, for power.WithSysfsRoot. Zone directory names
// contain ':', which Go module zips reject, so such trees must be written at
// test time rather than committed.
func WritePowercap(tb testing.TB, zones ...Zone) string {
	tb.Helper()
	root := tb.TempDir()
	base := filepath.Join(root, "class", "powercap")
	// The control type directory has no name file, as on a real system.
	mkdir(tb, filepath.Join(base, "intel-rapl"))
	for _, z := range zones {
		d := filepath.Join(base, z.Dir)
		mkdir(tb, d)
		maxUJ := z.MaxUJ
		if maxUJ == 0 {
			maxUJ = 262143328850
		}
		writeFile(tb, filepath.Join(d, "name"), z.Name+"\n")
		writeFile(tb, filepath.Join(d, "max_energy_range_uj"), strconv.FormatUint(maxUJ, 10)+"\n")
		writeFile(tb, filepath.Join(d, "energy_uj"), strconv.FormatUint(z.EnergyUJ, 10)+"\n")
	}
	return root
}

// SetEnergy sets the energy_uj counter of zone dir in the tree at root.
func SetEnergy(tb testing.TB, root, dir string, uj uint64) {
	tb.Helper()
	writeFile(tb, filepath.Join(root, "class", "powercap", dir, "energy_uj"), strconv.FormatUint(uj, 10)+"\n")
}

// Proc describes a fake /proc for the CPU and RAM estimates (gopsutil reads
// cpuinfo, stat and meminfo).
type Proc struct {
	// Model is the "model name" of every processor.
	Model string
	// CPUs is the number of logical CPUs; Sockets the number of packages
	// (default 1).
	CPUs, Sockets int
	// VM sets the "hypervisor" CPU flag that virtual machines show.
	VM bool
	// MemKB is MemTotal in kB (default 16,000,000).
	MemKB uint64
}

// WriteProc writes p as a /proc tree under dir (created if needed) and
// returns dir, for power.WithProcRoot.
func WriteProc(tb testing.TB, dir string, p Proc) string {
	tb.Helper()
	mkdir(tb, dir)
	sockets := max(p.Sockets, 1)
	flags := "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov ht syscall nx lm"
	if p.VM {
		flags += " hypervisor"
	}
	var b strings.Builder
	for i := 0; i < p.CPUs; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: %s\n"+
			"stepping\t: 7\ncpu MHz\t\t: 2500.000\ncache size\t: 28160 KB\nphysical id\t: %d\nsiblings\t: %d\ncore id\t\t: %d\n"+
			"cpu cores\t: %d\nflags\t\t: %s\n\n", i, p.Model, i%sockets, p.CPUs/sockets, i/sockets, p.CPUs/sockets, flags)
	}
	writeFile(tb, filepath.Join(dir, "cpuinfo"), b.String())
	SetCPUTimes(tb, dir, 0, 0)
	mem := p.MemKB
	if mem == 0 {
		mem = 16_000_000
	}
	writeFile(tb, filepath.Join(dir, "meminfo"), fmt.Sprintf(
		"MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\nBuffers:        0 kB\nCached:         0 kB\n", mem, mem/2, mem/2))
	return dir
}

// SetCPUTimes writes the machine's cumulative busy and idle CPU seconds into
// dir/stat (as user and idle, at USER_HZ = 100).
func SetCPUTimes(tb testing.TB, dir string, busySeconds, idleSeconds float64) {
	tb.Helper()
	writeFile(tb, filepath.Join(dir, "stat"), fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\nintr 0\nctxt 0\nbtime 1700000000\n",
		int64(busySeconds*100), int64(idleSeconds*100)))
}

func mkdir(tb testing.TB, d string) {
	tb.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		tb.Fatal(err)
	}
}

func writeFile(tb testing.TB, p, s string) {
	tb.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
}

//go:build linux

package power

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/procfs/sysfs"
)

// raplMaxPlausible is the most one RAPL domain can draw, in watts: the largest
// server CPUs of 2024 have a 500 W TDP (AMD EPYC 9965, Intel Xeon 6980P), so
// 1500 W leaves 3× headroom while still exposing a misread wrap or a counter
// reset, which at a 0.1 s interval implies hundreds of kW.
const raplMaxPlausible Watts = 1500

// discoverRAPL finds the RAPL package and DRAM zones under root/class/powercap.
// Sub-zones core and uncore are part of their package and never added; psys
// (the whole platform) and the intel-rapl-mmio duplicate of a package are
// skipped.
func discoverRAPL(root string) ([]Source, []Unavailable) {
	fs, err := sysfs.NewFS(root)
	if err != nil {
		return nil, []Unavailable{{Name: "rapl", Err: errorf(ErrNotFound, "power: rapl: sysfs root %s: %w", root, err)}}
	}
	zones, err := sysfs.GetRaplZones(fs)
	if err != nil || len(zones) == 0 {
		if err == nil {
			err = errors.New("no zones")
		}
		dir := filepath.Join(root, "class/powercap")
		if errors.Is(err, os.ErrPermission) {
			return nil, []Unavailable{{Name: "rapl", Err: errorf(ErrPermission, "power: rapl: %s: %w", dir, err)}}
		}
		return nil, []Unavailable{{Name: "rapl", Err: errorf(ErrNotFound,
			"power: rapl: no powercap zones under %s (a VM, a container without the host's /sys, or a CPU without RAPL); the CPU and RAM estimates are used", dir)}}
	}
	sort.Slice(zones, func(i, j int) bool { return zones[i].Path < zones[j].Path })

	var (
		sources []Source
		unavail []Unavailable
	)
	pkgLabel := map[int]string{} // top-level zone number → its device label
	for _, z := range zones {
		base := filepath.Base(z.Path)
		if strings.HasPrefix(base, "intel-rapl-mmio") {
			continue // MMIO interface to the same package counter
		}
		if !strings.HasPrefix(base, "intel-rapl:") {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(base, "intel-rapl:"), ":")
		pkg, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		var info Info
		switch {
		case len(parts) == 1 && (z.Name == "package" || strings.HasPrefix(z.Name, "package-")):
			// procfs splits "package-0" into "package" and index 0; a
			// multi-die CPU's "package-0-die-1" stays whole.
			label := z.Name
			if z.Name == "package" {
				label = fmt.Sprintf("package-%d", z.Index)
			}
			pkgLabel[pkg] = label
			info = Info{Name: "cpu:" + label, Kind: KindCPU, Device: "CPU " + strings.ReplaceAll(label, "-", " "), Index: pkg}
		case z.Name == "dram":
			label, ok := pkgLabel[pkg]
			if !ok || len(parts) == 1 {
				label = fmt.Sprintf("package-%d", pkg)
			}
			info = Info{Name: "dram:" + label, Kind: KindDRAM, Device: "DRAM of " + strings.ReplaceAll(label, "-", " "), Index: pkg}
		case z.Name == "core" || z.Name == "uncore" || z.Name == "psys":
			continue // inside the package (core, uncore), or the whole platform (psys)
		default:
			unavail = append(unavail, Unavailable{Name: "rapl:" + base, Err: errorf(ErrNotSupported,
				"power: rapl: zone %s is named %q, neither a package nor DRAM; it is not measured", base, z.Name)})
			continue
		}
		info.Method = MethodCounter
		info.Detail = "RAPL " + base + "/energy_uj"
		info.MaxPower = raplMaxPlausible
		info.Wraps = true
		info.WrapEnergy = Joules(float64(z.MaxMicrojoules) / 1e6)
		src, err := openRAPLZone(info, z.Path, z.MaxMicrojoules)
		if err != nil {
			unavail = append(unavail, Unavailable{Name: info.Name, Err: err})
			continue
		}
		sources = append(sources, src)
	}
	return sources, unavail
}

// raplZone reads one RAPL energy counter. Read allocates nothing: it reads
// energy_uj with pread into a fixed buffer.
type raplZone struct {
	info     Info
	path     string
	f        *os.File
	maxUJ    uint64
	lastUJ   uint64
	totalUJ  uint64
	primed   bool
	buf      [32]byte
	isClosed bool
}

var (
	_ Source = (*raplZone)(nil)
	_ Closer = (*raplZone)(nil)
)

func openRAPLZone(info Info, dir string, maxUJ uint64) (*raplZone, error) {
	p := filepath.Join(dir, "energy_uj")
	f, err := os.Open(p)
	if err != nil {
		return nil, raplOpenError(info, p, err)
	}
	z := &raplZone{info: info, path: p, f: f, maxUJ: maxUJ}
	// Probe: reading can fail even when opening succeeded.
	if _, err := z.readUJ(); err != nil {
		_ = f.Close()
		return nil, raplOpenError(info, p, err)
	}
	return z, nil
}

func raplOpenError(info Info, p string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		instead := "CPU"
		if info.Kind == KindDRAM {
			instead = "RAM"
		}
		dir := filepath.Dir(filepath.Dir(p))
		return errorf(ErrPermission, "power: rapl: cannot read %s: permission denied (energy_uj is root-only since Linux 5.10, CVE-2020-8694); "+
			"fix: run as root, or `sudo chmod o+r %s %s` (or a udev rule doing the same at boot), "+
			"or `sudo setcap cap_dac_read_search+ep $(which carbontrack)`; the %s estimate is used instead: %w",
			p, filepath.Join(dir, "intel-rapl:*", "energy_uj"), filepath.Join(dir, "intel-rapl:*:*", "energy_uj"), instead, err)
	}
	if errors.Is(err, os.ErrNotExist) {
		return errorf(ErrNotFound, "power: rapl: %s: %w", p, err)
	}
	return fmt.Errorf("power: rapl: %s: %w", p, err)
}

// Info describes the zone.
func (z *raplZone) Info() Info { return z.info }

func (z *raplZone) readUJ() (uint64, error) {
	n, err := z.f.ReadAt(z.buf[:], 0)
	if n == 0 && err != nil {
		return 0, err
	}
	return parseUint(z.buf[:n])
}

// Read returns the cumulative energy since the zone was opened, unwrapped:
// a counter below its last value has wrapped at max_energy_range_uj and the
// delta is (max - last) + current. A reset that this formula turns into an
// implausible amount is caught by the sampler through Info.MaxPower.
func (z *raplZone) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	cur, err := z.readUJ()
	if err != nil {
		return fmt.Errorf("power: rapl: %s: %w", z.path, err)
	}
	if !z.primed {
		z.primed = true
	} else if cur >= z.lastUJ {
		z.totalUJ += cur - z.lastUJ
	} else {
		z.totalUJ += (z.maxUJ - z.lastUJ) + cur
	}
	z.lastUJ = cur
	r.Energy = Joules(float64(z.totalUJ) / 1e6)
	return nil
}

// Close closes energy_uj. It is idempotent.
func (z *raplZone) Close() error {
	if z.isClosed {
		return nil
	}
	z.isClosed = true
	return z.f.Close()
}

// parseUint parses a decimal number followed by optional whitespace without
// allocating.
func parseUint(b []byte) (uint64, error) {
	var v uint64
	digits := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			d := uint64(c - '0')
			if v > (math.MaxUint64-d)/10 {
				return 0, errBadNumber // overflow
			}
			v = v*10 + d
			digits++
			continue
		}
		if c == '\n' || c == ' ' || c == '\t' || c == 0 {
			break
		}
		return 0, errBadNumber
	}
	if digits == 0 {
		return 0, errBadNumber
	}
	return v, nil
}

var errBadNumber = errors.New("power: not a decimal number")

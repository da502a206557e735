package power

import (
	"context"
	"os"
	"slices"
	"strings"
)

// hwmonBackend measures, through Linux hwmon (hwmon_linux.go; hwmon_other.go
// says why not elsewhere), the devices whose drivers report power or energy
// there and that no other backend reads: AMD GPUs (amdgpu), Intel discrete
// GPUs (xe, i915) and NVIDIA Grace CPUs (ACPI power meters). NVIDIA GPUs are
// NVML's: nouveau's hwmon power is never read. An amdgpu device that AMD SMI
// measures (same PCI address) is skipped.
//
// A machine without /sys/class/hwmon, or without any of these drivers, yields
// no source and no Unavailable entry: most machines have hwmon devices
// (temperatures, fans) but none of these meters. hwmon meters measure whole
// devices, so, like RAPL, the backend is not used with a process view.
type hwmonBackend struct{}

func (hwmonBackend) discover(_ context.Context, o *options, f *found) ([]Source, []Unavailable) {
	if !o.kinds[KindGPU] && !o.kinds[KindCPU] && !o.kinds[KindDRAM] {
		return nil, nil
	}
	sources, unavail := discoverHwmon(hwmonFS{root: o.hwmonRoot, open: os.Open}, f.has(KindGPU), f.pciAddresses())
	sources = slices.DeleteFunc(sources, func(s Source) bool {
		if o.kinds[s.Info().Kind] {
			return false
		}
		closeSource(s)
		return true
	})
	if o.pid > 0 && len(sources) > 0 {
		names := make([]string, 0, len(sources))
		for _, s := range sources {
			names = append(names, s.Info().Name)
			closeSource(s)
		}
		return nil, []Unavailable{{Name: "hwmon", Err: errorf(ErrNotSupported,
			"power: hwmon: %s not used with a process view (hwmon meters measure whole devices); the CPU and RAM estimates are scaled to process %d instead",
			strings.Join(names, ", "), o.pid)}}
	}
	return sources, unavail
}

func (hwmonBackend) slow() bool { return false }

// hwmonFS is where the hwmon backend reads: root is a sysfs root (its
// class/hwmon is listed) and open opens an attribute file (os.Open; tests
// substitute failures that chmod cannot cause for root).
type hwmonFS struct {
	root string
	open func(name string) (*os.File, error)
}

//go:build darwin

package power

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

// discoverPowermetrics starts `powermetrics --samplers
// cpu_power,gpu_power,ane_power -f plist -i 500` and, once its first sample
// has arrived, returns the sources of the parts it measures. Without root,
// without the tool, on an Intel Mac or with a process view it says why in
// an Unavailable entry.
func discoverPowermetrics(ctx context.Context, o *options) ([]Source, []Unavailable) {
	unavail := func(kind error, format string, args ...any) ([]Source, []Unavailable) {
		return nil, []Unavailable{{Name: "powermetrics", Err: errorf(kind, "power: powermetrics: "+format, args...)}}
	}
	if runtime.GOARCH != "arm64" {
		return unavail(ErrNotSupported, "an Intel Mac: powermetrics has no CPU, GPU and Neural Engine power there; the CPU estimate is used")
	}
	if o.pid > 0 {
		return unavail(ErrNotSupported, "not used with a process view (powermetrics measures the whole SoC); the CPU and RAM estimates are scaled to process %d instead", o.pid)
	}
	path, err := exec.LookPath("powermetrics")
	if err != nil {
		return unavail(ErrNotFound, "%w; the CPU estimate is used", err)
	}
	if os.Geteuid() != 0 {
		return unavail(ErrPermission, "needs root: %s", pmNoRoot)
	}

	sources, err := openPowermetrics(ctx, path, appleChip(), o, pmInterval+pmFirstSampleWait)
	if err != nil {
		return nil, []Unavailable{{Name: "powermetrics", Err: err}}
	}
	return sources, nil
}

// appleChip returns the SoC's name, such as "Apple M2 Pro", or "Apple
// Silicon" when sysctl does not say.
func appleChip() string {
	if s, err := syscall.Sysctl("machdep.cpu.brand_string"); err == nil && strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s)
	}
	return "Apple Silicon"
}

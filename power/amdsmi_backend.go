package power

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// amdsmiBackend measures AMD GPUs through AMD SMI (libamd_smi.so, part of
// ROCm), loaded at run time: the sources in amdsmi.go (amdsmi_stub.go says
// why not where there is no cgo or no Linux). It comes before hwmon, which
// skips the amdgpu devices it measures (found.pciAddresses): each GPU is
// counted once, by AMD SMI's energy counter where it works and by hwmon
// otherwise.
//
// AMD SMI measures whole devices, so, like hwmon, it is not used with a
// process view. HIP_VISIBLE_DEVICES and ROCR_VISIBLE_DEVICES are not
// applied: their indices follow the HIP runtime's order, which AMD SMI's
// enumeration is not documented to share, so every AMD GPU is measured and
// the sources' Detail says so when either is set.
type amdsmiBackend struct{}

func (amdsmiBackend) discover(ctx context.Context, o *options, _ *found) ([]Source, []Unavailable) {
	if !o.kinds[KindGPU] {
		return nil, nil
	}
	sources, unavail := discoverAMDSMI(ctx, o)
	if o.pid > 0 && len(sources) > 0 {
		names := make([]string, 0, len(sources))
		for _, s := range sources {
			names = append(names, s.Info().Name)
			closeSource(s)
		}
		return nil, append(unavail, Unavailable{Name: "amdsmi", Err: errorf(ErrNotSupported,
			"power: amdsmi: %s not used with a process view (AMD SMI measures whole GPUs)", strings.Join(names, ", "))})
	}
	return sources, unavail
}

// slow: amdsmi_init enumerates the GPUs through the driver, which can take
// seconds.
func (amdsmiBackend) slow() bool { return true }

// amdsmiDefaultLibraries are the AMD SMI libraries tried in order when no
// path is configured: the soname the dynamic linker finds (ld.so.conf,
// LD_LIBRARY_PATH), then ROCm's default install prefix (ROCm installation
// guide: /opt/rocm, a link to /opt/rocm-<version>).
var amdsmiDefaultLibraries = []string{"libamd_smi.so", "/opt/rocm/lib/libamd_smi.so"}

// amdsmiCheck lists the AMD SMI functions carbontrack calls, each checked
// with dlsym before the first call (see libraryCheck). All are in AMD SMI
// since ROCm 6.0 under these names (include/amd_smi/amdsmi.h); ROCm 5.x
// named some of them differently and is rejected as too old. Add a function
// here when a new call is made.
var amdsmiCheck = libraryCheck{
	what: "amdsmi",
	want: "AMD SMI (libamd_smi.so)",
	hint: "point " + EnvAMDSMILibrary + " at ROCm's libamd_smi.so (such as /opt/rocm/lib/libamd_smi.so), or leave it unset",
	symbols: []symbolGroup{
		{"amdsmi_init"},
		{"amdsmi_shut_down"},
		{"amdsmi_get_socket_handles"},
		{"amdsmi_get_processor_handles"},
		{"amdsmi_get_energy_count"},
		{"amdsmi_get_gpu_device_bdf"},
		{"amdsmi_get_gpu_asic_info"},
	},
}

// amdsmiNotFound is the reason given when no AMD SMI library can be loaded.
const amdsmiNotFound = "AMD SMI (libamd_smi.so) not found: AMD GPUs are read through hwmon where the amdgpu driver exposes power"

// pciDevice is implemented by sources that measure one PCI device, so that
// later backends can skip that device (hwmon skips the amdgpu devices AMD
// SMI measures).
type pciDevice interface {
	// pciAddress returns the device's PCI address as sysfs names it, such
	// as "0000:03:00.0" (lower-case hexadecimal).
	pciAddress() string
}

// pciAddresses returns the PCI addresses of the devices the sources found so
// far measure.
func (f *found) pciAddresses() map[string]bool {
	out := map[string]bool{}
	for _, s := range f.sources {
		if p, ok := s.(pciDevice); ok {
			out[p.pciAddress()] = true
		}
	}
	return out
}

// formatBDF formats a PCI address as sysfs names devices:
// domain:bus:device.function in lower-case hexadecimal, "0000:03:00.0".
func formatBDF(domain uint64, bus, device, function uint8) string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", domain, bus, device, function)
}

// amdsmiSuccess is AMDSMI_STATUS_SUCCESS.
const amdsmiSuccess = 0

// amdsmiStatusNames names the amdsmi_status_t values (amdsmi.h, library
// version 24.7.0.0) a caller may meet; the library's own
// amdsmi_status_code_to_string is not called, so that no call follows a
// failed amdsmi_init.
var amdsmiStatusNames = map[uint32]string{
	1: "AMDSMI_STATUS_INVAL", 2: "AMDSMI_STATUS_NOT_SUPPORTED", 3: "AMDSMI_STATUS_NOT_YET_IMPLEMENTED",
	4: "AMDSMI_STATUS_FAIL_LOAD_MODULE", 5: "AMDSMI_STATUS_FAIL_LOAD_SYMBOL", 6: "AMDSMI_STATUS_DRM_ERROR",
	7: "AMDSMI_STATUS_API_FAILED", 8: "AMDSMI_STATUS_TIMEOUT", 9: "AMDSMI_STATUS_RETRY", 10: "AMDSMI_STATUS_NO_PERM",
	11: "AMDSMI_STATUS_INTERRUPT", 12: "AMDSMI_STATUS_IO", 13: "AMDSMI_STATUS_ADDRESS_FAULT",
	14: "AMDSMI_STATUS_FILE_ERROR", 15: "AMDSMI_STATUS_OUT_OF_RESOURCES", 16: "AMDSMI_STATUS_INTERNAL_EXCEPTION",
	17: "AMDSMI_STATUS_INPUT_OUT_OF_BOUNDS", 18: "AMDSMI_STATUS_INIT_ERROR", 19: "AMDSMI_STATUS_REFCOUNT_OVERFLOW",
	30: "AMDSMI_STATUS_BUSY", 31: "AMDSMI_STATUS_NOT_FOUND", 32: "AMDSMI_STATUS_NOT_INIT", 33: "AMDSMI_STATUS_NO_SLOT",
	34: "AMDSMI_STATUS_DRIVER_NOT_LOADED", 40: "AMDSMI_STATUS_NO_DATA", 41: "AMDSMI_STATUS_INSUFFICIENT_SIZE",
	42: "AMDSMI_STATUS_UNEXPECTED_SIZE", 43: "AMDSMI_STATUS_UNEXPECTED_DATA", 52: "AMDSMI_STATUS_FILE_NOT_FOUND",
	54:         "AMDSMI_STATUS_AMDGPU_RESTART_ERR",
	0xFFFFFFFE: "AMDSMI_STATUS_MAP_ERROR", 0xFFFFFFFF: "AMDSMI_STATUS_UNKNOWN_ERROR",
}

// amdsmiErr turns an amdsmi_status_t returned by call into an error: nil
// for AMDSMI_STATUS_SUCCESS, otherwise one naming the status and matching
// the sentinel that applies.
func amdsmiErr(status uint32, call string) error {
	if status == amdsmiSuccess {
		return nil
	}
	name, ok := amdsmiStatusNames[status]
	if !ok {
		name = "AMDSMI_STATUS_" + strconv.FormatUint(uint64(status), 10)
	}
	msg := fmt.Sprintf("power: amdsmi: %s: %s (%d)", call, name, status)
	switch status {
	case 2, 3: // NOT_SUPPORTED, NOT_YET_IMPLEMENTED
		return errorf(ErrNotSupported, "%s", msg)
	case 10: // NO_PERM
		return errorf(ErrPermission, "%s", msg)
	case 4, 31, 34: // FAIL_LOAD_MODULE, NOT_FOUND, DRIVER_NOT_LOADED
		return errorf(ErrNotFound, "%s", msg)
	}
	return errors.New(msg)
}

// amdsmiInitHint says what an amdsmi_init status usually means, or "".
func amdsmiInitHint(status uint32) string {
	switch status {
	case 34, 31: // DRIVER_NOT_LOADED, NOT_FOUND
		return " (the amdgpu kernel driver is not loaded, or there is no AMD GPU)"
	case 10: // NO_PERM
		return " (no permission to open /dev/kfd or /dev/dri/renderD*: join the render and video groups)"
	case 4, 5: // FAIL_LOAD_MODULE, FAIL_LOAD_SYMBOL
		return " (a library AMD SMI needs, such as libdrm, could not be loaded)"
	}
	return ""
}

// amdsmiCounter turns readings of AMD SMI's 64-bit energy accumulator into
// the energy since the first reading. The zero value is ready; it is not
// safe for concurrent use.
type amdsmiCounter struct {
	primed  bool
	last    uint64  // accumulator units
	totalUJ float64 // µJ
}

// update takes one reading of the accumulator (units) with its resolution
// (µJ per unit) and returns the energy since the first reading and whether
// the accumulator went back (a reset: that interval is not counted).
func (c *amdsmiCounter) update(acc uint64, resolutionUJ float64) (Joules, bool) {
	reset := false
	switch {
	case !c.primed:
		c.primed = true
	case acc >= c.last:
		c.totalUJ += float64(acc-c.last) * resolutionUJ
	default:
		reset = true
	}
	c.last = acc
	return Joules(c.totalUJ / 1e6), reset
}

package power

import (
	"context"
	"log/slog"
	"os"

	"github.com/shirou/gopsutil/v3/common"
)

// Environment variables read by Discover when the matching option is not
// given.
const (
	// EnvSysfsRoot overrides the sysfs root ("/sys") of RAPL and hwmon, for
	// containers with the host's /sys mounted elsewhere and for tests.
	EnvSysfsRoot = "CARBONTRACK_SYSFS_ROOT"
	// EnvNVMLLibrary names the NVML library to load instead of
	// "libnvidia-ml.so.1" (a path or a soname).
	EnvNVMLLibrary = "CARBONTRACK_NVML_LIBRARY"
	// EnvAMDSMILibrary names the AMD SMI library to load instead of
	// "libamd_smi.so" or "/opt/rocm/lib/libamd_smi.so" (a path or a soname).
	EnvAMDSMILibrary = "CARBONTRACK_AMDSMI_LIBRARY"
	// EnvProcRoot overrides the procfs root ("/proc") used by the CPU and RAM
	// estimates.
	EnvProcRoot = "CARBONTRACK_PROC_ROOT"
)

// Option configures Discover.
type Option func(*options)

type options struct {
	sysfsRoot    string
	hwmonRoot    string // the sysfs root for hwmon; sysfsRoot when empty
	procRootDir  string
	nvmlLibrary  string
	amdsmiLib    string
	nvml         nvmlHandle // set by WithNVML where cgo is available
	kinds        map[Kind]bool
	pid          int
	forceSampled bool
	logger       *slog.Logger
	cudaVisible  *string
	cudaOrder    string
	tree         *procTree // the process tree of WithProcess, shared by its sources
	cpuCalPath   *string   // WithCPUCalibration; nil: CARBONTRACK_CPU_CALIBRATION or the default
}

func defaultOptions() options {
	return options{
		sysfsRoot:   "",
		nvmlLibrary: "",
		kinds:       map[Kind]bool{KindGPU: true, KindCPU: true, KindDRAM: true},
		logger:      slog.New(slog.DiscardHandler),
	}
}

func (o *options) resolve() {
	if o.sysfsRoot == "" {
		o.sysfsRoot = os.Getenv(EnvSysfsRoot)
	}
	if o.sysfsRoot == "" {
		o.sysfsRoot = "/sys"
	}
	if o.hwmonRoot == "" {
		o.hwmonRoot = o.sysfsRoot
	}
	if o.nvmlLibrary == "" {
		o.nvmlLibrary = os.Getenv(EnvNVMLLibrary)
	}
	if o.amdsmiLib == "" {
		o.amdsmiLib = os.Getenv(EnvAMDSMILibrary)
	}
	if o.pid > 0 {
		o.tree = newProcTree(o.pid, o.procRoot())
	}
	if o.cudaVisible == nil {
		if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
			o.cudaVisible = &v
		}
		o.cudaOrder = os.Getenv("CUDA_DEVICE_ORDER")
	}
}

// WithSysfsRoot reads RAPL zones under root/class/powercap instead of
// /sys/class/powercap, and hwmon devices under root/class/hwmon unless
// WithHwmonRoot says otherwise. Without it, CARBONTRACK_SYSFS_ROOT or "/sys"
// is used.
func WithSysfsRoot(root string) Option { return func(o *options) { o.sysfsRoot = root } }

// WithHwmonRoot reads hwmon devices (AMD and Intel GPUs, NVIDIA Grace power
// meters) under root/class/hwmon instead of the sysfs root's (WithSysfsRoot,
// CARBONTRACK_SYSFS_ROOT or "/sys"), for tests and for a host's hwmon
// mounted apart from its powercap.
func WithHwmonRoot(root string) Option { return func(o *options) { o.hwmonRoot = root } }

// WithProcRoot reads CPU load, cpuinfo, memory and processes under root
// instead of /proc (gopsutil's HOST_PROC). Without it, CARBONTRACK_PROC_ROOT
// or "/proc" is used.
func WithProcRoot(root string) Option { return func(o *options) { o.procRootDir = root } }

func (o *options) procRoot() string {
	if o.procRootDir != "" {
		return o.procRootDir
	}
	if r := os.Getenv(EnvProcRoot); r != "" {
		return r
	}
	return "/proc"
}

// procEnv returns gopsutil's environment override for a /proc root, or nil.
func procEnv(procRoot string) common.EnvMap {
	if procRoot == "" || procRoot == "/proc" {
		return nil
	}
	return common.EnvMap{common.HostProcEnvKey: procRoot}
}

func withEnv(ctx context.Context, env common.EnvMap) context.Context {
	if env == nil {
		return ctx
	}
	return context.WithValue(ctx, common.EnvKey, env)
}

// WithNVMLLibrary loads NVML from path (go-nvml's WithLibraryPath) instead of
// "libnvidia-ml.so.1". Without it, CARBONTRACK_NVML_LIBRARY is used if set.
func WithNVMLLibrary(path string) Option { return func(o *options) { o.nvmlLibrary = path } }

// WithAMDSMILibrary loads AMD SMI from path (a path or a soname, as dlopen
// takes it) instead of trying "libamd_smi.so" and then
// "/opt/rocm/lib/libamd_smi.so". Without it, CARBONTRACK_AMDSMI_LIBRARY is
// used if set.
func WithAMDSMILibrary(path string) Option { return func(o *options) { o.amdsmiLib = path } }

// WithKinds limits discovery to the given kinds of device (default: all).
func WithKinds(kinds ...Kind) Option {
	return func(o *options) {
		o.kinds = make(map[Kind]bool, len(kinds))
		for _, k := range kinds {
			o.kinds[k] = true
		}
	}
}

// WithProcess restricts measurement to the process tree rooted at pid: the
// GPUs on which one of its processes runs (NVML compute processes) and its
// share of CPU time. RAPL counters measure whole packages, so with a process
// view the CPU and DRAM sources are the estimates, scaled to the tree.
func WithProcess(pid int) Option { return func(o *options) { o.pid = pid } }

// WithGPUPowerSampling makes GPUs use power readings even where the energy
// counter is supported, for validating one method against the other.
func WithGPUPowerSampling() Option { return func(o *options) { o.forceSampled = true } }

// WithCUDAVisibleDevices selects GPUs as CUDA_VISIBLE_DEVICES would
// (comma-separated indices, GPU UUIDs or MIG UUIDs) instead of reading that
// environment variable (nor CUDA_DEVICE_ORDER: indices are then taken in
// PCI bus order, NVML's).
func WithCUDAVisibleDevices(v string) Option {
	return func(o *options) { o.cudaVisible, o.cudaOrder = &v, "PCI_BUS_ID" }
}

// WithLogger logs discovery decisions to l (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Package power tells what a device has drawn: the sources carbontrack reads.
//
// A Source is one measurable device, a GPU, a CPU package, DRAM, or an
// estimate standing in for one. It says what it is (Info: kind, device name,
// index, UUID) and how it measures (Method):
//
//   - counter: a cumulative hardware energy counter, exact. NVIDIA GPUs from
//     Volta on (nvmlDeviceGetTotalEnergyConsumption, mJ) and Linux RAPL
//     packages and DRAM (powercap energy_uj, µJ, unwrapped at
//     max_energy_range_uj). Intel discrete GPUs through hwmon (xe, i915
//     energy1_input, µJ), and AMD GPUs whose driver has energy1_input.
//   - sampled: power readings, integrated over time by the sampler. GPUs
//     without the counter: the driver's power sample buffer
//     (nvmlDeviceGetSamples), else nvmlDeviceGetPowerUsage, which on Hopper
//     (H100, H200) is a 1 s average, not an instantaneous reading. AMD GPUs
//     (hwmon power1_average or power1_input, µW) and NVIDIA Grace CPUs and
//     their memory (ACPI power meters, µW; each meter counted once, the
//     GH200 Module meter never, as it includes the GPU).
//   - estimated: a model. Where RAPL is absent (VMs, containers) or
//     unreadable, CPU power from gopsutil's CPU load on Teads' load curve times
//     the TDP of the CPU model (an embedded table derived from CodeCarbon's,
//     see LookupCPU), or per-vCPU figures when the model is unknown; DRAM at
//     0.392 W per GB.
//
// Discover finds the sources of the machine and, for each device it cannot
// measure, the reason (no driver, permission denied with the fix, not
// supported):
//
//	d, err := power.Discover(ctx)            // honours CUDA_VISIBLE_DEVICES
//	if err != nil { ... }                    // only if ctx is done
//	defer d.Close()
//	for _, s := range d.Sources { fmt.Println(s.Info().Name, s.Info().Method) }
//	for _, u := range d.Unavailable { fmt.Println(u.Name, u.Reason()) }
//
// Reading a source is synchronous and allocates nothing in steady state (the
// CPU estimate excepted: gopsutil parses /proc/stat); package sampler reads
// them periodically and integrates energy over time. This package starts no
// goroutines and keeps no package-level state.
//
// NVIDIA GPUs are read through go-nvml's cgo path and need a Linux build with
// CGO_ENABLED=1; elsewhere GPUs are reported unavailable with the reason and
// everything else works. After NVML's Init fails no other NVML function is
// called. The sysfs root (WithSysfsRoot, CARBONTRACK_SYSFS_ROOT; hwmon's
// alone with WithHwmonRoot), the /proc
// root (WithProcRoot, CARBONTRACK_PROC_ROOT) and the NVML library
// (WithNVMLLibrary, CARBONTRACK_NVML_LIBRARY) can be pointed elsewhere, for
// containers and tests; package powertest has scripted sources and fake
// powercap and /proc trees.
package power

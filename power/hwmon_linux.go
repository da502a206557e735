//go:build linux

package power

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The hwmon sysfs ABI (Documentation/hwmon/sysfs-interface.rst): a device
// directory class/hwmon/hwmonN holds a name file (the driver's prefix) and
// attributes powerN_average and powerN_input in microwatts, energyN_input in
// microjoules, and optional labels (powerN_label, energyN_label). Older
// drivers, the ACPI power meter among them, keep name and attributes in the
// parent device directory (hwmonN/device/), where libsensors also looks.

const (
	// hwmonCounterMaxUJ is where an energyN_input file returns to zero, in
	// µJ: the hwmon core passes a C long (64 bits on 64-bit kernels), so a
	// counter can only reach 2^63 − 1 (drivers/hwmon/hwmon.c, %ld).
	hwmonCounterMaxUJ uint64 = math.MaxInt64

	// intelEnergyRegisterWrap is the energy after which the 32-bit energy
	// register of an Intel discrete GPU wraps, in joules: 2^32 units of
	// 2^-14 J, the usual energy unit of PACKAGE_POWER_SKU_UNIT
	// (drivers/gpu/drm/xe/xe_hwmon.c, xe_hwmon_energy_get: "4.36 minutes" at
	// 1000 W). The kernel folds the register into a 63-bit total each time
	// energy1_input is read and so loses a wrap when two reads are further
	// apart than this; as Info.WrapEnergy it makes the sampler read at least
	// twice per wrap at the GPU's plausible maximum.
	intelEnergyRegisterWrap Joules = 1 << 32 >> 14

	// hwmonGPUMaxFactor bounds a GPU's plausible power at this many times
	// the limit its driver reports (µW in power1_cap_max, power1_rated_max):
	// short excursions above a board's limit stay well below twice it.
	hwmonGPUMaxFactor = 2
	// hwmonGPUDefaultMax is the plausible maximum of a GPU whose driver
	// reports no limit, in watts: the largest accelerators read here draw
	// at most 1400 W (AMD Instinct MI355X's total board power, AMD data sheet, 2025).
	hwmonGPUDefaultMax Watts = 2000
)

// hwmonDevice is one class/hwmon/hwmonN entry of a driver carbontrack reads.
type hwmonDevice struct {
	hwmon  string // "hwmon3"
	attrs  string // the directory holding name and the attributes
	driver string // the name file: "amdgpu", "xe", "i915", "power_meter"
	bus    string // the parent device: "0000:03:00.0", "ACPI000D:00"
}

func (d hwmonDevice) attr(name string) string { return filepath.Join(d.attrs, name) }

// discoverHwmon lists root/class/hwmon and returns the sources of the
// drivers carbontrack reads there (AMD GPUs, Intel discrete GPUs, Grace power
// meters) and, for each such device it cannot read, why. nvmlGPUs says NVML
// measures GPUs already (see graceSources); measured holds the PCI addresses
// of the devices another backend measures (AMD SMI's GPUs), which are
// skipped.
func discoverHwmon(h hwmonFS, nvmlGPUs bool, measured map[string]bool) ([]Source, []Unavailable) {
	dir := filepath.Join(h.root, "class", "hwmon")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, []Unavailable{{Name: "hwmon", Err: errorf(ErrPermission,
				"power: hwmon: cannot list %s: %w; AMD and Intel GPUs and Grace power meters are not measured", dir, err)}}
		}
		return nil, nil // no hwmon class: nothing of these drivers
	}
	byDriver := map[string][]hwmonDevice{}
	for _, e := range entries {
		d, ok := readHwmonDevice(filepath.Join(dir, e.Name()))
		if !ok {
			continue
		}
		if measured[d.bus] {
			continue // counted once, by the backend that measures it
		}
		switch d.driver {
		case "amdgpu", "xe", "i915", "power_meter":
			byDriver[d.driver] = append(byDriver[d.driver], d)
		}
		// Any other driver is ignored: sensors without power, nouveau (NVIDIA
		// GPUs are NVML's), i915_gt0… (parts of the i915 device).
	}
	var (
		sources []Source
		unavail []Unavailable
	)
	add := func(s Source, u *Unavailable) {
		if u != nil {
			unavail = append(unavail, *u)
		} else {
			sources = append(sources, s)
		}
	}
	for _, driver := range []string{"amdgpu", "xe", "i915"} {
		devs := byDriver[driver]
		slices.SortFunc(devs, func(a, b hwmonDevice) int { return cmp.Compare(a.bus, b.bus) })
		for i, d := range devs {
			if driver == "amdgpu" {
				add(amdGPUSource(h, d, i))
			} else {
				add(intelGPUSource(h, d, i))
			}
		}
	}
	s, u := graceSources(h, byDriver["power_meter"], nvmlGPUs)
	return append(sources, s...), append(unavail, u...)
}

// readHwmonDevice reads the name of the hwmon device at dir, in dir or, for
// older drivers, in dir/device.
func readHwmonDevice(dir string) (hwmonDevice, bool) {
	d := hwmonDevice{hwmon: filepath.Base(dir)}
	for _, attrs := range []string{dir, filepath.Join(dir, "device")} {
		if name, err := readText(filepath.Join(attrs, "name")); err == nil {
			d.attrs, d.driver = attrs, name
			break
		}
	}
	if d.driver == "" {
		return d, false
	}
	if target, err := filepath.EvalSymlinks(filepath.Join(dir, "device")); err == nil {
		d.bus = filepath.Base(target)
	}
	return d, true
}

// readText reads a short text attribute, trimmed.
func readText(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// plausibleGPUMax is hwmonGPUMaxFactor times the power limit the driver
// reports in µW at p (amdgpu power1_cap_max, xe/i915 power1_rated_max), or
// hwmonGPUDefaultMax.
func plausibleGPUMax(p string) Watts {
	if s, err := readText(p); err == nil {
		if uw, err := strconv.ParseUint(s, 10, 64); err == nil && uw > 0 {
			return Watts(float64(uw)/1e6) * hwmonGPUMaxFactor
		}
	}
	return hwmonGPUDefaultMax
}

// amdGPUSource reads an amdgpu device (Documentation/gpu/amdgpu/thermal.rst):
// energy1_input (µJ) as a counter where the driver has it, else
// power1_average, else power1_input (µW, the latter on boards whose firmware
// reports current rather than averaged power) as power readings.
func amdGPUSource(h hwmonFS, d hwmonDevice, index int) (Source, *Unavailable) {
	info := Info{Name: fmt.Sprintf("gpu:amdgpu-%d", index), Kind: KindGPU, Index: index,
		Device: "AMD GPU", MaxPower: plausibleGPUMax(d.attr("power1_cap_max"))}
	if product, err := readText(filepath.Join(d.attrs, "device", "product_name")); err == nil && product != "" {
		info.Device = product
	}
	info.Device += " (amdgpu, PCI " + d.bus + ")"
	if p := d.attr("energy1_input"); exists(p) {
		info.Method = MethodCounter
		info.Detail = "hwmon " + d.hwmon + "/energy1_input (µJ)"
		info.Wraps = true
		return openHwmonCounter(h, info, p)
	}
	for _, attr := range []string{"power1_average", "power1_input"} {
		if p := d.attr(attr); exists(p) {
			info.Method = MethodSampled
			info.Detail = "hwmon " + d.hwmon + "/" + attr + " (µW)"
			return openHwmonPower(h, info, hwmonTerm{path: p, sign: 1})
		}
	}
	return nil, &Unavailable{Name: info.Name, Err: errorf(ErrNotSupported,
		"power: hwmon: %s (amdgpu, PCI %s) has neither power1_average nor power1_input nor energy1_input (an older or integrated GPU); it is not measured",
		d.attrs, d.bus)}
}

// intelGPUSource reads an xe or i915 device's energy counter.
//
// Which channel: Documentation/ABI/testing/sysfs-driver-intel-xe-hwmon says
// energy1_input is the card's energy and energy2_input the package's, with
// labels "card" and "pkg"; the card includes the package (the GPU die) plus
// its memory and board, so the card is read where there is one and the
// package only otherwise, never both. i915 has energy1_input only, the whole
// device (Documentation/ABI/testing/sysfs-driver-intel-i915-hwmon); its
// per-GT devices (name i915_gt0, …) are parts of it and never read.
//
// Wraps: the kernel accumulates the 32-bit register into a 63-bit total, so
// the file wraps only at hwmonCounterMaxUJ; a step back is unwrapped at that
// modulus as RAPL's is, which the sampler rejects as implausible (a driver
// reload). intelEnergyRegisterWrap makes the sampler read often enough for
// the kernel to see every wrap of the register.
func intelGPUSource(h hwmonFS, d hwmonDevice, index int) (Source, *Unavailable) {
	info := Info{Name: fmt.Sprintf("gpu:%s-%d", d.driver, index), Kind: KindGPU, Index: index,
		Device: "Intel GPU (" + d.driver + ", PCI " + d.bus + ")", Method: MethodCounter,
		MaxPower: plausibleGPUMax(d.attr("power1_rated_max")), Wraps: true, WrapEnergy: intelEnergyRegisterWrap}
	channel, what := "", ""
	for _, ch := range []string{"1", "2"} {
		if !exists(d.attr("energy" + ch + "_input")) {
			continue
		}
		label, _ := readText(d.attr("energy" + ch + "_label"))
		if label == "card" || (label == "" && ch == "1") {
			channel, what = ch, "card"
			break
		}
		if channel == "" {
			channel, what = ch, cmp.Or(label, "package")
		}
	}
	if channel == "" {
		return nil, &Unavailable{Name: info.Name, Err: errorf(ErrNotSupported,
			"power: hwmon: %s (%s, PCI %s) has no energy1_input or energy2_input (only some Intel GPUs report energy); it is not measured",
			d.attrs, d.driver, d.bus)}
	}
	info.Detail = fmt.Sprintf("hwmon %s/energy%s_input (µJ, %s energy)", d.hwmon, channel, what)
	return openHwmonCounter(h, info, d.attr("energy"+channel+"_input"))
}

// graceMeter is one ACPI power meter of an NVIDIA Grace or GH200 socket.
type graceMeter struct {
	dev    hwmonDevice
	part   string // "module", "grace", "cpu", "sysio"
	socket int
	oem    string // power1_oem_info as read
}

// graceSources turns the ACPI power meters (Documentation/hwmon/
// acpi_power_meter.rst: power1_average in µW, power1_oem_info naming what the
// meter measures) into CPU and DRAM sources. On NVIDIA Grace each socket has
// meters named "Grace Power Socket N" (the whole Grace socket: CPU, LPDDR5X
// memory and regulator loss), "CPU Power Socket N" (the CPU rail) and "SysIO
// Power Socket N" (the SoC rail); a GH200 adds "Module Power Socket N", the
// whole module, Hopper GPU and HBM included.
//
// No meter is counted twice. The Module meter is never used: it includes the
// GPU, which NVML measures when the driver is loaded, and spans three kinds.
// With Grace, CPU and SysIO meters the CPU is CPU + SysIO and the DRAM is
// Grace − CPU − SysIO (memory and regulator loss), so together they are the
// Grace meter; with a Grace meter alone it is the CPU and the DRAM source reads
// 0 W (the memory is in the CPU's figure) so that the RAM estimate does not
// count it again; with CPU or SysIO meters alone they are the CPU and the RAM
// estimate stands in. Meters that name something else (a server's whole-system
// meter) are reported, not read.
func graceSources(h hwmonFS, devs []hwmonDevice, nvmlGPUs bool) ([]Source, []Unavailable) {
	var (
		meters  = map[int]map[string]graceMeter{}
		sockets []int
		unavail []Unavailable
	)
	for _, d := range devs {
		oem, err := readText(d.attr("power1_oem_info"))
		m, ok := parseGraceMeter(oem)
		if err != nil || !ok {
			what := fmt.Sprintf("power1_oem_info %q", oem)
			if err != nil {
				what = fmt.Sprintf("no readable power1_oem_info (%v)", err)
			}
			unavail = append(unavail, Unavailable{Name: "hwmon:" + d.hwmon, Err: errorf(ErrNotSupported,
				"power: hwmon: ACPI power meter %s (%s) has %s, not an NVIDIA Grace meter of a known part; it may measure the whole system (GPUs and CPUs together), so it is not read",
				d.hwmon, d.bus, what)})
			continue
		}
		m.dev = d
		if meters[m.socket] == nil {
			meters[m.socket] = map[string]graceMeter{}
			sockets = append(sockets, m.socket)
		}
		meters[m.socket][m.part] = m
	}
	slices.Sort(sockets)
	var sources []Source
	for _, s := range sockets {
		ms := meters[s]
		term := func(part string, sign float64) hwmonTerm {
			return hwmonTerm{path: ms[part].dev.attr("power1_average"), sign: sign}
		}
		grace, hasGrace := ms["grace"]
		_, hasCPU := ms["cpu"]
		_, hasIO := ms["sysio"]
		if mod, ok := ms["module"]; ok {
			why := "the GPU in it is measured by NVML"
			if !nvmlGPUs {
				why = "it includes the Hopper GPU and its HBM, which carbontrack attributes to NVML (found no GPU: is the NVIDIA driver loaded?)"
			}
			instead := "the Grace, CPU and SysIO meters of the socket are used instead"
			if !hasGrace && !hasCPU && !hasIO {
				instead = "the socket has no Grace, CPU or SysIO meter, so the CPU and RAM estimates stand in"
			}
			unavail = append(unavail, Unavailable{Name: "hwmon:" + mod.dev.hwmon, Err: errorf(ErrNotSupported,
				"power: hwmon: %q (%s) is not read: a Module meter counts the socket's GPU, CPU and memory together and %s; %s",
				mod.oem, mod.dev.hwmon, why, instead)})
		}
		cpu := Info{Name: fmt.Sprintf("cpu:grace-socket-%d", s), Kind: KindCPU, Index: s,
			Device: fmt.Sprintf("NVIDIA Grace socket %d", s), Method: MethodSampled, MaxPower: raplMaxPlausible}
		dram := Info{Name: fmt.Sprintf("dram:grace-socket-%d", s), Kind: KindDRAM, Index: s,
			Device: fmt.Sprintf("LPDDR5X of NVIDIA Grace socket %d", s), Method: MethodSampled, MaxPower: raplMaxPlausible}
		var cpuTerms, dramTerms []hwmonTerm
		switch {
		case hasGrace && hasCPU && hasIO:
			cpuTerms = []hwmonTerm{term("cpu", 1), term("sysio", 1)}
			cpu.Detail = fmt.Sprintf("ACPI power meters %q + %q (µW): the CPU and SoC rails", ms["cpu"].oem, ms["sysio"].oem)
			dramTerms = []hwmonTerm{term("grace", 1), term("cpu", -1), term("sysio", -1)}
			dram.Detail = fmt.Sprintf("ACPI power meters %q − %q − %q (µW): memory and regulator loss", grace.oem, ms["cpu"].oem, ms["sysio"].oem)
		case hasGrace:
			cpuTerms = []hwmonTerm{term("grace", 1)}
			cpu.Detail = fmt.Sprintf("ACPI power meter %q (µW): the whole socket, LPDDR5X memory included", grace.oem)
			dramTerms = []hwmonTerm{} // 0 W: in the CPU's figure
			dram.Detail = fmt.Sprintf("0 W: the memory is counted in %s (%q includes it)", cpu.Name, grace.oem)
		default:
			var parts []string
			for _, p := range []string{"cpu", "sysio"} {
				if m, ok := ms[p]; ok {
					cpuTerms = append(cpuTerms, term(p, 1))
					parts = append(parts, strconv.Quote(m.oem))
				}
			}
			if len(cpuTerms) == 0 {
				continue // only a Module meter
			}
			cpu.Detail = fmt.Sprintf("ACPI power meter %s (µW): without a Grace meter the memory is estimated", strings.Join(parts, " + "))
		}
		src, u := openHwmonPower(h, cpu, cpuTerms...)
		if u != nil {
			unavail = append(unavail, *u)
			if len(dramTerms) == 0 {
				continue // a 0 W DRAM stands only beside the Grace meter's CPU
			}
		} else {
			sources = append(sources, src)
		}
		if dramTerms == nil {
			continue
		}
		if src, u := openHwmonPower(h, dram, dramTerms...); u != nil {
			unavail = append(unavail, *u)
		} else {
			sources = append(sources, src)
		}
	}
	return sources, unavail
}

// parseGraceMeter parses power1_oem_info of a Grace meter, such as "Grace
// Power Socket 0" (case and spacing aside).
func parseGraceMeter(oem string) (graceMeter, bool) {
	f := strings.Fields(oem)
	if len(f) != 4 || !strings.EqualFold(f[1], "power") || !strings.EqualFold(f[2], "socket") {
		return graceMeter{}, false
	}
	socket, err := strconv.Atoi(f[3])
	if err != nil || socket < 0 {
		return graceMeter{}, false
	}
	part := strings.ToLower(f[0])
	switch part {
	case "module", "grace", "cpu", "sysio":
		return graceMeter{part: part, socket: socket, oem: strings.Join(f, " ")}, true
	}
	return graceMeter{}, false
}

// hwmonValue is one open attribute file holding a decimal number, read with
// pread into a fixed buffer so that reading allocates nothing.
type hwmonValue struct {
	path string
	f    *os.File
	buf  [32]byte
}

// openHwmonValue opens p and reads it once: reading can fail where opening
// succeeded (a driver returning EIO, EPERM or ENODATA).
func openHwmonValue(h hwmonFS, p string) (*hwmonValue, error) {
	f, err := h.open(p)
	if err != nil {
		return nil, err
	}
	v := &hwmonValue{path: p, f: f}
	if _, err := v.read(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return v, nil
}

func (v *hwmonValue) read() (uint64, error) {
	n, err := v.f.ReadAt(v.buf[:], 0)
	if n == 0 && err != nil {
		return 0, err
	}
	return parseUint(v.buf[:n])
}

// hwmonOpenError says why the attribute p of the source info cannot be read,
// and what to do.
func hwmonOpenError(info Info, p string, err error) *Unavailable {
	instead := "it is not measured"
	switch info.Kind {
	case KindCPU:
		instead = "the CPU estimate is used instead"
	case KindDRAM:
		instead = "the RAM estimate is used instead"
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		err = errorf(ErrPermission, "power: hwmon: cannot read %s: permission denied; fix: run as root, or `sudo chmod o+r %s` "+
			"(or a udev rule doing the same at boot), or `sudo setcap cap_dac_read_search+ep $(which carbontrack)`; %s: %w", p, p, instead, err)
	case errors.Is(err, os.ErrNotExist):
		err = errorf(ErrNotFound, "power: hwmon: %s: %w; %s", p, err, instead)
	case errors.Is(err, errBadNumber):
		err = errorf(ErrNotSupported, "power: hwmon: %s does not hold a whole number of µW or µJ (a driver bug, or the device is asleep or resetting); %s: %w",
			p, instead, err)
	default:
		err = fmt.Errorf("power: hwmon: %s: %w (the driver refused the read); %s", p, err, instead)
	}
	return &Unavailable{Name: info.Name, Err: err}
}

// hwmonTerm is one power attribute (µW) added (sign 1) or subtracted (-1).
type hwmonTerm struct {
	path string
	sign float64
	v    *hwmonValue
}

// hwmonPower is a sampled source: the sum of its terms' power readings,
// never below zero (meters averaging over different windows can make a
// difference briefly negative). With no term it reads 0 W. Read allocates
// nothing. Like every Source it is read by one goroutine at a time; Info may
// be called concurrently.
type hwmonPower struct {
	info     Info
	terms    []hwmonTerm
	isClosed bool
}

var (
	_ Source = (*hwmonPower)(nil)
	_ Closer = (*hwmonPower)(nil)
	_ Source = (*hwmonCounter)(nil)
	_ Closer = (*hwmonCounter)(nil)
)

func openHwmonPower(h hwmonFS, info Info, terms ...hwmonTerm) (*hwmonPower, *Unavailable) {
	p := &hwmonPower{info: info, terms: terms}
	for i := range p.terms {
		v, err := openHwmonValue(h, p.terms[i].path)
		if err != nil {
			_ = p.Close()
			return nil, hwmonOpenError(info, p.terms[i].path, err)
		}
		p.terms[i].v = v
	}
	return p, nil
}

// Info describes the source.
func (p *hwmonPower) Info() Info { return p.info }

// Read sets r.Power to the sum of the terms' readings now.
func (p *hwmonPower) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	var uw float64
	for i := range p.terms {
		v, err := p.terms[i].v.read()
		if err != nil {
			return fmt.Errorf("power: hwmon: %s: %w", p.terms[i].path, err)
		}
		uw += p.terms[i].sign * float64(v)
	}
	r.Power = Watts(max(uw, 0) / 1e6)
	return nil
}

// Close closes the attribute files. It is idempotent.
func (p *hwmonPower) Close() error {
	if p.isClosed {
		return nil
	}
	p.isClosed = true
	var errs []error
	for _, t := range p.terms {
		if t.v != nil {
			errs = append(errs, t.v.f.Close())
		}
	}
	return errors.Join(errs...)
}

// hwmonCounter is an energyN_input counter (µJ), unwrapped at
// hwmonCounterMaxUJ by the RAPL zone reader, whose arithmetic it shares. Like
// every Source it is read by one goroutine at a time.
type hwmonCounter struct{ *raplZone }

func openHwmonCounter(h hwmonFS, info Info, p string) (*hwmonCounter, *Unavailable) {
	v, err := openHwmonValue(h, p)
	if err != nil {
		return nil, hwmonOpenError(info, p, err)
	}
	return &hwmonCounter{&raplZone{info: info, path: p, f: v.f, maxUJ: hwmonCounterMaxUJ}}, nil
}

// Read returns the cumulative energy since the source was opened, unwrapped.
func (c *hwmonCounter) Read(ctx context.Context, r *Reading) error {
	if err := c.raplZone.Read(ctx, r); err != nil {
		return fmt.Errorf("power: hwmon: %s: %w", c.path, errors.Unwrap(err))
	}
	return nil
}

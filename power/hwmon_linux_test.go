//go:build linux

package power

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeHwmon is one hwmon device of a fake sysfs tree, laid out as the kernel
// does: devices/<bus path>/<bus>/hwmon/hwmonN holding the attributes (or, for
// a legacy driver such as the ACPI power meter, the parent device directory
// holding them), class/hwmon/hwmonN a link to it and hwmonN/device a link to
// the parent.
type fakeHwmon struct {
	bus    string            // the parent device's name: a PCI address, an ACPI id
	legacy bool              // name and attributes in the parent device directory
	attrs  map[string]string // attribute file → content, "name" included
}

// writeHwmon writes devs as class/hwmon/hwmon0, hwmon1, … under a new sysfs
// root and returns it. PCI and ACPI names contain ':', which Go module zips
// reject, so the tree is written at test time.
func writeHwmon(t *testing.T, devs ...fakeHwmon) string {
	t.Helper()
	root := t.TempDir()
	class := filepath.Join(root, "class", "hwmon")
	require.NoError(t, os.MkdirAll(class, 0o755))
	for i, d := range devs {
		name := fmt.Sprintf("hwmon%d", i)
		bus := filepath.Join("devices", "pci0000:00", d.bus)
		hw := filepath.Join(root, bus, "hwmon", name)
		require.NoError(t, os.MkdirAll(hw, 0o755))
		require.NoError(t, os.Symlink(filepath.Join("..", "..", bus, "hwmon", name), filepath.Join(class, name)))
		require.NoError(t, os.Symlink(filepath.Join("..", ".."), filepath.Join(hw, "device")))
		dir := hw
		if d.legacy {
			dir = filepath.Join(root, bus)
		}
		for f, content := range d.attrs {
			setAttr(t, filepath.Join(dir, f), content)
		}
	}
	return root
}

func setAttr(t *testing.T, p, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o644))
}

// attrPath is the path of attribute f of device i of the tree at root.
func attrPath(root string, i int, f string) string {
	return filepath.Join(root, "class", "hwmon", fmt.Sprintf("hwmon%d", i), f)
}

func discoverHwmonTree(t *testing.T, root string, opts ...Option) *Discovery {
	t.Helper()
	opts = append([]Option{WithSysfsRoot(root), WithNVMLLibrary(filepath.Join(t.TempDir(), "libnvidia-ml.so.1")),
		WithAMDSMILibrary(filepath.Join(t.TempDir(), "libamd_smi.so"))}, opts...)
	d, err := Discover(t.Context(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	// No libamd_smi.so here: AMD SMI's entry is not what these tests are about.
	d.Unavailable = slices.DeleteFunc(d.Unavailable, func(u Unavailable) bool { return u.Name == "amdsmi" })
	return d
}

func sourceNames(sources []Source) []string {
	var out []string
	for _, s := range sources {
		out = append(out, s.Info().Name)
	}
	return out
}

func unavailable(d []Unavailable, name string) *Unavailable {
	for i := range d {
		if d[i].Name == name {
			return &d[i]
		}
	}
	return nil
}

func read(t *testing.T, s Source) Reading {
	t.Helper()
	var r Reading
	require.NoError(t, s.Read(t.Context(), &r))
	return r
}

func TestHwmonAMDGPUs(t *testing.T) {
	root := writeHwmon(t,
		fakeHwmon{bus: "0000:c3:00.0", attrs: map[string]string{"name": "amdgpu", "power1_input": "75500000"}},
		fakeHwmon{bus: "0000:00:18.3", attrs: map[string]string{"name": "k10temp", "temp1_input": "45000"}},
		fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "amdgpu", "power1_average": "150000000",
			"power1_input": "1", "power1_cap_max": "300000000"}},
		fakeHwmon{bus: "0000:41:00.0", attrs: map[string]string{"name": "nouveau", "power1_input": "90000000"}},
		fakeHwmon{bus: "0000:83:00.0", attrs: map[string]string{"name": "amdgpu", "energy1_input": "1000000", "power1_average": "1"}},
	)
	require.NoError(t, os.WriteFile(filepath.Join(root, "devices", "pci0000:00", "0000:03:00.0", "product_name"), []byte("Instinct MI210\n"), 0o644))
	d := discoverHwmonTree(t, root, WithKinds(KindGPU))
	require.Equal(t, []string{"gpu:amdgpu-0", "gpu:amdgpu-1", "gpu:amdgpu-2"}, sourceNames(d.Sources),
		"ordered by PCI address; k10temp has no power, nouveau's NVIDIA GPU is NVML's")

	avg := d.Sources[0].Info()
	assert.Equal(t, "Instinct MI210 (amdgpu, PCI 0000:03:00.0)", avg.Device)
	assert.Equal(t, KindGPU, avg.Kind)
	assert.Equal(t, MethodSampled, avg.Method)
	assert.Equal(t, 0, avg.Index)
	assert.Contains(t, avg.Detail, "power1_average")
	assert.InDelta(t, 600, float64(avg.MaxPower), 1e-9, "twice power1_cap_max")
	r := read(t, d.Sources[0])
	assert.InDelta(t, 150, float64(r.Power), 1e-9, "power1_average before power1_input, µW to W")
	assert.False(t, r.Average, "a reading at this instant, integrated by the trapezoidal rule")

	in := d.Sources[2].Info()
	assert.Equal(t, "AMD GPU (amdgpu, PCI 0000:c3:00.0)", in.Device)
	assert.Contains(t, in.Detail, "power1_input")
	assert.Equal(t, hwmonGPUDefaultMax, in.MaxPower)
	assert.InDelta(t, 75.5, float64(read(t, d.Sources[2]).Power), 1e-9)

	counter := d.Sources[1]
	assert.Equal(t, MethodCounter, counter.Info().Method, "an energy counter where the driver has one")
	assert.Zero(t, read(t, counter).Energy)
	setAttr(t, attrPath(root, 4, "energy1_input"), "3500000")
	assert.InDelta(t, 2.5, float64(read(t, counter).Energy), 1e-9, "µJ to J")

	var rr Reading
	allocs := testing.AllocsPerRun(100, func() { _ = d.Sources[0].Read(t.Context(), &rr) })
	assert.Zero(t, allocs, "a hwmon read allocates nothing")
	assert.Equal(t, []string{"nvml"}, unavailableNames(d.Unavailable))
}

func TestHwmonIntelGPUs(t *testing.T) {
	root := writeHwmon(t,
		// xe on a card with both channels: the card is read, not the package.
		fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "xe", "energy1_input": "1000", "energy1_label": "card",
			"energy2_input": "500", "energy2_label": "pkg", "power1_rated_max": "190000000"}},
		// Labels the other way round: the label decides.
		fakeHwmon{bus: "0000:04:00.0", attrs: map[string]string{"name": "xe", "energy1_input": "1", "energy1_label": "pkg",
			"energy2_input": "2", "energy2_label": "card"}},
		// Only the package channel.
		fakeHwmon{bus: "0000:05:00.0", attrs: map[string]string{"name": "xe", "energy2_input": "7", "energy2_label": "pkg"}},
		// i915: energy1_input, the whole device, no label; its per-GT device is not read.
		fakeHwmon{bus: "0000:06:00.0", attrs: map[string]string{"name": "i915", "energy1_input": "42"}},
		fakeHwmon{bus: "0000:06:00.0", attrs: map[string]string{"name": "i915_gt0", "energy1_input": "40"}},
	)
	d := discoverHwmonTree(t, root, WithKinds(KindGPU))
	require.Equal(t, []string{"gpu:xe-0", "gpu:xe-1", "gpu:xe-2", "gpu:i915-0"}, sourceNames(d.Sources))
	assert.Equal(t, []string{"nvml"}, unavailableNames(d.Unavailable))
	details := []string{"energy1_input (µJ, card energy)", "energy2_input (µJ, card energy)", "energy2_input (µJ, pkg energy)",
		"energy1_input (µJ, card energy)"}
	for i, s := range d.Sources {
		info := s.Info()
		assert.Equal(t, MethodCounter, info.Method)
		assert.True(t, info.Wraps)
		assert.InDelta(t, 262144, float64(info.WrapEnergy), 1e-9, "2^32 register units of 2^-14 J")
		assert.Contains(t, info.Detail, details[i])
		assert.NotContains(t, info.Name, ".")
	}
	assert.Equal(t, "Intel GPU (xe, PCI 0000:03:00.0)", d.Sources[0].Info().Device)
	assert.InDelta(t, 380, float64(d.Sources[0].Info().MaxPower), 1e-9, "twice power1_rated_max")

	// Deltas in µJ, and a wrap of the kernel's 63-bit accumulator.
	src := d.Sources[0]
	p := attrPath(root, 0, "energy1_input")
	setAttr(t, p, strconv.FormatUint(hwmonCounterMaxUJ-2_000_000, 10))
	read(t, src)
	setAttr(t, p, strconv.FormatUint(hwmonCounterMaxUJ-1_000_000, 10))
	before := read(t, src).Energy
	setAttr(t, p, "500000")
	assert.InDelta(t, 1.5, float64(read(t, src).Energy-before), 1e-6, "(max - last) + current")

	var r Reading
	allocs := testing.AllocsPerRun(100, func() { _ = src.Read(t.Context(), &r) })
	assert.Zero(t, allocs, "a counter read allocates nothing")
}

// gh200 is a GH200 socket's ACPI power meters (name and attributes in the
// ACPI device directory, as acpi_power_meter.c registers them).
func gh200(socket int, moduleW, graceW, cpuW, sysioW float64) []fakeHwmon {
	meter := func(id int, what string, w float64) fakeHwmon {
		return fakeHwmon{bus: fmt.Sprintf("ACPI000D:%02d", id), legacy: true, attrs: map[string]string{"name": "power_meter",
			"power1_average": strconv.FormatUint(uint64(w*1e6), 10), "power1_oem_info": fmt.Sprintf("%s Power Socket %d", what, socket)}}
	}
	return []fakeHwmon{meter(4*socket, "Module", moduleW), meter(4*socket+1, "Grace", graceW),
		meter(4*socket+2, "CPU", cpuW), meter(4*socket+3, "SysIO", sysioW)}
}

func TestHwmonGraceNoDoubleCounting(t *testing.T) {
	root := writeHwmon(t, append(gh200(0, 900, 250, 150, 40),
		fakeHwmon{bus: "ACPI000D:10", legacy: true, attrs: map[string]string{"name": "power_meter", "power1_average": "400000000"}})...)
	d := discoverHwmonTree(t, root, WithKinds(KindCPU, KindDRAM))
	require.Equal(t, []string{"cpu:grace-socket-0", "dram:grace-socket-0"}, sourceNames(d.Sources),
		"measured CPU and DRAM: neither estimate is added, RAPL has nothing")
	cpu, dram := d.Sources[0], d.Sources[1]
	assert.Equal(t, MethodSampled, cpu.Info().Method)
	assert.Equal(t, "NVIDIA Grace socket 0", cpu.Info().Device)
	assert.InDelta(t, 190, float64(read(t, cpu).Power), 1e-9, "CPU rail + SoC rail")
	assert.InDelta(t, 60, float64(read(t, dram).Power), 1e-9, "Grace − CPU − SysIO: memory and regulator loss")
	assert.Contains(t, dram.Info().Detail, "Grace Power Socket 0")

	module := unavailable(d.Unavailable, "hwmon:hwmon0")
	require.NotNil(t, module, "the Module meter is reported, not read")
	assert.ErrorIs(t, module.Err, ErrNotSupported)
	assert.Contains(t, module.Reason(), "Module Power Socket 0")
	assert.Contains(t, module.Reason(), "Grace, CPU and SysIO meters of the socket are used instead")
	system := unavailable(d.Unavailable, "hwmon:hwmon4")
	require.NotNil(t, system, "a meter that names no Grace part may be the whole system")
	assert.Contains(t, system.Reason(), "not read")

	// With NVML's GPUs found, the Module meter's reason says so.
	_, u := discoverHwmon(hwmonFS{root: root, open: os.Open}, true, nil)
	assert.Contains(t, unavailable(u, "hwmon:hwmon0").Reason(), "measured by NVML")

	// A meter's readings later in the run.
	setAttr(t, filepath.Join(root, "devices", "pci0000:00", "ACPI000D:02", "power1_average"), "100000000")
	assert.InDelta(t, 140, float64(read(t, cpu).Power), 1e-9)
	assert.InDelta(t, 110, float64(read(t, dram).Power), 1e-9)
	setAttr(t, filepath.Join(root, "devices", "pci0000:00", "ACPI000D:02", "power1_average"), "300000000")
	assert.Zero(t, float64(read(t, dram).Power), "a difference of averages is never negative")
}

func TestHwmonGracePartialMeters(t *testing.T) {
	all := gh200(0, 900, 250, 150, 40)
	root := writeHwmon(t,
		all[1],                    // socket 0: the Grace meter alone
		gh200(1, 0, 0, 120, 0)[2], // socket 1: the CPU rail alone
		gh200(2, 800, 0, 0, 0)[0], // socket 2: the Module meter alone
	)
	sources, unavail := discoverHwmon(hwmonFS{root: root, open: os.Open}, false, nil)
	t.Cleanup(func() {
		for _, s := range sources {
			closeSource(s)
		}
	})
	require.Equal(t, []string{"cpu:grace-socket-0", "dram:grace-socket-0", "cpu:grace-socket-1"}, sourceNames(sources))
	assert.InDelta(t, 250, float64(read(t, sources[0]).Power), 1e-9, "the whole socket, memory included")
	assert.Zero(t, float64(read(t, sources[1]).Power), "the memory is in the CPU's figure: the RAM estimate must not add it")
	assert.Contains(t, sources[1].Info().Detail, "counted in cpu:grace-socket-0")
	assert.InDelta(t, 120, float64(read(t, sources[2]).Power), 1e-9)
	require.Len(t, unavail, 1)
	assert.Contains(t, unavail[0].Reason(), "no Grace, CPU or SysIO meter")
	assert.Contains(t, unavail[0].Reason(), "NVML")
}

func TestHwmonUnreadable(t *testing.T) {
	root := writeHwmon(t,
		fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "amdgpu", "power1_average": "garbage"}},
		fakeHwmon{bus: "0000:04:00.0", attrs: map[string]string{"name": "amdgpu", "temp1_input": "40000"}},
		fakeHwmon{bus: "0000:05:00.0", attrs: map[string]string{"name": "xe", "power1_max": "0"}},
		fakeHwmon{bus: "0000:06:00.0", attrs: map[string]string{"name": "i915", "energy1_input": "-12"}},
	)
	d := discoverHwmonTree(t, root, WithKinds(KindGPU))
	assert.Empty(t, d.Sources)
	require.Equal(t, []string{"gpu:amdgpu-0", "gpu:amdgpu-1", "gpu:xe-0", "gpu:i915-0"}, unavailableNames(d.Unavailable[1:]),
		"after NVML's entry, one entry a device")
	garbage := d.Unavailable[1]
	assert.ErrorIs(t, garbage.Err, ErrNotSupported)
	assert.Contains(t, garbage.Reason(), attrPath(root, 0, "power1_average")[len(root):], "names the file")
	assert.Contains(t, garbage.Reason(), "whole number")
	assert.Contains(t, d.Unavailable[2].Reason(), "neither power1_average nor power1_input")
	assert.Contains(t, d.Unavailable[3].Reason(), "no energy1_input or energy2_input")
	assert.Contains(t, d.Unavailable[4].Reason(), "whole number")
}

func unavailableNames(u []Unavailable) []string {
	var out []string
	for _, x := range u {
		out = append(out, x.Name)
	}
	return out
}

// TestHwmonPermissionDenied: root reads any file whatever its mode, so the
// open seam stands in for EACCES; the chmod case runs only where chmod
// stops this process.
func TestHwmonPermissionDenied(t *testing.T) {
	root := writeHwmon(t, append(gh200(0, 900, 250, 150, 40),
		fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "amdgpu", "power1_average": "1"}})...)
	check := func(t *testing.T, sources []Source, unavail []Unavailable) {
		for _, s := range sources {
			closeSource(s)
		}
		gpu := unavailable(unavail, "gpu:amdgpu-0")
		require.NotNil(t, gpu, "%v", unavail)
		assert.ErrorIs(t, gpu.Err, ErrPermission)
		assert.ErrorIs(t, gpu.Err, fs.ErrPermission)
		assert.Contains(t, gpu.Reason(), filepath.Join("hwmon4", "power1_average"), "names the file")
		assert.Contains(t, gpu.Reason(), "chmod o+r")
		assert.Contains(t, gpu.Reason(), "it is not measured")
	}
	t.Run("seam", func(t *testing.T) {
		deny := func(p string) (*os.File, error) {
			if strings.HasSuffix(p, "power1_average") {
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			return os.Open(p)
		}
		sources, unavail := discoverHwmon(hwmonFS{root: root, open: deny}, false, nil)
		check(t, sources, unavail)
		cpu := unavailable(unavail, "cpu:grace-socket-0")
		require.NotNil(t, cpu)
		assert.ErrorIs(t, cpu.Err, ErrPermission)
		assert.Contains(t, cpu.Reason(), "the CPU estimate is used instead")
		assert.Contains(t, unavailable(unavail, "dram:grace-socket-0").Reason(), "the RAM estimate is used instead")
	})
	t.Run("chmod", func(t *testing.T) {
		p := attrPath(root, 4, "power1_average")
		require.NoError(t, os.Chmod(p, 0o200))
		t.Cleanup(func() { _ = os.Chmod(p, 0o644) })
		if _, err := os.ReadFile(p); err == nil {
			t.Skip("this process reads a file of mode 0200 (root): chmod cannot deny it; the seam case covers it")
		}
		sources, unavail := discoverHwmon(hwmonFS{root: root, open: os.Open}, false, nil)
		check(t, sources, unavail)
	})
}

func TestHwmonProcessViewAndAbsence(t *testing.T) {
	root := writeHwmon(t, fakeHwmon{bus: "0000:03:00.0", attrs: map[string]string{"name": "amdgpu", "power1_average": "1"}})
	d := discoverHwmonTree(t, root, WithKinds(KindGPU), WithProcess(os.Getpid()))
	assert.Empty(t, d.Sources)
	u := unavailable(d.Unavailable, "hwmon")
	require.NotNil(t, u)
	assert.Contains(t, u.Reason(), "gpu:amdgpu-0 not used with a process view")

	// WithHwmonRoot moves hwmon alone; an empty tree adds no entry.
	d = discoverHwmonTree(t, root, WithKinds(KindGPU), WithHwmonRoot(t.TempDir()))
	assert.Empty(t, d.Sources)
	assert.Nil(t, unavailable(d.Unavailable, "hwmon"))
	assert.Equal(t, []string{"nvml"}, unavailableNames(d.Unavailable))
	d = discoverHwmonTree(t, t.TempDir(), WithKinds(KindGPU), WithHwmonRoot(root))
	assert.Equal(t, []string{"gpu:amdgpu-0"}, sourceNames(d.Sources))
}

func FuzzParseGraceMeter(f *testing.F) {
	for _, s := range []string{"Module Power Socket 0", "Grace Power Socket 1", "CPU Power Socket 0", "SysIO Power Socket 3",
		"grace  power socket 0", "Power Meter", "", "CPU Power Socket -1", "GPU Power Socket 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseGraceMeter(s)
		if !ok {
			return
		}
		again, ok := parseGraceMeter(m.oem)
		if !ok || again != m {
			t.Fatalf("%q parses to %+v, whose text %q parses to %+v", s, m, m.oem, again)
		}
		if m.socket < 0 {
			t.Fatalf("%q: negative socket", s)
		}
	})
}

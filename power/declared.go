package power

import (
	"context"
	"fmt"
	"slices"
	"strconv"
)

// DeclaredPower is the power of a device that nothing can read (an Apple
// GPU, an accelerator without a power interface, hardware in a VM), as the
// user states it: carbontracker's --sim-cpu and --sim-gpu, CodeCarbon's
// force_cpu_power. It is a plain value.
type DeclaredPower struct {
	// Kind is the class of device: KindGPU, KindCPU or KindDRAM.
	Kind Kind
	// Device is the device's human name, such as "Apple M2 GPU"; empty
	// means "declared <kind>".
	Device string
	// Power is the device's draw in watts when fully used; it must be
	// positive and finite.
	Power Watts
	// Utilization is the fraction of Power drawn on average, in (0, 1];
	// zero means 1 (always at Power).
	Utilization float64
}

// Watts returns the power the device is taken to draw: Power × Utilization
// (Power when Utilization is zero).
func (d DeclaredPower) Watts() Watts {
	if d.Utilization == 0 {
		return d.Power
	}
	return d.Power * Watts(d.Utilization)
}

// Check returns an error, wrapping ErrNotSupported, when d cannot be
// declared: an unknown kind, a power not positive and finite, or a
// utilisation outside (0, 1].
func (d DeclaredPower) Check() error {
	switch {
	case !slices.Contains(kindOrder[:], d.Kind):
		return errorf(ErrNotSupported, "power: declared: kind %q: want gpu, cpu or dram", d.Kind)
	case !(d.Power > 0) || d.Power > MaxDeclaredPower:
		return errorf(ErrNotSupported, "power: declared: %s power %v W: want a positive number of watts, at most %v", d.Kind, float64(d.Power), float64(MaxDeclaredPower))
	case d.Utilization != 0 && !(d.Utilization > 0 && d.Utilization <= 1):
		return errorf(ErrNotSupported, "power: declared: %s utilisation %v: want a fraction in (0, 1]", d.Kind, d.Utilization)
	}
	return nil
}

// MaxDeclaredPower bounds a declared device's power: 1 MW, ten times what a
// whole rack of the densest accelerators draws (NVIDIA GB200 NVL72, about
// 120 kW, NVIDIA's 2024 specifications); more is a typing error (and
// 1e308 W would overflow the energy).
const MaxDeclaredPower Watts = 1e6

// Declared is a Source for a device whose power is declared, not read
// (MethodDeclared): every Read reports DeclaredPower.Watts as the mean power
// since the previous Read, so the sampler's energy is exactly that power ×
// the time elapsed, with no sampling error, at any read interval
// (CadenceRare). It never fails. Its Info, fixed when it is made, is safe
// for concurrent use; Read holds no state.
type Declared struct {
	info  Info
	power Watts
}

var _ Source = (*Declared)(nil)

// NewDeclared returns the source of d, named name (unique among the
// sources measured together, without '.', such as "gpu:declared-0"; empty
// means "<kind>:declared"). It fails when d.Check does or name contains a '.'.
func NewDeclared(d DeclaredPower, name string) (*Declared, error) {
	if err := d.Check(); err != nil {
		return nil, err
	}
	if name == "" {
		name = string(d.Kind) + ":declared"
	}
	for _, r := range name {
		if r == '.' {
			return nil, errorf(ErrNotSupported, "power: declared: name %q contains a '.'", name)
		}
	}
	dev := d.Device
	if dev == "" {
		dev = "declared " + string(d.Kind)
	}
	detail := fmt.Sprintf("declared %s W", fmtWatts(d.Power))
	if d.Utilization != 0 && d.Utilization != 1 {
		detail += fmt.Sprintf(" × utilisation %s = %s W", strconv.FormatFloat(d.Utilization, 'g', -1, 64), fmtWatts(d.Watts()))
	}
	detail += ", not measured"
	return &Declared{power: d.Watts(), info: Info{
		Name: name, Kind: d.Kind, Device: dev, Index: -1, Method: MethodDeclared, Detail: detail, Cadence: CadenceRare,
	}}, nil
}

func fmtWatts(w Watts) string { return strconv.FormatFloat(float64(w), 'g', 6, 64) }

// Info describes the declared device.
func (d *Declared) Info() Info { return d.info }

// Read reports the declared power as the mean power since the previous
// Read.
func (d *Declared) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0], Power: d.power, Average: true}
	return nil
}

// NewDeclaredSources returns a source per declared device, in order, named
// "<kind>:declared" when it is the only one of its kind and
// "<kind>:declared-<n>" (n from 0 in order) when there are several. It fails
// with the first device that DeclaredPower.Check rejects.
func NewDeclaredSources(ds ...DeclaredPower) ([]*Declared, error) {
	count := map[Kind]int{}
	for _, d := range ds {
		count[d.Kind]++
	}
	seen := map[Kind]int{}
	out := make([]*Declared, 0, len(ds))
	for _, d := range ds {
		name := string(d.Kind) + ":declared"
		if count[d.Kind] > 1 {
			name += "-" + strconv.Itoa(seen[d.Kind])
		}
		seen[d.Kind]++
		s, err := NewDeclared(d, name)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// MergeDeclared returns sources with the declared ones added. A declared
// device stands in for what nothing reads, so it replaces the estimates of
// its kind (MethodEstimated sources, returned in dropped: counting both
// would count that kind twice). Measured sources of its kind (counter,
// sampled) are kept, the declared device being taken as another one (a
// second GPU nothing reads): for each such kind a warning says so, as the
// declared device may be one of the measured ones. The result keeps
// sources' order, each declared source placed after the last source of its
// kind or of a kind listed before it (GPUs, then CPU, then DRAM, as Discover
// lists them). It does not close what it drops.
func MergeDeclared(sources []Source, declared ...*Declared) (merged, dropped []Source, warnings []string) {
	declared = slices.DeleteFunc(slices.Clone(declared), func(d *Declared) bool { return d == nil })
	kinds := map[Kind]bool{}
	for _, d := range declared {
		kinds[d.info.Kind] = true
	}
	warned := map[Kind]bool{}
	for _, s := range sources {
		i := s.Info()
		switch {
		case !kinds[i.Kind]:
			merged = append(merged, s)
		case i.Method == MethodEstimated:
			dropped = append(dropped, s)
		default:
			merged = append(merged, s)
			if i.Method != MethodDeclared && !warned[i.Kind] {
				warned[i.Kind] = true
				warnings = append(warnings, fmt.Sprintf(
					"power: declared: %s is measured (%s, %s) and a %s is declared too: both are counted; declare only devices nothing reads",
					i.Kind, i.Name, i.Method, i.Kind))
			}
		}
	}
	rank := func(k Kind) int {
		if i := slices.Index(kindOrder[:], k); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	for _, d := range declared {
		// After the last source of its kind or of a kind before it.
		at := 0
		for j := len(merged) - 1; j >= 0; j-- {
			if rank(merged[j].Info().Kind) <= rank(d.info.Kind) {
				at = j + 1
				break
			}
		}
		merged = slices.Insert(merged, at, Source(d))
	}
	return merged, dropped, warnings
}

// Declare adds declared sources to d as MergeDeclared does, closing and
// removing the estimates they replace, and returns MergeDeclared's
// warnings.
func (d *Discovery) Declare(declared ...*Declared) (warnings []string) {
	merged, dropped, warnings := MergeDeclared(d.Sources, declared...)
	for _, s := range dropped {
		closeSource(s)
	}
	d.Sources = merged
	return warnings
}

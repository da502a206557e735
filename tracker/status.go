package tracker

import (
	"time"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
)

// Status is a live view of a tracker, for status lines and metrics: totals
// since New (epochs or not), the power now, the current epoch and the
// projection. Take it with Status or StatusInto; it is a copy.
type Status struct {
	// Start is when New returned; Time is when the latest sample was taken.
	Start, Time time.Time
	// Epochs is the number announced to New; Started counts the epochs
	// started (the open one included); Completed those that ended, as
	// EpochStart and EpochEnd were called (the projection follows once the
	// sampler has read the boundary, microseconds later).
	Epochs, Started, Completed int
	// EpochOpen is true between EpochStart and EpochEnd.
	EpochOpen bool
	// Stopped is true once Stop was called.
	Stopped bool
	// PUE is the power usage effectiveness applied to Grams.
	PUE float64
	// DeviceEnergy is the devices' energy since New (before PUE);
	// FacilityEnergy is DeviceEnergy × PUE; Grams the emissions since New
	// in grams CO2e (PUE included); Power the devices' power over their
	// latest read intervals.
	DeviceEnergy   power.Joules
	FacilityEnergy power.Joules
	Grams          float64
	Power          power.Watts
	// PowerByKind splits Power by kind of device; Kinds says which kinds
	// are measured (a kind measured at 0 W is in Kinds).
	PowerByKind PowerComponents
	Kinds       KindSet
	// Intensity is the emission factor in use now.
	Intensity factor.Intensity
	// Location is the zone in use and how it was found.
	Location factor.Location
	// Projection is the latest projection when HasProjection is true.
	Projection    Projection
	HasProjection bool
	// Sources are the devices, in the order of Sources().
	Sources []SourceStatus
}

// SourceStatus is one device in a Status.
type SourceStatus struct {
	Info power.Info
	// DeviceEnergy since New in joules (before PUE), Grams in grams CO2e
	// (PUE included), Power over the latest read interval.
	DeviceEnergy power.Joules
	Grams        float64
	Power        power.Watts
	// Lost is true once the device stopped answering.
	Lost bool
}

// Status returns a live view of the tracker. It reads no sensor.
func (t *Tracker) Status() Status {
	var s Status
	t.StatusInto(&s)
	return s
}

// StatusInto fills s, reusing s.Sources: it allocates nothing once s.Sources
// has room and takes the same time however many epochs ran, so a metrics
// scrape or a status line can call it often. It reads no sensor.
func (t *Tracker) StatusInto(s *Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	srcs := s.Sources[:0]
	*s = Status{
		Start: t.start, Time: t.lastTick, Epochs: t.epochs, EpochOpen: t.open,
		Stopped: t.stopped || t.stopping, PUE: t.opts.pue, Intensity: t.intens, Location: t.loc,
	}
	// Epochs as called: a boundary's energy follows within microseconds,
	// when the sampler has read it.
	s.Started, s.Completed = t.ended, t.ended
	if t.open {
		s.Started++
	}
	s.Projection, s.HasProjection = t.proj, t.hasProj
	t.smp.SnapshotInto(&t.statusSnap) // lock order: t.mu, then the sampler's
	for i, info := range t.infos {
		lost := t.lost[i] || (i < len(t.statusSnap.Sources) && t.statusSnap.Sources[i].Lost)
		pw := t.lastPow[i]
		if lost {
			pw = 0
		}
		srcs = append(srcs, SourceStatus{Info: info, DeviceEnergy: t.cumE[i], Grams: t.cumG[i], Power: pw, Lost: lost})
		s.DeviceEnergy += t.cumE[i]
		s.Grams += t.cumG[i]
		s.Power += pw
		s.PowerByKind.add(info.Kind, pw)
		s.Kinds.add(info.Kind)
	}
	s.Sources = srcs
	s.FacilityEnergy = s.DeviceEnergy * power.Joules(t.opts.pue)
}

// PowerComponents is a power split by kind of device. It is a plain value.
type PowerComponents struct {
	GPU, CPU, DRAM power.Watts
}

func (c *PowerComponents) add(k power.Kind, w power.Watts) {
	switch k {
	case power.KindGPU:
		c.GPU += w
	case power.KindCPU:
		c.CPU += w
	case power.KindDRAM:
		c.DRAM += w
	}
}

// Of returns the power of kind k (0 for a kind it does not split).
func (c PowerComponents) Of(k power.Kind) power.Watts {
	switch k {
	case power.KindGPU:
		return c.GPU
	case power.KindCPU:
		return c.CPU
	case power.KindDRAM:
		return c.DRAM
	}
	return 0
}

// KindSet says which of the kinds GPU, CPU and DRAM are present. It is a
// plain value.
type KindSet struct {
	GPU, CPU, DRAM bool
}

func (s *KindSet) add(k power.Kind) {
	switch k {
	case power.KindGPU:
		s.GPU = true
	case power.KindCPU:
		s.CPU = true
	case power.KindDRAM:
		s.DRAM = true
	}
}

// Has reports whether kind k is present.
func (s KindSet) Has(k power.Kind) bool {
	switch k {
	case power.KindGPU:
		return s.GPU
	case power.KindCPU:
		return s.CPU
	case power.KindDRAM:
		return s.DRAM
	}
	return false
}

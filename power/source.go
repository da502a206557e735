package power

import (
	"context"
	"errors"
	"fmt"
)

// Kind is the class of device a Source measures.
type Kind string

// The kinds of device carbontrack measures.
const (
	KindGPU  Kind = "gpu"
	KindCPU  Kind = "cpu"
	KindDRAM Kind = "dram"
)

// Method says how a Source knows its energy, from most to least exact.
type Method string

const (
	// MethodCounter is a cumulative hardware energy counter (NVML's
	// TotalEnergyConsumption, RAPL energy_uj): energy is the exact difference
	// between two reads.
	MethodCounter Method = "counter"
	// MethodSampled is a series of power readings integrated over time
	// (trapezoidal rule); its error depends on the sampling rate against the
	// load's rate of change.
	MethodSampled Method = "sampled"
	// MethodEstimated is a model, such as CPU load × TDP or W per GB of RAM,
	// not a measurement.
	MethodEstimated Method = "estimated"
	// MethodDeclared is a power the user states for a device nothing can
	// read (NewDeclared): its declared watts × utilisation, integrated
	// exactly over time. Neither a measurement nor a model of the load.
	MethodDeclared Method = "declared"
)

// Info describes a Source. It is a plain value, safe to copy.
type Info struct {
	// Name identifies the source uniquely within one discovery, such as
	// "gpu:0", "cpu:package-0" or "dram:package-0". It contains no '.'.
	Name string
	// Kind is the class of device.
	Kind Kind
	// Device is the human name of the device, such as "NVIDIA H100 80GB HBM3"
	// or "AMD EPYC 7763 64-Core Processor".
	Device string
	// Index is the device's index among devices of its kind (NVML index,
	// RAPL package number), or -1 when it has none.
	Index int
	// UUID is the GPU's UUID; empty for other kinds.
	UUID string
	// Method says how energy is known.
	Method Method
	// Detail says what the method rests on, such as "TDP 280 W (table) × 1
	// socket" or "GetSamples power buffer"; for people, not parsing.
	Detail string
	// MaxPower is the most the device can plausibly draw. The sampler rejects
	// a counter interval implying more (a counter reset, not a real spike).
	// Zero means no check.
	MaxPower Watts
	// Wraps is true for a counter that wraps around (RAPL). The sampler
	// never treats a backwards step of such a counter as a reset by itself;
	// the source unwraps it and MaxPower bounds the result.
	Wraps bool
	// WrapEnergy is the energy after which a wrapping counter returns to
	// zero (RAPL's max_energy_range_uj); zero when unknown or not wrapping.
	// Reads must come more often than WrapEnergy / MaxPower, or whole wraps
	// are lost: the sampler reads such a counter at least twice per wrap
	// time, whatever its interval.
	WrapEnergy Joules
	// Cadence says how often the source must be read to stay exact; the
	// zero value, CadenceAuto, derives it from Method.
	Cadence Cadence
	// Uncertainty is the typical relative error of an estimated source's
	// power: in half of the comparisons with a measurement that the model
	// was checked against, the measured power lay within the estimate × (1
	// ± Uncertainty). It is 0.342 for the CPU estimate from TDP (CodeCarbon's
	// published RAPL profiles; see CPUEstimate). It is 0 for counter,
	// sampled and declared sources, whose error is the device's or the
	// user's statement, and for an estimate whose error is not quantified
	// (UncertaintySource then says so, as for the RAM estimate).
	Uncertainty float64
	// UncertaintySource says, for people, where Uncertainty comes from or
	// that it is not quantified; empty for counter, sampled and declared
	// sources.
	UncertaintySource string
}

// Estimated reports whether the source is a model (MethodEstimated) rather
// than a measurement or a declaration.
func (i Info) Estimated() bool { return i.Method == MethodEstimated }

// Cadence says how often a Source must be read for its energy to stay exact.
// The sampler reads rarely what can be read rarely: every wake-up costs CPU
// time that the tracked run does not get.
type Cadence int

const (
	// CadenceAuto derives the cadence from the Method: CadenceRare for
	// MethodCounter, CadenceFast otherwise.
	CadenceAuto Cadence = iota
	// CadenceRare: a read at any spacing gives the exact energy since the
	// previous read (an energy counter), or the exact mean power since it
	// (Reading.Average over cumulative CPU times), or the power changes
	// rarely (installed RAM). Read at the sampler's slow interval and at
	// events, bounded by WrapEnergy.
	CadenceRare
	// CadenceBuffered: the device keeps its own power readings between
	// reads (NVML's sample buffer); read often enough that the buffer does
	// not overflow (about once a second).
	CadenceBuffered
	// CadenceFast: instantaneous power readings, integrated by the
	// trapezoidal rule; read at the sampler's fast power interval (100 ms by
	// default) so that a load changing at 1 Hz does not alias.
	CadenceFast
)

// ResolveCadence returns the cadence of a source with this Info: Cadence,
// or, for CadenceAuto, the one its Method implies.
func (i Info) ResolveCadence() Cadence {
	if i.Cadence != CadenceAuto {
		return i.Cadence
	}
	if i.Method == MethodCounter {
		return CadenceRare
	}
	return CadenceFast
}

// PowerSample is one power reading with the time it was taken, in
// microseconds since the Unix epoch (NVML's timestamp unit).
type PowerSample struct {
	TimeMicros int64
	Power      Watts
}

// Reading is what one Read of a Source yields. The caller owns it and reuses
// it between reads, so reading allocates nothing: Read overwrites every field
// and appends to Samples[:0].
type Reading struct {
	// Energy is the cumulative energy since the source was opened, already
	// unwrapped; meaningful for MethodCounter sources.
	Energy Joules
	// Reset is set by a counter source whose counter went backwards where it
	// cannot wrap (a driver reload): the interval since the previous read is
	// unusable and must be skipped.
	Reset bool
	// Power is the power now (Average false) or the mean power since the
	// previous Read (Average true); meaningful for sampled and estimated
	// sources. Ignored when Samples is not empty.
	Power Watts
	// Average is true when Power is the mean since the previous Read rather
	// than a reading at this instant.
	Average bool
	// Samples are power readings taken by the device itself between two
	// reads, oldest first, strictly newer than the previous Read's samples
	// (NVML's power sample buffer). When present they replace Power.
	Samples []PowerSample
}

// Source is one measurable device: a GPU, a CPU package, DRAM, or an estimate
// standing in for one.
//
// Read takes one reading into r. It is synchronous, cheap (one sensor read)
// and allocates nothing in steady state. A Source is used by one goroutine
// at a time (the sampler's); Info may be called concurrently.
type Source interface {
	Info() Info
	Read(ctx context.Context, r *Reading) error
}

// Closer is implemented by sources holding resources (open files, a library
// handle). Close is idempotent.
type Closer interface {
	Close() error
}

// Unavailable says why a device could not be measured.
type Unavailable struct {
	// Name is what was looked for, such as "nvml", "gpu:3" or
	// "rapl:package-0".
	Name string
	// Err is the reason, wrapping a sentinel such as ErrNotFound,
	// ErrPermission or ErrNotSupported where one applies.
	Err error
}

// Reason returns the reason as text, or "" when Err is nil.
func (u Unavailable) Reason() string {
	if u.Err == nil {
		return ""
	}
	return u.Err.Error()
}

// Sentinel errors that wrap the reasons a source is unavailable. Test them with
// errors.Is.
var (
	// ErrNotFound means the hardware or its interface is absent (no NVIDIA
	// driver, no powercap tree): not a failure.
	ErrNotFound = errors.New("power: not found")
	// ErrPermission means the interface exists but this process may not read
	// it.
	ErrPermission = errors.New("power: permission denied")
	// ErrNotSupported means the platform or build cannot use the interface
	// (no cgo, not Linux, a call the device does not support).
	ErrNotSupported = errors.New("power: not supported")
	// ErrLost means a device stopped answering mid-run.
	ErrLost = errors.New("power: device lost")
)

// kindError is an error that reads as err but also matches kind (one of the
// sentinels) with errors.Is, so messages do not repeat the sentinel's text.
type kindError struct{ err, kind error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.err, e.kind} }

// errorf formats an error that also matches kind.
func errorf(kind error, format string, args ...any) error {
	return kindError{err: fmt.Errorf(format, args...), kind: kind}
}

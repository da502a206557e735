//go:build linux && cgo

package power

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlLib is the part of nvml.Interface carbontrack uses. go-nvml's
// nvml.New(...) and its mock servers (mock/dgxh100, ...) both satisfy it.
type nvmlLib interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	SystemGetDriverVersion() (string, nvml.Return)
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
	DeviceGetHandleByUUID(string) (nvml.Device, nvml.Return)
}

var _ nvmlLib = nvml.Interface(nil)

// nvmlHandle holds an nvml.Interface given with WithNVML.
type nvmlHandle = nvml.Interface

// WithNVML uses lib instead of loading libnvidia-ml: a go-nvml mock server in
// tests, or a library the caller has configured. Discover calls lib.Init and,
// on Close, lib.Shutdown.
func WithNVML(lib nvml.Interface) Option { return func(o *options) { o.nvml = lib } }

// nvmlErr turns an nvml.Return into an error: nil for SUCCESS (nvml.SUCCESS is
// a non-nil error value), otherwise the Return wrapped with what was called so
// that errors.Is(err, nvml.ERROR_NOT_SUPPORTED) works.
func nvmlErr(ret nvml.Return, call string) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	var sentinel error
	switch ret {
	case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
		sentinel = ErrNotSupported
	case nvml.ERROR_NO_PERMISSION:
		sentinel = ErrPermission
	case nvml.ERROR_GPU_IS_LOST:
		sentinel = ErrLost
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_NOT_FOUND:
		sentinel = ErrNotFound
	}
	if sentinel != nil {
		return errorf(sentinel, "power: nvml: %s: %w", call, ret)
	}
	return fmt.Errorf("power: nvml: %s: %w", call, ret)
}

// nvmlSession owns one successful nvml Init. Shutdown runs once, when the last
// GPU source is closed.
type nvmlSession struct {
	lib  nvmlLib
	mu   sync.Mutex
	refs int
}

func (s *nvmlSession) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs != 0 {
		return nil
	}
	return nvmlErr(s.lib.Shutdown(), "Shutdown")
}

// nvmlCheck lists the NVML functions carbontrack's calls into go-nvml reach
// (go-nvml picks the newest version the library exports; nvmlErrorString
// formats every error). All are in NVIDIA drivers since R450 (2020). Add a
// function here when a new call is made.
var nvmlCheck = libraryCheck{
	what: "nvml",
	want: "NVML (libnvidia-ml.so.1)",
	hint: "point --nvml-lib or " + EnvNVMLLibrary + " at libnvidia-ml.so.1, or leave them unset",
	symbols: []symbolGroup{
		{"nvmlInit_v2", "nvmlInit"},
		{"nvmlShutdown"},
		{"nvmlErrorString"},
		{"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"},
		{"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"},
		{"nvmlDeviceGetHandleByUUID"},
		{"nvmlDeviceGetIndex"},
		{"nvmlDeviceGetUUID"},
		{"nvmlDeviceGetName"},
		{"nvmlDeviceGetEnforcedPowerLimit"},
		{"nvmlDeviceGetTotalEnergyConsumption"},
		{"nvmlDeviceGetSamples"},
		{"nvmlDeviceGetPowerUsage"},
		{"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses"},
		{"nvmlDeviceGetDeviceHandleFromMigDeviceHandle"},
	},
}

// discoverNVML initialises NVML once and returns a source per selected GPU.
// Before loading a library it checks that the library exports every function
// of nvmlCheck; if not, or if Init fails, no NVML function is called: a
// missing symbol, or a call after a failed Init (go-nvml then has no library
// to call into), ends the process with "symbol lookup error". A library given
// with WithNVML is the caller's and is not checked.
func discoverNVML(ctx context.Context, o *options) ([]Source, []Unavailable) {
	var lib nvmlLib = o.nvml
	libName := "libnvidia-ml.so.1"
	if lib == nil {
		if o.nvmlLibrary != "" {
			libName = o.nvmlLibrary
		}
		// A library that loads but is not NVML (a wrong --nvml-lib) would
		// pass Init's dlopen, and its first call would end the process.
		// One that does not load at all is reported as go-nvml's Init
		// reports it, without searching for it a second time.
		switch err := checkLibrary(libName, nvmlCheck); {
		case errors.Is(err, errLibraryOpen):
			return nil, []Unavailable{{Name: "nvml", Err: nvmlInitErr(nvml.ERROR_LIBRARY_NOT_FOUND, libName)}}
		case err != nil:
			return nil, []Unavailable{{Name: "nvml", Err: fmt.Errorf("%w; GPUs are not measured", err)}}
		}
		if o.nvmlLibrary != "" {
			lib = nvml.New(nvml.WithLibraryPath(o.nvmlLibrary))
		} else {
			lib = nvml.New()
		}
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, []Unavailable{{Name: "nvml", Err: nvmlInitErr(ret, libName)}}
	}
	sess := &nvmlSession{lib: lib}
	o.logger.DebugContext(ctx, "nvml initialised", "library", libName)

	devs, unavail := selectGPUs(lib, o.cudaVisible)
	if note := cudaOrderNote(lib, o.cudaVisible, o.cudaOrder); note != "" {
		for i := range devs {
			devs[i].note = strings.TrimPrefix(devs[i].note+"; "+note, "; ")
		}
		o.logger.WarnContext(ctx, "power: nvml: "+note)
	}
	var sources []Source
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			unavail = append(unavail, Unavailable{Name: "nvml", Err: err})
			break
		}
		g, err := newGPU(d.dev, d.note, o.forceSampled)
		if err != nil {
			unavail = append(unavail, Unavailable{Name: d.name, Err: err})
			continue
		}
		g.sess = sess
		sources = append(sources, g)
	}
	if o.pid > 0 {
		for i, s := range sources {
			sources[i] = newProcessGPU(s.(*GPU), o.tree)
		}
	}
	sess.refs = len(sources)
	if len(sources) == 0 {
		sess.refs = 1
		_ = sess.release()
		if len(unavail) == 0 {
			unavail = append(unavail, Unavailable{Name: "nvml", Err: errorf(ErrNotFound, "power: nvml: no GPUs")})
		}
	}
	return sources, unavail
}

// nvmlInitErr is the reason NVML is unavailable when Init of the library
// libName returned ret.
func nvmlInitErr(ret nvml.Return, libName string) error {
	hint := ""
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		hint = fmt.Sprintf(" (%s could not be loaded: no NVIDIA driver here, or set %s / --nvml-lib to its path)", libName, EnvNVMLLibrary)
	case nvml.ERROR_DRIVER_NOT_LOADED:
		hint = " (the NVIDIA kernel driver is not loaded)"
	case nvml.ERROR_NO_PERMISSION:
		hint = " (no permission to open /dev/nvidia*)"
	}
	return fmt.Errorf("%w%s; GPUs are not measured", nvmlErr(ret, "Init"), hint)
}

// GPU is one NVIDIA GPU read through NVML. Its method is chosen when it is
// discovered:
//
//   - counter: nvmlDeviceGetTotalEnergyConsumption (mJ since the driver was
//     loaded; Volta and newer), exact;
//   - sampled with the driver's power sample buffer: nvmlDeviceGetSamples
//     (NVML_TOTAL_POWER_SAMPLES) returns every reading the driver took since
//     the previous call, so the integral sees the load between polls;
//   - sampled: nvmlDeviceGetPowerUsage at each poll. On Hopper (H100, H200)
//     this is the average over the last 1 s, not an instantaneous reading (it
//     is instantaneous on A100), so sampling it preserves energy but blurs
//     edges by up to 1 s.
//
// A GPU is read by one goroutine at a time (the sampler's); Info is safe for
// concurrent use.
type GPU struct {
	dev       nvml.Device
	info      Info
	useBuffer bool
	sess      *nvmlSession

	primed   bool
	lastMJ   uint64
	totalMJ  uint64
	lastSeen uint64
	closed   atomic.Bool // Close may come from another goroutine than Read
}

var (
	_ Source = (*GPU)(nil)
	_ Closer = (*GPU)(nil)
)

// gpuMaxPlausibleFactor bounds a counter interval at this many times the
// enforced power limit; transient draw above the limit lasts milliseconds.
const gpuMaxPlausibleFactor = 2

// gpuDefaultMaxPlausible is used when the power limit is unknown: twice the
// 1000 W of the largest board of 2024 (B200 SXM, NVIDIA datasheet).
const gpuDefaultMaxPlausible Watts = 2000

func newGPU(dev nvml.Device, note string, forceSampled bool) (*GPU, error) {
	idx, ret := dev.GetIndex()
	if err := nvmlErr(ret, "GetIndex"); err != nil {
		return nil, err
	}
	uuid, ret := dev.GetUUID()
	if err := nvmlErr(ret, "GetUUID"); err != nil {
		return nil, err
	}
	name, ret := dev.GetName()
	if err := nvmlErr(ret, "GetName"); err != nil {
		return nil, err
	}
	g := &GPU{dev: dev, info: Info{
		Name: "gpu:" + strconv.Itoa(idx), Kind: KindGPU, Device: name, Index: idx, UUID: uuid,
		MaxPower: gpuDefaultMaxPlausible,
	}}
	if limit, ret := dev.GetEnforcedPowerLimit(); ret == nvml.SUCCESS && limit > 0 {
		g.info.MaxPower = Watts(float64(limit)/1e3) * gpuMaxPlausibleFactor
	}
	var details []string
	if note != "" {
		details = append(details, note)
	}
	_, energyRet := dev.GetTotalEnergyConsumption()
	switch {
	case energyRet == nvml.SUCCESS && !forceSampled:
		g.info.Method = MethodCounter
		details = append(details, "energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ)")
	default:
		_, _, sret := dev.GetSamples(nvml.TOTAL_POWER_SAMPLES, 0)
		if sret == nvml.SUCCESS || sret == nvml.ERROR_NOT_FOUND {
			g.useBuffer = true
			g.info.Method = MethodSampled
			g.info.Cadence = CadenceBuffered
			details = append(details, "driver power sample buffer (nvmlDeviceGetSamples)")
		} else if _, pret := dev.GetPowerUsage(); pret == nvml.SUCCESS {
			g.info.Method = MethodSampled
			details = append(details, "power readings (nvmlDeviceGetPowerUsage)")
		} else {
			return nil, fmt.Errorf("power: nvml: %s (%s) supports neither the energy counter (%v) nor power readings (%w)",
				g.info.Name, name, energyRet, nvmlErr(pret, "GetPowerUsage"))
		}
		if forceSampled && energyRet == nvml.SUCCESS {
			details = append(details, "energy counter available but power sampling forced")
		}
	}
	g.info.Detail = strings.Join(details, "; ")
	return g, nil
}

// Info describes the GPU.
func (g *GPU) Info() Info { return g.info }

// Read takes one reading: the cumulative energy (counter) or the power
// readings since the previous Read (sampled).
func (g *GPU) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	if g.closed.Load() {
		// After the last Close NVML is shut down and its library may be
		// unloaded: calling into it could kill the process.
		return errorf(ErrLost, "power: nvml: %s: read after Close", g.info.Name)
	}
	switch {
	case g.info.Method == MethodCounter:
		mj, ret := g.dev.GetTotalEnergyConsumption()
		if err := nvmlErr(ret, "GetTotalEnergyConsumption"); err != nil {
			return err
		}
		switch {
		case !g.primed:
			g.primed = true
		case mj >= g.lastMJ:
			g.totalMJ += mj - g.lastMJ
		default:
			r.Reset = true // driver reloaded: the counter restarted
		}
		g.lastMJ = mj
		r.Energy = Joules(float64(g.totalMJ) / 1e3)
		return nil
	case g.useBuffer:
		typ, samples, ret := g.dev.GetSamples(nvml.TOTAL_POWER_SAMPLES, g.lastSeen)
		if ret != nvml.ERROR_NOT_FOUND { // NOT_FOUND: no sample since lastSeen
			if err := nvmlErr(ret, "GetSamples"); err != nil {
				return err
			}
		}
		if !g.primed && len(samples) > 1 {
			// The buffer holds readings from before this source was opened:
			// start from the newest one only.
			samples = samples[len(samples)-1:]
		}
		for _, s := range samples {
			if s.TimeStamp <= g.lastSeen {
				continue
			}
			g.primed = true
			g.lastSeen = s.TimeStamp
			r.Samples = append(r.Samples, PowerSample{TimeMicros: int64(s.TimeStamp), Power: sampleWatts(typ, s.SampleValue)})
		}
		if len(r.Samples) > 0 {
			return nil
		}
	}
	mw, ret := g.dev.GetPowerUsage()
	if err := nvmlErr(ret, "GetPowerUsage"); err != nil {
		return err
	}
	r.Power = Watts(float64(mw) / 1e3)
	return nil
}

// sampleWatts decodes a power sample (milliwatts) of the given value type.
func sampleWatts(t nvml.ValueType, v [8]byte) Watts {
	le := uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16 | uint64(v[3])<<24 |
		uint64(v[4])<<32 | uint64(v[5])<<40 | uint64(v[6])<<48 | uint64(v[7])<<56
	var mw float64
	switch t {
	case nvml.VALUE_TYPE_DOUBLE:
		mw = math.Float64frombits(le)
	case nvml.VALUE_TYPE_UNSIGNED_LONG, nvml.VALUE_TYPE_UNSIGNED_LONG_LONG:
		mw = float64(le)
	case nvml.VALUE_TYPE_SIGNED_LONG_LONG:
		mw = float64(int64(le))
	case nvml.VALUE_TYPE_SIGNED_INT:
		mw = float64(int32(uint32(le)))
	case nvml.VALUE_TYPE_UNSIGNED_SHORT:
		mw = float64(uint16(le))
	default: // VALUE_TYPE_UNSIGNED_INT, what the driver uses for power
		mw = float64(uint32(le))
	}
	return Watts(mw / 1e3)
}

// Close releases this GPU's share of the NVML session; the last one calls
// nvmlShutdown. It is idempotent.
func (g *GPU) Close() error {
	if g.sess == nil || g.closed.Swap(true) {
		return nil
	}
	return g.sess.release()
}

//go:build linux && cgo

package power

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The declarations below are those of AMD SMI's include/amd_smi/amdsmi.h,
// library version 24.7.0.0 (ROCm 6.3), unchanged since ROCm 6.0 for the
// calls made here. Nothing is linked against it: libamd_smi.so is opened
// with dlopen and each function looked up with dlsym, so a binary built here
// runs where ROCm is absent.

// amdsmi_status_t is a C enum whose values fit in 32 bits (0 is
// AMDSMI_STATUS_SUCCESS).
typedef uint32_t ct_amdsmi_status;

// amdsmi_bdf_t, as the header declares it.
typedef union {
	struct {
		uint64_t function_number : 3;
		uint64_t device_number : 5;
		uint64_t bus_number : 8;
		uint64_t domain_number : 48;
	};
	uint64_t as_uint;
} ct_amdsmi_bdf_t;

// AMDSMI_INIT_AMD_GPUS of amdsmi_init_flags_t: (1 << 1).
#define CT_AMDSMI_INIT_AMD_GPUS 2ULL
// AMDSMI_STATUS_OUT_OF_RESOURCES, for a failed allocation here.
#define CT_AMDSMI_STATUS_OUT_OF_RESOURCES 15
// amdsmi_asic_info_t starts with char market_name[AMDSMI_256_LENGTH] (256);
// the whole struct is about 460 bytes in 24.7 and has grown between
// versions, so the library writes into a buffer much larger than any.
#define CT_AMDSMI_MARKET_NAME_LEN 256
#define CT_AMDSMI_ASIC_INFO_BUF 4096

typedef struct {
	void *lib;
	ct_amdsmi_status (*init)(uint64_t init_flags);
	ct_amdsmi_status (*shut_down)(void);
	ct_amdsmi_status (*socket_handles)(uint32_t *socket_count, void **socket_handles);
	ct_amdsmi_status (*processor_handles)(void *socket_handle, uint32_t *processor_count, void **processor_handles);
	ct_amdsmi_status (*energy_count)(void *processor_handle, uint64_t *energy_accumulator, float *counter_resolution, uint64_t *timestamp);
	ct_amdsmi_status (*device_bdf)(void *processor_handle, ct_amdsmi_bdf_t *bdf);
	ct_amdsmi_status (*asic_info)(void *processor_handle, void *info);
} ct_amdsmi;

// ct_amdsmi_open loads the library at path and looks up every function. It
// returns NULL with errbuf (n bytes) holding dlerror's text, or the name of
// a missing function, without calling any. dlerror's text is copied here,
// on the thread that made the call: its buffer is that thread's.
static ct_amdsmi *ct_amdsmi_open(const char *path, char *errbuf, size_t n) {
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		const char *e = dlerror();
		snprintf(errbuf, n, "%s", e != NULL ? e : "dlopen failed");
		return NULL;
	}
	ct_amdsmi *a = calloc(1, sizeof *a);
	if (a == NULL) {
		snprintf(errbuf, n, "out of memory");
		dlclose(lib);
		return NULL;
	}
	a->lib = lib;
#define CT_SYM(field, name) do { \
		void *p = dlsym(lib, name); \
		if (p == NULL) { snprintf(errbuf, n, "%s", name); free(a); dlclose(lib); return NULL; } \
		memcpy(&a->field, &p, sizeof p); \
	} while (0)
	CT_SYM(init, "amdsmi_init");
	CT_SYM(shut_down, "amdsmi_shut_down");
	CT_SYM(socket_handles, "amdsmi_get_socket_handles");
	CT_SYM(processor_handles, "amdsmi_get_processor_handles");
	CT_SYM(energy_count, "amdsmi_get_energy_count");
	CT_SYM(device_bdf, "amdsmi_get_gpu_device_bdf");
	CT_SYM(asic_info, "amdsmi_get_gpu_asic_info");
#undef CT_SYM
	return a;
}

static ct_amdsmi_status ct_amdsmi_init(ct_amdsmi *a) { return a->init(CT_AMDSMI_INIT_AMD_GPUS); }
static ct_amdsmi_status ct_amdsmi_shut_down(ct_amdsmi *a) { return a->shut_down(); }

// ct_amdsmi_gpus returns in *out (to be freed) the processor handles of
// every socket, *n of them, in AMD SMI's order.
static ct_amdsmi_status ct_amdsmi_gpus(ct_amdsmi *a, void ***out, uint32_t *n) {
	*out = NULL;
	*n = 0;
	uint32_t ns = 0;
	ct_amdsmi_status st = a->socket_handles(&ns, NULL);
	if (st != 0 || ns == 0) {
		return st;
	}
	void **socks = calloc(ns, sizeof *socks);
	if (socks == NULL) {
		return CT_AMDSMI_STATUS_OUT_OF_RESOURCES;
	}
	// Both calls return at most the count given.
	if ((st = a->socket_handles(&ns, socks)) != 0) {
		free(socks);
		return st;
	}
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t np = 0;
		if ((st = a->processor_handles(socks[i], &np, NULL)) != 0) {
			break;
		}
		if (np == 0) {
			continue;
		}
		void **grown = realloc(*out, (*n + np) * sizeof *grown);
		if (grown == NULL) {
			st = CT_AMDSMI_STATUS_OUT_OF_RESOURCES;
			break;
		}
		*out = grown;
		if ((st = a->processor_handles(socks[i], &np, *out + *n)) != 0) {
			break;
		}
		*n += np;
	}
	free(socks);
	if (st != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return st;
}

static void *ct_amdsmi_handle(void **hs, uint32_t i) { return hs[i]; }

static ct_amdsmi_status ct_amdsmi_energy(ct_amdsmi *a, void *h, uint64_t *acc, float *res) {
	uint64_t ts = 0;
	return a->energy_count(h, acc, res, &ts);
}

static ct_amdsmi_status ct_amdsmi_bdf(ct_amdsmi *a, void *h, uint64_t *domain, uint8_t *bus, uint8_t *dev, uint8_t *fn) {
	ct_amdsmi_bdf_t b;
	memset(&b, 0, sizeof b);
	ct_amdsmi_status st = a->device_bdf(h, &b);
	*domain = b.domain_number;
	*bus = b.bus_number;
	*dev = b.device_number;
	*fn = b.function_number;
	return st;
}

// ct_amdsmi_name copies the market name of amdsmi_asic_info_t into out
// (CT_AMDSMI_MARKET_NAME_LEN + 1 bytes), NUL-terminated.
static ct_amdsmi_status ct_amdsmi_name(ct_amdsmi *a, void *h, char *out) {
	char *buf = calloc(1, CT_AMDSMI_ASIC_INFO_BUF);
	out[0] = 0;
	if (buf == NULL) {
		return CT_AMDSMI_STATUS_OUT_OF_RESOURCES;
	}
	ct_amdsmi_status st = a->asic_info(h, buf);
	if (st == 0) {
		memcpy(out, buf, CT_AMDSMI_MARKET_NAME_LEN);
		out[CT_AMDSMI_MARKET_NAME_LEN] = 0;
	}
	free(buf);
	return st;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// amdsmiSession owns one successful amdsmi_init. Every call into the library
// holds mu, so that amdsmi_shut_down, made once when the last source is
// closed, never runs during a read. The library stays loaded after it (AMD
// SMI's dependencies are not known to unload cleanly, and loading it again
// returns the same handle).
type amdsmiSession struct {
	mu   sync.Mutex
	c    *C.ct_amdsmi
	refs int
	down bool
}

func (s *amdsmiSession) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs != 0 || s.down {
		return nil
	}
	s.down = true
	return amdsmiErr(uint32(C.ct_amdsmi_shut_down(s.c)), "amdsmi_shut_down")
}

// energy reads the accumulator and its resolution (µJ per unit) of the GPU
// h.
func (s *amdsmiSession) energy(h unsafe.Pointer) (uint64, float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return 0, 0, errorf(ErrLost, "power: amdsmi: read after amdsmi_shut_down")
	}
	var (
		acc C.uint64_t
		res C.float
	)
	if err := amdsmiErr(uint32(C.ct_amdsmi_energy(s.c, h, &acc, &res)), "amdsmi_get_energy_count"); err != nil {
		return 0, 0, err
	}
	return uint64(acc), float64(res), nil
}

// openAMDSMI checks, then loads the first of the candidate libraries that
// can be loaded. It calls none of the library's functions.
func openAMDSMI(o *options) (*C.ct_amdsmi, string, *Unavailable) {
	candidates := amdsmiDefaultLibraries
	if o.amdsmiLib != "" {
		candidates = []string{o.amdsmiLib}
	}
	var openErrs []string
	for _, path := range candidates {
		// A library that loads but is not AMD SMI must be rejected before
		// any call; checkLibrary says which functions it lacks.
		if err := checkLibrary(path, amdsmiCheck); err != nil {
			if errors.Is(err, errLibraryOpen) {
				// An absent file is the usual case: its name says enough.
				if strings.Contains(err.Error(), "No such file or directory") {
					openErrs = append(openErrs, path)
				} else {
					openErrs = append(openErrs, err.Error())
				}
				continue
			}
			return nil, "", &Unavailable{Name: "amdsmi", Err: fmt.Errorf("%w; AMD GPUs are read through hwmon where the amdgpu driver exposes power", err)}
		}
		cpath := C.CString(path)
		const errLen = 512
		cerr := (*C.char)(C.calloc(errLen, 1))
		lib := C.ct_amdsmi_open(cpath, cerr, errLen)
		msg := C.GoString(cerr)
		C.free(unsafe.Pointer(cpath))
		C.free(unsafe.Pointer(cerr))
		if lib == nil {
			// Only if the file changed since the check.
			return nil, "", &Unavailable{Name: "amdsmi", Err: errorf(ErrNotFound, "power: amdsmi: %s: %s", path, msg)}
		}
		return lib, path, nil
	}
	return nil, "", &Unavailable{Name: "amdsmi", Err: errorf(ErrNotFound, "power: amdsmi: %s (tried %s; %s names another path)",
		amdsmiNotFound, strings.Join(openErrs, ", "), EnvAMDSMILibrary)}
}

// discoverAMDSMI loads AMD SMI, initialises it for AMD GPUs and returns a
// source per GPU whose energy counter can be read. After a failed
// amdsmi_init it calls nothing more.
func discoverAMDSMI(ctx context.Context, o *options) ([]Source, []Unavailable) {
	lib, path, u := openAMDSMI(o)
	if u != nil {
		return nil, []Unavailable{*u}
	}
	if st := uint32(C.ct_amdsmi_init(lib)); st != amdsmiSuccess {
		return nil, []Unavailable{{Name: "amdsmi", Err: fmt.Errorf("%w%s; AMD GPUs are read through hwmon where the amdgpu driver exposes power",
			amdsmiErr(st, "amdsmi_init"), amdsmiInitHint(st))}}
	}
	sess := &amdsmiSession{c: lib, refs: 1}
	o.logger.DebugContext(ctx, "amdsmi initialised", "library", path)

	var (
		handles *unsafe.Pointer // void **, calloc'ed by ct_amdsmi_gpus
		n       C.uint32_t
	)
	if err := amdsmiErr(uint32(C.ct_amdsmi_gpus(lib, &handles, &n)), "amdsmi_get_processor_handles"); err != nil {
		_ = sess.release()
		return nil, []Unavailable{{Name: "amdsmi", Err: fmt.Errorf("%w; AMD GPUs are read through hwmon where the amdgpu driver exposes power", err)}}
	}
	defer C.free(unsafe.Pointer(handles))

	note := amdsmiVisibilityNote()
	var (
		sources []Source
		unavail []Unavailable
	)
	for i := range int(n) {
		if err := ctx.Err(); err != nil {
			unavail = append(unavail, Unavailable{Name: "amdsmi", Err: err})
			break
		}
		h := C.ct_amdsmi_handle(handles, C.uint32_t(i))
		g, err := newAMDGPU(sess, h, i, note)
		if err != nil {
			unavail = append(unavail, Unavailable{Name: fmt.Sprintf("gpu:amdsmi-%d", i), Err: err})
			continue
		}
		sources = append(sources, g)
	}
	sess.refs = len(sources)
	if len(sources) == 0 {
		sess.refs = 1
		_ = sess.release()
		if len(unavail) == 0 {
			unavail = append(unavail, Unavailable{Name: "amdsmi", Err: errorf(ErrNotFound, "power: amdsmi: %s loaded, but it found no AMD GPU", path)})
		}
	}
	return sources, unavail
}

// amdsmiVisibilityNote says that the ROCm visibility variables set here are
// not applied, or returns "".
func amdsmiVisibilityNote() string {
	var set []string
	for _, v := range []string{"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"} {
		if _, ok := os.LookupEnv(v); ok {
			set = append(set, v)
		}
	}
	if len(set) == 0 {
		return ""
	}
	return strings.Join(set, " and ") + " not applied: every AMD GPU is measured"
}

// AMDGPU is one AMD GPU read through AMD SMI's energy counter,
// amdsmi_get_energy_count: an accumulator of the GPU's energy since the
// driver loaded or the GPU was reset, in units of counter_resolution µJ
// (15.3 µJ, which the library hard-codes for every ASIC; the firmware's unit
// is 2^-16 J, 15.26 µJ). The energy is the accumulator's difference times
// the resolution, so its method is counter.
//
// The accumulator is 64 bits wide (gpu_metrics' energy_accumulator): it
// would wrap only after 2^64 units, 2.8 × 10^14 J, thousands of years at
// 1 kW. A step back is therefore a reset (driver reload, GPU reset), not a
// wrap: the Reading says Reset and that interval is skipped.
//
// An AMDGPU is read by one goroutine at a time (the sampler's); Info and
// Close are safe for concurrent use with Read.
type AMDGPU struct {
	sess    *amdsmiSession
	handle  unsafe.Pointer // amdsmi_processor_handle: C memory, owned by the library
	info    Info
	bdf     string
	counter amdsmiCounter
	closed  atomic.Bool // Close may come from another goroutine than Read
}

var (
	_ Source    = (*AMDGPU)(nil)
	_ Closer    = (*AMDGPU)(nil)
	_ pciDevice = (*AMDGPU)(nil)
)

func newAMDGPU(sess *amdsmiSession, h unsafe.Pointer, index int, note string) (*AMDGPU, error) {
	g := &AMDGPU{sess: sess, handle: h}
	var (
		domain       C.uint64_t
		bus, dev, fn C.uint8_t
		name         [C.CT_AMDSMI_MARKET_NAME_LEN + 1]C.char
	)
	sess.mu.Lock()
	bdfSt := uint32(C.ct_amdsmi_bdf(sess.c, h, &domain, &bus, &dev, &fn))
	nameSt := uint32(C.ct_amdsmi_name(sess.c, h, &name[0]))
	sess.mu.Unlock()
	if err := amdsmiErr(bdfSt, "amdsmi_get_gpu_device_bdf"); err != nil {
		return nil, fmt.Errorf("%w; without its PCI address hwmon could count it too, so it is not read here", err)
	}
	g.bdf = formatBDF(uint64(domain), uint8(bus), uint8(dev), uint8(fn))
	product := "AMD GPU"
	if s := strings.TrimSpace(C.GoString(&name[0])); nameSt == amdsmiSuccess && s != "" {
		product = s
	}
	g.info = Info{Name: "gpu:amdsmi-" + strconv.Itoa(index), Kind: KindGPU, Index: index,
		Device: product + " (PCI " + g.bdf + ")", Method: MethodCounter,
		// hwmonGPUDefaultMax: AMD SMI's power cap structure differs between
		// versions, so the largest AMD board's bound is used.
		MaxPower: hwmonGPUDefaultMax}
	_, res, err := sess.energy(h)
	if err != nil {
		return nil, fmt.Errorf("power: amdsmi: %s (%s): %w; hwmon reads it where the amdgpu driver exposes power", g.info.Name, g.info.Device, err)
	}
	// The resolution is a C float: print it as one (15.3, not 15.300000190734863).
	details := []string{"energy counter (amdsmi_get_energy_count, " + strconv.FormatFloat(res, 'g', -1, 32) + " µJ units)"}
	if note != "" {
		details = append(details, note)
	}
	g.info.Detail = strings.Join(details, "; ")
	return g, nil
}

// Info describes the GPU.
func (g *AMDGPU) Info() Info { return g.info }

func (g *AMDGPU) pciAddress() string { return g.bdf }

// Read sets r.Energy to the energy since the first Read.
func (g *AMDGPU) Read(_ context.Context, r *Reading) error {
	*r = Reading{Samples: r.Samples[:0]}
	if g.closed.Load() {
		return errorf(ErrLost, "power: amdsmi: %s: read after Close", g.info.Name)
	}
	acc, res, err := g.sess.energy(g.handle)
	if err != nil {
		return fmt.Errorf("power: amdsmi: %s: %w", g.info.Name, err)
	}
	r.Energy, r.Reset = g.counter.update(acc, res)
	return nil
}

// Close releases this GPU's share of the AMD SMI session; the last one
// calls amdsmi_shut_down. It is idempotent.
func (g *AMDGPU) Close() error {
	if g.closed.Swap(true) {
		return nil
	}
	return g.sess.release()
}

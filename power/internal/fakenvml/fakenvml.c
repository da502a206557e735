//go:build ignore

/*
 * fakenvml.c: a stand-in libnvidia-ml.so.1 for tests, with no GPU.
 *
 * The "//go:build ignore" line above keeps the go tool from treating this
 * file as a cgo source of package fakenvml (a .c file in a package without
 * import "C" is otherwise a build error); fakenvml.go embeds it and Build
 * compiles it with gcc:
 *
 *   gcc -shared -fPIC -O2 -pthread -Wl,-z,nodelete -o libnvidia-ml.so.1 fakenvml.c -lm
 *
 * go-nvml calls NVML through cgo with symbols left unresolved at link time
 * and found at run time in the library it dlopens RTLD_LAZY|RTLD_GLOBAL, so
 * every function exported here with the ABI of nvml.h stands in for the
 * driver's. Besides the functions implemented below, every other function
 * go-nvml v0.13.4-1 can call is exported as a stub returning
 * NVML_ERROR_NOT_SUPPORTED (see the end of this file), so no Go call can end
 * the process with "symbol lookup error".
 *
 * Behaviour comes from the text file named by $FAKENVML_CONFIG, read when
 * the library goes from uninitialized to initialized (nvmlInit* with an
 * init count of 0; Init/Shutdown are reference-counted like the real
 * library's). Format (one key=value per line, '#' starts a comment line):
 *
 *   init_error=0            # nvmlInit* returns this nvmlReturn_t; 0 = success
 *   driver=550.54.15
 *   [gpu]                   # one section per device, in index order
 *   name=NVIDIA H100 80GB HBM3
 *   uuid=GPU-...
 *   idle_w=60  busy_w=300  period_s=1  duty=0.5
 *   counter=1  samples=1  sample_period_ms=20  power_mode=instant|avg1s
 *   limit_w=700  lost_after_s=-1  pids=100,200  mig_uuid=MIG-...
 *   arch=9  counter_offset_mj=0
 *
 * Power is a square wave of wall-clock time t (CLOCK_REALTIME, integer ns
 * since the Unix epoch): with P = round(period_s*1e9) and
 * B = round(duty*P) (both in ns), power(t) = busy_w if t mod P < B else
 * idle_w. All integrals are computed exactly on integer nanoseconds.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Types and constants of nvml.h.                                            */
/* ------------------------------------------------------------------------ */

#ifdef FAKENVML_WITH_NVML_H
/*
 * Check mode (used by the tests only): compile against go-nvml's own nvml.h
 * so the compiler checks every prototype below against it. go-nvml's header
 * wraps the device pointer in a one-member struct, which has the same ABI as
 * the bare pointer of the driver's nvml.h.
 */
#include "nvml.h"
#define DEV_PTR(d) ((d).handle)
#define MAKE_DEV(p) ((nvmlDevice_t){.handle = (p)})
#else
struct nvmlDevice_st;
typedef struct nvmlDevice_st *nvmlDevice_t;
#define DEV_PTR(d) (d)
#define MAKE_DEV(p) (p)

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_DEPRECATED = 26,
    NVML_ERROR_NOT_READY = 27,
    NVML_ERROR_GPU_NOT_FOUND = 28,
    NVML_ERROR_INVALID_STATE = 29,
    NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
    NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

typedef enum nvmlSamplingType_enum {
    NVML_TOTAL_POWER_SAMPLES = 0,
    NVML_GPU_UTILIZATION_SAMPLES = 1,
    NVML_MEMORY_UTILIZATION_SAMPLES = 2,
    NVML_ENC_UTILIZATION_SAMPLES = 3,
    NVML_DEC_UTILIZATION_SAMPLES = 4,
    NVML_PROCESSOR_CLK_SAMPLES = 5,
    NVML_MEMORY_CLK_SAMPLES = 6,
    NVML_MODULE_POWER_SAMPLES = 7,
    NVML_JPG_UTILIZATION_SAMPLES = 8,
    NVML_OFA_UTILIZATION_SAMPLES = 9,
    NVML_SAMPLINGTYPE_COUNT
} nvmlSamplingType_t;

typedef enum nvmlValueType_enum {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
    NVML_VALUE_TYPE_SIGNED_INT = 5,
    NVML_VALUE_TYPE_UNSIGNED_SHORT = 6,
    NVML_VALUE_TYPE_COUNT
} nvmlValueType_t;

typedef union nvmlValue_st {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct nvmlSample_st {
    unsigned long long timeStamp; /* CPU timestamp in microseconds */
    nvmlValue_t sampleValue;
} nvmlSample_t;

typedef struct nvmlProcessInfo_v1_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct nvmlProcessInfo_v2_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t, nvmlProcessInfo_t;

typedef unsigned int nvmlDeviceArchitecture_t;
#define NVML_DEVICE_ARCH_AMPERE 7
#define NVML_DEVICE_ARCH_HOPPER 9
#endif /* FAKENVML_WITH_NVML_H */

_Static_assert(sizeof(nvmlValue_t) == 8, "nvmlValue_t is 8 bytes");
_Static_assert(sizeof(nvmlSample_t) == 16, "nvmlSample_t is 16 bytes");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t is 16 bytes");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t is 24 bytes");

/* ------------------------------------------------------------------------ */
/* State.                                                                    */
/* ------------------------------------------------------------------------ */

#define MAX_GPUS 16
#define MAX_PIDS 64
#define MAX_STR 96   /* NVML_DEVICE_NAME_V2_BUFFER_SIZE / UUID_V2 */
#define RING_LEN 120 /* samples kept, like the driver's bounded buffer */
#define NS_PER_S 1000000000LL
#define PROC_MEM (512ULL << 20)

struct fake_gpu {
    char name[MAX_STR];
    char uuid[MAX_STR];
    char mig_uuid[MAX_STR];
    double idle_w, busy_w, duty, limit_w;
    int64_t period_ns, busy_ns; /* busy_ns = llround(duty * period_ns) */
    int counter, samples, avg1s;
    int64_t sample_period_us;
    int64_t lost_after_ns; /* < 0: never */
    unsigned long long counter_offset_mj;
    unsigned int arch;
    int arch_set;
    int npids;
    unsigned int pids[MAX_PIDS];
};

/* A device handle points at one of these. */
struct nvmlDevice_st {
    int index; /* the GPU, for a MIG handle its parent */
    int is_mig;
};

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static int g_refcount;    /* successful nvmlInit* minus nvmlShutdown */
static int64_t g_init_ns; /* CLOCK_REALTIME at the 0 -> 1 init */
static char g_driver[MAX_STR];
static int g_count;
static struct fake_gpu g_gpus[MAX_GPUS];
static struct nvmlDevice_st g_handles[MAX_GPUS];
static struct nvmlDevice_st g_mig_handles[MAX_GPUS];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* The power model (mirrored exactly by fakenvml.go).                        */
/* ------------------------------------------------------------------------ */

static int64_t mod_floor(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static int is_busy(const struct fake_gpu *g, int64_t t) {
    return mod_floor(t, g->period_ns) < g->busy_ns;
}

static double power_at(const struct fake_gpu *g, int64_t t) {
    return is_busy(g, t) ? g->busy_w : g->idle_w;
}

/* Busy time in [0, t) for 0 <= t (no overflow for t below ~9e18 ns). */
static int64_t busy_upto(const struct fake_gpu *g, int64_t t) {
    int64_t q = t / g->period_ns, r = t % g->period_ns;
    return q * g->busy_ns + (r < g->busy_ns ? r : g->busy_ns);
}

/* Busy nanoseconds in [t0, t1), t0 <= t1, computed relative to the period
 * containing t0 so the products stay small. */
static int64_t busy_between(const struct fake_gpu *g, int64_t t0, int64_t t1) {
    int64_t base = t0 - mod_floor(t0, g->period_ns);
    return busy_upto(g, t1 - base) - busy_upto(g, t0 - base);
}

/* Exact energy in nJ (W * ns) over [t0, t1). */
static long double energy_nj(const struct fake_gpu *g, int64_t t0, int64_t t1) {
    if (t1 <= t0) return 0;
    int64_t busy = busy_between(g, t0, t1);
    return (long double)g->idle_w * (long double)(t1 - t0) +
           ((long double)g->busy_w - (long double)g->idle_w) * (long double)busy;
}

static unsigned int to_mw(long double w) {
    long double mw = roundl(w * 1000.0L);
    if (mw < 0) return 0;
    if (mw > 4294967295.0L) return 4294967295u;
    return (unsigned int)mw;
}

/* ------------------------------------------------------------------------ */
/* Configuration.                                                            */
/* ------------------------------------------------------------------------ */

static void gpu_defaults(struct fake_gpu *g, int index) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "NVIDIA Fake GPU");
    snprintf(g->uuid, sizeof g->uuid, "GPU-00000000-0000-4000-8000-%012x", index);
    g->idle_w = 60;
    g->busy_w = 300;
    g->duty = 0.5;
    g->period_ns = NS_PER_S;
    g->counter = 1;
    g->samples = 1;
    g->sample_period_us = 20000;
    g->limit_w = 700;
    g->lost_after_ns = -1;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int parse_double(const char *v, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end) return -1;
    *out = d;
    return 0;
}

static int parse_ll(const char *v, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 0);
    if (errno || end == v || *end) return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, int *out) {
    if (!strcmp(v, "1") || !strcmp(v, "true")) { *out = 1; return 0; }
    if (!strcmp(v, "0") || !strcmp(v, "false")) { *out = 0; return 0; }
    return -1;
}

static int set_str(char *dst, const char *v) {
    if (strlen(v) >= MAX_STR) return -1;
    strcpy(dst, v);
    return 0;
}

static int parse_pids(struct fake_gpu *g, const char *v) {
    g->npids = 0;
    const char *p = v;
    while (*p) {
        char *end;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        errno = 0;
        unsigned long x = strtoul(p, &end, 10);
        if (errno || end == p || x > 0xffffffffUL || g->npids >= MAX_PIDS) return -1;
        g->pids[g->npids++] = (unsigned int)x;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return 0;
}

/* Applies one key of a [gpu] section; returns 0, -1 (bad value), -2 (unknown key). */
static int gpu_key(struct fake_gpu *g, const char *k, const char *v) {
    double d;
    long long x;
    if (!strcmp(k, "name")) return set_str(g->name, v);
    if (!strcmp(k, "uuid")) return set_str(g->uuid, v);
    if (!strcmp(k, "mig_uuid")) return set_str(g->mig_uuid, v);
    if (!strcmp(k, "idle_w")) return parse_double(v, &g->idle_w);
    if (!strcmp(k, "busy_w")) return parse_double(v, &g->busy_w);
    if (!strcmp(k, "limit_w")) return parse_double(v, &g->limit_w);
    if (!strcmp(k, "duty")) {
        if (parse_double(v, &d) || d < 0 || d > 1) return -1;
        g->duty = d;
        return 0;
    }
    if (!strcmp(k, "period_s")) {
        if (parse_double(v, &d) || !(d > 0) || d > 1e6) return -1;
        g->period_ns = llround(d * 1e9);
        return g->period_ns > 0 ? 0 : -1;
    }
    if (!strcmp(k, "sample_period_ms")) {
        if (parse_double(v, &d) || !(d > 0) || d > 1e6) return -1;
        g->sample_period_us = llround(d * 1e3);
        return g->sample_period_us > 0 ? 0 : -1;
    }
    if (!strcmp(k, "lost_after_s")) {
        if (parse_double(v, &d) || d > 1e9) return -1;
        g->lost_after_ns = d < 0 ? -1 : llround(d * 1e9);
        return 0;
    }
    if (!strcmp(k, "counter")) return parse_bool(v, &g->counter);
    if (!strcmp(k, "samples")) return parse_bool(v, &g->samples);
    if (!strcmp(k, "power_mode")) {
        if (!strcmp(v, "instant")) g->avg1s = 0;
        else if (!strcmp(v, "avg1s")) g->avg1s = 1;
        else return -1;
        return 0;
    }
    if (!strcmp(k, "pids")) return parse_pids(g, v);
    if (!strcmp(k, "arch")) {
        if (parse_ll(v, &x) || x < 0 || x > 0xffffffffLL) return -1;
        g->arch = (unsigned int)x;
        g->arch_set = 1;
        return 0;
    }
    if (!strcmp(k, "counter_offset_mj")) {
        if (parse_ll(v, &x) || x < 0) return -1;
        g->counter_offset_mj = (unsigned long long)x;
        return 0;
    }
    return -2;
}

/* Loads $FAKENVML_CONFIG into the globals. Called with g_lock held for
 * writing. Returns the nvmlReturn_t nvmlInit must return. */
static nvmlReturn_t load_config(void) {
    const char *path = getenv("FAKENVML_CONFIG");
    if (!path || !*path) {
        fprintf(stderr, "fakenvml: FAKENVML_CONFIG is not set\n");
        return NVML_ERROR_UNKNOWN;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "fakenvml: %s: %s\n", path, strerror(errno));
        return NVML_ERROR_UNKNOWN;
    }

    long long init_error = 0;
    snprintf(g_driver, sizeof g_driver, "550.54.15");
    g_count = 0;
    int in_gpu = 0, lineno = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        if (!strcmp(s, "[gpu]")) {
            if (g_count >= MAX_GPUS) {
                fprintf(stderr, "fakenvml: %s:%d: more than %d GPUs\n", path, lineno, MAX_GPUS);
                bad = 1;
                break;
            }
            gpu_defaults(&g_gpus[g_count], g_count);
            g_count++;
            in_gpu = 1;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "fakenvml: %s:%d: want key=value or [gpu]: %s\n", path, lineno, s);
            bad = 1;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        int rc;
        if (in_gpu) {
            rc = gpu_key(&g_gpus[g_count - 1], k, v);
        } else if (!strcmp(k, "init_error")) {
            rc = parse_ll(v, &init_error) ? -1 : 0;
        } else if (!strcmp(k, "driver")) {
            rc = set_str(g_driver, v);
        } else {
            rc = -2;
        }
        if (rc) {
            fprintf(stderr, "fakenvml: %s:%d: %s key %s=%s\n", path, lineno,
                    rc == -2 ? "unknown" : "bad value for", k, v);
            bad = 1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (bad) {
        g_count = 0;
        return NVML_ERROR_UNKNOWN;
    }
    for (int i = 0; i < g_count; i++) {
        struct fake_gpu *g = &g_gpus[i];
        g->busy_ns = llround(g->duty * (double)g->period_ns);
        if (g->busy_ns > g->period_ns) g->busy_ns = g->period_ns;
        if (!g->arch_set) g->arch = g->avg1s ? NVML_DEVICE_ARCH_HOPPER : NVML_DEVICE_ARCH_AMPERE;
        g_handles[i].index = i;
        g_handles[i].is_mig = 0;
        g_mig_handles[i].index = i;
        g_mig_handles[i].is_mig = 1;
    }
    return (nvmlReturn_t)init_error;
}

/* ------------------------------------------------------------------------ */
/* Helpers for the API functions.                                            */
/* ------------------------------------------------------------------------ */

#define RDLOCK() pthread_rwlock_rdlock(&g_lock)
#define UNLOCK() pthread_rwlock_unlock(&g_lock)

/* Resolves a handle; NULL if it is not one of ours. Call with g_lock held. */
static struct nvmlDevice_st *handle(nvmlDevice_t d) {
    uintptr_t p = (uintptr_t)DEV_PTR(d);
    uintptr_t h0 = (uintptr_t)&g_handles[0], m0 = (uintptr_t)&g_mig_handles[0];
    size_t sz = sizeof(struct nvmlDevice_st);
    if (p >= h0 && p < h0 + (size_t)g_count * sz && (p - h0) % sz == 0)
        return (struct nvmlDevice_st *)p;
    if (p >= m0 && p < m0 + (size_t)g_count * sz && (p - m0) % sz == 0) {
        struct nvmlDevice_st *h = (struct nvmlDevice_st *)p;
        if (g_gpus[h->index].mig_uuid[0]) return h;
    }
    return NULL;
}

static int is_lost(const struct fake_gpu *g, int64_t now) {
    return g->lost_after_ns >= 0 && now - g_init_ns >= g->lost_after_ns;
}

/*
 * Common prologue of every device function: checks init, the output
 * pointer and the handle, and the lost state. On success leaves g_lock
 * read-locked and sets *hp, *gp and *nowp; on failure unlocks and returns
 * the error.
 */
static nvmlReturn_t enter(nvmlDevice_t d, const void *out, struct nvmlDevice_st **hp,
                          struct fake_gpu **gp, int64_t *nowp) {
    RDLOCK();
    if (g_refcount == 0) { UNLOCK(); return NVML_ERROR_UNINITIALIZED; }
    struct nvmlDevice_st *h = handle(d);
    if (!h || !out) { UNLOCK(); return NVML_ERROR_INVALID_ARGUMENT; }
    int64_t now = now_ns();
    if (is_lost(&g_gpus[h->index], now)) { UNLOCK(); return NVML_ERROR_GPU_IS_LOST; }
    *hp = h;
    *gp = &g_gpus[h->index];
    if (nowp) *nowp = now;
    return NVML_SUCCESS;
}

static nvmlReturn_t copy_str(char *dst, unsigned int length, const char *src) {
    size_t n = strlen(src);
    if (length < n + 1) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, n + 1);
    return NVML_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Init, shutdown, errors, system.                                           */
/* ------------------------------------------------------------------------ */

static nvmlReturn_t do_init(void) {
    pthread_rwlock_wrlock(&g_lock);
    nvmlReturn_t rc = NVML_SUCCESS;
    if (g_refcount == 0) {
        rc = load_config();
        if (rc == NVML_SUCCESS) g_init_ns = now_ns();
        else g_count = 0;
    }
    if (rc == NVML_SUCCESS) g_refcount++;
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlInit_v2(void) { return do_init(); }
EXPORT nvmlReturn_t nvmlInit(void) { return do_init(); }
EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return do_init();
}

EXPORT nvmlReturn_t nvmlShutdown(void) {
    pthread_rwlock_wrlock(&g_lock);
    nvmlReturn_t rc = NVML_SUCCESS;
    if (g_refcount == 0) rc = NVML_ERROR_UNINITIALIZED;
    else if (--g_refcount == 0) g_count = 0;
    UNLOCK();
    return rc;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
    switch ((int)result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED: return "ECC is enabled";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient Resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "Frequency Not Supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument Version Mismatch";
    case NVML_ERROR_DEPRECATED: return "Deprecated";
    case NVML_ERROR_NOT_READY: return "Not Ready";
    case NVML_ERROR_GPU_NOT_FOUND: return "GPU Not Found";
    case NVML_ERROR_INVALID_STATE: return "Invalid State";
    case NVML_ERROR_RESET_TYPE_NOT_SUPPORTED: return "Reset Type Not Supported";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    RDLOCK();
    nvmlReturn_t rc = g_refcount == 0 ? NVML_ERROR_UNINITIALIZED
                      : !version      ? NVML_ERROR_INVALID_ARGUMENT
                                      : copy_str(version, length, g_driver);
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    char buf[MAX_STR + 8];
    RDLOCK();
    nvmlReturn_t rc = NVML_SUCCESS;
    if (g_refcount == 0) rc = NVML_ERROR_UNINITIALIZED;
    else if (!version) rc = NVML_ERROR_INVALID_ARGUMENT;
    else {
        snprintf(buf, sizeof buf, "12.%s", g_driver);
        rc = copy_str(version, length, buf);
    }
    UNLOCK();
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Device enumeration and identity.                                          */
/* ------------------------------------------------------------------------ */

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
    RDLOCK();
    nvmlReturn_t rc = NVML_SUCCESS;
    if (g_refcount == 0) rc = NVML_ERROR_UNINITIALIZED;
    else if (!deviceCount) rc = NVML_ERROR_INVALID_ARGUMENT;
    else *deviceCount = (unsigned int)g_count;
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount) {
    return nvmlDeviceGetCount_v2(deviceCount);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    RDLOCK();
    nvmlReturn_t rc = NVML_SUCCESS;
    if (g_refcount == 0) rc = NVML_ERROR_UNINITIALIZED;
    else if (!device || index >= (unsigned int)g_count) rc = NVML_ERROR_INVALID_ARGUMENT;
    else {
        *device = MAKE_DEV(&g_handles[index]);
        if (is_lost(&g_gpus[index], now_ns())) rc = NVML_ERROR_GPU_IS_LOST;
    }
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
    RDLOCK();
    nvmlReturn_t rc = NVML_ERROR_NOT_FOUND;
    if (g_refcount == 0) rc = NVML_ERROR_UNINITIALIZED;
    else if (!uuid || !device) rc = NVML_ERROR_INVALID_ARGUMENT;
    else {
        for (int i = 0; i < g_count; i++) {
            struct nvmlDevice_st *h = NULL;
            if (!strcmp(uuid, g_gpus[i].uuid)) h = &g_handles[i];
            else if (g_gpus[i].mig_uuid[0] && !strcmp(uuid, g_gpus[i].mig_uuid)) h = &g_mig_handles[i];
            if (h) {
                *device = MAKE_DEV(h);
                rc = is_lost(&g_gpus[i], now_ns()) ? NVML_ERROR_GPU_IS_LOST : NVML_SUCCESS;
                break;
            }
        }
    }
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, uuid, &h, &g, NULL);
    if (rc) return rc;
    rc = copy_str(uuid, length, h->is_mig ? g->mig_uuid : g->uuid);
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, name, &h, &g, NULL);
    if (rc) return rc;
    rc = copy_str(name, length, g->name);
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, index, &h, &g, NULL);
    if (rc) return rc;
    if (h->is_mig) rc = NVML_ERROR_NOT_SUPPORTED;
    else *index = (unsigned int)h->index;
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t *arch) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, arch, &h, &g, NULL);
    if (rc) return rc;
    *arch = g->arch;
    UNLOCK();
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Power and energy.                                                         */
/* ------------------------------------------------------------------------ */

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    int64_t now;
    nvmlReturn_t rc = enter(device, energy, &h, &g, &now);
    if (rc) return rc;
    if (h->is_mig || !g->counter) rc = NVML_ERROR_NOT_SUPPORTED;
    else {
        long double mj = floorl(energy_nj(g, g_init_ns, now) / 1e6L);
        *energy = g->counter_offset_mj + (unsigned long long)mj;
    }
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    int64_t now;
    nvmlReturn_t rc = enter(device, power, &h, &g, &now);
    if (rc) return rc;
    if (h->is_mig) rc = NVML_ERROR_NOT_SUPPORTED;
    else if (g->avg1s) *power = to_mw(energy_nj(g, now - NS_PER_S, now) / (long double)NS_PER_S);
    else *power = to_mw(power_at(g, now));
    UNLOCK();
    return rc;
}

static nvmlReturn_t limit(nvmlDevice_t device, unsigned int *lim) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, lim, &h, &g, NULL);
    if (rc) return rc;
    if (h->is_mig) rc = NVML_ERROR_NOT_SUPPORTED;
    else *lim = to_mw(g->limit_w);
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *lim) {
    return limit(device, lim);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *lim) {
    return limit(device, lim);
}

/*
 * The sample buffer holds power(k * P) for every k with k * P <= now (P the
 * sample period in µs), of which the driver keeps the last RING_LEN. Returns
 * those with timestamp > lastSeen, oldest first; with samples == NULL only
 * their number; otherwise at most *sampleCount of them, the oldest (so a
 * caller that resumes from the last timestamp it got loses none). No sample
 * newer than lastSeen: NVML_ERROR_NOT_FOUND, as the driver does.
 */
EXPORT nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t device, nvmlSamplingType_t type,
                                         unsigned long long lastSeenTimeStamp,
                                         nvmlValueType_t *sampleValType, unsigned int *sampleCount,
                                         nvmlSample_t *samples) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    int64_t now;
    if (!sampleValType) sampleCount = NULL; /* both are required */
    nvmlReturn_t rc = enter(device, sampleCount, &h, &g, &now);
    if (rc) return rc;
    if (samples && *sampleCount == 0) { UNLOCK(); return NVML_ERROR_INVALID_ARGUMENT; }
    if (h->is_mig || !g->samples || type != NVML_TOTAL_POWER_SAMPLES) {
        UNLOCK();
        return NVML_ERROR_NOT_SUPPORTED;
    }
    int64_t p = g->sample_period_us;
    int64_t kmax = (now / 1000) / p;
    int64_t kmin = kmax - (RING_LEN - 1);
    int64_t kseen = (int64_t)(lastSeenTimeStamp / (unsigned long long)p) + 1;
    if (lastSeenTimeStamp > (unsigned long long)INT64_MAX / 2) kseen = INT64_MAX / 2;
    if (kseen > kmin) kmin = kseen;
    *sampleValType = NVML_VALUE_TYPE_UNSIGNED_INT;
    if (kmin > kmax) {
        *sampleCount = 0;
        UNLOCK();
        return NVML_ERROR_NOT_FOUND;
    }
    unsigned int n = (unsigned int)(kmax - kmin + 1);
    if (!samples) {
        *sampleCount = n;
        UNLOCK();
        return NVML_SUCCESS;
    }
    if (n > *sampleCount) n = *sampleCount;
    for (unsigned int i = 0; i < n; i++) {
        int64_t ts_us = (kmin + (int64_t)i) * p;
        samples[i].timeStamp = (unsigned long long)ts_us;
        samples[i].sampleValue.ullVal = 0;
        samples[i].sampleValue.uiVal = to_mw(power_at(g, ts_us * 1000));
    }
    *sampleCount = n;
    UNLOCK();
    return NVML_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Processes and MIG.                                                        */
/* ------------------------------------------------------------------------ */

/* Fills infos (of element size sz, v1 or v2/v3 layout) by the driver's
 * protocol: too small a count (or NULL infos with count 0) gets
 * NVML_ERROR_INSUFFICIENT_SIZE and the needed count in *infoCount. */
static nvmlReturn_t processes(nvmlDevice_t device, unsigned int *infoCount, void *infos, int v1) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, infoCount, &h, &g, NULL);
    if (rc) return rc;
    unsigned int n = (unsigned int)g->npids;
    if (*infoCount < n) {
        *infoCount = n;
        rc = NVML_ERROR_INSUFFICIENT_SIZE;
    } else if (n > 0 && !infos) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
    } else {
        unsigned int gi = g->mig_uuid[0] ? 1 : 0xFFFFFFFFu;
        unsigned int ci = g->mig_uuid[0] ? 0 : 0xFFFFFFFFu;
        for (unsigned int i = 0; i < n; i++) {
            if (v1) {
                nvmlProcessInfo_v1_t *p = (nvmlProcessInfo_v1_t *)infos + i;
                p->pid = g->pids[i];
                p->usedGpuMemory = PROC_MEM;
            } else {
                nvmlProcessInfo_t *p = (nvmlProcessInfo_t *)infos + i;
                p->pid = g->pids[i];
                p->usedGpuMemory = PROC_MEM;
                p->gpuInstanceId = gi;
                p->computeInstanceId = ci;
            }
        }
        *infoCount = n;
    }
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                            nvmlProcessInfo_t *infos) {
    return processes(device, infoCount, infos, 0);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                            nvmlProcessInfo_v2_t *infos) {
    return processes(device, infoCount, infos, 0);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                         nvmlProcessInfo_v1_t *infos) {
    return processes(device, infoCount, infos, 1);
}

EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, isMigDevice, &h, &g, NULL);
    if (rc) return rc;
    *isMigDevice = (unsigned int)h->is_mig;
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(migDevice, device, &h, &g, NULL);
    if (rc) return rc;
    if (!h->is_mig) rc = NVML_ERROR_INVALID_ARGUMENT;
    else *device = MAKE_DEV(&g_handles[h->index]);
    UNLOCK();
    return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode) {
    struct nvmlDevice_st *h;
    struct fake_gpu *g;
    nvmlReturn_t rc = enter(device, pendingMode ? currentMode : NULL, &h, &g, NULL);
    if (rc) return rc;
    if (h->is_mig) rc = NVML_ERROR_NOT_SUPPORTED;
    else *currentMode = *pendingMode = g->mig_uuid[0] ? 1 : 0;
    UNLOCK();
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Stubs: every other function go-nvml v0.13.4-1 calls (its C.nvml* call     */
/* sites), so that none ends the process with "symbol lookup error". Each    */
/* returns NVML_ERROR_NOT_SUPPORTED. All of them return nvmlReturn_t, and    */
/* both the x86-64 SysV and AAPCS64 ABIs let a callee ignore its arguments,  */
/* so the argument-less definition is ABI-compatible with any prototype.     */
/* The list is, minus the functions implemented above, the output of:      */
/*   cd "$(go list -m -f '{{.Dir}}' github.com/NVIDIA/go-nvml)/pkg/nvml" &&  */
/*   grep -oh 'C\.nvml[A-Za-z0-9_]*(' [a-z]*.go | sort -u                    */
/* ------------------------------------------------------------------------ */

#ifndef FAKENVML_WITH_NVML_H
/* One body; each stub is an alias of it (cheap to compile). */
EXPORT nvmlReturn_t fakenvml_not_supported(void) { return NVML_ERROR_NOT_SUPPORTED; }
#define STUB(name) \
    EXPORT nvmlReturn_t name(void) __attribute__((alias("fakenvml_not_supported")));
STUB(nvmlComputeInstanceDestroy)
STUB(nvmlComputeInstanceGetInfo)
STUB(nvmlComputeInstanceGetInfo_v2)
STUB(nvmlDeviceClearAccountingPids)
STUB(nvmlDeviceClearCpuAffinity)
STUB(nvmlDeviceClearEccErrorCounts)
STUB(nvmlDeviceClearFieldValues)
STUB(nvmlDeviceCreateGpuInstance)
STUB(nvmlDeviceCreateGpuInstanceWithPlacement)
STUB(nvmlDeviceDiscoverGpus)
STUB(nvmlDeviceFreezeNvLinkUtilizationCounter)
STUB(nvmlDeviceGetAPIRestriction)
STUB(nvmlDeviceGetAccountingBufferSize)
STUB(nvmlDeviceGetAccountingMode)
STUB(nvmlDeviceGetAccountingPids)
STUB(nvmlDeviceGetAccountingStats)
STUB(nvmlDeviceGetAccountingStats_v2)
STUB(nvmlDeviceGetActiveVgpus)
STUB(nvmlDeviceGetAdaptiveClockInfoStatus)
STUB(nvmlDeviceGetAdaptiveTgpModeInfo_v1)
STUB(nvmlDeviceGetAddressingMode)
STUB(nvmlDeviceGetApplicationsClock)
STUB(nvmlDeviceGetAttributes)
STUB(nvmlDeviceGetAttributes_v2)
STUB(nvmlDeviceGetAutoBoostedClocksEnabled)
STUB(nvmlDeviceGetBAR1MemoryInfo)
STUB(nvmlDeviceGetBBXTimeData_v1)
STUB(nvmlDeviceGetBankRemapperStatus_v1)
STUB(nvmlDeviceGetBoardId)
STUB(nvmlDeviceGetBoardPartNumber)
STUB(nvmlDeviceGetBrand)
STUB(nvmlDeviceGetBridgeChipInfo)
STUB(nvmlDeviceGetBusType)
STUB(nvmlDeviceGetC2cModeInfoV)
STUB(nvmlDeviceGetCapabilities)
STUB(nvmlDeviceGetClkMonStatus)
STUB(nvmlDeviceGetClock)
STUB(nvmlDeviceGetClockInfo)
STUB(nvmlDeviceGetClockOffsets)
STUB(nvmlDeviceGetComputeInstanceId)
STUB(nvmlDeviceGetComputeMode)
STUB(nvmlDeviceGetConfComputeGpuAttestationReport)
STUB(nvmlDeviceGetConfComputeGpuCertificate)
STUB(nvmlDeviceGetConfComputeMemSizeInfo)
STUB(nvmlDeviceGetConfComputeProtectedMemoryUsage)
STUB(nvmlDeviceGetCoolerInfo)
STUB(nvmlDeviceGetCpuAffinity)
STUB(nvmlDeviceGetCpuAffinityWithinScope)
STUB(nvmlDeviceGetCreatableVgpus)
STUB(nvmlDeviceGetCudaComputeCapability)
STUB(nvmlDeviceGetCurrPcieLinkGeneration)
STUB(nvmlDeviceGetCurrPcieLinkWidth)
STUB(nvmlDeviceGetCurrentClockFreqs)
STUB(nvmlDeviceGetCurrentClocksEventReasons)
STUB(nvmlDeviceGetCurrentClocksThrottleReasons)
STUB(nvmlDeviceGetDecoderUtilization)
STUB(nvmlDeviceGetDefaultApplicationsClock)
STUB(nvmlDeviceGetDefaultEccMode)
STUB(nvmlDeviceGetDetailedEccErrors)
STUB(nvmlDeviceGetDisplayActive)
STUB(nvmlDeviceGetDisplayMode)
STUB(nvmlDeviceGetDramEncryptionMode)
STUB(nvmlDeviceGetDriverModel)
STUB(nvmlDeviceGetDriverModel_v2)
STUB(nvmlDeviceGetDynamicPstatesInfo)
STUB(nvmlDeviceGetEccMode)
STUB(nvmlDeviceGetEncoderCapacity)
STUB(nvmlDeviceGetEncoderSessions)
STUB(nvmlDeviceGetEncoderStats)
STUB(nvmlDeviceGetEncoderUtilization)
STUB(nvmlDeviceGetFBCSessions)
STUB(nvmlDeviceGetFBCStats)
STUB(nvmlDeviceGetFanControlPolicy_v2)
STUB(nvmlDeviceGetFanSpeed)
STUB(nvmlDeviceGetFanSpeedRPM)
STUB(nvmlDeviceGetFanSpeed_v2)
STUB(nvmlDeviceGetFieldValues)
STUB(nvmlDeviceGetGpcClkMinMaxVfOffset)
STUB(nvmlDeviceGetGpcClkVfOffset)
STUB(nvmlDeviceGetGpuFabricInfo)
STUB(nvmlDeviceGetGpuFabricInfoV)
STUB(nvmlDeviceGetGpuFabricInfo_v4)
STUB(nvmlDeviceGetGpuInstanceById)
STUB(nvmlDeviceGetGpuInstanceId)
STUB(nvmlDeviceGetGpuInstancePossiblePlacements)
STUB(nvmlDeviceGetGpuInstancePossiblePlacements_v2)
STUB(nvmlDeviceGetGpuInstanceProfileInfo)
STUB(nvmlDeviceGetGpuInstanceProfileInfoByIdV)
STUB(nvmlDeviceGetGpuInstanceProfileInfoV)
STUB(nvmlDeviceGetGpuInstanceRemainingCapacity)
STUB(nvmlDeviceGetGpuInstances)
STUB(nvmlDeviceGetGpuMaxPcieLinkGeneration)
STUB(nvmlDeviceGetGpuOperationMode)
STUB(nvmlDeviceGetGraphicsRunningProcesses)
STUB(nvmlDeviceGetGraphicsRunningProcesses_v2)
STUB(nvmlDeviceGetGraphicsRunningProcesses_v3)
STUB(nvmlDeviceGetGridLicensableFeatures)
STUB(nvmlDeviceGetGridLicensableFeatures_v2)
STUB(nvmlDeviceGetGridLicensableFeatures_v3)
STUB(nvmlDeviceGetGridLicensableFeatures_v4)
STUB(nvmlDeviceGetGspFirmwareMode)
STUB(nvmlDeviceGetGspFirmwareVersion)
STUB(nvmlDeviceGetHandleByPciBusId)
STUB(nvmlDeviceGetHandleByPciBusId_v2)
STUB(nvmlDeviceGetHandleBySerial)
STUB(nvmlDeviceGetHandleByUUIDV)
STUB(nvmlDeviceGetHostVgpuMode)
STUB(nvmlDeviceGetHostname_v1)
STUB(nvmlDeviceGetInforomConfigurationChecksum)
STUB(nvmlDeviceGetInforomImageVersion)
STUB(nvmlDeviceGetInforomVersion)
STUB(nvmlDeviceGetIrqNum)
STUB(nvmlDeviceGetJpgUtilization)
STUB(nvmlDeviceGetLastBBXFlushTime)
STUB(nvmlDeviceGetMPSComputeRunningProcesses)
STUB(nvmlDeviceGetMPSComputeRunningProcesses_v2)
STUB(nvmlDeviceGetMPSComputeRunningProcesses_v3)
STUB(nvmlDeviceGetMarginTemperature)
STUB(nvmlDeviceGetMaxClockInfo)
STUB(nvmlDeviceGetMaxCustomerBoostClock)
STUB(nvmlDeviceGetMaxMigDeviceCount)
STUB(nvmlDeviceGetMaxPcieLinkGeneration)
STUB(nvmlDeviceGetMaxPcieLinkWidth)
STUB(nvmlDeviceGetMemClkMinMaxVfOffset)
STUB(nvmlDeviceGetMemClkVfOffset)
STUB(nvmlDeviceGetMemoryAffinity)
STUB(nvmlDeviceGetMemoryBusWidth)
STUB(nvmlDeviceGetMemoryErrorCounter)
STUB(nvmlDeviceGetMemoryInfo)
STUB(nvmlDeviceGetMemoryInfo_v2)
STUB(nvmlDeviceGetMemoryLimits_v1)
STUB(nvmlDeviceGetMigDeviceHandleByIndex)
STUB(nvmlDeviceGetMinMaxClockOfPState)
STUB(nvmlDeviceGetMinMaxFanSpeed)
STUB(nvmlDeviceGetMinorNumber)
STUB(nvmlDeviceGetModuleId)
STUB(nvmlDeviceGetMultiGpuBoard)
STUB(nvmlDeviceGetNumFans)
STUB(nvmlDeviceGetNumGpuCores)
STUB(nvmlDeviceGetNumaNodeId)
STUB(nvmlDeviceGetNvLinkCapability)
STUB(nvmlDeviceGetNvLinkErrorCounter)
STUB(nvmlDeviceGetNvLinkInfo)
STUB(nvmlDeviceGetNvLinkRemoteDeviceType)
STUB(nvmlDeviceGetNvLinkRemotePciInfo)
STUB(nvmlDeviceGetNvLinkRemotePciInfo_v2)
STUB(nvmlDeviceGetNvLinkState)
STUB(nvmlDeviceGetNvLinkTelemetrySamples_v1)
STUB(nvmlDeviceGetNvLinkUtilizationControl)
STUB(nvmlDeviceGetNvLinkUtilizationCounter)
STUB(nvmlDeviceGetNvLinkVersion)
STUB(nvmlDeviceGetNvlinkBwMode)
STUB(nvmlDeviceGetNvlinkSupportedBwModes)
STUB(nvmlDeviceGetOfaUtilization)
STUB(nvmlDeviceGetP2PStatus)
STUB(nvmlDeviceGetPciInfo)
STUB(nvmlDeviceGetPciInfoExt)
STUB(nvmlDeviceGetPciInfo_v2)
STUB(nvmlDeviceGetPciInfo_v3)
STUB(nvmlDeviceGetPcieLinkMaxSpeed)
STUB(nvmlDeviceGetPcieReplayCounter)
STUB(nvmlDeviceGetPcieSpeed)
STUB(nvmlDeviceGetPcieThroughput)
STUB(nvmlDeviceGetPdi)
STUB(nvmlDeviceGetPerformanceModes)
STUB(nvmlDeviceGetPerformanceState)
STUB(nvmlDeviceGetPersistenceMode)
STUB(nvmlDeviceGetPgpuMetadataString)
STUB(nvmlDeviceGetPlatformInfo)
STUB(nvmlDeviceGetPowerManagementDefaultLimit)
STUB(nvmlDeviceGetPowerManagementLimitConstraints)
STUB(nvmlDeviceGetPowerManagementMode)
STUB(nvmlDeviceGetPowerMizerMode_v1)
STUB(nvmlDeviceGetPowerSource)
STUB(nvmlDeviceGetPowerState)
STUB(nvmlDeviceGetProcessUtilization)
STUB(nvmlDeviceGetProcessesUtilizationInfo)
STUB(nvmlDeviceGetRemappedRows)
STUB(nvmlDeviceGetRemappedRows_v2)
STUB(nvmlDeviceGetRepairStatus)
STUB(nvmlDeviceGetRetiredPages)
STUB(nvmlDeviceGetRetiredPagesPendingStatus)
STUB(nvmlDeviceGetRetiredPages_v2)
STUB(nvmlDeviceGetRowRemapperHistogram)
STUB(nvmlDeviceGetRunningProcessDetailList)
STUB(nvmlDeviceGetSerial)
STUB(nvmlDeviceGetSramEccErrorStatus)
STUB(nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts)
STUB(nvmlDeviceGetSupportedClocksEventReasons)
STUB(nvmlDeviceGetSupportedClocksThrottleReasons)
STUB(nvmlDeviceGetSupportedEventTypes)
STUB(nvmlDeviceGetSupportedGraphicsClocks)
STUB(nvmlDeviceGetSupportedMemoryClocks)
STUB(nvmlDeviceGetSupportedPerformanceStates)
STUB(nvmlDeviceGetSupportedVgpus)
STUB(nvmlDeviceGetTargetFanSpeed)
STUB(nvmlDeviceGetTemperature)
STUB(nvmlDeviceGetTemperatureThreshold)
STUB(nvmlDeviceGetTemperatureV)
STUB(nvmlDeviceGetThermalSettings)
STUB(nvmlDeviceGetTopologyCommonAncestor)
STUB(nvmlDeviceGetTopologyNearestGpus)
STUB(nvmlDeviceGetTotalEccErrors)
STUB(nvmlDeviceGetUnrepairableMemoryFlag_v1)
STUB(nvmlDeviceGetUtilizationRates)
STUB(nvmlDeviceGetVbiosVersion)
STUB(nvmlDeviceGetVgpuCapabilities)
STUB(nvmlDeviceGetVgpuHeterogeneousMode)
STUB(nvmlDeviceGetVgpuInstancesUtilizationInfo)
STUB(nvmlDeviceGetVgpuMetadata)
STUB(nvmlDeviceGetVgpuProcessUtilization)
STUB(nvmlDeviceGetVgpuProcessesUtilizationInfo)
STUB(nvmlDeviceGetVgpuSchedulerCapabilities)
STUB(nvmlDeviceGetVgpuSchedulerLog)
STUB(nvmlDeviceGetVgpuSchedulerLog_v2)
STUB(nvmlDeviceGetVgpuSchedulerState)
STUB(nvmlDeviceGetVgpuSchedulerState_v2)
STUB(nvmlDeviceGetVgpuTypeCreatablePlacements)
STUB(nvmlDeviceGetVgpuTypeSupportedPlacements)
STUB(nvmlDeviceGetVgpuUtilization)
STUB(nvmlDeviceGetViolationStatus)
STUB(nvmlDeviceGetVirtualizationMode)
STUB(nvmlDeviceModifyDrainState)
STUB(nvmlDeviceOnSameBoard)
STUB(nvmlDevicePerfMetricsGetSamples_v1)
STUB(nvmlDevicePowerSmoothingActivatePresetProfile)
STUB(nvmlDevicePowerSmoothingSetState)
STUB(nvmlDevicePowerSmoothingUpdatePresetProfileParam)
STUB(nvmlDeviceQueryDrainState)
STUB(nvmlDeviceReadPRMCounters_v1)
STUB(nvmlDeviceReadWritePRM_v1)
STUB(nvmlDeviceRegisterEvents)
STUB(nvmlDeviceRemoveGpu)
STUB(nvmlDeviceRemoveGpu_v2)
STUB(nvmlDeviceResetApplicationsClocks)
STUB(nvmlDeviceResetGpuLockedClocks)
STUB(nvmlDeviceResetMemoryLockedClocks)
STUB(nvmlDeviceResetNvLinkErrorCounters)
STUB(nvmlDeviceResetNvLinkUtilizationCounter)
STUB(nvmlDeviceSetAPIRestriction)
STUB(nvmlDeviceSetAccountingMode)
STUB(nvmlDeviceSetAdaptiveTgpMode_v1)
STUB(nvmlDeviceSetApplicationsClocks)
STUB(nvmlDeviceSetAutoBoostedClocksEnabled)
STUB(nvmlDeviceSetClockOffsets)
STUB(nvmlDeviceSetComputeMode)
STUB(nvmlDeviceSetConfComputeUnprotectedMemSize)
STUB(nvmlDeviceSetCpuAffinity)
STUB(nvmlDeviceSetDefaultAutoBoostedClocksEnabled)
STUB(nvmlDeviceSetDefaultFanSpeed_v2)
STUB(nvmlDeviceSetDramEncryptionMode)
STUB(nvmlDeviceSetDriverModel)
STUB(nvmlDeviceSetEccMode)
STUB(nvmlDeviceSetFanControlPolicy)
STUB(nvmlDeviceSetFanSpeed_v2)
STUB(nvmlDeviceSetGpcClkVfOffset)
STUB(nvmlDeviceSetGpuLockedClocks)
STUB(nvmlDeviceSetGpuOperationMode)
STUB(nvmlDeviceSetHostname_v1)
STUB(nvmlDeviceSetMemClkVfOffset)
STUB(nvmlDeviceSetMemoryLimits_v1)
STUB(nvmlDeviceSetMemoryLockedClocks)
STUB(nvmlDeviceSetMigMode)
STUB(nvmlDeviceSetNvLinkDeviceLowPowerThreshold)
STUB(nvmlDeviceSetNvLinkUtilizationControl)
STUB(nvmlDeviceSetNvlinkBwMode)
STUB(nvmlDeviceSetNvlinkBwModeAsync_v1)
STUB(nvmlDeviceSetPersistenceMode)
STUB(nvmlDeviceSetPowerManagementLimit)
STUB(nvmlDeviceSetPowerManagementLimit_v2)
STUB(nvmlDeviceSetPowerMizerMode_v1)
STUB(nvmlDeviceSetRusdSettings_v1)
STUB(nvmlDeviceSetTemperatureThreshold)
STUB(nvmlDeviceSetVgpuCapabilities)
STUB(nvmlDeviceSetVgpuHeterogeneousMode)
STUB(nvmlDeviceSetVgpuSchedulerState)
STUB(nvmlDeviceSetVgpuSchedulerState_v2)
STUB(nvmlDeviceSetVirtualizationMode)
STUB(nvmlDeviceValidateInforom)
STUB(nvmlDeviceVgpuForceGspUnload)
STUB(nvmlDeviceWorkloadPowerProfileClearRequestedProfiles)
STUB(nvmlDeviceWorkloadPowerProfileGetCurrentProfiles)
STUB(nvmlDeviceWorkloadPowerProfileGetProfilesInfo)
STUB(nvmlDeviceWorkloadPowerProfileSetRequestedProfiles)
STUB(nvmlDeviceWorkloadPowerProfileUpdateProfiles_v1)
STUB(nvmlEventSetCreate)
STUB(nvmlEventSetFree)
STUB(nvmlEventSetGetContextCount_v1)
STUB(nvmlEventSetGetContextData_v1)
STUB(nvmlEventSetGetContextInfo_v1)
STUB(nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1)
STUB(nvmlEventSetRegisterGpuOperationalEvents_v1)
STUB(nvmlEventSetWait)
STUB(nvmlEventSetWait_v2)
STUB(nvmlEventSetWait_v3)
STUB(nvmlGetExcludedDeviceCount)
STUB(nvmlGetExcludedDeviceInfoByIndex)
STUB(nvmlGetVgpuCompatibility)
STUB(nvmlGetVgpuDriverCapabilities)
STUB(nvmlGetVgpuVersion)
STUB(nvmlGpmMetricsGet)
STUB(nvmlGpmMigSampleGet)
STUB(nvmlGpmQueryDeviceSupport)
STUB(nvmlGpmQueryIfStreamingEnabled)
STUB(nvmlGpmSampleAlloc)
STUB(nvmlGpmSampleFree)
STUB(nvmlGpmSampleGet)
STUB(nvmlGpmSetStreamingEnabled)
STUB(nvmlGpuInstanceCreateComputeInstance)
STUB(nvmlGpuInstanceCreateComputeInstanceWithPlacement)
STUB(nvmlGpuInstanceDestroy)
STUB(nvmlGpuInstanceGetActiveVgpus)
STUB(nvmlGpuInstanceGetComputeInstanceById)
STUB(nvmlGpuInstanceGetComputeInstancePossiblePlacements)
STUB(nvmlGpuInstanceGetComputeInstanceProfileInfo)
STUB(nvmlGpuInstanceGetComputeInstanceProfileInfoV)
STUB(nvmlGpuInstanceGetComputeInstanceRemainingCapacity)
STUB(nvmlGpuInstanceGetComputeInstances)
STUB(nvmlGpuInstanceGetCreatableVgpus)
STUB(nvmlGpuInstanceGetInfo)
STUB(nvmlGpuInstanceGetVgpuHeterogeneousMode)
STUB(nvmlGpuInstanceGetVgpuSchedulerLog)
STUB(nvmlGpuInstanceGetVgpuSchedulerLog_v2)
STUB(nvmlGpuInstanceGetVgpuSchedulerState)
STUB(nvmlGpuInstanceGetVgpuSchedulerState_v2)
STUB(nvmlGpuInstanceGetVgpuTypeCreatablePlacements)
STUB(nvmlGpuInstanceSetVgpuHeterogeneousMode)
STUB(nvmlGpuInstanceSetVgpuSchedulerState)
STUB(nvmlGpuInstanceSetVgpuSchedulerState_v2)
STUB(nvmlSetVgpuVersion)
STUB(nvmlSystemEventSetCreate)
STUB(nvmlSystemEventSetFree)
STUB(nvmlSystemEventSetWait)
STUB(nvmlSystemGetCPER_v1)
STUB(nvmlSystemGetConfComputeCapabilities)
STUB(nvmlSystemGetConfComputeGpusReadyState)
STUB(nvmlSystemGetConfComputeKeyRotationThresholdInfo)
STUB(nvmlSystemGetConfComputeSettings)
STUB(nvmlSystemGetConfComputeState)
STUB(nvmlSystemGetCudaDriverVersion)
STUB(nvmlSystemGetCudaDriverVersion_v2)
STUB(nvmlSystemGetDriverBranch)
STUB(nvmlSystemGetHicVersion)
STUB(nvmlSystemGetNvlinkBwMode)
STUB(nvmlSystemGetProcessName)
STUB(nvmlSystemGetTopologyGpuSet)
STUB(nvmlSystemRegisterEvents)
STUB(nvmlSystemSetConfComputeGpusReadyState)
STUB(nvmlSystemSetConfComputeKeyRotationThresholdInfo)
STUB(nvmlSystemSetNvlinkBwMode)
STUB(nvmlUnitGetCount)
STUB(nvmlUnitGetDevices)
STUB(nvmlUnitGetFanSpeedInfo)
STUB(nvmlUnitGetHandleByIndex)
STUB(nvmlUnitGetLedState)
STUB(nvmlUnitGetPsuInfo)
STUB(nvmlUnitGetTemperature)
STUB(nvmlUnitGetUnitInfo)
STUB(nvmlUnitSetLedState)
STUB(nvmlVgpuInstanceClearAccountingPids)
STUB(nvmlVgpuInstanceGetAccountingMode)
STUB(nvmlVgpuInstanceGetAccountingPids)
STUB(nvmlVgpuInstanceGetAccountingStats)
STUB(nvmlVgpuInstanceGetEccMode)
STUB(nvmlVgpuInstanceGetEncoderCapacity)
STUB(nvmlVgpuInstanceGetEncoderSessions)
STUB(nvmlVgpuInstanceGetEncoderStats)
STUB(nvmlVgpuInstanceGetFBCSessions)
STUB(nvmlVgpuInstanceGetFBCStats)
STUB(nvmlVgpuInstanceGetFbUsage)
STUB(nvmlVgpuInstanceGetFrameRateLimit)
STUB(nvmlVgpuInstanceGetGpuInstanceId)
STUB(nvmlVgpuInstanceGetGpuPciId)
STUB(nvmlVgpuInstanceGetLicenseInfo)
STUB(nvmlVgpuInstanceGetLicenseInfo_v2)
STUB(nvmlVgpuInstanceGetLicenseStatus)
STUB(nvmlVgpuInstanceGetMdevUUID)
STUB(nvmlVgpuInstanceGetMetadata)
STUB(nvmlVgpuInstanceGetPlacementId)
STUB(nvmlVgpuInstanceGetRuntimeStateSize)
STUB(nvmlVgpuInstanceGetType)
STUB(nvmlVgpuInstanceGetUUID)
STUB(nvmlVgpuInstanceGetVmDriverVersion)
STUB(nvmlVgpuInstanceGetVmID)
STUB(nvmlVgpuInstanceSetEncoderCapacity)
STUB(nvmlVgpuTypeGetBAR1Info)
STUB(nvmlVgpuTypeGetCapabilities)
STUB(nvmlVgpuTypeGetClass)
STUB(nvmlVgpuTypeGetDeviceID)
STUB(nvmlVgpuTypeGetFbReservation)
STUB(nvmlVgpuTypeGetFrameRateLimit)
STUB(nvmlVgpuTypeGetFramebufferSize)
STUB(nvmlVgpuTypeGetGpuInstanceProfileId)
STUB(nvmlVgpuTypeGetGspHeapSize)
STUB(nvmlVgpuTypeGetLicense)
STUB(nvmlVgpuTypeGetMaxInstances)
STUB(nvmlVgpuTypeGetMaxInstancesPerGpuInstance)
STUB(nvmlVgpuTypeGetMaxInstancesPerVm)
STUB(nvmlVgpuTypeGetName)
STUB(nvmlVgpuTypeGetNumDisplayHeads)
STUB(nvmlVgpuTypeGetResolution)
#endif

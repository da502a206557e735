/*
 * A stand-in for AMD SMI's libamd_smi.so, for carbontrack's tests: the
 * functions carbontrack calls, with the signatures of
 * include/amd_smi/amdsmi.h (library version 24.7.0.0), driven by files in
 * the directory $FAKEAMDSMI_DIR, read at each call:
 *
 *   init     amdsmi_init's status (default 0, success)
 *   layout   the number of GPUs of each socket, space-separated (default "1")
 *   gpuN     GPU N (counted over all sockets): "accumulator resolution bdf
 *            status", the energy accumulator (units), its resolution (µJ),
 *            amdsmi_bdf_t.as_uint (hexadecimal with 0x) and the status of
 *            amdsmi_get_energy_count
 *   calls    every call appends its function's name and a newline here
 *
 * Built with -DOMIT_BDF it lacks amdsmi_get_gpu_device_bdf.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX 16

typedef struct {
  char market_name[256];
  uint32_t vendor_id;
  char vendor_name[64];
  uint32_t subvendor_id;
  uint64_t device_id;
  uint32_t rev_id;
  char asic_serial[32];
  uint32_t oam_id;
  uint32_t num_of_compute_units;
  uint64_t target_graphics_version;
  uint32_t reserved[15];
} asic_info_t;

static int socket_ids[MAX];
static int gpu_ids[MAX];
static int initialized;

static FILE *open_file(const char *name, const char *mode) {
  const char *dir = getenv("FAKEAMDSMI_DIR");
  char path[4096];
  if (dir == NULL) return NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, mode);
}

static void called(const char *fn) {
  FILE *f = open_file("calls", "a");
  if (f == NULL) return;
  fprintf(f, "%s\n", fn);
  fclose(f);
}

/* layout reads the GPUs per socket into per, returns the socket count. */
static int layout(int per[MAX]) {
  int n = 0;
  FILE *f = open_file("layout", "r");
  if (f == NULL) {
    per[0] = 1;
    return 1;
  }
  while (n < MAX && fscanf(f, "%d", &per[n]) == 1) n++;
  fclose(f);
  return n;
}

static int read_gpu(int i, unsigned long long *acc, float *res, unsigned long long *bdf, unsigned *status) {
  char name[16];
  snprintf(name, sizeof name, "gpu%d", i);
  FILE *f = open_file(name, "r");
  *acc = 0; *res = 15.3f; *bdf = (unsigned long long)(i + 3) << 8; *status = 0;
  if (f == NULL) return 0;
  int n = fscanf(f, "%llu %f %llx %u", acc, res, bdf, status);
  fclose(f);
  return n;
}

uint32_t amdsmi_init(uint64_t flags) {
  called("amdsmi_init");
  if (flags != 2) return 1; /* AMDSMI_STATUS_INVAL: only AMDSMI_INIT_AMD_GPUS */
  unsigned status = 0;
  FILE *f = open_file("init", "r");
  if (f != NULL) {
    if (fscanf(f, "%u", &status) != 1) status = 0;
    fclose(f);
  }
  if (status == 0) initialized = 1;
  return status;
}

uint32_t amdsmi_shut_down(void) {
  called("amdsmi_shut_down");
  initialized = 0;
  return 0;
}

uint32_t amdsmi_get_socket_handles(uint32_t *count, void **handles) {
  called("amdsmi_get_socket_handles");
  if (!initialized) return 32; /* AMDSMI_STATUS_NOT_INIT */
  int per[MAX];
  uint32_t n = (uint32_t)layout(per);
  if (handles == NULL) {
    *count = n;
    return 0;
  }
  if (*count > n) *count = n;
  for (uint32_t i = 0; i < *count; i++) handles[i] = &socket_ids[i];
  return 0;
}

uint32_t amdsmi_get_processor_handles(void *socket, uint32_t *count, void **handles) {
  called("amdsmi_get_processor_handles");
  if (!initialized) return 32;
  int per[MAX];
  int ns = layout(per), s = (int)((int *)socket - socket_ids), first = 0;
  if (s < 0 || s >= ns) return 1;
  for (int i = 0; i < s; i++) first += per[i];
  uint32_t n = (uint32_t)per[s];
  if (handles == NULL) {
    *count = n;
    return 0;
  }
  if (*count > n) *count = n;
  for (uint32_t i = 0; i < *count && first + (int)i < MAX; i++) handles[i] = &gpu_ids[first + i];
  return 0;
}

uint32_t amdsmi_get_energy_count(void *h, uint64_t *acc, float *res, uint64_t *ts) {
  called("amdsmi_get_energy_count");
  if (!initialized) return 32;
  if (acc == NULL || ts == NULL) return 1;
  unsigned long long a, bdf;
  unsigned status;
  read_gpu((int)((int *)h - gpu_ids), &a, res, &bdf, &status);
  if (status != 0) return status;
  *acc = a;
  *ts = 0;
  return 0;
}

#ifndef OMIT_BDF
typedef union {
  struct {
    uint64_t function_number : 3;
    uint64_t device_number : 5;
    uint64_t bus_number : 8;
    uint64_t domain_number : 48;
  };
  uint64_t as_uint;
} amdsmi_bdf_t;

uint32_t amdsmi_get_gpu_device_bdf(void *h, amdsmi_bdf_t *bdf) {
  called("amdsmi_get_gpu_device_bdf");
  if (!initialized) return 32;
  unsigned long long a, b;
  float res;
  unsigned status;
  read_gpu((int)((int *)h - gpu_ids), &a, &res, &b, &status);
  bdf->as_uint = b;
  return 0;
}
#endif

uint32_t amdsmi_get_gpu_asic_info(void *h, asic_info_t *info) {
  called("amdsmi_get_gpu_asic_info");
  if (!initialized) return 32;
  memset(info, 0, sizeof *info);
  snprintf(info->market_name, sizeof info->market_name, "AMD Instinct MI300X (fake %d)", (int)((int *)h - gpu_ids));
  info->vendor_id = 0x1002;
  return 0;
}

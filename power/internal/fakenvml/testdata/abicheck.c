/*
 * abicheck.c: checks the stand-in's C ABI against go-nvml's own nvml.h,
 * for what go-nvml's Go API cannot reach (the v1/v2 process layouts, the
 * INSUFFICIENT_SIZE protocol, partial GetSamples buffers, bad arguments).
 * Built and run by TestCABI:
 *
 *   gcc -DNVML_NO_UNVERSIONED_FUNC_DEFS=1 -I<go-nvml>/pkg/nvml abicheck.c \
 *       -L<dir> -l:libnvidia-ml.so.1 -Wl,-rpath,<dir>
 *   ./abicheck good.conf bad.conf
 *
 * good.conf: GPU 0 with pids 11,22,33, MIG enabled, samples every 20 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvml.h"

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            failures++;                                               \
        }                                                             \
    } while (0)
#define CHECK_RET(call, want)                                         \
    do {                                                              \
        nvmlReturn_t r_ = (call);                                     \
        if (r_ != (want)) {                                           \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d\n", __FILE__, __LINE__, \
                    #call, (int)r_, nvmlErrorString(r_), (int)(want)); \
            failures++;                                               \
        }                                                             \
    } while (0)

_Static_assert(sizeof(nvmlSample_t) == 16, "nvmlSample_t");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "v1");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "v2");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "v3");

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: abicheck good.conf bad.conf\n");
        return 2;
    }
    unsigned int n = 0;
    char buf[96];
    nvmlDevice_t dev, mig;

    /* Uninitialized; unset, bad and good configs. */
    CHECK_RET(nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED);
    CHECK_RET(nvmlSystemGetDriverVersion(buf, sizeof buf), NVML_ERROR_UNINITIALIZED);
    CHECK_RET(nvmlShutdown(), NVML_ERROR_UNINITIALIZED);
    unsetenv("FAKENVML_CONFIG");
    CHECK_RET(nvmlInit_v2(), NVML_ERROR_UNKNOWN);
    setenv("FAKENVML_CONFIG", argv[2], 1);
    CHECK_RET(nvmlInit_v2(), NVML_ERROR_UNKNOWN);
    CHECK_RET(nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED);
    setenv("FAKENVML_CONFIG", argv[1], 1);
    CHECK_RET(nvmlInit(), NVML_SUCCESS);
    CHECK_RET(nvmlInitWithFlags(0), NVML_SUCCESS); /* nested: refcount 2 */

    /* Arguments. */
    CHECK_RET(nvmlDeviceGetCount_v2(NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetCount(&n), NVML_SUCCESS);
    CHECK(n == 1);
    CHECK_RET(nvmlDeviceGetHandleByIndex_v2(1, &dev), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetHandleByIndex_v2(0, NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetHandleByUUID(NULL, &dev), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetHandleByIndex(0, &dev), NVML_SUCCESS);
    nvmlDevice_t bogus = {.handle = (struct nvmlDevice_st *)buf};
    CHECK_RET(nvmlDeviceGetName(bogus, buf, sizeof buf), NVML_ERROR_INVALID_ARGUMENT);
    nvmlDevice_t null_dev = {.handle = NULL};
    CHECK_RET(nvmlDeviceGetPowerUsage(null_dev, &n), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetName(dev, NULL, sizeof buf), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetName(dev, buf, 3), NVML_ERROR_INSUFFICIENT_SIZE);
    CHECK_RET(nvmlDeviceGetName(dev, buf, sizeof buf), NVML_SUCCESS);
    CHECK(strcmp(buf, "ABI GPU") == 0);
    CHECK_RET(nvmlDeviceGetTotalEnergyConsumption(dev, NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetMigMode(dev, &n, NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK(strcmp(nvmlErrorString(NVML_ERROR_GPU_IS_LOST), "GPU is lost") == 0);
    CHECK(strcmp(nvmlErrorString(NVML_ERROR_NOT_SUPPORTED), "Not Supported") == 0);
    CHECK(strcmp(nvmlErrorString((nvmlReturn_t)12345), "Unknown Error") == 0);

    /* Processes: the size protocol and the three layouts. */
    unsigned int count = 0;
    CHECK_RET(nvmlDeviceGetComputeRunningProcesses_v3(dev, &count, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
    CHECK(count == 3);
    count = 2;
    nvmlProcessInfo_t v3[4];
    CHECK_RET(nvmlDeviceGetComputeRunningProcesses_v3(dev, &count, v3), NVML_ERROR_INSUFFICIENT_SIZE);
    CHECK(count == 3);
    count = 4;
    memset(v3, 0xee, sizeof v3);
    CHECK_RET(nvmlDeviceGetComputeRunningProcesses_v3(dev, &count, v3), NVML_SUCCESS);
    CHECK(count == 3);
    CHECK(v3[0].pid == 11 && v3[1].pid == 22 && v3[2].pid == 33);
    CHECK(v3[2].usedGpuMemory == 512ULL << 20 && v3[2].gpuInstanceId == 1 && v3[2].computeInstanceId == 0);
    CHECK(v3[3].pid == 0xeeeeeeee); /* untouched */
    nvmlProcessInfo_v2_t v2[3];
    count = 3;
    CHECK_RET(nvmlDeviceGetComputeRunningProcesses_v2(dev, &count, v2), NVML_SUCCESS);
    CHECK(count == 3 && v2[1].pid == 22 && v2[1].gpuInstanceId == 1 && v2[1].usedGpuMemory == 512ULL << 20);
    nvmlProcessInfo_v1_t v1[3];
    count = 3;
    memset(v1, 0, sizeof v1);
    CHECK_RET(nvmlDeviceGetComputeRunningProcesses(dev, &count, v1), NVML_SUCCESS);
    CHECK(count == 3 && v1[0].pid == 11 && v1[1].pid == 22 && v1[2].pid == 33);
    CHECK(v1[0].usedGpuMemory == 512ULL << 20 && v1[2].usedGpuMemory == 512ULL << 20);

    /* MIG handles. */
    CHECK_RET(nvmlDeviceGetHandleByUUID("MIG-abi", &mig), NVML_SUCCESS);
    CHECK_RET(nvmlDeviceGetHandleByUUID("GPU-nope", &mig), NVML_ERROR_NOT_FOUND);
    CHECK_RET(nvmlDeviceGetHandleByUUID("MIG-abi", &mig), NVML_SUCCESS);
    nvmlDevice_t parent;
    CHECK_RET(nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent), NVML_SUCCESS);
    CHECK(parent.handle == dev.handle);
    CHECK_RET(nvmlDeviceGetDeviceHandleFromMigDeviceHandle(dev, &parent), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetSamples(mig, NVML_TOTAL_POWER_SAMPLES, 0, (nvmlValueType_t *)&n, &count, NULL),
              NVML_ERROR_NOT_SUPPORTED);

    /* GetSamples: the two-call protocol and a short buffer. */
    nvmlValueType_t vt;
    nvmlSample_t s[130];
    unsigned int total = 0;
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, 0, NULL, &total, NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, NULL, NULL), NVML_ERROR_INVALID_ARGUMENT);
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_GPU_UTILIZATION_SAMPLES, 0, &vt, &total, NULL), NVML_ERROR_NOT_SUPPORTED);
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, &total, NULL), NVML_SUCCESS);
    CHECK(total == 120 && vt == NVML_VALUE_TYPE_UNSIGNED_INT);
    count = 0;
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, &count, s), NVML_ERROR_INVALID_ARGUMENT);
    count = 130;
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, 0, &vt, &count, s), NVML_SUCCESS);
    CHECK(count == 120);
    unsigned long long last = s[count - 1].timeStamp;
    for (unsigned int i = 1; i < count; i++) CHECK(s[i].timeStamp == s[i - 1].timeStamp + 20000);
    unsigned long long mid = s[100].timeStamp;
    count = 5;
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, mid, &vt, &count, s), NVML_SUCCESS);
    CHECK(count == 5);
    CHECK(s[0].timeStamp == mid + 20000 && s[4].timeStamp == mid + 5 * 20000); /* the oldest first */
    CHECK(s[0].sampleValue.uiVal == 100000 || s[0].sampleValue.uiVal == 400000);
    count = 10;
    CHECK_RET(nvmlDeviceGetSamples(dev, NVML_TOTAL_POWER_SAMPLES, last + 1000000, &vt, &count, s), NVML_ERROR_NOT_FOUND);
    CHECK(count == 0);

    /* Refcounted init: one Shutdown leaves it initialized, the next ends it. */
    CHECK_RET(nvmlShutdown(), NVML_SUCCESS);
    CHECK_RET(nvmlDeviceGetCount_v2(&n), NVML_SUCCESS);
    CHECK_RET(nvmlShutdown(), NVML_SUCCESS);
    CHECK_RET(nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED);
    CHECK_RET(nvmlDeviceGetName(dev, buf, sizeof buf), NVML_ERROR_UNINITIALIZED);
    CHECK_RET(nvmlShutdown(), NVML_ERROR_UNINITIALIZED);

    if (failures) {
        fprintf(stderr, "abicheck: %d failures\n", failures);
        return 1;
    }
    printf("abicheck: OK\n");
    return 0;
}

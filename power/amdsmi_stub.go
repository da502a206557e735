//go:build !(linux && cgo)

package power

import (
	"context"
	"runtime"
)

func discoverAMDSMI(_ context.Context, _ *options) ([]Source, []Unavailable) {
	return nil, []Unavailable{{Name: "amdsmi", Err: errorf(ErrNotSupported,
		"power: amdsmi: this binary was built without cgo or not for Linux (%s/%s), so it cannot load AMD SMI (libamd_smi.so); AMD GPUs are read through hwmon where the amdgpu driver exposes power",
		runtime.GOOS, runtime.GOARCH)}}
}

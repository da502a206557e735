//go:build !(linux && cgo)

package power

import (
	"context"
	"runtime"
)

// nvmlHandle stands in for nvml.Interface where go-nvml cannot be built.
type nvmlHandle = any

func discoverNVML(_ context.Context, _ *options) ([]Source, []Unavailable) {
	return nil, []Unavailable{{Name: "nvml", Err: errorf(ErrNotSupported,
		"power: nvml: this binary was built without cgo or not for Linux (%s/%s); NVIDIA GPUs need a Linux build with CGO_ENABLED=1",
		runtime.GOOS, runtime.GOARCH)}}
}

package power

import "context"

// nvmlBackend measures NVIDIA GPUs through NVML: the device sources in
// nvml.go (nvml_stub.go says why not where there is no cgo or no Linux),
// selected as CUDA_VISIBLE_DEVICES says (cuda_visible.go) and, with a process
// view, counted from when the tree first runs on them (nvml_process.go).
type nvmlBackend struct{}

func (nvmlBackend) discover(ctx context.Context, o *options, _ *found) ([]Source, []Unavailable) {
	if !o.kinds[KindGPU] {
		return nil, nil
	}
	return discoverNVML(ctx, o)
}

// slow: NVML's Init loads the driver, which can take seconds.
func (nvmlBackend) slow() bool { return true }

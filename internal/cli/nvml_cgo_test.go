//go:build linux && cgo

package cli

// nvmlBuilt says whether this test binary can load NVML (go-nvml is cgo).
const nvmlBuilt = true

//go:build !(linux && cgo)

package cli

// nvmlBuilt says whether this test binary can load NVML (go-nvml is cgo):
// without cgo, or off Linux, NVML is unavailable whatever the machine has.
const nvmlBuilt = false

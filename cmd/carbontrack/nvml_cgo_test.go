//go:build linux && cgo

package main

// nvmlBuilt says whether this test binary can load NVML (go-nvml is cgo).
const nvmlBuilt = true

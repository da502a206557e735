//go:build linux && cgo

package power

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckLibraryLoads checks a library every Linux process can load
// (libm), and a missing one, through dlopen and dlsym.
func TestCheckLibraryLoads(t *testing.T) {
	libm := libraryCheck{what: "libm", want: "libm", symbols: []symbolGroup{{"cos"}, {"sqrt"}}}
	if err := checkLibrary("libm.so.6", libm); errors.Is(err, errLibraryOpen) {
		t.Skipf("no libm.so.6 here: %v", err)
	} else {
		require.NoError(t, err)
	}
	err := checkLibrary("libm.so.6", nvmlCheck)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.NotErrorIs(t, err, errLibraryOpen)
	assert.Contains(t, err.Error(), "libm.so.6 is not NVML (libnvidia-ml.so.1)")
	assert.Contains(t, err.Error(), EnvNVMLLibrary)

	err = checkLibrary(filepath.Join(t.TempDir(), "libnvidia-ml.so.1"), nvmlCheck)
	assert.ErrorIs(t, err, errLibraryOpen)
}

// TestNVMLMissingLibrary checks that a library that cannot be loaded is
// reported as go-nvml's Init reports it, from the one dlopen of the check.
func TestNVMLMissingLibrary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "libnvidia-ml.so.1")
	require.Equal(t, nvml.ERROR_LIBRARY_NOT_FOUND, nvml.New(nvml.WithLibraryPath(path)).Init())

	o := defaultOptions()
	o.nvmlLibrary = path
	sources, unavail := discoverNVML(context.Background(), &o)
	assert.Empty(t, sources)
	require.Len(t, unavail, 1)
	assert.Equal(t, "nvml", unavail[0].Name)
	assert.ErrorIs(t, unavail[0].Err, ErrNotFound)
	assert.ErrorIs(t, unavail[0].Err, nvml.ERROR_LIBRARY_NOT_FOUND)
	assert.Equal(t, "power: nvml: Init: ERROR_LIBRARY_NOT_FOUND ("+path+" could not be loaded: no NVIDIA driver here, or set "+
		EnvNVMLLibrary+" / --nvml-lib to its path); GPUs are not measured", unavail[0].Err.Error())
}

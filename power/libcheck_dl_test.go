//go:build linux && cgo

package power

import (
	"errors"
	"path/filepath"
	"testing"

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

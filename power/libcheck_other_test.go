//go:build !(linux && cgo)

package power

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckLibraryWithoutCgo(t *testing.T) {
	err := checkLibrary("libm.so.6", testCheck)
	assert.ErrorIs(t, err, errLibraryOpen)
	assert.ErrorIs(t, err, ErrNotSupported)
}

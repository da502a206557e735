//go:build !(linux && cgo)

package power

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAMDSMIWithoutCgo(t *testing.T) {
	d, err := Discover(t.Context(), WithKinds(KindGPU), WithSysfsRoot(t.TempDir()))
	require.NoError(t, err)
	defer d.Close()
	var found bool
	for _, u := range d.Unavailable {
		if u.Name == "amdsmi" {
			found = true
			assert.ErrorIs(t, u.Err, ErrNotSupported)
			assert.Contains(t, u.Reason(), "cannot load AMD SMI (libamd_smi.so)")
		}
	}
	assert.True(t, found, "%v", d.Unavailable)
}

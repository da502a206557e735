//go:build linux && cgo

package powertest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
)

// TestFakeNVMLDiscovered loads the stand-in through go-nvml's real cgo path.
// It is the only test of this package that loads an NVML library (a process
// must load at most one stand-in).
func TestFakeNVMLDiscovered(t *testing.T) {
	noCounter := powertest.DefaultFakeGPU(1)
	noCounter.Counter = false
	f := buildFake(t, powertest.DefaultFakeGPU(0), noCounter)
	t.Setenv(powertest.EnvFakeNVMLConfig, f.Config)

	d, err := power.Discover(context.Background(), power.WithKinds(power.KindGPU),
		power.WithNVMLLibrary(f.Library), power.WithCUDAVisibleDevices("0,1"))
	require.NoError(t, err)
	defer d.Close()
	require.Len(t, d.Sources, 2, "%v", d.Unavailable)
	assert.Equal(t, power.MethodCounter, d.Sources[0].Info().Method)
	assert.Equal(t, power.MethodSampled, d.Sources[1].Info().Method)
	assert.Equal(t, powertest.DefaultFakeGPU(0).UUID, d.Sources[0].Info().UUID)
}

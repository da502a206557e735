//go:build linux && cgo

package power_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
)

// TestGPUCadence: the sampler reads a GPU's energy counter rarely, the
// driver's sample buffer about once a second, plain power readings often.
// (Kept with the estimates' tests, whose cadence changed with it.)
func TestGPUCadence(t *testing.T) {
	tests := []struct {
		name    string
		b       gpuBehaviour
		force   bool
		cadence power.Cadence
	}{
		{"counter", gpuBehaviour{counter: true, samples: true, usage: true}, false, power.CadenceRare},
		{"sample buffer", gpuBehaviour{samples: true, usage: true}, false, power.CadenceBuffered},
		{"sample buffer, sampling forced", gpuBehaviour{counter: true, samples: true, usage: true}, true, power.CadenceBuffered},
		{"power usage", gpuBehaviour{usage: true}, false, power.CadenceFast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.watts = 200
			opts := []power.Option{power.WithCUDAVisibleDevices("0")}
			if tt.force {
				opts = append(opts, power.WithGPUPowerSampling())
			}
			d := discoverGPUs(t, h100s(t, tt.b), opts...)
			require.Len(t, d.Sources, 1)
			assert.Equal(t, tt.cadence, d.Sources[0].Info().ResolveCadence())
		})
	}
}

//go:build linux

package power_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Sources are listed by kind whichever backend found them: with RAPL DRAM
// zones but no package zone, the CPU estimate (found after RAPL) comes before
// RAPL's DRAM.
func TestDiscoverListsSourcesByKind(t *testing.T) {
	d := discoverRAPL(t, writePowercap(t,
		zone{Dir: "intel-rapl:0", Name: "dram", EnergyUJ: 1},
		zone{Dir: "intel-rapl:1", Name: "dram", EnergyUJ: 2}))
	assert.Equal(t, []string{"cpu:estimate", "dram:package-0", "dram:package-1"}, names(d))
	assert.Empty(t, d.Unavailable)
}

package power

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAMDSMICounterUpdate(t *testing.T) {
	var c amdsmiCounter
	for _, step := range []struct {
		acc    uint64
		res    float64
		want   Joules
		reset  bool
		reason string
	}{
		{1 << 40, 0.5, 0, false, "the first reading is the origin"},
		{1<<40 + 2_000_000, 0.5, 1, false, "2,000,000 units of 0.5 µJ"},
		{10, 0.5, 1, true, "a step back is a reset, not counted"},
		{2_000_010, 0.5, 2, false, "counting goes on from the reset value"},
		{2_000_010, 0.5, 2, false, "no energy, no change"},
	} {
		got, reset := c.update(step.acc, step.res)
		assert.Equal(t, step.want, got, step.reason)
		assert.Equal(t, step.reset, reset, step.reason)
	}
}

func TestAMDSMIErr(t *testing.T) {
	assert.NoError(t, amdsmiErr(0, "amdsmi_init"))
	for _, tc := range []struct {
		status uint32
		want   string
		kind   error
	}{
		{2, "power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_NOT_SUPPORTED (2)", ErrNotSupported},
		{10, "power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_NO_PERM (10)", ErrPermission},
		{34, "power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_DRIVER_NOT_LOADED (34)", ErrNotFound},
		{0xFFFFFFFF, "power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_UNKNOWN_ERROR (4294967295)", nil},
		{77, "power: amdsmi: amdsmi_get_energy_count: AMDSMI_STATUS_77 (77)", nil},
	} {
		err := amdsmiErr(tc.status, "amdsmi_get_energy_count")
		assert.EqualError(t, err, tc.want)
		if tc.kind != nil {
			assert.ErrorIs(t, err, tc.kind)
		}
	}
}

func TestFormatBDF(t *testing.T) {
	assert.Equal(t, "0000:03:00.0", formatBDF(0, 3, 0, 0))
	assert.Equal(t, "10000:c1:1f.7", formatBDF(0x10000, 0xc1, 0x1f, 7), "a 32-bit domain (VMD) keeps its digits")
}

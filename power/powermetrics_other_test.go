//go:build !darwin

package power

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Away from macOS the backend reports nothing at all: powermetrics' absence
// is not news there.
func TestPMBackendSilentAwayFromMacOS(t *testing.T) {
	o := pmTestOptions()
	s, u := powermetricsBackend{}.discover(context.Background(), o, &found{})
	assert.Empty(t, s)
	assert.Empty(t, u)
}

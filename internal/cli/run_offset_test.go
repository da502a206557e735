package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The run's report states what offsetting its emissions would cost at the
// price the user gives, with what offsets do not do; no price is assumed.
func TestRunOffsetCost(t *testing.T) {
	env, sysfs := noDevices(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := runCLI(t, "run", "--sysfs-root", sysfs, "--log-dir", "", "--report-file", report,
		"--offset-price", "80", "--currency", "eur", "--", "sh", "-c", "sleep 0.2")
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	var rep runJSON
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Equal(t, "EUR", rep.OffsetCurrency)
	assert.InEpsilon(t, rep.EmissionsG/1e6*80, rep.OffsetCost, 1e-9)
	assert.Contains(t, stderr, "offset:")
	assert.Contains(t, stderr, "Offsets do not undo emissions")

	// Without a price, nothing is said; a price without a currency is a
	// usage error.
	code, _, stderr = runCLI(t, "run", "--sysfs-root", sysfs, "--log-dir", "", "--", "true")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "offset:")
	code, _, stderr = runCLI(t, "run", "--offset-price", "80", "--", "true")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "currency")
}

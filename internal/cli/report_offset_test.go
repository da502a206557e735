package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/estimate"
)

// report prices the offsetting of the total at the price given, with the
// caveat, in the tables and the JSON; no price or currency is assumed.
func TestReportOffset(t *testing.T) {
	code, out, stderr := runCLI(t, "report", "--json", ctFixture)
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Total struct {
			EmissionsG float64           `json:"emissions_g"`
			Offset     *reportOffsetJSON `json:"offset"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Nil(t, doc.Total.Offset, "no price, no offset")

	code, out, stderr = runCLI(t, "report", "--json", "--offset-price", "80", "--currency", "eur", ctFixture)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.NotNil(t, doc.Total.Offset)
	assert.InDelta(t, doc.Total.EmissionsG/1e6*80, doc.Total.Offset.Cost, 1e-12)
	assert.Equal(t, "EUR", doc.Total.Offset.Currency)
	assert.Equal(t, estimate.OffsetCaveat, doc.Total.Offset.Caveat)

	code, out, stderr = runCLI(t, "report", "--offset-price", "80", "--currency", "EUR", ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Offsetting the total's emissions would cost ")
	assert.Contains(t, out, "at 80.0 EUR per tonne CO2e (price given). Offsets do not undo emissions")

	for _, args := range [][]string{{"--offset-price", "80"}, {"--currency", "EUR"}, {"--offset-price", "-1", "--currency", "EUR"}} {
		code, _, stderr = runCLI(t, append(append([]string{"report"}, args...), ctFixture)...)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotContains(t, stderr, "invalid job", "%v", args)
	}
}

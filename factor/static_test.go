package factor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		zone     string
		wantZone string
		value    factor.GramsPerKWh
		year     int
		source   string
	}{
		{"FR", "FR", 56.039, 2023, "Our World in Data"},
		{"fr", "FR", 56.039, 2023, "Our World in Data"},
		{"FRA", "FR", 56.039, 2023, "Ember"},
		{"fra", "FR", 56.039, 2023, "Ember"},
		{"France", "FR", 56.039, 2023, "CC BY 4.0"},
		{"  FRANCE ", "FR", 56.039, 2023, "CC BY 4.0"},
		{"DE", "DE", 380.95, 2023, "Our World in Data"},
		{"Germany", "DE", 380.95, 2023, "Our World in Data"},
		{"GB", "GB", 237.589, 2023, "Our World in Data"},
		{"UK", "GB", 237.589, 2023, "Our World in Data"},
		{"United Kingdom", "GB", 237.589, 2023, "Our World in Data"},
		{"GBR", "GB", 237.589, 2023, "Our World in Data"},
		{"US", "US", 369.473, 2023, "Our World in Data"},
		{"USA", "US", 369.473, 2023, "Our World in Data"},
		{"United States", "US", 369.473, 2023, "Our World in Data"},
		{"United States of America", "US", 369.473, 2023, "Our World in Data"},
		{"KR", "KR", 430.567, 2023, "Our World in Data"},
		{"South Korea", "KR", 430.567, 2023, "Our World in Data"},
		{"Czech Republic", "CZ", 449.724, 2023, "Our World in Data"},
		{"Czechia", "CZ", 449.724, 2023, "Our World in Data"},
		{"Cote d'Ivoire", "CI", 393.885, 2022, "Our World in Data"},
		{"Côte d'Ivoire", "CI", 393.885, 2022, "Our World in Data"},
		{"EH", "EH", 666.667, 2009, "Our World in Data"},
		{"CAF", "CF", 0, 2022, "Our World in Data"}, // zero is a value, not a missing one
		{"TKM", "TM", 1306.025, 2022, "Our World in Data"},
		{"gcp:europe-west4", "gcp:europe-west4", 208.81, 2024, "region-carbon-info 2024"},
		{"GCP:Europe-West4", "gcp:europe-west4", 208.81, 2024, "Apache-2.0"},
		{"gcp:us-central1", "gcp:us-central1", 412.72, 2024, "Google"},
		{"gcp:europe-north2", "gcp:europe-north2", 2.73, 2024, "Google"},
		{"aws:us-east-1", "aws:us-east-1", 415.755, 2019, "eGRID2019 (SERC)"},
		{"aws:us-east-2", "aws:us-east-2", 440.187, 2019, "eGRID2019 (RFC)"},
		{"aws:us-west-1", "aws:us-west-1", 350.861, 2019, "eGRID2019 (WECC)"},
		{"aws:us-west-2", "aws:us-west-2", 350.861, 2019, "Cloud Carbon Footprint"},
		{"aws:eu-west-1", "aws:eu-west-1", 290.805, 2023, "country IE"},
		{"aws:eu-west-2", "aws:eu-west-2", 237.589, 2023, "country GB"},
		{"aws:eu-west-3", "aws:eu-west-3", 56.039, 2023, "country FR"},
		{"aws:eu-central-1", "aws:eu-central-1", 380.95, 2023, "country DE"},
		{"aws:eu-north-1", "aws:eu-north-1", 40.695, 2023, "country SE"},
		{"aws:eu-south-1", "aws:eu-south-1", 330.718, 2023, "country IT"},
		{"aws:ap-northeast-1", "aws:ap-northeast-1", 485.392, 2023, "country JP"},
		{"aws:ap-northeast-2", "aws:ap-northeast-2", 430.567, 2023, "country KR"},
		{"aws:ap-southeast-1", "aws:ap-southeast-1", 470.783, 2023, "country SG"},
		{"aws:ap-southeast-2", "aws:ap-southeast-2", 548.692, 2023, "country AU"},
		{"aws:ap-south-1", "aws:ap-south-1", 713.441, 2023, "country IN"},
		{"aws:ca-central-1", "aws:ca-central-1", 170.043, 2023, "country CA"},
		{"aws:sa-east-1", "aws:sa-east-1", 98.348, 2023, "country BR"},
		{"azure:westeurope", "azure:westeurope", 390, 0, "Cloud Carbon Footprint (Apache-2.0): EEA"},
		{"azure:West Europe", "azure:westeurope", 390, 0, "EEA"},
		{"AZURE:EastUS", "azure:eastus", 415.755, 2019, "EPA eGRID2019 (SERC)"},
		{"azure:centralus", "azure:centralus", 472.23, 2019, "EPA eGRID2019 (MRO)"},
		{"azure:finlandcentral", "azure:finlandcentral", 77, 0, "EEA"},
		{"azure:swedencentral", "azure:swedencentral", 9, 0, "EEA"},
		{"azure:eastasia", "azure:eastasia", 810, 2020, "carbonfootprint.com"},
		{"world", "world", 483.18, 2023, "world average"},
		{"WORLD", "world", 483.18, 2023, "Our World in Data"},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			v, err := factor.Lookup(tt.zone)
			require.NoError(t, err)
			assert.Equal(t, tt.wantZone, v.Zone)
			assert.InDelta(t, float64(tt.value), float64(v.Value), 1e-9)
			assert.Equal(t, tt.year, v.Year)
			assert.Contains(t, v.Source, tt.source)
			assert.Equal(t, "static", v.Provider)
			assert.Empty(t, v.Fallback)
			assert.True(t, v.At.IsZero())
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	tests := []struct {
		zone string
		msg  string
	}{
		{"", "is not a country"},
		{"XX", "is not a country"},
		{"Atlantis", "is not a country"},
		{"DK-DK1", "is not a country"},
		{"gcp:mars-north1", "no gcp region"},
		{"aws:us-east-9", "no aws region"},
		{"azure:moon", "no azure region"},
		{"europe-west4", "gcp:europe-west4"}, // hint: the prefix is missing
		{"us-east-1", "aws:us-east-1"},
		{"AD", "no intensity data for AD (Andorra)"}, // ISO code without OWID data
		{"Andorra", "no intensity data for AD"},
		{strings.Repeat("x", 10000), "too long"},
		{"gcp:", "no gcp region"},
		{":", "is not a country"},
	}
	for _, tt := range tests {
		t.Run(tt.zone[:min(len(tt.zone), 20)], func(t *testing.T) {
			_, err := factor.Lookup(tt.zone)
			require.ErrorIs(t, err, factor.ErrUnknownZone)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "factor: "), err.Error())
			assert.Less(t, len(err.Error()), 400)
		})
	}
}

func TestLookupCountry(t *testing.T) {
	for _, s := range []string{"FR", "fra", "France"} {
		c, err := factor.LookupCountry(s)
		require.NoError(t, err)
		assert.Equal(t, factor.Country{Alpha2: "FR", Alpha3: "FRA", Name: "France"}, c)
	}
	c, err := factor.LookupCountry("AD")
	require.NoError(t, err)
	assert.Equal(t, factor.Country{Alpha2: "AD", Alpha3: "AND", Name: "Andorra"}, c)
	_, err = factor.LookupCountry("Narnia")
	require.ErrorIs(t, err, factor.ErrUnknownZone)
}

func TestZonesCoverEmbeddedTables(t *testing.T) {
	zs, err := factor.Zones()
	require.NoError(t, err)
	var countries, gcp, aws, azure int
	for _, z := range zs {
		switch {
		case strings.HasPrefix(z, "gcp:"):
			gcp++
		case strings.HasPrefix(z, "aws:"):
			aws++
		case strings.HasPrefix(z, "azure:"):
			azure++
		case z == "world":
		default:
			countries++
			require.Len(t, z, 2, z)
		}
		// Every listed zone answers, plausibly, with a source.
		v, err := factor.Lookup(z)
		require.NoError(t, err, z)
		assert.Equal(t, z, v.Zone)
		assert.GreaterOrEqual(t, float64(v.Value), 0.0)
		assert.LessOrEqual(t, float64(v.Value), float64(factor.MaxPlausible))
		assert.NotEmpty(t, v.Source)
	}
	assert.Equal(t, 213, countries, "every OWID country has an alpha-2 code")
	assert.Equal(t, 41, gcp)
	assert.Equal(t, 24, azure)
	assert.GreaterOrEqual(t, aws, 30)
	assert.IsIncreasing(t, zs)
}

func TestStatic(t *testing.T) {
	at := mustTime(t, "2024-03-01T12:00:00Z")
	ctx := context.Background()

	v, err := factor.Static("FR").Intensity(ctx, at)
	require.NoError(t, err)
	assert.Equal(t, factor.GramsPerKWh(56.039), v.Value)
	assert.Equal(t, at, v.At)
	assert.Empty(t, v.Fallback)
	assert.NoError(t, v.Cause)

	// A sub-national zone falls back to its country, and says so.
	for _, z := range []string{"DK-DK1", "US-CAL-CISO", "uk:RG10", "SE-SE3"} {
		v, err = factor.Static(z).Intensity(ctx, at)
		require.NoError(t, err, z)
		assert.Contains(t, v.Fallback, "its country", z)
		require.ErrorIs(t, v.Cause, factor.ErrUnknownZone, z)
		assert.Equal(t, at, v.At)
	}
	v, _ = factor.Static("DK-DK1").Intensity(ctx, at)
	assert.Equal(t, "DK", v.Zone)
	assert.Equal(t, factor.GramsPerKWh(151.65), v.Value)

	// Anything else falls back to the world average, and says so.
	for _, z := range []string{"Atlantis", "gcp:mars-north1", "AD", "XX-YY"} {
		v, err = factor.Static(z).Intensity(ctx, at)
		require.NoError(t, err, z)
		assert.Equal(t, factor.WorldAverage, v.Value, z)
		assert.Equal(t, "world", v.Zone)
		assert.Equal(t, 2023, v.Year)
		assert.Contains(t, v.Fallback, "world average", z)
		require.ErrorIs(t, v.Cause, factor.ErrUnknownZone, z)
	}
	v, err = factor.Static("").Intensity(ctx, at)
	require.NoError(t, err)
	assert.Equal(t, "no zone configured; using the world average", v.Fallback)

	// The zero time is now.
	v, err = factor.Static("FR").Intensity(ctx, time.Time{})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), v.At, time.Minute)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = factor.Static("FR").Intensity(cctx, at)
	require.ErrorIs(t, err, context.Canceled)
}

func TestFixed(t *testing.T) {
	at := mustTime(t, "2024-03-01T12:00:00Z")
	v, err := factor.Fixed(123.4).Intensity(context.Background(), at)
	require.NoError(t, err)
	assert.Equal(t, factor.Intensity{Value: 123.4, At: at, Provider: "fixed", Source: "fixed value"}, v)

	for _, bad := range []factor.GramsPerKWh{-1, 2001} {
		_, err = factor.Fixed(bad).Intensity(context.Background(), at)
		require.ErrorIs(t, err, factor.ErrImplausible)
		assert.True(t, strings.HasPrefix(err.Error(), "factor: fixed: implausible"), err.Error())
	}
}

func TestIntensityString(t *testing.T) {
	v := factor.Intensity{Value: 56.039, Zone: "FR", Provider: "static", Year: 2023}
	assert.Equal(t, "56.039 gCO2e/kWh (FR, static, 2023)", v.String())
	v.Fallback, v.Estimated = "because", true
	assert.Equal(t, "56.039 gCO2e/kWh (FR, static, 2023, estimated) fallback: because", v.String())
	assert.InDelta(t, 112.078, factor.GramsPerKWh(56.039).Grams(2), 1e-9)
}

func TestErrorsAreSortable(t *testing.T) {
	he := &factor.HTTPError{Provider: "p", URL: "http://x/y", StatusCode: 429, Status: "429 Too Many Requests", RetryAfter: time.Minute}
	assert.ErrorIs(t, he, factor.ErrRateLimited)
	assert.Equal(t, "factor: p: GET http://x/y: 429 Too Many Requests (retry after 1m0s)", he.Error())
	assert.NotErrorIs(t, &factor.HTTPError{StatusCode: 500}, factor.ErrRateLimited)
	var target *factor.HTTPError
	assert.True(t, errors.As(errors.Join(errors.New("x"), he), &target))
}

// TestStaticDanishPriceAreas: the bare price areas of Energi Data Service fall
// back to Denmark's annual value, not the world's.
func TestStaticDanishPriceAreas(t *testing.T) {
	dk, err := factor.Lookup("DK")
	require.NoError(t, err)
	for _, z := range []string{"DK1", "dk2", "DK-DK1"} {
		v, err := factor.Static(z).Intensity(context.Background(), time.Time{})
		require.NoError(t, err)
		assert.Equal(t, dk.Value, v.Value, z)
		assert.Equal(t, "DK", v.Zone, z)
		assert.Contains(t, v.Fallback, "its country DK", z)
	}
	c, err := factor.ForZone("DK1")
	require.NoError(t, err)
	v, err := c.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, dk.Value, v.Value, "ForZone offline")
}

package cloudmeta

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidName(t *testing.T) {
	for _, s := range []string{"us-east-1", "westeurope", "europe-west4", "us-gov-west-1", "a", strings.Repeat("a", 64)} {
		assert.True(t, validName(s), s)
	}
	for _, s := range []string{"", "-a", "a-", "a--b", "1a", "A", "a_b", "a b", "a.b", "a/b", "é", strings.Repeat("a", 65), "a\n"} {
		assert.False(t, validName(s), "%q", s)
	}
}

func TestGCPRegion(t *testing.T) {
	ok := map[string]string{
		"projects/123456789/zones/europe-west4-a":  "europe-west4",
		"projects/123456789/zones/us-central1-f":   "us-central1",
		"projects/123456789/zones/europe-west10-b": "europe-west10",
		"projects/123456789/zones/us-south1-ai1b":  "us-south1",
		"projects/1/zones/asia-east1-c\n":          "asia-east1",
	}
	for in, want := range ok {
		got, err := gcpRegion(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{
		"", "europe-west4-a", "zones/europe-west4-a", "projects/1/zones/europe-west4",
		"projects/1/zones/europe", "projects/1/zones/-a", "projects/1/zones/", "projects/1/regions/europe-west4-a",
		"projects/1/zones/Europe-west4-a", "projects/1/zones/europe-west4-a/",
	} {
		_, err := gcpRegion(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestValidToken(t *testing.T) {
	assert.True(t, validToken("AQAEAFTNrA4eEGx0AQgJ1arIq_Cc-t4tWt3fB0Hd8RKhXlKc5ccvhg=="))
	for _, s := range []string{"", "a b", "a\r\nX-Evil: 1", strings.Repeat("a", 1025), "é"} {
		assert.False(t, validToken(s), "%q", s)
	}
}

package factor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
)

func TestCheckZoneSuggests(t *testing.T) {
	for zone, want := range map[string]string{
		"Germny":           "did you mean DE (Germany)?",
		"Polnd":            "PL (Poland)",
		"Untied Kingdom":   "GB (United Kingdom)",
		"aws:us-east-7":    "aws:us-east-1",
		"azure:west europ": "azure:westeurope",
		"wrld":             "world",
	} {
		err := factor.CheckZone(zone)
		require.ErrorIs(t, err, factor.ErrUnknownZone, zone)
		assert.Contains(t, err.Error(), want, zone)
	}
	for _, zone := range []string{"", "DE", "deu", "Germany", "gcp:europe-west4", "azure:West Europe", "aws:us-east-1",
		"world", "DK1", "DK-DK2", "US-CAL-CISO", "uk:RG10"} {
		assert.NoError(t, factor.CheckZone(zone), zone)
	}
	err := factor.CheckZone("XQ")
	require.ErrorIs(t, err, factor.ErrUnknownZone)
	assert.NotContains(t, err.Error(), "did you mean", "a two-letter code has too many neighbours to guess")
}

func TestByName(t *testing.T) {
	p, err := factor.ByName("", "FR")
	require.NoError(t, err)
	assert.True(t, factor.IsOffline(p))
	_, err = factor.ByName("static", "Frnace")
	require.ErrorIs(t, err, factor.ErrUnknownZone)
	_, err = factor.ByName("carbonapi", "FR")
	require.ErrorIs(t, err, factor.ErrInvalid)
	assert.Contains(t, err.Error(), "electricitymaps")
	_, err = factor.ByName("energidataservice", "")
	require.ErrorIs(t, err, factor.ErrInvalid)

	// A named live provider falls back to its zone's table value.
	srv := httptest.NewServer(jsonHandler(500, `{}`))
	defer srv.Close()
	p, err = factor.ByName("ukgrid", "GB", factor.WithBaseURL(srv.URL), factor.WithRetries(1))
	require.NoError(t, err)
	assert.False(t, factor.IsOffline(p))
	off, ok := p.(factor.OfflineFallback).Offline()
	require.True(t, ok)
	gb, err := factor.Lookup("GB")
	require.NoError(t, err)
	v, err := off.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, gb.Value, v.Value)
	v, err = p.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, gb.Value, v.Value)
	assert.Contains(t, v.Fallback, "500")
}

// A password in a provider's URL never reaches an error, a log or a
// report.
func TestURLPasswordRedacted(t *testing.T) {
	srv := httptest.NewServer(jsonHandler(503, `{"error":"down"}`))
	defer srv.Close()
	base := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	logger, logs := captureLogs()
	p, err := factor.ByName("ukgrid", "GB", factor.WithBaseURL(base), factor.WithRetries(2),
		factor.WithBackoff(time.Millisecond, time.Millisecond), factor.WithLogger(logger))
	require.NoError(t, err)
	v, err := p.Intensity(context.Background(), time.Time{})
	require.NoError(t, err)
	require.NotEmpty(t, v.Fallback)
	var he *factor.HTTPError
	require.True(t, errors.As(v.Cause, &he))
	for _, s := range []string{v.Fallback, v.Cause.Error(), he.URL, logs.String()} {
		assert.NotContains(t, s, "s3cret")
	}
	assert.Contains(t, he.URL, "user:xxxxx@")
	assert.Equal(t, "https://api.example/", factor.RedactURL("https://api.example/"))
}

// tzRoot writes a filesystem root whose /etc/localtime links to zone.
func tzRoot(t *testing.T, zone string) string {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.Symlink("/usr/share/zoneinfo/"+zone, filepath.Join(root, "etc", "localtime")))
	return root
}

func TestLocate(t *testing.T) {
	ctx := context.Background()
	t.Setenv("TZ", "")
	os.Unsetenv("TZ")
	l, err := factor.Locate(ctx, factor.WithFileRoot(tzRoot(t, "Europe/Berlin")))
	require.NoError(t, err)
	assert.Equal(t, factor.Location{Zone: "DE", Method: factor.LocatedTimeZone, From: "the time zone Europe/Berlin"}, l)
	assert.Equal(t, "DE (from the time zone Europe/Berlin)", l.String())

	l, err = factor.LocateOffline(factor.WithFileRoot(tzRoot(t, "Etc/UTC")))
	require.NoError(t, err)
	assert.Equal(t, "world", l.Zone)
	assert.Equal(t, factor.LocatedDefault, l.Method)
	assert.Contains(t, l.Warning, "Etc/UTC")
	assert.Contains(t, l.Warning, "--zone")

	l, err = factor.LocateOffline(factor.WithFileRoot(t.TempDir()))
	require.NoError(t, err)
	assert.Equal(t, factor.LocatedDefault, l.Method)

	t.Setenv("TZ", "Asia/Calcutta")
	l, err = factor.LocateOffline()
	require.NoError(t, err)
	assert.Equal(t, "IN", l.Zone)

	t.Setenv(factor.ZoneEnv, "pl")
	l, err = factor.Locate(ctx)
	require.NoError(t, err)
	assert.Equal(t, "pl (from CARBONTRACK_ZONE)", l.String())
	t.Setenv(factor.ZoneEnv, "Polnd")
	_, err = factor.Locate(ctx)
	require.ErrorIs(t, err, factor.ErrUnknownZone)
	assert.Contains(t, err.Error(), "PL (Poland)")
}

func TestLocateCloud(t *testing.T) {
	t.Setenv("TZ", "Europe/Paris")
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" &&
			r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "":
			_, _ = w.Write([]byte("tok"))
		case r.Method == http.MethodGet && r.URL.Path == "/latest/meta-data/placement/region" &&
			r.Header.Get("X-aws-ec2-metadata-token") == "tok":
			_, _ = w.Write([]byte("eu-west-1"))
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	defer aws.Close()
	l, err := factor.Locate(context.Background(), factor.WithCloudMetadata(true), factor.WithMetadataURL(aws.URL))
	require.NoError(t, err)
	assert.Equal(t, factor.LocatedCloud, l.Method)
	assert.Equal(t, "aws:eu-west-1", l.Zone)
	assert.Contains(t, l.From, "AWS")

	// Off by the environment: the time zone answers.
	t.Setenv(factor.CloudMetadataEnv, "off")
	l, err = factor.Locate(context.Background(), factor.WithMetadataURL(aws.URL))
	require.NoError(t, err)
	assert.Equal(t, "FR", l.Zone)

	// A region missing from the tables is not used.
	azure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"compute":{"location":"marsnorth"}}`))
	}))
	defer azure.Close()
	_, err = factor.LocateCloud(context.Background(), factor.WithCloudMetadata(true), factor.WithMetadataURL(azure.URL))
	require.ErrorIs(t, err, factor.ErrUnknownZone)
	l, err = factor.Locate(context.Background(), factor.WithCloudMetadata(true), factor.WithMetadataURL(azure.URL))
	require.NoError(t, err)
	assert.Equal(t, "FR", l.Zone)
}

func TestRedactURLUnparseable(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:s3cret@127.0.0.1:bad":  "http://user:xxxxx@127.0.0.1:bad",
		"http://user:s3cret@host/x":         "http://user:xxxxx@host/x",
		"ftp://u:s3cret@h":                  "ftp://u:xxxxx@h",
		"http://user@host/":                 "http://user@host/",
		"not a url":                         "not a url",
		"http://u:p%zz@host:bad/path?q=a@b": "http://u:xxxxx@host:bad/path?q=a@b",
	} {
		assert.Equal(t, want, factor.RedactURL(in), in)
	}
	_, err := factor.ByName("ukgrid", "GB", factor.WithBaseURL("http://user:s3cret@127.0.0.1:bad"))
	require.ErrorIs(t, err, factor.ErrInvalid)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestForLocationLiveWithoutSource(t *testing.T) {
	// A located zone that live cannot serve falls back to its table value.
	p, note, err := factor.ForLocation("live", factor.Location{Zone: "world", Method: factor.LocatedDefault})
	require.NoError(t, err)
	assert.True(t, factor.IsOffline(p))
	assert.Contains(t, note, "no live source for world")
	// Given, it is the user's mistake to hear about.
	_, _, err = factor.ForLocation("live", factor.Location{Zone: "gcp:europe-west4", Method: factor.LocatedGiven})
	require.ErrorIs(t, err, factor.ErrNotSupported)
}

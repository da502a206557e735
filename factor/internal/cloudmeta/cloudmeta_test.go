package cloudmeta_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carbontrack/carbontrack/factor/internal/cloudmeta"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// budget is the budget of the tests that expect an answer: long enough for a
// loaded machine under -race, never waited out when a fake answers.
const budget = 5 * time.Second

func TestLocateGCP(t *testing.T) {
	f := newFake(t).gcp("projects/123456789/zones/europe-west4-a", true)

	r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.NoError(t, err)
	assert.Equal(t, cloudmeta.Region{Cloud: "gcp", Name: "europe-west4", From: "the GCP metadata service"}, r)
	assert.Equal(t, "gcp:europe-west4", r.Zone())
}

func TestLocateAWS(t *testing.T) {
	f := newFake(t).aws("us-east-1")

	r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.NoError(t, err)
	assert.Equal(t, cloudmeta.Region{Cloud: "aws", Name: "us-east-1", From: "the AWS metadata service (IMDSv2)"}, r)
	assert.Equal(t, "aws:us-east-1", r.Zone())

	var aws []string
	for _, q := range f.requests() {
		if strings.Contains(q, "/latest/") {
			aws = append(aws, q)
		}
	}
	assert.Equal(t, []string{"PUT /latest/api/token", "GET /latest/meta-data/placement/region"}, aws)
}

// The AWS fake is IMDSv2-only: without the token, no region.
func TestFakeAWSRequiresToken(t *testing.T) {
	f := newFake(t).aws("us-east-1")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	resp, err := c.Get(f.URL() + "/latest/meta-data/placement/region")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, err = c.Get(f.URL() + "/latest/api/token") // GET, not PUT
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestLocateAzure(t *testing.T) {
	for _, loc := range []string{"westeurope", "WestEurope"} {
		t.Run(loc, func(t *testing.T) {
			f := newFake(t).azure(loc)

			r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
			require.NoError(t, err)
			assert.Equal(t, cloudmeta.Region{Cloud: "azure", Name: "westeurope", From: "the Azure instance metadata service"}, r)
			assert.Equal(t, "azure:westeurope", r.Zone())
		})
	}
}

func TestLocateNothingUseful(t *testing.T) {
	f := newFake(t) // 404 everywhere

	start := time.Now()
	_, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	elapsed := time.Since(start)

	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Less(t, elapsed, time.Second, "404s must not wait out the budget")
	for _, want := range []string{"gcp: ", "aws: ", "azure: ", "status 404"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Len(t, f.requests(), 3, "one request per cloud, no retries")
}

func TestLocateSlowServer(t *testing.T) {
	f := newFake(t).
		hang("/computeMetadata/v1/instance/zone").
		hang("/latest/api/token").
		hang("/metadata/instance")

	const small = 100 * time.Millisecond
	start := time.Now()
	_, err := cloudmeta.Locate(context.Background(), f.URL(), nil, small)
	elapsed := time.Since(start)

	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the budget running out is not the caller's deadline")
	assert.Contains(t, err.Error(), "no answer within 100ms")
	assert.GreaterOrEqual(t, elapsed, small)
	assert.Less(t, elapsed, small+time.Second)
}

func TestLocateAbsentService(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	start := time.Now()
	_, err = cloudmeta.Locate(context.Background(), "http://"+addr, nil, budget)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Less(t, time.Since(start), time.Second, "a refused connection must not wait out the budget")
}

func TestLocateGCPWithoutResponseHeader(t *testing.T) {
	f := newFake(t).gcp("projects/123456789/zones/europe-west4-a", false)

	_, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Contains(t, err.Error(), "Metadata-Flavor")
}

func TestLocateInvalidAnswers(t *testing.T) {
	long := strings.Repeat("a", 65)
	huge := strings.Repeat("a", 5<<10)
	cases := []struct {
		name  string
		serve func(*fake)
	}{
		{"gcp upper case", func(f *fake) { f.gcp("projects/1/zones/EUROPE-WEST4-A", true) }},
		{"gcp region, not zone", func(f *fake) { f.gcp("projects/1/zones/europe-west4", true) }},
		{"gcp bare zone", func(f *fake) { f.gcp("europe-west4-a", true) }},
		{"gcp no project", func(f *fake) { f.gcp("projects//zones/europe-west4-a", true) }},
		{"gcp extra path", func(f *fake) { f.gcp("projects/1/zones/europe-west4-a/x", true) }},
		{"gcp trailing hyphen", func(f *fake) { f.gcp("projects/1/zones/europe-west4-", true) }},
		{"gcp HTML", func(f *fake) { f.gcp("<html><body>projects/1/zones/europe-west4-a</body></html>", true) }},
		{"gcp too long", func(f *fake) { f.gcp("projects/1/zones/"+long+"1-a", true) }},
		{"aws empty", func(f *fake) { f.aws("") }},
		{"aws upper case", func(f *fake) { f.aws("US-EAST-1") }},
		{"aws underscore", func(f *fake) { f.aws("us_east_1") }},
		{"aws space", func(f *fake) { f.aws("us east 1") }},
		{"aws two lines", func(f *fake) { f.aws("us-east-1\nus-west-2") }},
		{"aws leading hyphen", func(f *fake) { f.aws("-us-east-1") }},
		{"aws double hyphen", func(f *fake) { f.aws("us--east-1") }},
		{"aws 65 chars", func(f *fake) { f.aws(long) }},
		{"aws 5 KiB", func(f *fake) { f.aws(huge) }},
		{"aws HTML", func(f *fake) { f.aws("<!DOCTYPE html><html><title>Router</title></html>") }},
		{"aws unicode", func(f *fake) { f.aws("us-éast-1") }},
		{"azure spaces", func(f *fake) { f.azure("West Europe") }},
		{"azure empty", func(f *fake) { f.azure("") }},
		{"azure no compute", func(f *fake) { f.azureRaw("application/json", `{"network":{}}`) }},
		{"azure not JSON", func(f *fake) { f.azureRaw("application/json", `westeurope`) }},
		{"azure truncated", func(f *fake) { f.azureRaw("application/json", `{"compute":{"location":"westeurope"`) }},
		{"azure HTML", func(f *fake) { f.azureRaw("text/html", `<html>{"compute":{"location":"westeurope"}}</html>`) }},
		{"azure text", func(f *fake) { f.azureRaw("text/plain", `{"compute":{"location":"westeurope"}}`) }},
		{"azure location number", func(f *fake) { f.azureRaw("application/json", `{"compute":{"location":7}}`) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			c.serve(f)
			r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
			require.ErrorIs(t, err, cloudmeta.ErrNotFound, "got %+v", r)
			assert.Equal(t, cloudmeta.Region{}, r)
		})
	}
}

func TestLocateOversizedAzureDocument(t *testing.T) {
	// A real instance document can exceed 4 KiB; up to 64 KiB is read.
	pad := strings.Repeat("x", 20<<10)
	f := newFake(t).azureRaw("application/json; charset=utf-8",
		`{"compute":{"location":"westeurope","tags":"`+pad+`"}}`)
	r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.NoError(t, err)
	assert.Equal(t, "azure:westeurope", r.Zone())

	pad = strings.Repeat("x", 70<<10)
	f = newFake(t).azureRaw("application/json; charset=utf-8",
		`{"compute":{"location":"westeurope","tags":"`+pad+`"}}`)
	_, err = cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Contains(t, err.Error(), "longer than")
}

func TestLocateCancelledContext(t *testing.T) {
	f := newFake(t).gcp("projects/123456789/zones/europe-west4-a", true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	r, err := cloudmeta.Locate(ctx, f.URL(), nil, budget)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Equal(t, cloudmeta.Region{}, r)
	assert.Empty(t, f.requests(), "nothing is sent under a cancelled context")
}

func TestLocateCallerDeadline(t *testing.T) {
	f := newFake(t).
		hang("/computeMetadata/v1/instance/zone").
		hang("/latest/api/token").
		hang("/metadata/instance")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := cloudmeta.Locate(ctx, f.URL(), nil, budget)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Less(t, time.Since(start), time.Second)
}

// Once GCP has answered, the hanging AWS and Azure requests are abandoned.
// GCP answers only once both of them are in their handlers.
func TestLocateCancelsTheOthers(t *testing.T) {
	var abandoned atomic.Int32
	started := make(chan struct{}, 2)
	f := newFake(t)
	f.mux.HandleFunc("/computeMetadata/v1/instance/zone", func(w http.ResponseWriter, r *http.Request) {
		for range 2 {
			select {
			case <-started:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/123456789/zones/us-central1-f"))
	})
	for _, p := range []string{"/latest/api/token", "/metadata/instance"} {
		f.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			sleep(r.Context(), 5*time.Second)
			if r.Context().Err() != nil {
				abandoned.Add(1)
			}
		})
	}

	start := time.Now()
	r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.NoError(t, err)
	assert.Equal(t, "gcp:us-central1", r.Zone())
	assert.Less(t, time.Since(start), time.Second)

	// The server sees the connections closed, before it is itself closed.
	assert.Eventually(t, func() bool { return abandoned.Load() == 2 }, 3*time.Second, 5*time.Millisecond)
}

func TestLocateFirstAnswerAmongSeveral(t *testing.T) {
	f := newFake(t).
		gcp("projects/123456789/zones/europe-west4-a", true).
		aws("us-east-1").
		azure("westeurope")
	r, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.NoError(t, err)
	assert.Contains(t, []string{"gcp:europe-west4", "aws:us-east-1", "azure:westeurope"}, r.Zone())
}

func TestLocateDoesNotFollowRedirects(t *testing.T) {
	f := newFake(t)
	f.mux.HandleFunc("/computeMetadata/v1/instance/zone", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	f.mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte("projects/1/zones/europe-west4-a"))
	})

	_, err := cloudmeta.Locate(context.Background(), f.URL(), nil, budget)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.NotContains(t, f.requests(), "GET /elsewhere")
}

func TestLocateBaseWithTrailingSlash(t *testing.T) {
	f := newFake(t).aws("eu-central-1")
	r, err := cloudmeta.Locate(context.Background(), f.URL()+"/", nil, budget)
	require.NoError(t, err)
	assert.Equal(t, "aws:eu-central-1", r.Zone())
}

func TestLocateBadBase(t *testing.T) {
	for _, base := range []string{"ftp://169.254.169.254", "169.254.169.254", "http://", "http://a b", "::", "http://x/?a=1", "http://u:p@x"} {
		_, err := cloudmeta.Locate(context.Background(), base, nil, budget)
		require.Error(t, err, base)
		assert.NotErrorIs(t, err, cloudmeta.ErrNotFound, base)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Without a base, the requests go to 169.254.169.254 (answered here by a
// transport that never touches the network).
func TestLocateDefaults(t *testing.T) {
	var mu sync.Mutex
	var urls []string
	c := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		urls = append(urls, r.Method+" "+r.URL.String())
		mu.Unlock()
		_, hasDeadline := r.Context().Deadline()
		if !hasDeadline {
			return nil, errors.New("no deadline")
		}
		return nil, errors.New("unreachable")
	})}

	_, err := cloudmeta.Locate(context.Background(), "", c, 0)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Contains(t, err.Error(), "unreachable")
	assert.ElementsMatch(t, []string{
		"GET http://169.254.169.254/computeMetadata/v1/instance/zone",
		"PUT http://169.254.169.254/latest/api/token",
		"GET http://169.254.169.254/metadata/instance?api-version=2021-02-01",
	}, urls)
	assert.Equal(t, "http://169.254.169.254", cloudmeta.DefaultBaseURL)
	assert.Equal(t, 300*time.Millisecond, cloudmeta.DefaultBudget)
}

// A client given is the one used, and a panic in it is an error, not a crash.
func TestLocateCustomClient(t *testing.T) {
	f := newFake(t).azure("northeurope")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	var n atomic.Int32
	c := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		if strings.HasPrefix(r.URL.Path, "/latest/") {
			panic("boom")
		}
		return tr.RoundTrip(r)
	})}

	r, err := cloudmeta.Locate(context.Background(), f.URL(), c, budget)
	require.NoError(t, err)
	assert.Equal(t, "azure:northeurope", r.Zone())
	assert.GreaterOrEqual(t, n.Load(), int32(2))

	// With Azure absent, the panic shows as AWS's reason.
	c2 := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Path, "/latest/") {
			panic("boom")
		}
		return nil, errors.New("down")
	})}
	_, err = cloudmeta.Locate(context.Background(), f.URL(), c2, budget)
	require.ErrorIs(t, err, cloudmeta.ErrNotFound)
	assert.Contains(t, err.Error(), "aws: panic: boom")
}

func TestZone(t *testing.T) {
	assert.Equal(t, "azure:westeurope", cloudmeta.Region{Cloud: "azure", Name: "westeurope"}.Zone())
}

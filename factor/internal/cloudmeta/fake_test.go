package cloudmeta_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeToken is the IMDSv2 token the AWS fake hands out.
const fakeToken = "AQAEAFTNrA4eEGx0AQgJ1arIq_Cc-t4tWt3fB0Hd8RKhXlKc5ccvhg=="

// fake is a metadata server on a loopback port, shaped like the real services
// at 169.254.169.254: each handler checks method and headers as the real one
// does and refuses otherwise; paths it does not serve are 404.
type fake struct {
	srv *httptest.Server
	mux *http.ServeMux

	mu   sync.Mutex
	reqs []string // "METHOD path", in order of arrival
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to give Locate.
func (f *fake) URL() string { return f.srv.URL }

// requests returns the requests received so far.
func (f *fake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

// gcp serves the zone as GCP does; body is the answer text
// ("projects/123456789/zones/europe-west4-a"). flavor false leaves out the
// Metadata-Flavor response header.
func (f *fake) gcp(body string, flavor bool) *fake {
	f.mux.HandleFunc("/computeMetadata/v1/instance/zone", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Metadata-Flavor") != "Google" {
			// GCP answers 403 with an HTML page.
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<html><body>Missing required header: Metadata-Flavor</body></html>"))
			return
		}
		if flavor {
			w.Header().Set("Metadata-Flavor", "Google")
		}
		w.Header().Set("Content-Type", "application/text")
		_, _ = w.Write([]byte(body))
	})
	return f
}

// aws serves IMDSv2: a token for a PUT with a TTL, then region only with that
// token (401 without it, as with IMDSv2 required).
func (f *fake) aws(region string) *fake {
	f.mux.HandleFunc("/latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		_, _ = w.Write([]byte(fakeToken))
	})
	f.mux.HandleFunc("/latest/meta-data/placement/region", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != fakeToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(region))
	})
	return f
}

// azure serves the instance document with compute.location = location.
func (f *fake) azure(location string) *fake {
	doc := map[string]any{
		"compute": map[string]any{
			"azEnvironment": "AzurePublicCloud",
			"location":      location,
			"name":          "vm-1",
			"vmSize":        "Standard_NC6s_v3",
			"zone":          "1",
		},
		"network": map[string]any{"interface": []any{}},
	}
	body, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return f.azureRaw("application/json; charset=utf-8", string(body))
}

// azureRaw serves body as the instance document, with that Content-Type.
func (f *fake) azureRaw(contentType, body string) *fake {
	f.mux.HandleFunc("/metadata/instance", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Header.Get("Metadata") != "true" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"Bad request. Required metadata header not specified"}`))
			return
		}
		if r.URL.Query().Get("api-version") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"Bad request. api-version was not specified in the request"}`))
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	})
	return f
}

// hang makes path wait 5 s or until the request is abandoned.
func (f *fake) hang(path string) *fake {
	f.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		sleep(r.Context(), 5*time.Second)
		http.Error(w, "too late", http.StatusServiceUnavailable)
	})
	return f
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

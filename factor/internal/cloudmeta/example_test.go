package cloudmeta_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/carbontrack/carbontrack/factor/internal/cloudmeta"
)

// A fake GCP metadata server stands in for 169.254.169.254.
func ExampleLocate() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/instance/zone" || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = fmt.Fprint(w, "projects/123456789/zones/europe-west4-a")
	}))
	defer srv.Close()

	r, err := cloudmeta.Locate(context.Background(), srv.URL, nil, cloudmeta.DefaultBudget)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Zone(), "from", r.From)
	// Output: gcp:europe-west4 from the GCP metadata service
}

// On a real machine: the default address, client and budget. Off the cloud
// this takes at most 300 ms and reports ErrNotFound.
func ExampleLocate_defaults() {
	r, err := cloudmeta.Locate(context.Background(), "", nil, 0)
	switch {
	case errors.Is(err, cloudmeta.ErrNotFound):
		fmt.Println("not on GCP, AWS or Azure; configure the zone")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Printf("zone %s (from %s)\n", r.Zone(), r.From)
	}
}

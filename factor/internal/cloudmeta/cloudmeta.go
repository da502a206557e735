// Package cloudmeta finds the cloud region of the machine it runs on from the
// instance metadata services of Google Cloud, AWS and Azure, so that the
// carbon intensity of that region can be looked up ("gcp:europe-west4").
//
// All three services listen at the link-local address 169.254.169.254.
// Locate asks the three at once, under a short total budget (300 ms by
// default), and returns the first region one of them reports. Off the cloud
// nothing answers there and Locate returns ErrNotFound once the budget is
// spent, or sooner where the connection is refused.
//
// With the default (private) client, requests never go through a proxy,
// follow no redirects and keep no connections open. Answers are checked strictly: a region is lower-case
// letters, digits and single hyphens, at most 64 characters; anything else
// (an HTML page, an error text, a truncated or oversized body) means that
// cloud is absent. Locate starts goroutines only for its own requests and
// waits for all of them before it returns.
package cloudmeta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the link-local address of the metadata services of GCP,
// AWS and Azure.
const DefaultBaseURL = "http://169.254.169.254"

// DefaultBudget is the total time Locate may take: 300 ms.
const DefaultBudget = 300 * time.Millisecond

// ErrNotFound says that no cloud metadata service reported a region. Locate
// wraps it with each cloud's reason.
var ErrNotFound = errors.New("no cloud metadata service answered")

// Region is a cloud region as a metadata service reported it.
type Region struct {
	// Cloud is "gcp", "aws" or "azure".
	Cloud string
	// Name is the region: "europe-west4" (GCP, from the zone
	// "europe-west4-a"), "us-east-1" (AWS), "westeurope" (Azure).
	Name string
	// From says, for people, where the region came from: "the GCP metadata
	// service", "the AWS metadata service (IMDSv2)" or "the Azure instance
	// metadata service".
	From string
}

// Zone returns the zone in carbontrack's notation: Cloud + ":" + Name, e.g.
// "gcp:europe-west4".
func (r Region) Zone() string {
	return r.Cloud + ":" + r.Name
}

// Limits on what is read from a service.
const (
	maxTextBody = 4 << 10  // a zone, a region, a token
	maxJSONBody = 64 << 10 // Azure's whole instance document
	maxRegion   = 64
	maxToken    = 1024
)

// Locate asks the three services at once and returns the first region found.
//
// It takes at most budget in total (no retries), connection set-up included;
// a budget of zero or less means DefaultBudget. base "" means DefaultBaseURL;
// tests point it at a fake. client nil means a private client with no proxy
// (metadata must never go through HTTP_PROXY), no redirects and no
// keep-alives; a client given is used as it is, under the budget. Once one
// service has answered the other requests are cancelled, and Locate returns
// only after all of them have ended.
//
// An error says none answered: ErrNotFound wrapping the per-cloud reasons, or
// the context's error if ctx ended first. A base that is not a plain http or
// https URL (no query, fragment or user) is an error of its own.
func Locate(ctx context.Context, base string, client *http.Client, budget time.Duration) (Region, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Region{}, err
	}
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// Not the URL itself: it may hold a password.
		return Region{}, errors.New("cloudmeta: the base URL is not an http(s) URL without user, query or fragment")
	}
	base = strings.TrimRight(base, "/")
	if budget <= 0 {
		budget = DefaultBudget
	}
	if client == nil {
		tr := privateTransport(budget)
		defer tr.CloseIdleConnections()
		client = &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}

	parent := ctx // to tell the caller's end from the budget's
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()

	probes := []struct {
		cloud string
		ask   func(context.Context, *http.Client, string) (Region, error)
	}{
		{"gcp", askGCP},
		{"aws", askAWS},
		{"azure", askAzure},
	}
	type result struct {
		cloud  string
		region Region
		err    error
	}
	results := make(chan result, len(probes)) // buffered: no sender ever blocks
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			res := result{cloud: p.cloud}
			defer func() {
				if v := recover(); v != nil {
					res.region, res.err = Region{}, fmt.Errorf("panic: %v", v)
				}
				results <- res
			}()
			res.region, res.err = p.ask(ctx, client, base)
		})
	}

	var (
		found   bool
		region  Region
		reasons = make(map[string]error, len(probes))
	)
	for range probes {
		res := <-results
		switch {
		case res.err == nil && !found:
			found, region = true, res.region
			cancel() // the others are no longer needed
		case res.err != nil:
			reasons[res.cloud] = res.err
		}
	}
	wg.Wait()

	if found {
		return region, nil
	}
	if err := parent.Err(); err != nil {
		return Region{}, err
	}
	return Region{}, notFound(budget, reasons, probes[0].cloud, probes[1].cloud, probes[2].cloud)
}

// notFound builds Locate's error once every service has failed.
func notFound(budget time.Duration, reasons map[string]error, clouds ...string) error {
	parts := make([]string, 0, len(clouds))
	for _, c := range clouds {
		err := reasons[c]
		if err == nil {
			continue
		}
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = fmt.Sprintf("no answer within %v", budget)
		}
		parts = append(parts, c+": "+msg)
	}
	return fmt.Errorf("%w (%s)", ErrNotFound, strings.Join(parts, "; "))
}

// privateTransport is a transport for link-local requests only: no proxy, no
// HTTP/2, no kept connections, and every phase bounded by the budget (the
// context bounds the whole as well).
func privateTransport(budget time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: budget, KeepAlive: -1}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxIdleConns:           0,
		ResponseHeaderTimeout:  budget,
		TLSHandshakeTimeout:    budget,
		MaxResponseHeaderBytes: 16 << 10,
	}
}

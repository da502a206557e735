package cloudmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// The paths and headers of the three services, as the real ones expect them.
const (
	gcpZonePath   = "/computeMetadata/v1/instance/zone"
	gcpFlavor     = "Metadata-Flavor"
	gcpFlavorWant = "Google"

	awsTokenPath   = "/latest/api/token"
	awsRegionPath  = "/latest/meta-data/placement/region"
	awsTokenTTL    = "X-aws-ec2-metadata-token-ttl-seconds"
	awsTokenHeader = "X-aws-ec2-metadata-token"

	azurePath   = "/metadata/instance?api-version=2021-02-01"
	azureHeader = "Metadata"
)

// askGCP reads the instance's zone ("projects/123/zones/europe-west4-a") and
// derives its region ("europe-west4").
func askGCP(ctx context.Context, c *http.Client, base string) (Region, error) {
	resp, body, err := do(ctx, c, http.MethodGet, base+gcpZonePath,
		map[string]string{gcpFlavor: gcpFlavorWant}, maxTextBody)
	if err != nil {
		return Region{}, err
	}
	if got := resp.Header.Get(gcpFlavor); got != gcpFlavorWant {
		return Region{}, fmt.Errorf("answer without the header %s: %s", gcpFlavor, gcpFlavorWant)
	}
	name, err := gcpRegion(string(body))
	if err != nil {
		return Region{}, err
	}
	return Region{Cloud: "gcp", Name: name, From: "the GCP metadata service"}, nil
}

// gcpRegion turns "projects/<number>/zones/<region>-<zone letter>" into
// <region>. GCP's regions end in a digit ("us-central1", "europe-west10"),
// which keeps a region given where a zone was expected from being cut short.
func gcpRegion(s string) (string, error) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[1] == "" || parts[2] != "zones" {
		return "", fmt.Errorf("not a zone: %s", quote(s))
	}
	zone := parts[3]
	i := strings.LastIndexByte(zone, '-')
	if i <= 0 || !validName(zone) {
		return "", fmt.Errorf("not a zone: %s", quote(zone))
	}
	name := zone[:i]
	if last := name[len(name)-1]; last < '0' || last > '9' {
		return "", fmt.Errorf("not a zone: %s", quote(zone))
	}
	return name, nil
}

// askAWS follows IMDSv2: a session token first (PUT), then the region with it.
func askAWS(ctx context.Context, c *http.Client, base string) (Region, error) {
	_, body, err := do(ctx, c, http.MethodPut, base+awsTokenPath,
		map[string]string{awsTokenTTL: "60"}, maxTextBody)
	if err != nil {
		return Region{}, fmt.Errorf("token: %w", err)
	}
	token := strings.TrimSpace(string(body))
	if !validToken(token) {
		return Region{}, fmt.Errorf("token: not a token: %s", quote(token))
	}
	_, body, err = do(ctx, c, http.MethodGet, base+awsRegionPath,
		map[string]string{awsTokenHeader: token}, maxTextBody)
	if err != nil {
		return Region{}, err
	}
	name := strings.TrimSpace(string(body))
	if !validName(name) {
		return Region{}, fmt.Errorf("not a region: %s", quote(name))
	}
	return Region{Cloud: "aws", Name: name, From: "the AWS metadata service (IMDSv2)"}, nil
}

// askAzure reads the instance document and takes compute.location from it.
func askAzure(ctx context.Context, c *http.Client, base string) (Region, error) {
	resp, body, err := do(ctx, c, http.MethodGet, base+azurePath,
		map[string]string{azureHeader: "true"}, maxJSONBody)
	if err != nil {
		return Region{}, err
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Region{}, fmt.Errorf("answer is not JSON (Content-Type %s)", quote(resp.Header.Get("Content-Type")))
	}
	var doc struct {
		Compute *struct {
			Location string `json:"location"`
		} `json:"compute"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Region{}, fmt.Errorf("answer is not the instance document: %v", err)
	}
	if doc.Compute == nil {
		return Region{}, errors.New("answer has no compute section")
	}
	name := strings.ToLower(strings.TrimSpace(doc.Compute.Location))
	if !validName(name) {
		return Region{}, fmt.Errorf("not a region: %s", quote(doc.Compute.Location))
	}
	return Region{Cloud: "azure", Name: name, From: "the Azure instance metadata service"}, nil
}

// do sends one request and returns the response (body closed) and at most
// limit bytes of its body. Anything but 200, an HTML page or a longer body is
// an error.
func do(ctx context.Context, c *http.Client, method, rawURL string, header map[string]string, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the same for every failure; keep the cause
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s %s: status %d", method, req.URL.Path, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mt == "text/html" {
		return nil, nil, fmt.Errorf("%s %s: answer is an HTML page", method, req.URL.Path)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", method, req.URL.Path, err)
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("%s %s: answer longer than %d bytes", method, req.URL.Path, limit)
	}
	return resp, body, nil
}

// validName says whether s looks like a cloud region or zone: lower-case
// letters, digits and single inner hyphens, starting with a letter, at most
// 64 characters.
func validName(s string) bool {
	if s == "" || len(s) > maxRegion || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// validToken says whether s can be an IMDSv2 token: visible ASCII without
// spaces, at most 1 KiB (real ones are about 56 base64 characters).
func validToken(s string) bool {
	if s == "" || len(s) > maxToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// quote shows a rejected answer in an error, shortened.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

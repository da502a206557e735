package factor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

const (
	// maxBody is the largest response body read, 4 MiB; the largest answer
	// asked for (three days of 5-minute forecasts) is about 100 KiB.
	maxBody = 4 << 20
	// maxRetryAfterHonoured caps a server's Retry-After, 24 h, so a broken
	// header cannot silence a provider for longer.
	maxRetryAfterHonoured = 24 * time.Hour
	userAgent             = "carbontrack-factor (+https://github.com/carbontrack/carbontrack)"
)

// secret holds an API key. It is only ever held by pointer, so that printing
// a provider with %v or %+v prints an address, not the key; its own methods
// redact it too.
type secret struct{ value string }

func (s *secret) String() string       { return "[REDACTED]" }
func (s *secret) GoString() string     { return "[REDACTED]" }
func (s *secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// fetcher sends GET requests for one provider with a per-request timeout,
// retries with backoff that honour the context, and a pause after a 429. It is
// safe for concurrent use.
type fetcher struct {
	provider      string
	base          string // no trailing slash
	client        *http.Client
	timeout       time.Duration
	attempts      int
	backoff       time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	cooldown      time.Duration // pause after a 429 without Retry-After
	authHeader    string
	token         *secret
	logger        *slog.Logger
	now           func() time.Time

	shown string // base with any password redacted, for messages

	mu           sync.Mutex
	blockedUntil time.Time // no request before this (after a 429)
}

func newFetcher(provider, defaultBase string, cooldown time.Duration, o *options) *fetcher {
	base := o.baseURL
	if base == "" {
		base = defaultBase
	}
	base = strings.TrimRight(base, "/")
	return &fetcher{
		provider:      provider,
		base:          base,
		shown:         RedactURL(base),
		client:        o.client,
		timeout:       o.timeout,
		attempts:      o.attempts,
		backoff:       o.backoff,
		maxBackoff:    o.maxBackoff,
		maxRetryAfter: o.maxRetryAfter,
		cooldown:      cooldown,
		logger:        o.logger,
		now:           o.now,
	}
}

// guardToken makes the fetcher send its token and refuse redirects to
// another scheme or host, which would receive the token too (net/http
// forwards custom headers such as auth-token on redirects). The caller's
// client is copied, not changed.
func (f *fetcher) guardToken(header, token string) {
	f.authHeader, f.token = header, &secret{value: token}
	c := *f.client
	prev := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if first := via[0].URL; req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			return fmt.Errorf("%w: refusing a redirect to %s, which would receive the API token", ErrBadResponse, req.URL.Host)
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return fmt.Errorf("%w: stopped after 10 redirects", ErrBadResponse)
		}
		return nil
	}
	f.client = &c
}

// get returns the body of a 2xx JSON response, retrying what may pass.
func (f *fetcher) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	display := f.shown + path
	full := f.base + path
	if len(query) > 0 {
		full += "?" + query.Encode()
	}
	if until, blocked := f.blocked(); blocked {
		return nil, errorf(f.provider, "%w: not sending GET %s before %s (after a 429 Too Many Requests)",
			ErrRateLimited, display, until.UTC().Format(time.RFC3339))
	}
	for attempt := 1; ; attempt++ {
		b, err := f.once(ctx, full, display)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, errorf(f.provider, "GET %s: %w", display, ctx.Err())
		}
		wait, retry := f.retryWait(err, attempt)
		if !retry || attempt >= f.attempts {
			if attempt > 1 {
				return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		f.logger.LogAttrs(ctx, slog.LevelDebug, "factor: retrying request",
			slog.String("provider", f.provider), slog.String("url", display),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if serr := sleep(ctx, wait); serr != nil {
			return nil, errorf(f.provider, "GET %s: %w (while waiting to retry after: %s)", display, serr,
				strings.TrimPrefix(err.Error(), "factor: "+f.provider+": "))
		}
	}
}

// once sends one request under the strict per-request timeout.
func (f *fetcher) once(ctx context.Context, full, display string) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, full, nil)
	if err != nil {
		return nil, errorf(f.provider, "%w: GET %s: %w", ErrInvalid, display, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if f.token != nil {
		req.Header.Set(f.authHeader, f.token.value)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.transportError(ctx, actx, display, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, f.transportError(ctx, actx, display, fmt.Errorf("reading the body: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := &HTTPError{
			Provider:   f.provider,
			URL:        display,
			StatusCode: resp.StatusCode,
			Status:     resp.Status,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), f.now()),
			Body:       f.snippet(b),
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			pause := he.RetryAfter
			if pause <= 0 {
				pause = f.cooldown
			}
			f.block(pause)
			f.logger.LogAttrs(ctx, slog.LevelWarn, "factor: rate limited",
				slog.String("provider", f.provider), slog.String("url", display),
				slog.Duration("retry_after", he.RetryAfter), slog.Duration("pause", pause))
		}
		return nil, he
	}
	if len(b) > maxBody {
		return nil, errorf(f.provider, "%w: GET %s: body larger than %d bytes", ErrBadResponse, display, maxBody)
	}
	if looksHTML(resp.Header.Get("Content-Type"), b) {
		return nil, errorf(f.provider, "%w: GET %s: %s: an HTML page instead of JSON: %s",
			ErrBadResponse, display, resp.Status, f.snippet(b))
	}
	return b, nil
}

// transportError describes a failed round trip, telling the strict
// per-request timeout apart from the caller's context.
func (f *fetcher) transportError(ctx, actx context.Context, display string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return errorf(f.provider, "%w: GET %s: no complete response within %v: %w", ErrTimeout, display, f.timeout, err)
	}
	return errorf(f.provider, "GET %s: %w", display, err)
}

// retryWait says whether err may pass on a later attempt and how long to wait
// before it.
func (f *fetcher) retryWait(err error, attempt int) (time.Duration, bool) {
	var he *HTTPError
	if errors.As(err, &he) {
		switch {
		case he.StatusCode == http.StatusTooManyRequests:
			// Wait out a short Retry-After; without one, or with a long
			// one, give up now and let the pause protect the server.
			return he.RetryAfter, he.RetryAfter > 0 && he.RetryAfter <= f.maxRetryAfter
		case he.StatusCode >= 500 && he.StatusCode != http.StatusNotImplemented:
			w := f.backoffFor(attempt)
			if he.RetryAfter > w {
				if he.RetryAfter > f.maxRetryAfter {
					return 0, false
				}
				w = he.RetryAfter
			}
			return w, true
		default:
			return 0, false
		}
	}
	if errors.Is(err, ErrBadResponse) || errors.Is(err, ErrInvalid) {
		return 0, false
	}
	return f.backoffFor(attempt), true // timeouts, resets, truncated transfers
}

// backoffFor returns the wait after the attempt-th failure: backoff doubled
// per attempt, capped, with jitter in [w/2, w].
func (f *fetcher) backoffFor(attempt int) time.Duration {
	w := f.backoff
	for i := 1; i < attempt && w < f.maxBackoff; i++ {
		w *= 2
	}
	w = min(w, f.maxBackoff)
	half := w / 2
	return half + rand.N(half+1)
}

func (f *fetcher) block(d time.Duration) {
	until := f.now().Add(d)
	f.mu.Lock()
	if until.After(f.blockedUntil) {
		f.blockedUntil = until
	}
	f.mu.Unlock()
}

func (f *fetcher) blocked() (time.Time, bool) {
	f.mu.Lock()
	until := f.blockedUntil
	f.mu.Unlock()
	return until, f.now().Before(until)
}

// snippet returns the start of a body for an error message: printable,
// whitespace collapsed, the API key removed, at most 200 bytes.
func (f *fetcher) snippet(b []byte) string {
	const max = 200
	if len(b) > 4*max {
		b = b[:4*max]
	}
	s := strings.ToValidUTF8(string(b), "")
	if f.token != nil && f.token.value != "" {
		s = strings.ReplaceAll(s, f.token.value, "[REDACTED]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}

// looksHTML reports whether a response is an HTML page (a proxy's or a
// captive portal's error page) rather than JSON.
func looksHTML(contentType string, b []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "html") {
		return true
	}
	s := strings.TrimLeftFunc(string(b[:min(len(b), 64)]), unicode.IsSpace)
	return strings.HasPrefix(s, "<")
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfterHonoured/time.Second) {
			return maxRetryAfterHonoured
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfterHonoured))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RedactURL returns u with the password of its user information replaced by
// "xxxxx", as url.URL.Redacted does, for messages, logs and reports. Text
// that does not parse as a URL is redacted the same way where it has the
// shape scheme://user:password@host; other text is returned as it is.
func RedactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		if p.User == nil {
			return u
		}
		return p.Redacted()
	}
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return u
	}
	user, _, hasPw := strings.Cut(rest[:at], ":")
	if !hasPw {
		return u
	}
	return u[:i+3] + user + ":xxxxx" + rest[at:]
}

package factor

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"
)

// Defaults. Each is documented on the option that changes it.
const (
	// DefaultTimeout is the strict limit on one HTTP request, connection to
	// last byte of the body.
	DefaultTimeout = 10 * time.Second
	// DefaultAttempts is how many times a request is sent at most (1 + 2
	// retries) when it fails in a way that may pass (network error, timeout,
	// 5xx, a 429 with a short Retry-After).
	DefaultAttempts = 3
	// DefaultBackoff is the first wait between attempts; each later wait
	// doubles, up to DefaultMaxBackoff, with random jitter of up to half.
	DefaultBackoff = 1 * time.Second
	// DefaultMaxBackoff caps the wait between attempts.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After a provider waits out
	// within one call; a longer one ends the call with the 429.
	DefaultMaxRetryAfter = 10 * time.Second
	// DefaultTTL is how long Cache keeps a value: 15 minutes, the resolution
	// of the finest grids served here (Energi Data Service is 5-minutely,
	// the UK half-hourly, Electricity Maps hourly).
	DefaultTTL = 15 * time.Minute
)

// Option configures a provider, a Cache, a Chain or ForZone. Options that do
// not apply to what is being built are ignored; each says where it applies.
// Options never fail: values are validated by the constructor.
type Option func(*options)

type options struct {
	baseURL       string
	client        *http.Client
	timeout       time.Duration
	attempts      int
	backoff       time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	token         string
	tokenSet      bool
	lat, lon      float64
	coordsSet     bool
	logger        *slog.Logger
	now           func() time.Time
	ttl           time.Duration
	live          bool

	metadataURL    string
	metadataOn     bool
	metadataSet    bool
	metadataBudget time.Duration
	fileRoot       string
}

func defaultOptions() options {
	return options{
		client:        http.DefaultClient,
		timeout:       DefaultTimeout,
		attempts:      DefaultAttempts,
		backoff:       DefaultBackoff,
		maxBackoff:    DefaultMaxBackoff,
		maxRetryAfter: DefaultMaxRetryAfter,
		logger:        slog.New(slog.DiscardHandler),
		now:           time.Now,
		ttl:           DefaultTTL,
	}
}

func buildOptions(opts []Option) options {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// validateCommon checks the options every constructor uses.
func (o *options) validateCommon() error {
	if o.logger == nil {
		return fmt.Errorf("%w: WithLogger(nil)", ErrInvalid)
	}
	if o.now == nil {
		return fmt.Errorf("%w: WithClock(nil)", ErrInvalid)
	}
	return nil
}

// validateHTTP checks the options of the live providers.
func (o *options) validateHTTP() error {
	if err := o.validateCommon(); err != nil {
		return err
	}
	if o.client == nil {
		return fmt.Errorf("%w: WithHTTPClient(nil)", ErrInvalid)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("%w: timeout %v is not positive", ErrInvalid, o.timeout)
	}
	if o.attempts < 1 {
		return fmt.Errorf("%w: %d attempts, need at least 1", ErrInvalid, o.attempts)
	}
	if o.backoff <= 0 || o.maxBackoff < o.backoff {
		return fmt.Errorf("%w: backoff %v, max %v: need 0 < backoff <= max", ErrInvalid, o.backoff, o.maxBackoff)
	}
	if o.maxRetryAfter < 0 {
		return fmt.Errorf("%w: max Retry-After %v is negative", ErrInvalid, o.maxRetryAfter)
	}
	if o.coordsSet && (math.IsNaN(o.lat) || math.IsNaN(o.lon) || o.lat < -90 || o.lat > 90 || o.lon < -180 || o.lon > 180) {
		return fmt.Errorf("%w: coordinates %v, %v out of range", ErrInvalid, o.lat, o.lon)
	}
	if o.baseURL != "" {
		// The URL may hold a password: messages show it redacted, and
		// url.Parse's error, which repeats it, is not wrapped.
		u, err := url.Parse(o.baseURL)
		if err != nil {
			return fmt.Errorf("%w: base URL %q is not a URL", ErrInvalid, RedactURL(o.baseURL))
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: base URL %q: need http(s)://host", ErrInvalid, RedactURL(o.baseURL))
		}
	}
	return nil
}

// WithBaseURL sets the root URL of a live provider's API, for example a test
// server's URL or a proxy. Default: the provider's public endpoint. Applies to
// the live providers.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithHTTPClient sets the HTTP client of a live provider. Default:
// http.DefaultClient. The per-request limit is WithTimeout, whatever the
// client's own Timeout. Applies to the live providers.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithTimeout sets the strict limit on each HTTP request (each attempt), from
// connection to the last byte of the body. Default DefaultTimeout (10 s).
// Applies to the live providers.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRetries sets how many times a request is sent at most, first try
// included (1 disables retries). Default DefaultAttempts (3). Applies to the
// live providers.
func WithRetries(attempts int) Option { return func(o *options) { o.attempts = attempts } }

// WithBackoff sets the first wait between attempts and its cap; each wait
// doubles, with jitter. Defaults DefaultBackoff (1 s) and DefaultMaxBackoff
// (30 s). Waits end early when the context is done. Applies to the live
// providers.
func WithBackoff(first, max time.Duration) Option {
	return func(o *options) { o.backoff, o.maxBackoff = first, max }
}

// WithMaxRetryAfter sets the longest Retry-After that a provider waits out
// within one call before retrying; a 429 asking for longer ends the call at
// once with the *HTTPError (and the provider sends nothing until the wait is
// over). Default DefaultMaxRetryAfter (10 s); 0 never waits. Applies to the
// live providers.
func WithMaxRetryAfter(d time.Duration) Option { return func(o *options) { o.maxRetryAfter = d } }

// WithToken sets the API token of a provider that needs one (Electricity
// Maps). Default: the provider's environment variable. The token is sent
// only in the provider's auth header; it is never logged nor put in an error.
func WithToken(token string) Option {
	return func(o *options) { o.token, o.tokenSet = token, true }
}

// WithCoordinates asks Electricity Maps for the zone at latitude lat and
// longitude lon, in degrees, instead of a zone name. Ignored elsewhere.
func WithCoordinates(lat, lon float64) Option {
	return func(o *options) { o.lat, o.lon, o.coordsSet = lat, lon, true }
}

// WithLogger sets the logger for retries, fallbacks and rate limits. Default:
// a logger that discards. Nothing logged contains an API key. Applies to all.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock that says what "now" is (for the zero time, rate
// limit waits, cache expiry and ForZone). Default time.Now. Applies to all.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTTL sets how long a Cache keeps a value. Default DefaultTTL (15 min).
// Applies to NewCache and ForZone.
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithLive makes ForZone ask the live providers that serve the zone first,
// falling back to the embedded tables. Default: offline (embedded tables only).
// Applies to ForZone.
func WithLive() Option { return func(o *options) { o.live = true } }

// WithCloudMetadata turns Locate's questions to the cloud metadata services
// on or off. Default: on, unless CloudMetadataEnv is "off". Applies to
// Locate and LocateCloud.
func WithCloudMetadata(on bool) Option {
	return func(o *options) { o.metadataOn, o.metadataSet = on, true }
}

// WithMetadataURL sets the base URL of the cloud metadata services, for a
// test server. Default: MetadataURLEnv, else DefaultMetadataURL. Applies to
// Locate and LocateCloud.
func WithMetadataURL(u string) Option { return func(o *options) { o.metadataURL = u } }

// WithMetadataBudget sets the total time given to the cloud metadata
// services. Default DefaultMetadataBudget (300 ms). Applies to Locate and
// LocateCloud.
func WithMetadataBudget(d time.Duration) Option { return func(o *options) { o.metadataBudget = d } }

// WithFileRoot makes Locate read the time zone's files (etc/localtime,
// etc/timezone) under dir instead of "/", for tests. Applies to Locate and
// LocateOffline.
func WithFileRoot(dir string) Option { return func(o *options) { o.fileRoot = dir } }

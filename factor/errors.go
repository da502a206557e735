package factor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Errors returned by this package wrap one of these (or a
// *HTTPError, or a context error) so callers can sort them with errors.Is.
var (
	// ErrUnknownZone means the zone is not in the embedded tables or is not
	// a zone the provider serves.
	ErrUnknownZone = errors.New("factor: unknown zone")
	// ErrImplausible means a value is negative, not a number, or above
	// MaxPlausible gCO2e/kWh.
	ErrImplausible = errors.New("factor: implausible intensity")
	// ErrNoData means the source answered without a value for the time asked
	// (a null value, an empty series, or no value close enough in time).
	ErrNoData = errors.New("factor: no data")
	// ErrBadResponse means the source answered 2xx with a body that is not
	// the expected JSON: an HTML page, malformed or truncated JSON, or an
	// unexpected shape.
	ErrBadResponse = errors.New("factor: bad response")
	// ErrRateLimited means the source said 429 Too Many Requests, or the
	// provider is still waiting out an earlier 429 and did not send the
	// request. errors.Is(err, ErrRateLimited) is true for a *HTTPError with
	// StatusCode 429 too.
	ErrRateLimited = errors.New("factor: rate limited")
	// ErrNoToken means a provider that needs an API token has none, from
	// its option or its environment variable.
	ErrNoToken = errors.New("factor: no API token")
	// ErrNotSupported means the provider cannot do what was asked (for
	// example a forecast from a provider that has none).
	ErrNotSupported = errors.New("factor: not supported")
	// ErrTimeout means a request got no complete response within the
	// provider's timeout (WithTimeout). Such errors also wrap
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("factor: timeout")
	// ErrInvalid means an argument or option is invalid.
	ErrInvalid = errors.New("factor: invalid argument")
)

// HTTPError is an HTTP response with a status other than 2xx. The zero value
// is not useful. Its message never contains API keys. It is not changed after
// it is returned, so it may be shared between goroutines.
type HTTPError struct {
	// Provider names the provider that sent the request.
	Provider string
	// URL is the request URL without its query.
	URL string
	// StatusCode is the HTTP status code, for example 503.
	StatusCode int
	// Status is the HTTP status line, for example "503 Service Unavailable".
	Status string
	// RetryAfter is the wait the server asked for in its Retry-After header;
	// 0 when it sent none.
	RetryAfter time.Duration
	// Body is the start of the response body, whitespace collapsed, for
	// diagnosis (at most 200 bytes; API keys removed).
	Body string
}

// Error implements error.
func (e *HTTPError) Error() string {
	var b strings.Builder
	b.WriteString("factor: ")
	b.WriteString(e.Provider)
	b.WriteString(": GET ")
	b.WriteString(e.URL)
	b.WriteString(": ")
	if e.Status != "" {
		b.WriteString(e.Status)
	} else {
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	if e.Body != "" {
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Is reports whether target is ErrRateLimited and e is a 429.
func (e *HTTPError) Is(target error) bool {
	return target == ErrRateLimited && e.StatusCode == 429
}

// opError prefixes an error with the provider that met it, keeping the chain
// for errors.Is and errors.As and the message free of a doubled "factor: ".
type opError struct {
	provider string
	err      error
}

func (e *opError) Error() string {
	return "factor: " + e.provider + ": " + strings.TrimPrefix(e.err.Error(), "factor: ")
}

func (e *opError) Unwrap() error { return e.err }

// errorf returns fmt.Errorf(format, args...) prefixed with "factor: provider: ".
func errorf(provider, format string, args ...any) error {
	return &opError{provider: provider, err: fmt.Errorf(format, args...)}
}

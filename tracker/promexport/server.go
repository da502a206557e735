package promexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carbontrack/carbontrack/tracker/promexport/promaddr"
)

// Defaults.
const (
	// DefaultPort is promaddr.DefaultPort, forwarded: 9464, the default
	// port of the OpenTelemetry SDKs' Prometheus exporter.
	DefaultPort = promaddr.DefaultPort
	// DefaultAddr is promaddr.DefaultAddr, forwarded: the default metrics
	// address, loopback only. A command that only checks or shows it
	// should use promaddr, which does not link client_golang.
	DefaultAddr = promaddr.DefaultAddr
	// DefaultShutdownTimeout bounds how long Stop waits for scrapes in
	// flight before closing their connections.
	DefaultShutdownTimeout = 5 * time.Second
	// MetricsPath is the path the metrics are served at.
	MetricsPath = "/metrics"
	// maxScrapesInFlight bounds concurrent scrapes; more get 503.
	maxScrapesInFlight = 8
)

// ErrNotLoopback is wrapped by the error of Serve and CheckAddr for an
// address that is not loopback, without WithAllowPublic(true). It is
// promaddr.ErrNotLoopback.
var ErrNotLoopback = promaddr.ErrNotLoopback

// ServerOption configures Serve.
type ServerOption func(*serverOptions)

type serverOptions struct {
	allowPublic bool
	timeout     time.Duration
	logger      *slog.Logger
}

// WithAllowPublic allows (true) an address that is not loopback, such as
// ":9464", "0.0.0.0:9464" or a LAN address. Anyone who can reach it can then
// read the metrics: energy, power, emissions and the run_id and node labels.
// Default false.
func WithAllowPublic(allow bool) ServerOption {
	return func(o *serverOptions) { o.allowPublic = allow }
}

// WithShutdownTimeout sets how long Stop waits for scrapes in flight
// (default DefaultShutdownTimeout).
func WithShutdownTimeout(d time.Duration) ServerOption {
	return func(o *serverOptions) { o.timeout = d }
}

// WithLogger logs scrape and server errors to l (default: discard).
func WithLogger(l *slog.Logger) ServerOption {
	return func(o *serverOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// CheckAddr is promaddr.Check, forwarded: nil when addr is a host:port
// Serve would listen on (loopback, or any address when allowPublic is
// true), else an error wrapping ErrNotLoopback. A command that checks a
// flag should call promaddr.Check, which does not link client_golang.
func CheckAddr(addr string, allowPublic bool) error { return promaddr.Check(addr, allowPublic) }

// Server serves a gatherer's metrics over HTTP at MetricsPath. Create it with
// Serve; it serves from its own goroutine until Stop or until Serve's
// context is done. A Server is safe for concurrent use.
type Server struct {
	srv     *http.Server
	addr    string
	timeout time.Duration
	logger  *slog.Logger

	done     chan struct{} // closed when the serving goroutine returns
	serveErr error         // set before done is closed
	stopCtx  func() bool   // deregisters the context's AfterFunc

	once    sync.Once
	stopErr error // set by once
}

// Serve listens on addr and serves g's metrics at MetricsPath (with gzip
// when the scraper asks; concurrent scrapes bounded) from a goroutine the
// Server owns, until Stop is called or ctx is done. It refuses an address
// that is not loopback (see CheckAddr) unless WithAllowPublic(true), and
// checks the address actually bound too ("localhost" could resolve to
// anything). Port 0 picks a free port: Addr says which. Always call Stop.
//
// Without WithAllowPublic(true) it also answers 403 Forbidden to a request
// whose Host header names anything but a loopback IP literal or
// "localhost" (any port; an empty Host, as HTTP/1.0 sends, is let through):
// a web page whose name an attacker re-points at 127.0.0.1 (DNS rebinding)
// could otherwise read the metrics from a browser on this machine. A
// scraper reaching the port through a tunnel or proxy must therefore name
// it as localhost or a loopback address (Prometheus does, scraping
// "localhost:9464" through "ssh -L 9464:localhost:9464").
func Serve(ctx context.Context, addr string, g prometheus.Gatherer, opts ...ServerOption) (*Server, error) {
	o := serverOptions{timeout: DefaultShutdownTimeout, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case g == nil:
		return nil, errors.New("promexport: nil gatherer")
	case o.timeout <= 0:
		return nil, fmt.Errorf("promexport: shutdown timeout must be positive, got %v", o.timeout)
	}
	if err := CheckAddr(addr, o.allowPublic); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("promexport: listen: %w", err)
	}
	bound := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); !o.allowPublic && (!ok || !tcp.IP.IsLoopback()) {
		_ = ln.Close()
		return nil, promaddr.NotLoopback(bound)
	}

	mux := http.NewServeMux()
	mux.Handle(MetricsPath, promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:            printlnLogger{o.logger},
		MaxRequestsInFlight: maxScrapesInFlight,
	}))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "carbontrack metrics exporter: see %s\n", MetricsPath)
	})
	var h http.Handler = mux
	if !o.allowPublic {
		h = loopbackHostOnly(mux)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(o.logger.Handler(), slog.LevelWarn),
		},
		addr:    bound,
		timeout: o.timeout,
		logger:  o.logger,
		done:    make(chan struct{}),
	}
	go s.serve(ln)
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.shutdown() })
	return s, nil
}

// loopbackHostOnly answers 403 to a request whose Host is not loopback
// (see Serve).
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHostHeader(r.Host) {
			http.Error(w, "promexport: forbidden: the Host header must be localhost or a loopback address "+
				"(a loopback-only server refuses other names against DNS rebinding)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHostHeader reports whether a Host header, with or without its
// port, is empty, "localhost" or a loopback IP literal ("[::1]" bracketed).
func loopbackHostHeader(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // "[::1]" without a port
	}
	return host == "" || promaddr.IsLoopbackHost(host)
}

func (s *Server) serve(ln net.Listener) {
	defer close(s.done)
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		s.serveErr = fmt.Errorf("promexport: serve: %w", err)
		s.logger.Error("promexport: metrics server failed", "addr", s.addr, "err", err)
	}
}

// Addr returns the address the server listens on, such as "127.0.0.1:9464"
// (the port chosen when the address asked for port 0).
func (s *Server) Addr() string { return s.addr }

// URL returns the metrics' URL, such as "http://127.0.0.1:9464/metrics".
func (s *Server) URL() string { return "http://" + s.addr + MetricsPath }

// Done returns a channel closed once the server no longer accepts scrapes:
// after Stop, after Serve's context is done, or when serving failed (Stop
// then returns why).
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop stops the server: it stops accepting, waits up to the shutdown
// timeout for scrapes in flight, then closes their connections, and waits
// for the serving goroutine. It is idempotent and returns the same error
// each time: a serving failure or a forced close, or nil.
func (s *Server) Stop() error {
	s.stopCtx()
	return s.shutdown()
}

func (s *Server) shutdown() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		var errs []error
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("promexport: shutdown after %v: %w", s.timeout, err), s.srv.Close())
		}
		<-s.done
		s.stopErr = errors.Join(append([]error{s.serveErr}, errs...)...)
	})
	return s.stopErr
}

// printlnLogger adapts a slog.Logger to promhttp.Logger.
type printlnLogger struct{ l *slog.Logger }

func (p printlnLogger) Println(v ...any) {
	p.l.Error("promexport: scrape failed", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

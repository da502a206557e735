// Package promaddr is the address policy of carbontrack's Prometheus
// exporter (package promexport): the default metrics address, and which
// addresses a metrics server may listen on, loopback only unless public
// addresses are allowed.
//
// It imports no Prometheus package, so that a command can check its
// metrics flags, or show the default address, without linking
// client_golang, whose initialisation registers collectors; promexport
// itself uses it, so the policy has one home. promexport.DefaultAddr and
// promexport.CheckAddr forward here.
package promaddr

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

const (
	// DefaultPort is the port carbontrack's metrics are served on by
	// default: 9464, the default port of the OpenTelemetry SDKs' Prometheus
	// exporter (OTEL_EXPORTER_PROMETHEUS_PORT).
	DefaultPort = 9464
	// DefaultAddr is the default metrics address: loopback only.
	DefaultAddr = "127.0.0.1:9464"
)

// ErrNotLoopback is wrapped by the error of Check (and of promexport's
// Serve) for an address that is not loopback, when public addresses are
// not allowed.
var ErrNotLoopback = errors.New("promexport: not a loopback address")

// Check returns nil when addr is a host:port a metrics server may listen
// on: a loopback address (127.0.0.0/8, ::1 or "localhost"), or any address
// when allowPublic is true. Otherwise the error, wrapping ErrNotLoopback
// (see NotLoopback), says how to allow it and that it exposes the metrics.
// Call it to check a flag before starting anything. Port 0 picks a free
// port.
func Check(addr string, allowPublic bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("promexport: metrics address %q: %w (want host:port, such as %s)", addr, err, DefaultAddr)
	}
	if port == "" {
		return fmt.Errorf("promexport: metrics address %q: missing port (want host:port, such as %s)", addr, DefaultAddr)
	}
	if allowPublic || IsLoopbackHost(host) {
		return nil
	}
	return NotLoopback(addr)
}

// NotLoopback returns the error, wrapping ErrNotLoopback, that refuses to
// serve metrics on addr, a host:port that is not loopback: what it would
// expose, and how to listen on loopback or allow it.
func NotLoopback(addr string) error {
	host, port, _ := net.SplitHostPort(addr)
	where := ""
	if host == "" {
		where = " (all interfaces)"
	} else if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		where = " (all interfaces)"
	}
	return fmt.Errorf("%w: refusing to serve metrics on %q%s: it would expose this machine's energy, power and "+
		"emissions, and the run_id and node labels, to anyone who can reach the port. Listen on loopback "+
		"(127.0.0.1:%s or [::1]:%s) and let Prometheus scrape it on this node or through an SSH tunnel, or, "+
		"on a trusted network, allow it explicitly: carbontrack --allow-public (env CARBONTRACK_ALLOW_PUBLIC=1), "+
		"promexport.WithAllowPublic(true) in Go", ErrNotLoopback, addr, where, port, port)
}

// IsLoopbackHost reports whether host is a loopback IP literal (an
// IPv4-mapped one included) or "localhost". Other names are not resolved
// here: they could name any interface.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return a.Unmap().IsLoopback()
}

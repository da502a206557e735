//go:build !darwin

package power

import "context"

// discoverPowermetrics finds nothing: powermetrics exists only on macOS,
// and its absence elsewhere is not worth an Unavailable entry.
func discoverPowermetrics(context.Context, *options) ([]Source, []Unavailable) { return nil, nil }

//go:build !linux

package power

import "fmt"

func discoverRAPL(root string) ([]Source, []Unavailable) {
	return nil, []Unavailable{{Name: "rapl", Err: fmt.Errorf("power: rapl: powercap sysfs exists only on Linux: %w", ErrNotSupported)}}
}

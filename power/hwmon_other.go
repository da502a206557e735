//go:build !linux

package power

func discoverHwmon(_ hwmonFS, _ bool, _ map[string]bool) ([]Source, []Unavailable) {
	return nil, []Unavailable{{Name: "hwmon", Err: errorf(ErrNotSupported,
		"power: hwmon: /sys/class/hwmon exists only on Linux; AMD and Intel GPUs and NVIDIA Grace power meters are not measured on this system")}}
}

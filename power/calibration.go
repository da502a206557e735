package power

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
)

// EnvCPUCalibration names the CPU calibration file that Discover reads when
// WithCPUCalibration is not given; without it, DefaultCPUCalibrationPath.
const EnvCPUCalibration = "CARBONTRACK_CPU_CALIBRATION"

// CPUCalibrationOff, as EnvCPUCalibration or the path of WithCPUCalibration,
// uses no calibration, whatever files there are.
const CPUCalibrationOff = "off"

// CPUCalibration is the package power of one CPU model measured with RAPL at
// idle and at full load, all packages together, on a machine where RAPL is
// readable ("carbontrack calibrate" measures and writes it). Where RAPL is
// not readable (a container, a VM on the same hosts) the CPU estimate of a
// machine with the same model name and sockets uses it instead of the TDP:
// idle + (full − idle) × the Teads curve's shape at the load (0 at idle, 1 at
// full load), times the share of LogicalCPUs the machine sees. Its
// uncertainty is then 0.183 (half the measurements within ±18.3 %), which
// holds for the same machine type only: the same CPU name can draw twice as
// much on another board (see CPUEstimate).
//
// It is a plain value, safe to copy; it is stored as JSON:
//
//	{"cpu_model":"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz","sockets":2,"logical_cpus":80,
//	 "idle_w":61.2,"full_w":301.5,"measured_at":"2026-01-05T10:00:00Z","carbontrack_version":"v0.9.0"}
type CPUCalibration struct {
	// CPUModel is the "model name" of /proc/cpuinfo on the calibrated
	// machine; Matches compares it normalised, as LookupCPU does.
	CPUModel string `json:"cpu_model"`
	// Sockets is the number of packages measured; LogicalCPUs the logical
	// CPUs of the calibrated machine (0: unknown).
	Sockets     int `json:"sockets"`
	LogicalCPUs int `json:"logical_cpus,omitempty"`
	// IdleW and FullW are the mean package power in watts of all packages
	// together, at idle and with every logical CPU busy.
	IdleW float64 `json:"idle_w"`
	FullW float64 `json:"full_w"`
	// IdleS and FullS are how long each was measured, in seconds.
	IdleS float64 `json:"idle_s,omitempty"`
	FullS float64 `json:"full_s,omitempty"`
	// MeasuredAt is when the measurement ended.
	MeasuredAt time.Time `json:"measured_at"`
	// Version is the carbontrack version that measured it.
	Version string `json:"carbontrack_version,omitempty"`
}

// Validate reports whether the calibration can be used: a model name, at
// least one socket, and finite powers with 0 ≤ IdleW ≤ FullW and FullW > 0.
func (c CPUCalibration) Validate() error {
	switch {
	case c.CPUModel == "":
		return errors.New("power: cpu calibration: no cpu_model")
	case c.Sockets < 1:
		return fmt.Errorf("power: cpu calibration: sockets %d, want at least 1", c.Sockets)
	case math.IsNaN(c.IdleW) || math.IsInf(c.IdleW, 0) || math.IsNaN(c.FullW) || math.IsInf(c.FullW, 0):
		return errors.New("power: cpu calibration: idle_w or full_w not a number")
	case c.IdleW < 0 || c.FullW <= 0 || c.IdleW > c.FullW:
		return fmt.Errorf("power: cpu calibration: idle %g W, full load %g W: want 0 ≤ idle ≤ full and full > 0", c.IdleW, c.FullW)
	}
	return nil
}

// Matches reports whether the calibration applies to a CPU with this model
// name (as /proc/cpuinfo prints it) and number of sockets: the names equal
// once normalised as LookupCPU normalises them (case, (R) and (TM), clock
// speed and the like ignored), and the sockets equal.
func (c CPUCalibration) Matches(modelName string, sockets int) bool {
	if c.Sockets != sockets {
		return false
	}
	a, _ := appendCPUKey(nil, c.CPUModel)
	b, _ := appendCPUKey(nil, modelName)
	return len(a) > 0 && string(a) == string(b)
}

// DefaultCPUCalibrationPath returns where the CPU calibration is read and
// written by default: CARBONTRACK_CPU_CALIBRATION when set, else
// carbontrack/cpu-calibration.json under the user's configuration directory
// (os.UserConfigDir: $XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultCPUCalibrationPath() (string, error) {
	if p := os.Getenv(EnvCPUCalibration); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("power: cpu calibration: %w", err)
	}
	return filepath.Join(dir, "carbontrack", "cpu-calibration.json"), nil
}

// maxCalibrationBytes bounds the calibration file read: it is a few hundred
// bytes; anything much larger is not one.
const maxCalibrationBytes = 64 << 10

// ReadCPUCalibration reads and validates the calibration in the file at
// path. An absent file is an error wrapping os.ErrNotExist.
func ReadCPUCalibration(path string) (CPUCalibration, error) {
	var c CPUCalibration
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("power: cpu calibration: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxCalibrationBytes+1))
	if err != nil {
		return c, fmt.Errorf("power: cpu calibration: %s: %w", path, err)
	}
	n := len(buf)
	if n > maxCalibrationBytes {
		return c, fmt.Errorf("power: cpu calibration: %s: larger than %d bytes", path, maxCalibrationBytes)
	}
	if err := json.Unmarshal(buf[:n], &c); err != nil {
		return CPUCalibration{}, fmt.Errorf("power: cpu calibration: %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return CPUCalibration{}, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

// WriteCPUCalibration validates c and writes it to path as indented JSON,
// creating the directory (mode 0755) if needed. The file is written whole
// or not at all: a temporary file in the same directory renamed over path.
func WriteCPUCalibration(path string, c CPUCalibration) error {
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".cpu-calibration-*.json")
	if err != nil {
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("power: cpu calibration: %w", err)
	}
	return nil
}

// WithCPUCalibration reads the CPU calibration (CPUCalibration) from path
// instead of CARBONTRACK_CPU_CALIBRATION or DefaultCPUCalibrationPath; an
// empty path uses none. The calibration is used by the CPU estimate only,
// when its model name and sockets match this machine's.
func WithCPUCalibration(path string) Option {
	return func(o *options) { o.cpuCalPath = &path }
}

// cpuCalibration returns the calibration the CPU estimate may use, or nil:
// none configured, no file, or one that cannot be read (logged).
func (o *options) cpuCalibration(ctx context.Context) *CPUCalibration {
	var path string
	if o.cpuCalPath != nil {
		path = *o.cpuCalPath
	} else if p, err := DefaultCPUCalibrationPath(); err == nil {
		path = p
	}
	if path == "" || path == CPUCalibrationOff {
		return nil
	}
	c, err := ReadCPUCalibration(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			o.logger.WarnContext(ctx, "CPU calibration not used", "path", path, "error", err)
		}
		return nil
	}
	return &c
}

// CPUIdentity is what a CPU calibration is matched on: the "model name" of
// /proc/cpuinfo, the number of packages (distinct physical ids) and of
// logical CPUs. It is a plain value.
type CPUIdentity struct {
	Model                string
	Sockets, LogicalCPUs int
}

// ReadCPUIdentity reads the CPU's identity from cpuinfo under procRoot
// ("" for /proc or CARBONTRACK_PROC_ROOT), as the CPU estimate sees it.
func ReadCPUIdentity(ctx context.Context, procRoot string) (CPUIdentity, error) {
	if procRoot == "" {
		o := defaultOptions()
		procRoot = o.procRoot()
	}
	infos, err := cpu.InfoWithContext(withEnv(ctx, procEnv(procRoot)))
	if err != nil || len(infos) == 0 {
		if err == nil {
			err = errors.New("no processor in cpuinfo")
		}
		return CPUIdentity{}, fmt.Errorf("power: cpu identity: reading cpuinfo: %w", err)
	}
	sockets := map[string]bool{}
	for _, in := range infos {
		sockets[in.PhysicalID] = true
	}
	return CPUIdentity{Model: infos[0].ModelName, Sockets: max(len(sockets), 1), LogicalCPUs: len(infos)}, nil
}

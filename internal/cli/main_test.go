package cli

import (
	"os"
	"testing"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/internal/cli/extras/full"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// In process, the commands have every feature, as in carbontrack-full.
	features = full.Set()
	// No test asks a cloud metadata service or depends on this machine's
	// time zone: without a zone, trackers use the world average.
	os.Setenv(factor.CloudMetadataEnv, "off")
	// A calibration of this machine's CPU, if the developer made one, must
	// not change the figures the tests expect.
	os.Setenv(power.EnvCPUCalibration, power.CPUCalibrationOff)
	os.Setenv("TZ", "UTC")
	// The world average, as given: tests that locate the zone unset it.
	os.Setenv(factor.ZoneEnv, "world")
	// Tests run side by side: none shares devices with another unless it
	// sets a lease directory of its own.
	os.Setenv(tracker.LeaseDirEnv, "off")
	goleak.VerifyTestMain(m)
}

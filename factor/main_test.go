package factor_test

import (
	"os"
	"testing"

	"github.com/carbontrack/carbontrack/factor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// No test asks a real cloud metadata service or depends on this
	// machine's time zone.
	os.Setenv(factor.CloudMetadataEnv, "off")
	os.Setenv("TZ", "UTC")
	os.Unsetenv(factor.ZoneEnv)
	goleak.VerifyTestMain(m)
}

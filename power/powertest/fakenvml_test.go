package powertest_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power/powertest"
)

// buildFake builds the stand-in into a temporary directory, skipping the
// test where there is no C compiler.
func buildFake(t *testing.T, gpus ...powertest.FakeGPU) powertest.FakeNVML {
	t.Helper()
	f, err := powertest.BuildFakeNVML(t.TempDir(), gpus...)
	if errors.Is(err, exec.ErrNotFound) {
		t.Skipf("no C compiler: %v", err)
	}
	require.NoError(t, err)
	return f
}

func TestBuildFakeNVML(t *testing.T) {
	f := buildFake(t, powertest.DefaultFakeGPU(0), powertest.DefaultFakeGPU(1))
	so, err := os.ReadFile(f.Library)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(so), "\x7fELF"), "a shared object")
	conf, err := os.ReadFile(f.Config)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(conf), "[gpu]"))
	assert.Contains(t, string(conf), "counter=1")
	assert.Equal(t, powertest.EnvFakeNVMLConfig+"="+f.Config, f.Env())
}

func TestBuildFakeNVMLRejectsBadConfig(t *testing.T) {
	gpus := make([]powertest.FakeGPU, 17) // the stand-in holds 16
	_, err := powertest.BuildFakeNVML(t.TempDir(), gpus...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "powertest:")

	g := powertest.DefaultFakeGPU(0)
	g.Duty = 2
	_, err = powertest.BuildFakeNVML(t.TempDir(), g)
	assert.ErrorContains(t, err, "duty")
}

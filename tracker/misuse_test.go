package tracker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/tracker"
)

// Misuse used to be counted but said nowhere by default (the default
// logger discards): the first one is said on the console.
func TestMisuseSaidOnTheConsole(t *testing.T) {
	var console syncBuffer
	tr, err := tracker.New(2, tracker.WithSources([]power.Source{gpu("gpu:0", 300)}), tracker.WithConsole(&console),
		tracker.WithFixedIntensity(100))
	require.NoError(t, err)
	tr.EpochEnd() // no epoch open
	tr.EpochEnd()
	require.Eventually(t, func() bool { return tr.Report().Misuse == 2 }, 5*time.Second, time.Millisecond)
	tr.Stop()
	out := console.String()
	assert.Contains(t, out, "CarbonTracker: Warning: EpochEnd without EpochStart ignored")
	assert.Equal(t, 1, strings.Count(out, "ignored (misuse"), "said once")
}

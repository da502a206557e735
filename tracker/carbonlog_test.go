package tracker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/records"
)

// A log pair without its PUE was written with carbontracker's, which is the
// tracker's default.
func TestDefaultPUEIsCarbontrackers(t *testing.T) {
	assert.Equal(t, records.DefaultPUE, tracker.DefaultPUE)
	assert.Equal(t, records.RunBlockTitle, tracker.RunBlockTitle)
}

package sampler_test

import (
	"context"
	"fmt"
	"time"

	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/sampler"
)

// Two GPUs at 300 W and 100 W, sampled for an hour with an explicit clock:
// devices are summed, 0.4 kWh.
func ExampleSampler_SampleAt() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gpu0 := powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)
	gpu1 := powertest.Constant("gpu:1", power.KindGPU, power.MethodSampled, 100, start)
	now := start
	gpu0.Clock = func() time.Time { return now }
	s, err := sampler.New([]power.Source{gpu0, gpu1})
	if err != nil {
		panic(err)
	}
	for ; !now.After(start.Add(time.Hour)); now = now.Add(time.Second) {
		s.SampleAt(context.Background(), now)
	}
	snap := s.Snapshot()
	for _, st := range snap.Sources {
		fmt.Printf("%s (%s): %.0f J, %.0f W on average\n", st.Info.Name, st.Info.Method, float64(st.Energy), float64(st.AvgPower))
	}
	fmt.Printf("GPUs: %.2f kWh\n", snap.ByKind(power.KindGPU).KWh())
	// Output:
	// gpu:0 (counter): 1080000 J, 300 W on average
	// gpu:1 (sampled): 360000 J, 100 W on average
	// GPUs: 0.40 kWh
}

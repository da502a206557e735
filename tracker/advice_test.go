package tracker_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/factor"
	"github.com/carbontrack/carbontrack/power"
	"github.com/carbontrack/carbontrack/power/powertest"
	"github.com/carbontrack/carbontrack/tracker"
)

// forecasting is a provider with a forecast: 400 g/kWh for two hours, then
// 100 g/kWh.
type forecasting struct{ start time.Time }

func (f forecasting) Intensity(_ context.Context, at time.Time) (factor.Intensity, error) {
	return factor.Intensity{Value: 400, At: at, Zone: "XX", Provider: "test"}, nil
}

func (f forecasting) Forecast(context.Context) ([]factor.Point, error) {
	var pts []factor.Point
	for i := 0; i < 48; i++ {
		v := factor.GramsPerKWh(100)
		if i < 4 {
			v = 400
		}
		pts = append(pts, factor.Point{At: f.start.Add(time.Duration(i) * 30 * time.Minute), Value: v})
	}
	return pts, nil
}

func TestCarbonAwareAdviceWithProjection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var console bytes.Buffer
		tr, err := tracker.New(3, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, start)}),
			tracker.WithFactor(forecasting{start: start}), tracker.WithConsole(&console), tracker.WithPUE(1))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(10 * time.Second)
		tr.EpochEnd()
		synctest.Wait() // the advice comes from a goroutine of its own; Stop would cancel it
		tr.Stop()
		out := console.String()
		assert.Contains(t, out, "Predicted consumption for 3 epoch(s)")
		assert.Contains(t, out, "Carbon-aware advice: a run like this started at 2000-01-01 02:00 UTC")
		assert.Contains(t, out, "would emit 0.25 g instead of 1.00 g now (75.0 % less)")
	})
}

func TestNoAdviceWithoutForecast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var console bytes.Buffer
		tr, err := tracker.New(2, tracker.WithSources([]power.Source{
			powertest.Constant("gpu:0", power.KindGPU, power.MethodCounter, 300, time.Now())}),
			tracker.WithFixedIntensity(300), tracker.WithConsole(&console))
		require.NoError(t, err)
		tr.EpochStart()
		time.Sleep(time.Second)
		tr.EpochEnd()
		tr.Stop()
		assert.NotContains(t, console.String(), "advice")
	})
}

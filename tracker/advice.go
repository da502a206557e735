package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/carbontrack/carbontrack/factor"
)

// adviceTimeout bounds the forecast request made when the projection is
// made. It runs on a goroutine of its own, which Stop cancels, never on the
// training loop's or the writer's.
const adviceTimeout = 10 * time.Second

// carbonAdvice returns, when the emission factor provider has a forecast, a
// sentence saying when a run like the projected one would emit least within
// the forecast's horizon and what that saves against starting now; "" when
// there is no forecast or no better time.
func carbonAdvice(ctx context.Context, p factor.Provider, proj Projection, now time.Time) string {
	f, ok := p.(factor.Forecaster)
	if !ok || proj.Duration <= 0 || proj.FacilityEnergy <= 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, adviceTimeout)
	defer cancel()
	pts, err := f.Forecast(ctx)
	if err != nil {
		return fmt.Sprintf("No carbon-aware advice: the forecast is unavailable (%v).", err)
	}
	job := factor.Job{Duration: proj.Duration, Watts: float64(proj.FacilityEnergy.Over(proj.Duration))}
	a, err := factor.BestStart(pts, now, job)
	if err != nil {
		return fmt.Sprintf("No carbon-aware advice: %v.", err)
	}
	if a.SavedGrams <= 0 {
		return fmt.Sprintf("Carbon-aware advice: now is the best time within the forecast to run a job like this (%s g).",
			plain(a.NowGrams, 2))
	}
	return fmt.Sprintf("Carbon-aware advice: a run like this started at %s would emit %s g instead of %s g now (%s %% less), per the grid forecast.",
		a.Start.UTC().Format("2006-01-02 15:04 MST"), plain(a.Grams, 2), plain(a.NowGrams, 2), plain(a.SavedPercent, 1))
}

package runplot

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/carbontrack/carbontrack/tracker/runlog"
)

// sixRuns are runs of 40 points with a range for the CPU, three epochs
// each; the third measured a process tree's share.
func sixRuns() []runlog.Run {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var runs []runlog.Run
	for i := range 6 {
		r := runlog.Run{Name: "run" + string(rune('a'+i)), Label: "python train.py --seed " + string(rune('0'+i)), Start: start, Rank: -1, Scope: "machine"}
		if i == 2 {
			r.Scope = "process"
		}
		for k := 1; k <= 40; k++ {
			r.Power = append(r.Power, runlog.PowerPoint{Time: start.Add(time.Duration(k) * time.Second), Interval: time.Second,
				Watts: map[string]float64{"gpu": 200 + float64(k+10*i), "cpu": 50},
				Min:   map[string]float64{"cpu": 40}, Max: map[string]float64{"cpu": 70}})
		}
		for e := range 3 {
			r.EpochRecords = append(r.EpochRecords, runlog.Epoch{N: e + 1, Offset: time.Duration(1+12*e) * time.Second, Duration: 12 * time.Second, Grams: 1})
		}
		runs = append(runs, r)
	}
	return runs
}

func texts(es []legendEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.text)
	}
	return out
}

// The legend is below the charts, never in them: a block of keys (the
// components, the band, the epoch boundaries) and one of the runs, named by
// RunLabels, each in columns; the title says when the scopes are mixed.
func TestPlotLegend(t *testing.T) {
	runs := sixRuns()
	f, err := charts(runs)
	require.NoError(t, err)
	assert.Equal(t, []string{"gpu", "cpu", "lowest to highest power read", "epoch boundaries"}, texts(f.keys))
	assert.Equal(t, runlog.RunLabels(runs), texts(f.runs))
	assert.Equal(t, "python train.py --seed 2"+runlog.ProcessShare, f.runs[2].text)
	assert.Contains(t, f.top.Title.Text, "Mixed scopes")
	c := draw.New(vgimg.New(PlotWidth, PlotHeight))
	for _, p := range []*struct{ r vg.Rectangle }{{f.top.Legend.Rectangle(c)}, {f.bottom.Legend.Rectangle(c)}} {
		assert.Zero(t, p.r.Max.Y-p.r.Min.Y, "no legend inside a chart")
	}

	for i := range runs {
		runs[i].Scope = "machine"
	}
	f, err = charts(runs)
	require.NoError(t, err)
	assert.NotContains(t, f.top.Title.Text, "scope")
	assert.NotContains(t, f.top.Title.Text, "process")

	one := runs[:1]
	one[0].Scope = "process"
	f, err = charts(one)
	require.NoError(t, err)
	assert.Equal(t, []string{"run: python train.py --seed 0" + runlog.ProcessShare}, texts(f.runs))
	assert.Contains(t, f.top.Title.Text, "process tree's share")

	// Eight runs with long labels: each has its entry, drawn.
	var eight []runlog.Run
	for i := range 8 {
		r := sixRuns()[0]
		r.Label = strings.Repeat("x", 30) + " --seed " + strings.Repeat(string(rune('0'+i)), 30)
		eight = append(eight, r)
	}
	f, err = charts(eight)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, Plot(&buf, "svg", eight))
	assert.Len(t, f.runs, 8)
	for _, e := range f.runs {
		assert.Contains(t, buf.String(), e.text, "its legend entry is drawn")
	}
}

// The power series is drawn at its resolution: a step per point, with its
// range where it has one; the epoch boundaries each once.
func TestPlotSteps(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := runlog.Run{Start: start, Rank: -1, Power: []runlog.PowerPoint{
		{Time: start.Add(time.Second), Interval: time.Second, Watts: map[string]float64{"gpu": 100}},
		{Time: start.Add(3 * time.Second), Interval: 2 * time.Second, Watts: map[string]float64{"gpu": 200},
			Min: map[string]float64{"gpu": 150}, Max: map[string]float64{"gpu": 260}},
		{Time: start.Add(3500 * time.Millisecond), Interval: 500 * time.Millisecond, Watts: map[string]float64{"gpu": 120},
			Min: map[string]float64{"gpu": 130}}, // a range that misses its mean
	}, EpochRecords: []runlog.Epoch{{N: 1, Offset: time.Second, Duration: 2 * time.Second}, {N: 2, Offset: 3 * time.Second, Duration: 500 * time.Millisecond}}}
	sers, span := powerSeries([]runlog.Run{r})
	require.Len(t, sers, 1)
	assert.Equal(t, 3500*time.Millisecond, span)
	assert.True(t, sers[0].ranged)
	assert.Equal(t, []step{
		{from: 0, to: time.Second, watts: 100, lo: 100, hi: 100},
		{from: time.Second, to: 3 * time.Second, watts: 200, lo: 150, hi: 260},
		{from: 3 * time.Second, to: 3500 * time.Millisecond, watts: 120, lo: 120, hi: 120},
	}, sers[0].steps)
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second, 3500 * time.Millisecond}, boundaries(&r))

	// A long series is merged for the chart, its range kept.
	var long []runlog.PowerPoint
	for k := 1; k <= 10*maxPlotPoints; k++ {
		long = append(long, runlog.PowerPoint{Time: start.Add(time.Duration(k) * time.Second), Interval: time.Second,
			Watts: map[string]float64{"gpu": float64(100 + k%7)}})
	}
	sers, _ = powerSeries([]runlog.Run{{Start: start, Rank: -1, Power: long}})
	require.Len(t, sers[0].steps, maxPlotPoints)
	assert.Equal(t, 100.0, sers[0].steps[0].lo)
	assert.Equal(t, 106.0, sers[0].steps[0].hi)
}

// Odd runs plot, or say there is nothing to plot; they never panic.
func TestPlotOddRuns(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	nan, inf := math.NaN(), math.Inf(1)
	var many []runlog.Run
	for range 30 {
		many = append(many, runlog.Run{Rank: -1, EpochRecords: []runlog.Epoch{{N: 1, Grams: 1}}})
	}
	for name, runs := range map[string][]runlog.Run{
		"no start":          {{Rank: -1, Power: []runlog.PowerPoint{{Time: start, Interval: time.Second, Watts: map[string]float64{"gpu": 1}}}}},
		"not finite":        {{Rank: -1, Power: []runlog.PowerPoint{{Time: start, Interval: time.Second, Watts: map[string]float64{"gpu": nan, "cpu": inf}, Min: map[string]float64{"gpu": -inf}}}}},
		"backwards":         {{Rank: -1, Start: start, Power: []runlog.PowerPoint{{Time: start.Add(-time.Hour), Interval: -time.Second, Watts: map[string]float64{"gpu": 1}}}}},
		"empty maps":        {{Rank: -1, Power: []runlog.PowerPoint{{Time: start}}}},
		"min above max":     {{Rank: -1, Start: start, Power: []runlog.PowerPoint{{Time: start.Add(time.Second), Interval: time.Second, Watts: map[string]float64{"x": 5}, Min: map[string]float64{"x": 9}, Max: map[string]float64{"x": 1}}}}},
		"odd epochs":        {{Rank: -1, EpochRecords: []runlog.Epoch{{N: 0, Offset: -time.Hour, Duration: -time.Minute, Grams: nan}, {N: -3}}}},
		"thirty runs":       many,
		"odd labels":        {{Rank: -1, Label: strings.Repeat("é\n", 500), Scope: "process", EpochRecords: []runlog.Epoch{{N: 1}}}, {Rank: 7, Node: "\x00", RunID: "\t", EpochRecords: []runlog.Epoch{{N: 2}}}},
		"thousands epochs":  {{Rank: -1, EpochRecords: make([]runlog.Epoch, 3*maxBoundaries)}},
		"nothing":           {{Rank: -1}},
		"no runs":           nil,
		"a week in seconds": {{Rank: -1, Start: start, Power: []runlog.PowerPoint{{Time: start.Add(7 * 24 * time.Hour), Interval: 7 * 24 * time.Hour, Watts: map[string]float64{"gpu": 1}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Plot(&buf, "svg", runs)
			if err != nil && !errors.Is(err, ErrNothingToPlot) {
				t.Errorf("Plot: %v", err)
			}
			_ = Plot(&buf, "png", runs)
		})
	}
}

package runplot_test

import (
	"bytes"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
	"github.com/carbontrack/carbontrack/tracker/runlog/runplot"
)

func TestMain(m *testing.M) { runlogtest.Main(m) }

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	runlogtest.TrackerRun(t, filepath.Join(dir, "a"), 3, 3)
	runlogtest.Write(t, dir, "b/7.8_2025-03-01T120000Z"+runlog.SuffixJSONLines, runlogtest.KilledJSONL)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 2)

	png1 := filepath.Join(dir, "runs.png")
	require.NoError(t, runplot.PlotFile(png1, runs))
	f, err := os.Open(png1)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, 768, b.Dx(), "8 inches at 96 DPI")
	assert.Equal(t, 768, b.Dy())
	colours := map[color.RGBA]int{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			c := color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}
			colours[c]++
			if c != (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
				nonWhite++
			}
		}
	}
	assert.Greater(t, len(colours), 10, "lines, bars, text and grid in several colours")
	assert.Greater(t, nonWhite, 768*768/50, "not blank")
	// Two runs: each has its colour, in the lines and the bars.
	for _, run := range []color.RGBA{{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff}} {
		assert.Greater(t, colours[run], 50, "the runs' lines and bars are drawn: %v", run)
	}
	// One run: the components have theirs.
	png2 := filepath.Join(dir, "run.png")
	require.NoError(t, runplot.PlotFile(png2, runs[:1]))
	f2, err := os.Open(png2)
	require.NoError(t, err)
	defer f2.Close()
	img, err = png.Decode(f2)
	require.NoError(t, err)
	clear(colours)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}]++
		}
	}
	for _, kind := range []color.RGBA{{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}} {
		assert.Greater(t, colours[kind], 50, "the gpu and cpu lines are drawn: %v", kind)
	}

	var svg bytes.Buffer
	require.NoError(t, runplot.Plot(&svg, "svg", runs))
	assert.True(t, strings.HasPrefix(svg.String(), "<?xml"), svg.String()[:min(50, svg.Len())])
	assert.Contains(t, svg.String(), "Emissions per epoch")

	assert.ErrorIs(t, runplot.Plot(&svg, "svg", []runlog.Run{{Name: "empty"}}), runplot.ErrNothingToPlot)
	assert.Error(t, runplot.PlotFile(filepath.Join(dir, "x.jpg"), runs))
	assert.Error(t, runplot.Plot(&svg, "gif", runs))
}

// A plot is sized by the epochs present, not by the largest epoch
// number; an absurd epoch number is no allocation.
func TestPlotHugeEpochNumber(t *testing.T) {
	for _, n := range []string{"100000000", "4000000000", "99999999999999999999"} {
		t.Run("pair "+n, func(t *testing.T) {
			dir := t.TempDir()
			std := strings.Replace(runlogtest.CTStd, "Epoch 2:", "Epoch "+n+":", 1)
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixStdLog, std)
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixOutputLog, runlogtest.CTOut)
			runs, _ := runlog.Read(dir)
			var err error
			got := runlogtest.Allocated(func() { err = runplot.PlotFile(filepath.Join(dir, "p.png"), runs) })
			if len(runs) > 0 {
				require.NoError(t, err)
			}
			assert.Less(t, got, uint64(200<<20), "bytes allocated")
		})
	}
	for _, n := range []string{"100000000", "4000000000"} {
		t.Run("jsonl "+n, func(t *testing.T) {
			dir := t.TempDir()
			jl := strings.Replace(runlogtest.KilledJSONL, `"epoch":2,`, `"epoch":`+n+`,`, 1)
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixJSONLines, jl)
			runs, _ := runlog.Read(dir)
			require.NotEmpty(t, runs)
			var err error
			got := runlogtest.Allocated(func() { err = runplot.PlotFile(filepath.Join(dir, "p.svg"), runs) })
			require.NoError(t, err)
			assert.Less(t, got, uint64(200<<20), "bytes allocated")
		})
	}
	// Straight to the plotter: the largest int, several runs.
	runs := []runlog.Run{
		{Name: "a", EpochRecords: []runlog.Epoch{{N: 1, Grams: 1, Duration: time.Minute}, {N: 1<<63 - 1, Grams: 2, Duration: time.Minute}}},
		{Name: "b", EpochRecords: []runlog.Epoch{{N: 1 << 62, Grams: 3, Duration: time.Minute}}},
	}
	var buf bytes.Buffer
	got := runlogtest.Allocated(func() { require.NoError(t, runplot.Plot(&buf, "svg", runs)) })
	assert.Less(t, got, uint64(200<<20))
}

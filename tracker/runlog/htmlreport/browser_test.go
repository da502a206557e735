package htmlreport_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker"
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
)

// EnvArtefactDir names the directory the browser test saves its
// screenshot into (default: the test's temporary directory).
const EnvArtefactDir = "CARBONTRACK_ARTEFACT_DIR"

// chromium returns the path of a Chromium or Chrome binary: skipped
// without one, failed under CI (CI=true), which must run the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium binary on PATH: CI must run the browser test (apt-get install chromium)")
	}
	t.Skip("no chromium binary on PATH")
	return ""
}

// The page of several real runs (two nodes of a job, one killed, and a
// log pair) renders in headless Chromium without a console error or an
// exception, loads nothing but itself, and draws every chart.
func TestBrowserRendersReport(t *testing.T) {
	bin := chromium(t)
	var runs []runlog.Run
	runs = append(runs, trackerRun(t, t.TempDir(), training{epochs: 5, done: 5, epoch: 2 * time.Minute,
		opts: []tracker.Option{tracker.WithRunLabel(`python train.py --model "<big>" --lr 3e-4`), tracker.WithRunID("job7"),
			tracker.WithNode("node0"), tracker.WithRank(0, 0)}})...)
	runs = append(runs, trackerRun(t, t.TempDir(), training{epochs: 5, done: 3, epoch: 2 * time.Minute, killedAt: 400,
		opts: []tracker.Option{tracker.WithRunLabel(`python train.py --model "<big>" --lr 3e-4`), tracker.WithRunID("job7"),
			tracker.WithNode("node1"), tracker.WithRank(1, 0)}})...)
	require.Len(t, runs, 2)
	require.Equal(t, runlog.BasisCheckpoint, runs[1].Basis)
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, htmlreport.WriteFile(path, runs, htmlreport.Options{Title: "Training of job7", BudgetGrams: 12, GeneratedAt: generated}))
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	wantSVGs := len(svgRE.FindAllString(string(page), -1))
	require.Equal(t, 2*4+1, wantSVGs)

	// Two slow cores: starting Chromium can take a while.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var (
		mu       sync.Mutex
		problems []string
		requests []string
	)
	// Listen needs the tab: Run opens it.
	_, err = chromedp.Run(bctx, chromedp.Title())
	require.NoError(t, err)
	require.NoError(t, chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch ev.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range ev.Args {
					args = append(args, a.Description+string(a.Value))
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, fmt.Sprintf("exception: %s", ev.ExceptionDetails.Text))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		}
	}))

	url := "file://" + path
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitReady("body")))
	title, err := chromedp.Run(bctx, chromedp.Title())
	require.NoError(t, err)
	type box struct{ W, H float64 }
	boxes, err := chromedp.Run(bctx, chromedp.Evaluate[[]box](`Array.from(document.querySelectorAll("svg")).map(s => { const r = s.getBoundingClientRect(); return {W: r.width, H: r.height}; })`))
	require.NoError(t, err)
	paths, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("figure svg path").length`))
	require.NoError(t, err)
	pageH, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollHeight`))
	require.NoError(t, err)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)

	assert.Equal(t, "Training of job7", title)
	require.Len(t, boxes, wantSVGs)
	for i, b := range boxes {
		assert.Greater(t, b.W, 300.0, "svg %d is drawn", i)
		assert.Greater(t, b.H, 100.0, "svg %d is drawn", i)
		assert.LessOrEqual(t, b.W, 1280.0, "svg %d fits the window", i)
	}
	assert.Greater(t, paths, 100, "the charts have their paths")
	mu.Lock()
	assert.Empty(t, problems, "the page loads without console errors")
	for _, u := range requests {
		assert.Equal(t, url, u, "the page loads nothing else")
	}
	mu.Unlock()

	dir := os.Getenv(EnvArtefactDir)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	png := filepath.Join(dir, "html-report.png")
	require.NoError(t, os.WriteFile(png, shot, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "html-report.html"), page, 0o644))
	t.Logf("screenshot of the report (1280 px wide, %d px high): %s", pageH, png)
}

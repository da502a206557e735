package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// carbontracker's own log pairs: a page with a section per run and a total.
func TestReportHTML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	code, out, stderr := runCLI(t, "report", "--html", path, ctFixture)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "TOTAL (3 runs)", "the tables are still printed")
	assert.Contains(t, stderr, "HTML report written to "+path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	page := string(b)
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Contains(t, page, `<h2 id="total">Total</h2>`)
	for _, name := range []string{"41237.582913_2024-03-05T140211Z", "52011.90211_2024-03-06T091500Z", "train_60777.311876_2024-03-07T220405Z"} {
		assert.Contains(t, page, "Run ", name)
		assert.Contains(t, page, name)
	}
	assert.Greater(t, strings.Count(page, "<svg "), 3)
}

// A report that cannot be written fails, and leaves no file behind.
func TestReportHTMLUnwritable(t *testing.T) {
	code, _, stderr := runCLI(t, "report", "--format", "html", ctFixture)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "the HTML report is written to a file: --html FILE")

	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "report.html")
	code, _, stderr = runCLI(t, "report", "--html", path, ctFixture)
	assert.Equal(t, 1, code)
	assert.Equal(t, "carbontrack report: "+path+": no such file or directory\n", stderr,
		"the path asked for, not the temporary file's; no package prefix")
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// --budget draws the budget in the HTML report; a negative one is a usage
// error.
func TestReportHTMLBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.html")
	code, _, stderr := runCLI(t, "report", "--html", path, "--budget", "12", ctFixture)
	require.Equal(t, 0, code, stderr)
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(page), "budget: 12")
	code, _, stderr = runCLI(t, "report", "--budget", "-1", ctFixture)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--budget -1: want grams CO2e")
	code, _, stderr = runCLI(t, "report", "--budget", "5", ctFixture)
	assert.Equal(t, 2, code, "a budget without --html would be silently ignored")
	assert.Contains(t, stderr, "give --html FILE too")
}

package runlog_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/internal/runlogtest"
)

// A file past the cap is an error naming it.
func TestReadFileTooLarge(t *testing.T) {
	defer runlog.SetMaxFileSize(1 << 10)()
	dir := t.TempDir()
	p := runlogtest.Write(t, dir, "9.9_x"+runlog.SuffixStdLog, strings.Repeat(runlogtest.CTStd, 10))
	_, err := runlog.Read(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p)
	assert.Contains(t, err.Error(), "larger than")
}

// A garbage line is skipped and noted; an empty or unreadable
// JSON lines file falls back to the pair.
func TestReadJSONLinesBadLineSkipped(t *testing.T) {
	dir := t.TempDir()
	lines := strings.SplitAfter(runlogtest.KilledJSONL, "\n")
	jl := lines[0] + "garbage\x00{]\n" + lines[1] + lines[2]
	p := runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixJSONLines, jl)
	runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixStdLog, runlogtest.CTStd)
	runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixOutputLog, runlogtest.CTOut)
	runs, err := runlog.Read(dir)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, runlog.FormatCarbontrack, r.Format)
	assert.Len(t, r.EpochRecords, 2)
	assert.Contains(t, r.Note, p+":2")
	assert.Contains(t, r.Note, "skipped")
}

func TestReadJSONLinesFallsBackToPair(t *testing.T) {
	for name, jl := range map[string]string{"empty": "", "blank": "\n\n", "all garbage": "garbage\n{]\n", "partial line": `{"type":"epo`} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixJSONLines, jl)
			runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixStdLog, runlogtest.CTStd)
			runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixOutputLog, runlogtest.CTOut)
			runs, err := runlog.Read(dir)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			assert.Equal(t, runlog.FormatCarbontracker, runs[0].Format)
			assert.Len(t, runs[0].EpochRecords, 2)
		})
	}
	dir := t.TempDir()
	runlogtest.Write(t, dir, "7.8_x"+runlog.SuffixJSONLines, "")
	_, err := runlog.Read(dir)
	require.Error(t, err, "an empty JSON lines file without a pair")
}

// The JSON lines reader checks values as the pair reader does.
func TestReadJSONLinesValuesCheckedAlike(t *testing.T) {
	ep := `{"type":"epoch","epoch":1,"start":"2025-03-01T12:00:00Z","end":"2025-03-01T12:10:00Z","duration_s":600,"device_energy_kwh":0.05,"facility_energy_kwh":0.079,"emissions_g":15.8}` + "\n"
	for _, tc := range []struct{ name, line string }{
		{"negative projection energy", `{"type":"projection","epochs":10,"duration_s":6000,"facility_energy_kwh":-5,"emissions_g":158}`},
		{"negative epoch energy", `{"type":"epoch","epoch":2,"duration_s":600,"facility_energy_kwh":-5,"emissions_g":1}`},
		{"negative final energy", `{"type":"final","epochs":1,"completed_epochs":1,"duration_s":600,"device_energy_kwh":1,"facility_energy_kwh":-5,"emissions_g":1}`},
		{"overflowing final duration", `{"type":"final","epochs":1,"completed_epochs":1,"duration_s":9223372036.9,"facility_energy_kwh":5,"emissions_g":1}`},
		{"overflowing checkpoint duration", `{"type":"checkpoint","at":"2025-03-01T12:00:10Z","duration_s":9.3e9,"facility_energy_kwh":0,"emissions_g":0}`},
		{"old actual negative", `{"type":"final","epochs":1,"completed_epochs":1,"duration_s":600,"facility_energy_kwh":1,"emissions_g":1,"actual_duration_s":1,"actual_facility_energy_kwh":-5,"actual_emissions_g":1}`},
		{"negative epoch number", `{"type":"epoch","epoch":-3,"duration_s":600,"facility_energy_kwh":1,"emissions_g":1}`},
		{"absurd epoch number", `{"type":"epoch","epoch":4000000000,"duration_s":600,"facility_energy_kwh":1,"emissions_g":1}`},
		{"negative power interval", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.line == "" {
				runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixJSONLines, ep)
				runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixPower, `{"type":"power","time":"2025-03-01T12:05:00Z","interval_s":-1e300,"power_w":{"gpu":-290}}`+"\n")
				runs, err := runlog.Read(dir)
				require.NoError(t, err, "the run is read without its power series")
				require.Len(t, runs, 1)
				assert.Empty(t, runs[0].Power)
				assert.Contains(t, runs[0].Note, "the power series was not read")
				return
			}
			runlogtest.Write(t, dir, "1.2_x"+runlog.SuffixJSONLines, ep+tc.line+"\n")
			runs, err := runlog.Read(dir)
			if err != nil {
				return
			}
			require.Len(t, runs, 1)
			r := runs[0]
			assert.Contains(t, r.Note, runlog.SuffixJSONLines+":2: ", "the bad line is skipped and noted")
			for _, c := range []*runlog.Consumption{&r.Used, r.Projection, r.Actual, r.Whole} {
				if c != nil {
					assert.GreaterOrEqual(t, c.FacilityKWh, 0.0)
					assert.GreaterOrEqual(t, c.Duration, time.Duration(0))
					assert.Less(t, c.Duration, time.Duration(1<<63-1))
				}
			}
			for _, e := range r.EpochRecords {
				assert.True(t, e.N >= 0 && e.N <= 1e9, fmt.Sprint(e.N))
			}
		})
	}
}

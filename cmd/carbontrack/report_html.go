package main

import (
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
)

// writeHTML writes the self-contained HTML report of runs and their total
// into path, whole or not at all (htmlreport.WriteFile). The total is the
// runs' sum, which the page adds up itself.
func writeHTML(path string, runs []runlog.Run, _ runlog.Total) error {
	return htmlreport.WriteFile(path, runs, htmlreport.Options{})
}

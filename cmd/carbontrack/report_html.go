package main

import (
	"github.com/carbontrack/carbontrack/tracker/runlog"
	"github.com/carbontrack/carbontrack/tracker/runlog/htmlreport"
)

// writeHTML writes the self-contained HTML report of runs (and their total,
// which the page adds up itself) into path, whole or not at all
// (htmlreport.WriteFile), with the budget in grams drawn when not 0.
func writeHTML(path string, runs []runlog.Run, budgetG float64) error {
	return htmlreport.WriteFile(path, runs, htmlreport.Options{BudgetGrams: budgetG})
}

// Package htmlreport writes the runs that package runlog reads as one
// self-contained HTML page: a summary of each run and of their total, charts
// and the sources measured. The page loads nothing: its style is inline, its
// charts are inline SVG drawn with gonum/plot, and it has no script, so it
// can be mailed, archived or opened offline.
//
//	runs, err := runlog.Read("logs/node0", "logs/node1")
//	if err != nil {
//		log.Print(err) // the runs that could be read are still returned
//	}
//	err = htmlreport.WriteFile("report.html", runs, htmlreport.Options{BudgetGrams: 500})
//
// For each run the page has its summary (facility and device energy,
// emissions, duration, epochs, what was counted and why, the zone and how it
// was found, the carbon intensity and its source, PUE, scope, label, node
// and rank), its power by component over time (the mean of each interval
// as a line, and for a long series merged with runlog.Downsample the lowest
// and highest power as a band, with the epochs' boundaries), its emissions
// per epoch with the projection and its 95 % interval, its cumulative
// emissions against the budget, the carbon intensity of each epoch, the
// emissions' equivalents and a table of the devices and how each was read.
// With several runs (several jobs, or the nodes and ranks of one) each run
// has its section, side by side where the page is wide enough, and a total
// section adds them up (runlog.Sum).
//
// Everything read from the logs is escaped. The functions of this package
// start no goroutines and keep no state.
package htmlreport

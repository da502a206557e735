// Package runplot draws the runs that package runlog reads, as a PNG or an
// SVG: two charts, one above the other, and a legend below them. The top
// chart is the devices' power (W, before PUE) by component over the time
// since each run's start: the run's power series when it has one, a step
// per point with a light band from the lowest to the highest power read,
// else each epoch's average power; the epoch boundaries are thin vertical
// lines. The bottom chart is the emissions of each epoch (g CO2e, PUE
// included) as bars. With one run the components have colours of their
// own; with several, each run has a colour and the components are told
// apart by dashes. Runs are named by runlog.RunLabels.
//
//	runs, err := runlog.Read("logs/node0", "logs/node1")
//	if err != nil {
//		log.Print(err) // the runs that could be read are still returned
//	}
//	err = runplot.PlotFile("runs.png", runs)
//
// It is a package of its own because it draws with gonum/plot, whose
// initialisation parses its fonts when a program starts (milliseconds and
// several MiB): a program that reads logs with runlog and draws nothing
// does not pay for it. Its errors begin with "runlog: plot: ".
package runplot

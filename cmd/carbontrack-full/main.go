// Command carbontrack-full is carbontrack with every feature: the same
// commands, and the ones carbontrack hands over to it because they link
// large packages: "report --plot" and "report --html" (gonum/plot,
// html/template), "serve" and "run --metrics-addr" (the Prometheus client).
// It starts slower and holds more memory than carbontrack; run it directly
// or let carbontrack find it beside itself or on PATH.
//
// See "carbontrack-full help", or the documentation of command carbontrack.
package main

import (
	"github.com/carbontrack/carbontrack/internal/cli"
	"github.com/carbontrack/carbontrack/internal/cli/extras/full"
)

func main() { cli.Main(full.Set()) }

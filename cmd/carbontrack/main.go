// Command carbontrack measures the energy and carbon emissions of machine
// learning training runs.
//
// Usage:
//
//	carbontrack devices [--json] [--measure DURATION] [--sysfs-root DIR] [--nvml-lib PATH]
//	carbontrack intensity [--zone Z | --region R] [--provider P] [--provider-url URL] [--forecast] [--json]
//	carbontrack estimate (--device NAME | --watts W) [--count N] (--hours H | --days D | --gpu-hours H) [--zone Z] [--json]
//	carbontrack run [--epochs N (--epochs-from PRESET | --epoch-start-pattern RE | --epoch-pattern RE)] [--process] [--json] [--metrics-addr ADDR] -- COMMAND [ARGS...]
//	carbontrack report [--format text|markdown|latex] [--plot FILE.png|FILE.svg] [--html FILE.html] [--json] LOGDIR...
//	carbontrack serve --metrics-addr ADDR [--run-id ID] [--node NAME]
//	carbontrack calibrate
//
//	carbontrack help [COMMAND]
//	carbontrack version
//
// Run "carbontrack help" or "carbontrack help COMMAND" for details.
//
// This build leaves out the charts (gonum/plot) and Prometheus
// (client_golang), so that "carbontrack run" starts its command sooner and
// holds less memory: "report --plot", "report --html", "serve" and
// "run --metrics-addr" are handed, arguments and all, to carbontrack-full
// (the same commands, with every feature): the one CARBONTRACK_FULL names
// when it is set, else the one beside this executable, else the one on
// PATH. Install both with
// "go install github.com/carbontrack/carbontrack/cmd/...@latest".
package main

import (
	"github.com/carbontrack/carbontrack/internal/cli"
	"github.com/carbontrack/carbontrack/internal/cli/extras"
)

func main() { cli.Main(extras.Set{}) }

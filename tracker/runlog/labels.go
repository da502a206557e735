package runlog

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLabel is the longest run label in runes: longer ones keep their
// start and their end around an ellipsis.
const maxLabel = 44

// ProcessShare ends the label of a run that measured a process tree's
// share of the devices (Run.Scope "process"), in RunLabels (and so in the
// legend that package runplot draws).
const ProcessShare = " (process share)"

// RunLabels names the runs for people, in a legend or a table: by the
// run's label (Run.Label, the command line of "carbontrack run"), else its
// run id (Run.RunID), else its file name (Run.Name); with the node and the
// rank when runs share a name, and a number when they still do; cut in the
// middle past 44 runes; and marked ProcessShare when the run measured a
// process tree's share of the devices rather than the machine.
func RunLabels(runs []Run) []string {
	base := make([]string, len(runs))
	count := map[string]int{}
	for i, r := range runs {
		switch {
		case strings.TrimSpace(r.Label) != "":
			base[i] = oneLine(r.Label)
		case strings.TrimSpace(r.RunID) != "":
			base[i] = oneLine(r.RunID)
		case strings.TrimSpace(r.Name) != "":
			base[i] = oneLine(r.Name)
		default:
			base[i] = fmt.Sprintf("run %d", i+1)
		}
		count[base[i]]++
	}
	// Runs of one job on several nodes or ranks share a label: the node
	// and the rank tell them apart.
	where := make([]string, len(runs))
	for i, r := range runs {
		if count[base[i]] < 2 {
			continue
		}
		if r.Node != "" {
			where[i] += " " + oneLine(r.Node)
		}
		if r.Rank >= 0 {
			where[i] += fmt.Sprintf(" rank %d", r.Rank)
		}
	}
	out := make([]string, len(runs))
	short := map[string][]int{}
	for i := range runs {
		out[i] = truncateMiddle(base[i], maxLabel-utf8.RuneCountInString(where[i])) + where[i]
		short[out[i]] = append(short[out[i]], i)
	}
	// Labels that differ where they were cut keep where they differ.
	for _, group := range short {
		for _, i := range group {
			at := -1
			for _, j := range group {
				if base[j] != base[i] {
					at = max(at, commonPrefix(base[i], base[j]))
				}
			}
			if at >= 0 {
				out[i] = keepFrom(base[i], at, maxLabel-utf8.RuneCountInString(where[i])) + where[i]
			}
		}
	}
	seen := map[string]int{}
	for i, r := range runs {
		l := out[i]
		if seen[l]++; seen[l] > 1 {
			l += fmt.Sprintf(" #%d", seen[l])
		}
		if r.Scope == ScopeProcess {
			l += ProcessShare
		}
		out[i] = l
	}
	return out
}

// ScopeProcess is the Scope of a run that measured a process tree's share
// (tracker.ScopeProcess).
const ScopeProcess = "process"

// oneLine returns s with its runs of white space (newlines, tabs) made one
// space, trimmed.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncateMiddle cuts s to n runes (at least 9), keeping its start and its
// end around an ellipsis: a command line keeps its program and its last
// arguments.
func truncateMiddle(s string, n int) string {
	n = max(n, 9)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) * 2 / 3
	tail := n - 1 - head
	return strings.TrimRight(string(r[:head]), " ") + "…" + strings.TrimLeft(string(r[len(r)-tail:]), " ")
}

// commonPrefix returns the number of runes a and b begin with alike.
func commonPrefix(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n := 0
	for n < len(ra) && n < len(rb) && ra[n] == rb[n] {
		n++
	}
	return n
}

// keepFrom cuts s to n runes (at least 24) so that it shows rune at: its
// start, an ellipsis, some runes before at, and from at on as much as
// fits, cut at the end.
func keepFrom(s string, at, n int) string {
	n = max(n, 24)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	// The start is the program's name when it is short, else a quarter.
	head := n / 4
	if sp := strings.IndexByte(s, ' '); sp > 0 && utf8.RuneCountInString(s[:sp]) < n/3 {
		head = utf8.RuneCountInString(s[:sp]) + 1
	}
	from := max(at-n/4, head)
	rest := r[from:]
	if room := n - head - 1; len(rest) > room {
		rest = append(rest[:room-1:room-1], '…')
	}
	if from == head {
		return string(r[:head]) + string(rest)
	}
	return string(r[:head]) + "…" + string(rest)
}

// TimeUnit picks the unit of a time axis over span: seconds up to 2 min,
// minutes up to 3 h, hours beyond, and its symbol ("s", "min", "h").
func TimeUnit(span time.Duration) (time.Duration, string) {
	switch {
	case span <= 2*time.Minute:
		return time.Second, "s"
	case span <= 3*time.Hour:
		return time.Minute, "min"
	}
	return time.Hour, "h"
}

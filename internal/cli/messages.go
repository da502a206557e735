package cli

import (
	"regexp"
	"strings"
	"sync"
)

// The library's errors say where they come from ("factor: ", "power: ") and
// how to fix them in Go (WithToken): the command's messages say neither.

// pkgPrefix matches the library's package prefixes (and the function name
// "for zone: " of factor.ForZone) where a message or a part of it begins.
var pkgPrefix = lazyRegexp(`(^|: |\(|; |\n)(?:(?:tracker|factor|estimate|runlog|htmlreport|power|promexport|sampler|for zone): )+`)

// partStart matches the first word of a message or of a part of it, with
// its ": ", to find stutters ("rapl: rapl: ").
var partStart = lazyRegexp(`(?:^|: |\(|; |\n)([A-Za-z][A-Za-z0-9_.-]*): `)

// apiWords are the library's Go advice and its words for the command line.
var apiWords = strings.NewReplacer(
	" or use WithToken", "",
	"use the embedded tables (no WithLive)", "use the embedded tables (--provider static)",
	", promexport.WithAllowPublic(true) in Go", "",
)

// plainError is err's message as cliText makes it, for any subcommand but
// serve and run (whose hints name them).
func plainError(err error) string { return cliText("", err.Error()) }

// cliError is err's message for a message of the subcommand cmd.
func cliError(cmd string, err error) string { return cliText(cmd, err.Error()) }

// cliText is msg for a user of the command cmd ("" when none in
// particular): without the library's package prefixes, without a word said
// twice in a row ("rapl: rapl: "), with the command's flags and variables
// where the library names its Go options.
func cliText(cmd, msg string) string {
	msg = pkgPrefix().ReplaceAllString(msg, "$1")
	msg = apiWords.Replace(msg)
	if cmd != "" {
		msg = strings.ReplaceAll(msg, "carbontrack --allow-public", "carbontrack "+cmd+" --allow-public")
	}
	// Stutters: "rapl: rapl: no powercap zones" → "rapl: no powercap zones".
	for {
		done := true
		for _, m := range partStart().FindAllStringSubmatchIndex(msg, -1) {
			word := msg[m[2]:m[3]] + ": "
			if end := m[1]; strings.HasPrefix(msg[end:], word) {
				msg = msg[:end] + msg[end+len(word):]
				done = false
				break
			}
		}
		if done {
			return msg
		}
	}
}

// reasonText is a device's name and why it is not measured, in one part:
// "rapl: no powercap zones ...".
func reasonText(name, reason string) string {
	return cliText("", name+": "+reason)
}

// lazyRegexp compiles expr on first use, not when the program starts:
// most runs never need most expressions.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

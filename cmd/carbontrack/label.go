package main

import (
	"regexp"
	"strings"

	"github.com/carbontrack/carbontrack/factor"
)

// secretOption matches the options whose value is a secret: --api-key,
// --token, --hf_token, -password, AWS_SECRET_ACCESS_KEY=..., and the like.
var secretOption = regexp.MustCompile(`(?i)(key|token|secret|passw(or)?d|pwd|auth|credential)`)

// redactedMask stands for a value left out of a label.
const redactedMask = "xxxxx"

// redactedCommand is the command line as the run's label (run's --label
// default): shell-quoted, with the password of every URL masked
// (factor.RedactURL) and the value of every option or variable whose name
// says it is a secret: "--api-key=X", "--token X", "HF_TOKEN=X". The label
// goes into logs and reports that people share.
func redactedCommand(argv []string) string {
	out := make([]string, len(argv))
	maskNext := false
	for i, a := range argv {
		switch {
		case maskNext && !strings.HasPrefix(a, "-"):
			out[i], maskNext = redactedMask, false
			continue
		case maskNext:
			maskNext = false
		}
		out[i] = factor.RedactURL(a)
		name, _, hasValue := strings.Cut(a, "=")
		if !secretOption.MatchString(name) || strings.Contains(name, "/") {
			continue
		}
		switch {
		case hasValue:
			out[i] = name + "=" + redactedMask
		case strings.HasPrefix(a, "-"):
			maskNext = true
		}
	}
	return shellQuote(out)
}

package cli

import (
	"strings"

	"github.com/carbontrack/carbontrack/factor"
)

// secretOption matches the names whose value is a secret: --api-key,
// --apikey, --token, --hf_token, -password, AWS_SECRET_ACCESS_KEY, X-Api-Key:,
// Authorization:. The secret word ends the name (after "-", "_" or "."),
// so --max-tokens, --tokenizer, --author and --keyframes keep their values.
var secretOption = lazyRegexp(`(?i)(^|[-_.]|api|access|secret|auth)(key|token|secret|passw(or)?d|pwd|credentials?|auth|authorization)$`)

// redactedMask stands for a value left out of a label.
const redactedMask = "xxxxx"

// redactedCommand is the command line as the run's label (run's --label
// default): shell-quoted, with the password of every URL masked
// (factor.RedactURL) and the value of every option or variable whose name
// says it is a secret: "--api-key=X", "--token X", "HF_TOKEN=X",
// "Authorization: Bearer X". A word with spaces in it (sh -c '...') is
// masked word by word. The label goes into logs and reports that people
// share.
func redactedCommand(argv []string) string {
	out := make([]string, len(argv))
	copy(out, argv)
	redactWords(out)
	for i, a := range out {
		if strings.ContainsAny(a, " \t\n") {
			words := strings.Fields(a)
			redactWords(words)
			out[i] = strings.Join(words, " ")
		}
	}
	return shellQuote(out)
}

// redactWords masks, in place, the secrets of a list of words (see
// redactedCommand).
func redactWords(words []string) {
	maskNext, maskRest := false, false
	for i, a := range words {
		switch {
		case maskRest:
			words[i] = redactedMask
			continue
		case maskNext && !strings.HasPrefix(a, "-"):
			words[i], maskNext = redactedMask, false
			continue
		case maskNext:
			maskNext = false
		}
		if strings.ContainsAny(a, " \t\n") {
			continue // a word of its own words, masked by the caller
		}
		words[i] = factor.RedactURL(a)
		if strings.EqualFold(a, "bearer") || strings.EqualFold(a, "basic") {
			maskNext = true
			continue
		}
		name, _, hasValue := strings.Cut(a, "=")
		if !secretOption().MatchString(strings.TrimLeft(strings.TrimSuffix(name, ":"), "-")) || strings.Contains(name, "/") {
			continue
		}
		switch {
		case hasValue:
			words[i] = name + "=" + redactedMask
		case strings.HasSuffix(a, ":"):
			maskRest = true // a header: "Authorization: Bearer X"
		case strings.HasPrefix(a, "-"):
			maskNext = true
		}
	}
}

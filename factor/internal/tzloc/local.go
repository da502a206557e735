package tzloc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Local is the machine's time zone as found.
type Local struct {
	Name string // IANA name, e.g. "Europe/Berlin"; "" when none found
	From string // where it was found, for people: "TZ", "/etc/localtime", "/etc/timezone"
}

// Where FindLocal looks, below root, and the From values it reports.
const (
	fromTZ    = "TZ"
	localtime = "/etc/localtime"
	timezone  = "/etc/timezone"
)

// maxRead bounds the bytes read from /etc/timezone and the length of a name.
const maxRead = 256

// noCountry reports whether name is one of the IANA names without a "/"
// that name no place. FindLocal accepts them from TZ, where a bare word
// could otherwise be a POSIX rule.
func noCountry(name string) bool {
	switch name {
	case "UTC", "UCT", "Universal", "Zulu",
		"GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich",
		"Factory", "CET", "EET", "MET", "WET",
		"EST", "HST", "MST",
		"CST6CDT", "EST5EDT", "MST7MDT", "PST8PDT":
		return true
	}
	return false
}

// FindLocal finds the machine's IANA time zone name, in this order:
//
//  1. getenv("TZ") when set and non-empty. A leading ':' is stripped, and
//     of a path containing "zoneinfo/" only what follows the last
//     "zoneinfo/" is kept. The value is taken as Name when it looks like an
//     IANA Area/Location name ("Europe/Paris") or is a known name ("UTC",
//     "Japan"). Otherwise, for example a POSIX rule such as
//     "CET-1CEST,M3.5.0,M10.5.0/3" or "UTC0", or a path elsewhere, TZ
//     gives no name and FindLocal stops there, returning Local{From: "TZ"}:
//     with TZ set, the process's local time is what TZ says, whatever the
//     files below say. The exception is TZ=":/etc/localtime" (or without
//     the colon), which names the file of step 2, so the search goes on.
//  2. The target of the symbolic link root+"/etc/localtime", absolute or
//     relative, taking what follows its last "zoneinfo/". A regular file
//     there (common in containers) gives no name.
//  3. The first line of root+"/etc/timezone" (Debian, Ubuntu) that is
//     neither blank nor a "#" comment, trimmed of spaces.
//
// In all three steps a leading "posix/" or "right/" is
// dropped ("posix/Europe/Berlin" is "Europe/Berlin"), and values that are
// not well-formed names are ignored.
//
// root is "" for the real filesystem ("/"), or a test directory. getenv is
// os.Getenv in production (nil means os.Getenv), injectable for tests.
// FindLocal never fails: when nothing is found it returns Local{}. It reads
// one symbolic link and at most 256 bytes of one small file.
func FindLocal(getenv func(string) string, root string) Local {
	if getenv == nil {
		getenv = os.Getenv
	}
	if tz := getenv("TZ"); tz != "" {
		tz = strings.TrimPrefix(tz, ":")
		if tz != localtime {
			if name, ok := nameFromTZ(tz); ok {
				return Local{Name: name, From: fromTZ}
			}
			return Local{From: fromTZ}
		}
	}
	if target, err := os.Readlink(filepath.Join(root, localtime)); err == nil {
		if name, ok := afterZoneinfo(target); ok {
			return Local{Name: name, From: localtime}
		}
	}
	if name, ok := readTimezone(filepath.Join(root, timezone)); ok {
		return Local{Name: name, From: timezone}
	}
	return Local{}
}

// nameFromTZ returns the IANA name in the value of TZ, less its leading
// ':', if it has one.
func nameFromTZ(tz string) (string, bool) {
	if strings.Contains(tz, "zoneinfo/") {
		return afterZoneinfo(tz)
	}
	name, ok := checkName(tz)
	if !ok {
		return "", false
	}
	if strings.Contains(name, "/") || noCountry(name) {
		return name, true
	}
	_, ok = Country(name)
	return name, ok
}

// afterZoneinfo returns the well-formed name after the last "zoneinfo/" of
// path, less a leading "posix/" or "right/".
func afterZoneinfo(path string) (string, bool) {
	i := strings.LastIndex(path, "zoneinfo/")
	if i < 0 {
		return "", false
	}
	return checkName(path[i+len("zoneinfo/"):])
}

// checkName returns name less a leading "posix/" or "right/" (the zoneinfo
// subtrees of the same zones) and whether the rest is well-formed.
func checkName(name string) (string, bool) {
	if rest, ok := strings.CutPrefix(name, "posix/"); ok {
		name = rest
	} else if rest, ok := strings.CutPrefix(name, "right/"); ok {
		name = rest
	}
	return name, validName(name)
}

// readTimezone returns the first name in an /etc/timezone file.
func readTimezone(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()

	var buf [maxRead]byte
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", false
	}
	data := buf[:n]
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found && n == len(buf) {
			return "", false // cut short: longer than any name.
		}
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return checkName(string(line))
	}
	return "", false
}

// validName reports whether name is spelled like an IANA time zone name:
// "/"-separated parts of ASCII letters, digits, '_', '-', '+' and '.', the
// first starting with a letter, none empty, "." or "..".
func validName(name string) bool {
	if name == "" || len(name) > maxRead {
		return false
	}
	if c := name[0]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
		return false
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			switch {
			case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case c == '_', c == '-', c == '+', c == '.':
			default:
				return false
			}
		}
	}
	return true
}

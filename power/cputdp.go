package power

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cpuTDPCSV is the table of CPU models and their thermal design power in
// watts (columns Name,TDP; '#' lines are comments). It is derived from the
// CodeCarbon project's codecarbon/data/hardware/cpu_power.csv (MIT licence),
// itself scraped from Intel ARK and AMD product pages; the file's header says
// how it was cleaned. It is read-only: nothing writes to it.
//
//go:embed data/cpu_tdp.csv
var cpuTDPCSV string

// CPUModel is a CPU model found in carbontrack's embedded TDP table. It is a
// plain value, safe to copy and to share between goroutines. The zero value
// means no model.
type CPUModel struct {
	// Name is the model's name as written in the table, such as
	// "AMD EPYC 7763" or "Intel Xeon Gold 6248".
	Name string
	// TDP is the vendor's thermal design power of one package (socket), in
	// watts, as published on Intel ARK or AMD's product pages. It is the
	// sustained power the cooler is sized for, not a measurement: a package
	// under full load draws about this much, and may briefly draw more
	// (Intel PL2, AMD PPT).
	TDP Watts
	// Cores is the number of physical cores per package when the model name
	// given to LookupCPU states it ("64-Core", "16-Cores"), else 0; Intel's
	// names never do. It does not come from the table.
	Cores int
}

// LookupCPU finds the TDP of a CPU from its model name as printed by the
// "model name" line of /proc/cpuinfo (and by gopsutil), such as
// "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" or
// "AMD EPYC 7763 64-Core Processor". The table is carbontrack's embedded copy
// of CodeCarbon's, from Intel ARK and AMD's product pages (see
// data/cpu_tdp.csv). It reports false when the model is not in the table or
// the name does not identify one, as with the generic
// "Intel(R) Xeon(R) CPU @ 2.20GHz" that some cloud VMs show; the caller then
// falls back to its own default. Even then model.Cores holds any core count
// stated in the name (Name and TDP are empty), for a per-core fallback.
//
// Both the name and the table's names are normalised before comparison. Case
// is ignored. Dropped are the marks (R), (TM), ® and ™; other parenthesised
// text; a leading vendor (Intel, AMD); the words CPU, Processor and APU; core
// counts ("64-Core", "Eight-Core", "Dual Core"); generations ("13th Gen");
// clock speeds ("@ 2.50GHz", "3.00GHz"); everything from "with", "w/" or
// "Radeon" on; and a lone "0", the v1 marker of some Xeon E5 names. "i7 920"
// reads as "i7-920". An exact match of the normalised names wins. Failing
// that, the longest table name whose words are the first words of the given
// name matches, unless the next word may name another model: a version
// ("v4"), a one- or two-letter suffix ("HE") or a number. Words are never
// split: "Xeon Gold 6248" and "Xeon Gold 6248R" are different models, and so
// are "i7-13700" and "i7-13700H".
//
// LookupCPU parses the embedded table on each call, normalising only the
// rows that hold the first word sought and stopping at an exact match:
// about 0.04 ms for "AMD EPYC 7763", up to 0.5 ms for a name that is not
// there, with 10 allocations (200 bytes), on one core of an AMD EPYC VM
// (BenchmarkLookupCPU). Call it once per discovery, not per sample. It
// keeps no state and is safe for concurrent use.
func LookupCPU(modelName string) (model CPUModel, ok bool) {
	return lookupCPU(cpuTDPCSV, modelName)
}

// lookupCPU is LookupCPU on the CSV table data.
func lookupCPU(data, modelName string) (CPUModel, bool) {
	m := newCPUMatch(modelName)
	if len(m.in) == 0 {
		return m.result()
	}
	var key, lower []byte
	err := eachCPURow(data, func(name string, tdp Watts) bool {
		var skip bool
		if lower, skip = m.skip(lower[:0], name); skip {
			return true
		}
		key, _ = appendCPUKey(key[:0], name)
		return m.offer(key, name, tdp)
	})
	if err != nil {
		// The embedded table parses without error (a test checks it); an
		// error here would leave the lookup incomplete, so report unknown.
		m.bestLen = 0
	}
	return m.result()
}

// cpuMatch is one lookup in progress: the normalised name sought and the best
// table row offered so far. It is used by one goroutine.
type cpuMatch struct {
	in      []byte // normalised name sought
	lead    []byte // its first word up to any '-', which a row must hold to match
	cores   int    // core count stated in the name sought, or 0
	best    CPUModel
	bestLen int  // length of best's normalised name; 0 for none
	exact   bool // best's normalised name equals in
}

// newCPUMatch starts a lookup of modelName.
func newCPUMatch(modelName string) cpuMatch {
	in, cores := appendCPUKey(nil, modelName)
	lead := nextWord(in)
	if i := bytes.IndexByte(lead, '-'); i >= 0 {
		lead = lead[:i]
	}
	return cpuMatch{in: in, lead: lead, cores: cores}
}

// offer considers the table row name, whose normalised form is key. It
// returns false once an exact match makes further rows pointless.
func (m *cpuMatch) offer(key []byte, name string, tdp Watts) bool {
	n := len(key)
	switch {
	case n == 0 || n > len(m.in):
		return true
	case n == len(m.in):
		if string(key) != string(m.in) {
			return true
		}
		m.best, m.bestLen, m.exact = CPUModel{Name: name, TDP: tdp}, n, true
		return false
	case n > m.bestLen && m.in[n] == ' ' && string(m.in[:n]) == string(key) &&
		!isModelSuffix(nextWord(m.in[n+1:])):
		// key is the first whole words of in, and longer than any before.
		m.best, m.bestLen = CPUModel{Name: name, TDP: tdp}, n
	}
	return true
}

// skip reports whether the table row name cannot match, so that most rows
// are never normalised. A row that matches (see offer) has the first word
// of the name sought as its first normalised word. In a row of ASCII without
// '(' every normalised word is a word of the row, lower-cased, or two of
// them joined by '-' ("i7-920"), so such a row that does not hold m.lead
// cannot match and is skipped; other rows never are. buf is scratch space,
// returned for reuse.
func (m *cpuMatch) skip(buf []byte, name string) ([]byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf || c == '(':
			return buf, false
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, !bytes.Contains(buf, m.lead)
}

// result returns the best row offered, with the core count of the name
// sought, and whether there was one. With none, only Cores is set.
func (m *cpuMatch) result() (CPUModel, bool) {
	if m.bestLen == 0 {
		return CPUModel{Cores: m.cores}, false
	}
	best := m.best
	best.Cores = m.cores
	return best, true
}

// errCPUTable reports a malformed row of the embedded CPU table.
var errCPUTable = errors.New("power: cpu tdp table: malformed row")

// eachCPURow calls fn with each model of the CSV table data, in order, until
// fn returns false. The first row that is not a '#' comment must be the
// header Name,TDP. It returns an error wrapping errCPUTable for a missing
// header or a TDP that is not a positive, finite number of watts, and one
// wrapping the csv package's error for a row that is not two fields.
//
// The embedded table is split by lines without encoding/csv, which would
// read it the same (its lines are all plain, see plainCPURecord; a test
// checks it) but allocates a string a row; any other table is read by
// encoding/csv.
func eachCPURow(data string, fn func(name string, tdp Watts) bool) error {
	header := true
	row := func(line int, name, tdp string) (bool, error) {
		if header {
			header = false
			if name != "Name" || tdp != "TDP" {
				return false, fmt.Errorf("%w: header %q, want Name,TDP", errCPUTable, []string{name, tdp})
			}
			return true, nil
		}
		w, err := strconv.ParseFloat(tdp, 64)
		if err != nil || !(w > 0) || math.IsInf(w, 0) {
			return false, fmt.Errorf("%w: line %d: TDP %q", errCPUTable, line, tdp)
		}
		return fn(name, Watts(w)), nil
	}
	if data == cpuTDPCSV {
		return eachPlainCPURecord(data, row)
	}
	return eachCSVCPURecord(data, row)
}

// eachCSVCPURecord calls row with each record of data, read by encoding/csv,
// and the line it is on, until row returns false or an error.
func eachCSVCPURecord(data string, row func(line int, name, tdp string) (bool, error)) error {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 2
	r.ReuseRecord = true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("power: cpu tdp table: %w", err)
		}
		line, _ := r.FieldPos(1)
		if more, err := row(line, rec[0], rec[1]); err != nil || !more {
			return err
		}
	}
}

// eachPlainCPURecord is eachCSVCPURecord on a table whose lines are all
// empty, '#' comments or plain records (plainCPURecord).
func eachPlainCPURecord(data string, row func(line int, name, tdp string) (bool, error)) error {
	n := 0
	for line := range strings.Lines(data) {
		n++
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		name, tdp, _ := plainCPURecord(line)
		if more, err := row(n, name, tdp); err != nil || !more {
			return err
		}
	}
	return nil
}

// plainCPURecord splits line, neither empty nor a comment, into its two
// fields when encoding/csv would read them as they stand: no '\r', two
// fields separated by a ',', the second without '"' or ',', the first
// without '"' or ',' or else quoted whole and without '"' inside
// ("Intel EP80579 Integrated, 1066 MHz",18). ok is false for any other line.
func plainCPURecord(line string) (name, tdp string, ok bool) {
	if strings.IndexByte(line, '\r') >= 0 {
		return "", "", false
	}
	if line[0] == '"' {
		end := strings.IndexByte(line[1:], '"') + 1
		if end == 0 || end+1 >= len(line) || line[end+1] != ',' {
			return "", "", false
		}
		name, tdp = line[1:end], line[end+2:]
	} else {
		if name, tdp, ok = strings.Cut(line, ","); !ok || strings.IndexByte(name, '"') >= 0 {
			return "", "", false
		}
	}
	if strings.ContainsAny(tdp, "\",") {
		return "", "", false
	}
	return name, tdp, true
}

// appendCPUKey appends to dst the normalised form of a CPU model name, as
// described on LookupCPU: lower-case words separated by single spaces. It also
// returns the core count stated by an "N-Core" or "N-Cores" word, else 0.
// It allocates only when dst lacks capacity.
func appendCPUKey(dst []byte, name string) ([]byte, int) {
	start := len(dst)
	// Pass 1: lower-case ASCII, drop (R), (TM), ®, ™, zero-width spaces and
	// other parenthesised text, stop at '@', turn commas and white space
	// (including no-break spaces) into single spaces.
	space := true // suppresses leading and doubled spaces
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '@':
			i = len(name)
			continue
		case c == '(':
			end := strings.IndexByte(name[i:], ')')
			if end < 0 {
				end = len(name) - i // unterminated: drop the rest
			}
			inner := name[i+1 : i+end]
			i += end
			// A mark glued to a hyphen ("FX(tm)-8350") leaves no gap; glued
			// to a word ("Core(TM)2") or any other bracketed text, it
			// separates words.
			mark := strings.EqualFold(inner, "r") || strings.EqualFold(inner, "tm")
			if !space && (!mark || i+1 < len(name) && isAlnum(name[i+1])) {
				dst = append(dst, ' ')
				space = true
			}
			continue
		case c >= utf8.RuneSelf:
			if n := dropPrefix(name[i:]); n > 0 {
				i += n - 1
				continue
			}
			if strings.HasPrefix(name[i:], "\u00a0") { // no-break space
				i += len("\u00a0") - 1
				if !space {
					dst = append(dst, ' ')
					space = true
				}
				continue
			}
		case c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r':
			if !space {
				dst = append(dst, ' ')
				space = true
			}
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		space = false
	}

	// Pass 2: filter the words in place; the result is never longer, and
	// the write position never passes the read position.
	words := dst[start:]
	out := start
	prev := start // start of the last word written
	cores := 0
	first := true // the next kept word is the first
	for p := 0; p < len(words); {
		w := nextWord(words[p:])
		p += len(w) + 1
		if len(w) == 0 {
			continue
		}
		switch s := string(w); {
		case s == "with" || s == "w/" || s == "radeon":
			p = len(words)
			continue
		case s == "cpu" || s == "processor" || s == "apu" || s == "0":
			continue
		case first && (s == "intel" || s == "amd"):
			continue
		case isOrdinal(w) && p < len(words) && string(nextWord(words[p:])) == "gen":
			p += len("gen") + 1
			continue
		case isCountWord(w) && p < len(words) && string(nextWord(words[p:])) == "core":
			p += len("core") + 1 // "Dual Core", "Quad Core"
			continue
		case bytes.HasSuffix(w, []byte("-core")) || bytes.HasSuffix(w, []byte("-cores")):
			if n := atoi(w[:bytes.LastIndexByte(w, '-')]); n > 0 {
				cores = n
			}
			continue
		case bytes.HasSuffix(w, []byte("ghz")) && isDecimal(w[:len(w)-len("ghz")]):
			continue
		}
		if !first {
			// Nehalem-era names split the brand from the number
			// ("Core(TM) i7 CPU 920"); join them as ARK does ("i7-920").
			if w[0] >= '0' && w[0] <= '9' && isCoreBrand(dst[prev:out]) {
				dst[out] = '-'
			} else {
				dst[out] = ' '
			}
			out++
		}
		prev = out
		out += copy(dst[out:], w)
		first = false
	}
	return dst[:out], cores
}

// isCoreBrand reports whether w is one of Intel's Core brand modifiers i3, i5,
// i7 or i9.
func isCoreBrand(w []byte) bool {
	return len(w) == 2 && w[0] == 'i' && (w[1] == '3' || w[1] == '5' || w[1] == '7' || w[1] == '9')
}

// dropPrefix returns the length of the mark that starts s and that names
// ignore (®, ™ or a zero-width space), or 0.
func dropPrefix(s string) int {
	for _, m := range [...]string{"®", "™", "\u200b"} {
		if strings.HasPrefix(s, m) {
			return len(m)
		}
	}
	return 0
}

// nextWord returns s up to its first space.
func nextWord(s []byte) []byte {
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// atoi returns the value of the decimal digits w, or 0 when w is empty, holds
// anything else, or is implausibly large for a core count.
func atoi(w []byte) int {
	if len(w) == 0 || len(w) > 6 {
		return 0
	}
	n := 0
	for _, c := range w {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isModelSuffix reports whether w, the word after a matched table name, may
// name a different model: a version ("v2", "v4"), a short suffix ("he", "se",
// "x"), or a number. Such a match is rejected.
func isModelSuffix(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	if len(w) <= 2 {
		return true
	}
	if w[0] >= '0' && w[0] <= '9' {
		return true
	}
	return w[0] == 'v' && isDecimal(w[1:])
}

// isCountWord reports whether w is a count that AMD writes before "Core" in
// names such as "Athlon(tm) 64 X2 Dual Core Processor 3800+".
func isCountWord(w []byte) bool {
	switch string(w) {
	case "dual", "triple", "quad", "six", "eight", "twelve", "sixteen":
		return true
	}
	return false
}

// isOrdinal reports whether w is an English ordinal such as "13th" or "2nd".
func isOrdinal(w []byte) bool {
	if len(w) < 3 {
		return false
	}
	switch string(w[len(w)-2:]) {
	case "st", "nd", "rd", "th":
		return isDecimal(w[:len(w)-2])
	}
	return false
}

// isDecimal reports whether w is a non-empty run of digits with at most one
// decimal point.
func isDecimal(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	dot := false
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c == '.' && !dot:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return string(w) != "."
}

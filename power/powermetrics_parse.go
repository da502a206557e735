package power

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// pmMaxDocument is the largest powermetrics document read, in bytes: one
// sample of the cpu_power, gpu_power and ane_power samplers on a 24-core M2
// Ultra is 65 KB (its clusters, CPUs and frequency states), so 1 MiB leaves
// 16× headroom for larger chips while bounding what a runaway stream costs.
const pmMaxDocument = 1 << 20

// pmReadChunk is how much is read from the stream at a time, in bytes.
const pmReadChunk = 32 << 10

// errPMDocument wraps the reason a powermetrics document was skipped (not a
// plist, no elapsed_ns, an implausible value, larger than pmMaxDocument).
// The stream goes on with the next document.
var errPMDocument = errors.New("power: powermetrics: document skipped")

// pmSample is one powermetrics sample: the mean power of each part of the
// SoC over the sample's interval, as the plist's processor dictionary gives
// it (cpu_power, gpu_power, ane_power, combined_power, in mW), or, from a
// version that gives only energies, cpu_energy, gpu_energy and ane_energy
// (mJ) over elapsed_ns.
type pmSample struct {
	// Elapsed is the length of the sample's interval (elapsed_ns).
	Elapsed time.Duration
	// CPU, GPU, ANE and Combined are the mean powers over Elapsed; each
	// is meaningful only when the matching Has flag is set.
	CPU, GPU, ANE, Combined             Watts
	HasCPU, HasGPU, HasANE, HasCombined bool
}

// power returns the sample's mean power of part p and whether the sample
// has it.
func (s *pmSample) power(p pmPart) (Watts, bool) {
	switch p {
	case pmCPU:
		return s.CPU, s.HasCPU
	case pmGPU:
		return s.GPU, s.HasGPU
	case pmANE:
		return s.ANE, s.HasANE
	}
	return 0, false
}

// pmPart is a part of the SoC that powermetrics measures.
type pmPart int

const (
	pmCPU pmPart = iota
	pmGPU
	pmANE
	pmParts
)

// pmScanner reads a stream of powermetrics plist documents, as
// `powermetrics -f plist` writes them: one XML plist per sample, with a NUL
// byte between documents. A document ends at a NUL or just after its
// </plist> end tag, whichever comes first, so a sample is parsed as soon as
// it is complete, without waiting for the next one's separator.
//
// Memory is bounded: a document larger than pmMaxDocument is skipped up to
// the next separator without being kept. Next is not safe for concurrent
// use.
type pmScanner struct {
	r    io.Reader
	buf  []byte // buf[start:] holds what was read and not yet returned
	off  int    // start of the pending document in buf
	scan int    // how far buf[off:] was searched for an end
	skip bool   // discarding an oversized document up to its end
	zero int    // reads in a row that returned nothing
	err  error  // the read error, returned once buf is drained
}

func newPMScanner(r io.Reader) *pmScanner {
	return &pmScanner{r: r, buf: make([]byte, 0, pmReadChunk)}
}

var pmEndTag = []byte("</plist>")

// Next returns the next sample. An error wrapping errPMDocument means one
// document was skipped and the stream goes on; any other error (io.EOF at
// the end of the stream, a read error) is final. A truncated last document
// is reported as skipped before io.EOF.
func (s *pmScanner) Next() (pmSample, error) {
	for {
		if doc, end, ok := s.cut(); ok {
			skipped := s.skip
			s.skip = false
			s.off = end
			s.scan = 0
			if skipped || len(doc) > pmMaxDocument {
				return pmSample{}, fmt.Errorf("%w: larger than %d bytes", errPMDocument, pmMaxDocument)
			}
			doc = bytes.TrimSpace(doc)
			if len(doc) == 0 {
				continue
			}
			return parsePMDocument(doc)
		}
		if s.err != nil {
			rest := bytes.TrimSpace(s.buf[s.off:])
			skipped := s.skip
			s.buf, s.off, s.scan, s.skip = s.buf[:0], 0, 0, false
			if skipped {
				return pmSample{}, fmt.Errorf("%w: larger than %d bytes", errPMDocument, pmMaxDocument)
			}
			if len(rest) > 0 {
				// Whatever it is, a document without its end tag or
				// separator before the stream ended is incomplete.
				return pmSample{}, fmt.Errorf("%w: truncated at the end of the stream (%d bytes)", errPMDocument, len(rest))
			}
			return pmSample{}, s.err
		}
		s.fill()
	}
}

// cut finds the end of the pending document: it returns the document and
// the offset in buf where the next one starts.
func (s *pmScanner) cut() (doc []byte, next int, ok bool) {
	p := s.buf[s.off:]
	from := max(s.scan-len(pmEndTag)+1, 0) // an end tag may straddle two reads
	nul := bytes.IndexByte(p[from:], 0)
	search := p[from:]
	if nul >= 0 {
		search = p[from : from+nul]
	}
	if i := bytes.Index(search, pmEndTag); i >= 0 {
		end := from + i + len(pmEndTag)
		return p[:end], s.off + end, true
	}
	if nul >= 0 {
		return p[:from+nul], s.off + from + nul + 1, true
	}
	s.scan = len(p)
	return nil, 0, false
}

// fill reads more of the stream into buf, first dropping what was returned
// and, once the pending document is larger than pmMaxDocument, what was
// searched of it: the document is then skipped up to its end.
func (s *pmScanner) fill() {
	if s.off > 0 {
		n := copy(s.buf, s.buf[s.off:])
		s.buf = s.buf[:n]
		s.off = 0
	}
	if s.skip || len(s.buf) > pmMaxDocument {
		// Keep only what may be the start of an end tag; the rest was
		// searched and holds no end.
		s.skip = true
		n := copy(s.buf, s.buf[len(s.buf)-min(len(pmEndTag)-1, len(s.buf)):])
		s.buf = s.buf[:n]
		s.scan = n
	}
	if cap(s.buf)-len(s.buf) < pmReadChunk {
		// Double, up to a document's cap and room for one more read.
		n := max(len(s.buf)+pmReadChunk, min(2*len(s.buf), pmMaxDocument+2*pmReadChunk))
		grown := make([]byte, len(s.buf), n)
		copy(grown, s.buf)
		s.buf = grown
	}
	n, err := s.r.Read(s.buf[len(s.buf) : len(s.buf)+pmReadChunk])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.err = err
	} else if n == 0 {
		// A reader that returns nothing and no error is allowed to; do
		// not spin on it forever.
		s.zero++
		if s.zero > 100 {
			s.err = io.ErrNoProgress
		}
		return
	}
	s.zero = 0
}

// parsePMDocument parses one powermetrics plist. It reads elapsed_ns at the
// top level and the powers in the processor dictionary, skipping the rest
// (clusters, CPUs, frequency states, the gpu sampler's own dictionary).
func parsePMDocument(doc []byte) (pmSample, error) {
	var s pmSample
	var energy [pmParts]float64 // mJ, from versions without the *_power keys
	var hasEnergy [pmParts]bool
	haveElapsed := false
	d := xml.NewDecoder(bytes.NewReader(doc))
	if err := pmRootDict(d); err != nil {
		return s, fmt.Errorf("%w: %w", errPMDocument, err)
	}
	err := pmDict(d, func(key string, start xml.StartElement) error {
		switch key {
		case "elapsed_ns":
			v, err := pmNumber(d, start)
			if err != nil {
				return fmt.Errorf("elapsed_ns: %w", err)
			}
			if !(v > 0 && v < float64(24*time.Hour)) {
				return fmt.Errorf("elapsed_ns %v: want a positive duration under a day", v)
			}
			s.Elapsed, haveElapsed = time.Duration(v), true
			return nil
		case "processor":
			if start.Name.Local != "dict" {
				return d.Skip()
			}
			return pmDict(d, func(key string, start xml.StartElement) error {
				var (
					dst *Watts
					has *bool
					e   = -1
				)
				switch key {
				case "cpu_power":
					dst, has = &s.CPU, &s.HasCPU
				case "gpu_power":
					dst, has = &s.GPU, &s.HasGPU
				case "ane_power":
					dst, has = &s.ANE, &s.HasANE
				case "combined_power":
					dst, has = &s.Combined, &s.HasCombined
				case "cpu_energy":
					e = int(pmCPU)
				case "gpu_energy":
					e = int(pmGPU)
				case "ane_energy":
					e = int(pmANE)
				default:
					return d.Skip()
				}
				v, err := pmNumber(d, start)
				if err != nil {
					return fmt.Errorf("processor %s: %w", key, err)
				}
				if !(v >= 0) || math.IsInf(v, 1) {
					return fmt.Errorf("processor %s %v: want a finite number, not negative", key, v)
				}
				if e >= 0 {
					energy[e], hasEnergy[e] = v, true
					return nil
				}
				*dst, *has = Watts(v/1e3), true // mW
				return nil
			})
		}
		return d.Skip()
	})
	if err != nil {
		return s, fmt.Errorf("%w: %w", errPMDocument, err)
	}
	if !haveElapsed {
		return s, fmt.Errorf("%w: no elapsed_ns", errPMDocument)
	}
	// Versions that give energies but not powers: mJ over the interval.
	for p, has := range []*bool{&s.HasCPU, &s.HasGPU, &s.HasANE} {
		if !*has && hasEnergy[p] {
			w := Watts(energy[p] / 1e3 / s.Elapsed.Seconds())
			switch pmPart(p) {
			case pmCPU:
				s.CPU = w
			case pmGPU:
				s.GPU = w
			case pmANE:
				s.ANE = w
			}
			*has = true
		}
	}
	for p := range pmParts {
		if w, ok := s.power(p); ok && w > pmMaxPower {
			return s, fmt.Errorf("%w: a power of %v W, above the plausible %v W", errPMDocument, float64(w), float64(pmMaxPower))
		}
	}
	if !s.HasCPU && !s.HasGPU && !s.HasANE {
		return s, fmt.Errorf("%w: no processor cpu_power, gpu_power or ane_power", errPMDocument)
	}
	return s, nil
}

// pmRootDict reads up to the start of the plist's top-level dict.
func pmRootDict(d *xml.Decoder) error {
	inPlist := false
	for {
		tok, err := d.Token()
		if err != nil {
			return pmEOF(err)
		}
		st, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case !inPlist && st.Name.Local == "plist":
			inPlist = true
		case inPlist && st.Name.Local == "dict":
			return nil
		default:
			return fmt.Errorf("unexpected <%s>, want <plist><dict>", st.Name.Local)
		}
	}
}

// pmDict reads the entries of a dict whose start was just read, calling
// value for each key with the start of its value, which value must consume
// (read to its end or Skip), up to the dict's end.
func pmDict(d *xml.Decoder, value func(key string, start xml.StartElement) error) error {
	key, haveKey := "", false
	for {
		tok, err := d.Token()
		if err != nil {
			return pmEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil // the dict's end: the decoder checks that it matches
		case xml.StartElement:
			if t.Name.Local == "key" {
				k, err := pmText(d)
				if err != nil {
					return err
				}
				key, haveKey = k, true
				continue
			}
			if !haveKey {
				return fmt.Errorf("<%s> without a key", t.Name.Local)
			}
			haveKey = false
			if err := value(key, t); err != nil {
				return err
			}
		}
	}
}

// pmText reads the text of a simple element whose start was just read.
func pmText(d *xml.Decoder) (string, error) {
	var text []byte
	for {
		tok, err := d.Token()
		if err != nil {
			return "", pmEOF(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(text)+len(t) > 64 {
				return "", errors.New("element text longer than 64 bytes")
			}
			text = append(text, t...)
		case xml.EndElement:
			return string(bytes.TrimSpace(text)), nil
		case xml.StartElement:
			return "", fmt.Errorf("unexpected <%s> in a simple value", t.Name.Local)
		}
	}
}

// pmNumber reads an <integer> or <real> value whose start was just read.
func pmNumber(d *xml.Decoder, start xml.StartElement) (float64, error) {
	if start.Name.Local != "integer" && start.Name.Local != "real" {
		_ = d.Skip()
		return 0, fmt.Errorf("<%s>, want <integer> or <real>", start.Name.Local)
	}
	text, err := pmText(d)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, fmt.Errorf("<%s>%s</%s>: %w", start.Name.Local, text, start.Name.Local, err)
	}
	return v, nil
}

// pmEOF turns the end of a document reached inside an element into
// io.ErrUnexpectedEOF.
func pmEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

package power

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readPMFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "powermetrics", name))
	require.NoError(t, err)
	return b
}

// pmAll reads every sample of stream, counting the skipped documents.
func pmAll(t testing.TB, r io.Reader) (samples []pmSample, skipped []error, end error) {
	t.Helper()
	sc := newPMScanner(r)
	for range 10000 {
		s, err := sc.Next()
		switch {
		case err == nil:
			samples = append(samples, s)
		case errors.Is(err, errPMDocument):
			skipped = append(skipped, err)
		default:
			return samples, skipped, err
		}
	}
	t.Fatal("the scanner never ended")
	return
}

func TestPMParseRecordedSamples(t *testing.T) {
	tests := []struct {
		file                    string
		elapsed                 time.Duration
		cpu, gpu, ane, combined Watts
	}{
		// The processor dictionary's powers, in mW, as recorded.
		{"m1-macbookpro17-1.plist", 2019178750, 0.0440773, 0.0153528, 0, 0.0594301},
		{"m2ultra-mac14-14.plist", 1023721416, 0.835188, 70.9246, 0, 71.7598},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := parsePMDocument(readPMFixture(t, tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.elapsed, s.Elapsed)
			assert.True(t, s.HasCPU && s.HasGPU && s.HasANE && s.HasCombined)
			assert.InDelta(t, float64(tt.cpu), float64(s.CPU), 1e-12)
			// The gpu sampler's own gpu_energy (outside processor) is not read.
			assert.InDelta(t, float64(tt.gpu), float64(s.GPU), 1e-12)
			assert.InDelta(t, float64(tt.ane), float64(s.ANE), 1e-12)
			assert.InDelta(t, float64(tt.combined), float64(s.Combined), 1e-12)
			// The recorded energies agree with power × elapsed to the mJ.
			assert.InDelta(t, map[string]float64{"m1-macbookpro17-1.plist": 89, "m2ultra-mac14-14.plist": 855}[tt.file],
				s.CPU.For(s.Elapsed).Millijoules(), 0.5)
		})
	}
}

func TestPMParseEnergiesOnly(t *testing.T) {
	// A version that gives the energies (mJ) without the powers.
	doc := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>elapsed_ns</key><integer>500000000</integer>
<key>processor</key><dict>
<key>cpu_energy</key><integer>1500</integer><key>gpu_energy</key><integer>250</integer>
</dict></dict></plist>`
	s, err := parsePMDocument([]byte(doc))
	require.NoError(t, err)
	assert.InDelta(t, 3.0, float64(s.CPU), 1e-12)
	assert.InDelta(t, 0.5, float64(s.GPU), 1e-12)
	assert.True(t, s.HasCPU && s.HasGPU)
	assert.False(t, s.HasANE)
}

func TestPMParseRejects(t *testing.T) {
	const head = `<?xml version="1.0"?><plist version="1.0"><dict>`
	tests := map[string]string{
		"not xml":         "garbage \x01\x02 here",
		"not a plist":     `<html><body/></html>`,
		"no elapsed":      head + `<key>processor</key><dict><key>cpu_power</key><real>10</real></dict></dict></plist>`,
		"zero elapsed":    head + `<key>elapsed_ns</key><integer>0</integer><key>processor</key><dict><key>cpu_power</key><real>10</real></dict></dict></plist>`,
		"no processor":    head + `<key>elapsed_ns</key><integer>1000</integer></dict></plist>`,
		"negative power":  head + `<key>elapsed_ns</key><integer>1000</integer><key>processor</key><dict><key>cpu_power</key><real>-1</real></dict></dict></plist>`,
		"NaN power":       head + `<key>elapsed_ns</key><integer>1000</integer><key>processor</key><dict><key>cpu_power</key><real>NaN</real></dict></dict></plist>`,
		"huge power":      head + `<key>elapsed_ns</key><integer>1000</integer><key>processor</key><dict><key>gpu_power</key><real>5e9</real></dict></dict></plist>`,
		"string power":    head + `<key>elapsed_ns</key><integer>1000</integer><key>processor</key><dict><key>cpu_power</key><string>10</string></dict></dict></plist>`,
		"truncated":       head + `<key>elapsed_ns</key><integer>1000</integer><key>processor</key><dict><key>cpu_po`,
		"mismatched tags": head + `<key>elapsed_ns</key><integer>1000</real></dict></plist>`,
		"value no key":    head + `<integer>1</integer></dict></plist>`,
		"long key":        head + `<key>` + strings.Repeat("k", 100) + `</key><integer>1</integer></dict></plist>`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parsePMDocument([]byte(doc))
			require.ErrorIs(t, err, errPMDocument)
		})
	}
}

func TestPMScannerStream(t *testing.T) {
	stream := readPMFixture(t, "m1-ane-stream.plists")
	require.Equal(t, 4, bytes.Count(stream, []byte{0}))
	want := []struct {
		elapsed       time.Duration
		cpu, gpu, ane Watts
	}{
		{500871541, 4.5125, 1.20325, 0},
		{499650125, 5.12075, 0.9805, 1.410125},
		{500122708, 3.875, 1.5, 2.2505},
		{500001916, 2.21025, 0.64, 0},
	}
	for name, r := range map[string]io.Reader{
		"whole":         bytes.NewReader(stream),
		"one byte":      iotest.OneByteReader(bytes.NewReader(stream)),
		"half":          iotest.HalfReader(bytes.NewReader(stream)),
		"empty reads":   &emptyReads{r: bytes.NewReader(stream)},
		"error at last": iotest.DataErrReader(bytes.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			samples, skipped, end := pmAll(t, r)
			require.ErrorIs(t, end, io.EOF)
			assert.Empty(t, skipped)
			require.Len(t, samples, len(want))
			for i, w := range want {
				assert.Equal(t, w.elapsed, samples[i].Elapsed, i)
				assert.InDelta(t, float64(w.cpu), float64(samples[i].CPU), 1e-12, i)
				assert.InDelta(t, float64(w.gpu), float64(samples[i].GPU), 1e-12, i)
				assert.InDelta(t, float64(w.ane), float64(samples[i].ANE), 1e-12, i)
			}
		})
	}
}

// emptyReads returns nothing every other Read, as a reader may.
type emptyReads struct {
	r   io.Reader
	odd bool
}

func (e *emptyReads) Read(p []byte) (int, error) {
	e.odd = !e.odd
	if e.odd {
		return 0, nil
	}
	return e.r.Read(p)
}

func TestPMScannerSeparators(t *testing.T) {
	m1 := readPMFixture(t, "m1-macbookpro17-1.plist")
	u := readPMFixture(t, "m2ultra-mac14-14.plist")
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	nul := []byte{0}
	tests := []struct {
		name          string
		stream        []byte
		samples, skip int
	}{
		{"NUL between, none after", join(m1, nul, u), 2, 0},
		{"NUL before each (asitop's reading)", join(nul, m1, nul, u), 2, 0},
		{"no separator at all", join(m1, u), 2, 0},
		{"blank documents", join(nul, []byte("\n \n"), nul, nul, m1, nul, nul), 1, 0},
		{"truncated last document", join(m1, nul, u, nul, u[:len(u)/2]), 2, 1},
		{"truncated document before a NUL", join(m1[:1000], nul, u), 1, 1},
		{"garbage between", join(m1, nul, []byte("\x7fELF\x02\x01\xff garbage"), nul, u, nul), 2, 1},
		{"garbage at the end", join(m1, nul, []byte("not a plist")), 1, 1},
		{"empty stream", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples, skipped, end := pmAll(t, bytes.NewReader(tt.stream))
			require.ErrorIs(t, end, io.EOF)
			assert.Len(t, samples, tt.samples)
			assert.Len(t, skipped, tt.skip, "%v", skipped)
		})
	}
}

func TestPMScannerReadError(t *testing.T) {
	m1 := readPMFixture(t, "m1-macbookpro17-1.plist")
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(append(append([]byte(nil), m1...), 0)), iotest.ErrReader(boom))
	samples, skipped, end := pmAll(t, r)
	require.ErrorIs(t, end, boom)
	assert.Len(t, samples, 1)
	assert.Empty(t, skipped)
}

func TestPMScannerCapsHugeDocument(t *testing.T) {
	m1 := readPMFixture(t, "m1-macbookpro17-1.plist")
	// A document of 3 MiB (a runaway value), then a good one: the huge one
	// is skipped without being kept, and the next one still parses.
	huge := append([]byte(`<?xml version="1.0"?><plist version="1.0"><dict><key>x</key><string>`),
		bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)...)
	huge = append(huge, []byte("</string></dict></plist>")...)
	for name, stream := range map[string][]byte{
		"NUL after":    bytes.Join([][]byte{huge, m1}, []byte{0}),
		"end tag only": append(append([]byte(nil), huge...), m1...),
		"huge at end":  bytes.Join([][]byte{m1, huge[:2<<20]}, []byte{0}),
	} {
		t.Run(name, func(t *testing.T) {
			sc := newPMScanner(bytes.NewReader(stream))
			var samples, skipped int
			for {
				_, err := sc.Next()
				if err == nil {
					samples++
					continue
				}
				if errors.Is(err, errPMDocument) {
					assert.Contains(t, err.Error(), "larger than")
					skipped++
					continue
				}
				require.ErrorIs(t, err, io.EOF)
				break
			}
			assert.Equal(t, 1, samples)
			assert.Equal(t, 1, skipped)
			assert.LessOrEqual(t, cap(sc.buf), pmMaxDocument+3*pmReadChunk, "memory bounded")
		})
	}
}

func BenchmarkPMParseM2Ultra(b *testing.B) {
	doc := readPMFixture(b, "m2ultra-mac14-14.plist")
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := parsePMDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzPMScanner(f *testing.F) {
	m1, err := os.ReadFile(filepath.Join("testdata", "powermetrics", "m1-macbookpro17-1.plist"))
	require.NoError(f, err)
	f.Add(m1)
	f.Add(append(append([]byte{0}, m1...), 0))
	f.Add([]byte(`<plist><dict><key>elapsed_ns</key><integer>1</integer><key>processor</key><dict><key>ane_power</key><real>1e3</real></dict></dict></plist>`))
	f.Add([]byte("\x00\x00</plist>\x00<plist>"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		sc := newPMScanner(bytes.NewReader(stream))
		for n := 0; ; n++ {
			if n > len(stream)+2 {
				t.Fatalf("more results (%d) than bytes in the stream", n)
			}
			s, err := sc.Next()
			if err == nil {
				if !(s.Elapsed > 0) {
					t.Fatalf("sample with elapsed %v", s.Elapsed)
				}
				for p := range pmParts {
					if w, ok := s.power(p); ok && !(w >= 0 && w <= pmMaxPower) {
						t.Fatalf("part %d power %v", p, w)
					}
				}
				continue
			}
			if errors.Is(err, errPMDocument) {
				continue
			}
			if err != io.EOF {
				t.Fatalf("end: %v", err)
			}
			return
		}
	})
}

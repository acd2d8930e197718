package reliability

import (
	"bytes"
	"encoding/binary"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// minSecretLen is the shortest secret the scanner takes: it indexes
// secrets by their first 8 bytes.
const minSecretLen = 8

// scanner finds any of a set of secrets in bytes, in one pass: every
// position's next 8 bytes are looked up in an index of the secrets'
// first 8 bytes, and only candidates are compared in full.
type scanner struct {
	index map[uint64][]secret
	n     int
}

// secret is one secret and what it is, for reports (never the value).
type secret struct {
	value []byte
	label string
}

// hit is one secret found somewhere.
type hit struct {
	where, label string
}

func newScanner(t *testing.T) *scanner {
	t.Helper()
	return &scanner{index: map[uint64][]secret{}}
}

// add indexes secrets under label; duplicates are indexed once.
func (sc *scanner) add(t *testing.T, label string, values ...string) {
	t.Helper()
	for _, v := range values {
		require.GreaterOrEqual(t, len(v), minSecretLen, "%s: a secret shorter than %d bytes cannot be scanned for", label, minSecretLen)
		k := binary.LittleEndian.Uint64([]byte(v))
		dup := false
		for _, s := range sc.index[k] {
			if string(s.value) == v {
				dup = true
				break
			}
		}
		if !dup {
			sc.index[k] = append(sc.index[k], secret{value: []byte(v), label: label})
			sc.n++
		}
	}
}

// scan returns the labels of the secrets found in data, once each.
func (sc *scanner) scan(where string, data []byte) []hit {
	seen := map[string]bool{}
	var hits []hit
	for i := 0; i+minSecretLen <= len(data); i++ {
		cands, ok := sc.index[binary.LittleEndian.Uint64(data[i:])]
		if !ok {
			continue
		}
		for _, s := range cands {
			if bytes.HasPrefix(data[i:], s.value) && !seen[string(s.value)] {
				seen[string(s.value)] = true
				hits = append(hits, hit{where: where, label: s.label})
			}
		}
	}
	return hits
}

// scanFile scans one file.
func (sc *scanner) scanFile(t *testing.T, path string) ([]hit, int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return sc.scan(path, data), int64(len(data))
}

// summarize counts hits by where and label, for failure messages that
// never print a secret.
func summarize(hits []hit) string {
	n := map[string]int{}
	for _, h := range hits {
		n[h.where+": "+h.label]++
	}
	var lines []string
	for k, v := range n {
		lines = append(lines, k+" x"+strconv.Itoa(v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestScanner(t *testing.T) {
	sc := newScanner(t)
	sc.add(t, "issued", "AKIAsecretvalue1234567890", "another-secret-xyz")
	sc.add(t, "root", "root-secret-abcdef")
	sc.add(t, "issued", "AKIAsecretvalue1234567890") // duplicate
	require.Equal(t, 3, sc.n)

	cases := []struct {
		name string
		data string
		want []string
	}{
		{"none", "nothing to see here, AKIAsecretvalue123456789 (one short)", nil},
		{"at start", "AKIAsecretvalue1234567890 was logged", []string{"issued"}},
		{"at end, inside other text", `{"k":"xroot-secret-abcdef"}` + "another-secret-xyz", []string{"root", "issued"}},
		{"twice counts once", "another-secret-xyz another-secret-xyz", []string{"issued"}},
		{"too short a buffer", "abc", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range sc.scan("buf", []byte(tc.data)) {
				got = append(got, h.label)
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

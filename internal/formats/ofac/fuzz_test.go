package ofac

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// FuzzParse checks that any input either fails to parse, with no objects,
// or gives objects that all validate, with distinct ids.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(sharedtest.Path(f, "ofac", "sdn_2024-05-03_excerpt.csv"))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\r\n"))
	for _, i := range []int{0, 2, 30, 31, 36, 42, 60, 78, 84} { // Cuba, BNC's aka, YAN, LAZARUS, cut rows, WANG's Tron address
		line := lines[i]
		f.Add(line)
		f.Add(line[:len(line)/2])                                                           // cut in the middle
		f.Add(bytes.Replace(line, []byte(`,`), []byte(`;`), 3))                             // wrong columns
		f.Add(bytes.Replace(line, []byte("Address - XBT 1"), []byte("Address - XBT 0"), 1)) // bad address
		f.Add(bytes.Replace(line, []byte(`"`), []byte(``), 1))                              // broken quoting
	}
	f.Add([]byte("1,\"A GROUP\",-0- ,\"DPRK3\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - XMR 'x\\\\; a.k.a. 'B'\"\r\n\x1a"))
	f.Add([]byte("1,\"\xe9\xff\",-0- ,\"CYBER2\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - FOO bar.\"\r\n"))
	v := stix.Validator{Address: address.Canonical}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Options{ListDate: listDate})
		if err != nil {
			if res != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, o := range res.Objects {
			if err := v.Validate(o); err != nil {
				t.Fatalf("invalid object: %v", err)
			}
			if ids[o.ID] {
				t.Fatalf("id %s twice", o.ID)
			}
			ids[o.ID] = true
		}
		for _, s := range res.Skipped {
			if s.Reason == "" || strings.TrimSpace(s.String()) == "" {
				t.Fatalf("skip without a reason: %+v", s)
			}
		}
	})
}

package incidents

import (
	"bytes"
	"os"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// FuzzParse checks that any input either fails to parse, with no objects,
// or gives objects that all validate, with distinct ids.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(sharedtest.Path(f, "incidents", "dn-institute-incidents.csv"))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	head := lines[0]
	for _, i := range []int{1, 4, 5, 20, 60, 100, 124} {
		line := lines[i]
		f.Add(append(append([]byte{}, head...), line...))
		f.Add(append(append([]byte{}, head...), line[:len(line)/2]...))                               // cut
		f.Add(append(append([]byte{}, head...), bytes.Replace(line, []byte(","), []byte(";"), 2)...)) // wrong fields
		f.Add(append(append([]byte{}, head...), bytes.Replace(line, []byte("-"), []byte("/"), 1)...)) // bad date
		f.Add(append(append([]byte{}, head...), bytes.TrimRight(line, "\r\n")...))                    // no line end
		f.Add(append(bytes.Replace(head, []byte("tags"), []byte("tag"), 1), line...))                 // wrong header
	}
	f.Add(bytes.Join(lines[:12], nil))
	f.Add([]byte("date,title,targets,entity_types,attack_types,tags,loss_usd,source\n2020-01-01,a,b;b;c,x,Y;y,Lazarus Group;LAZARUS GROUP;north korea,0.001,http://x\n2020-01-01,a,,,,,,\n"))
	v := stix.Validator{Address: address.Canonical}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Options{})
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
	})
}

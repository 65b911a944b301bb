package tagpack

import (
	"bytes"
	"os"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// FuzzParse checks that any input either fails to parse, with no objects,
// or gives objects that all validate, with distinct ids, and that writing
// them and parsing the result gives them again.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"lazarus.yaml", "ronin_bridge.yaml", "exchange-wallets-bybit.yaml", "etherhiding.yaml"} {
		data, err := os.ReadFile(sharedtest.Path(f, "tagpacks", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])                                                    // cut
		f.Add(bytes.Replace(data, []byte("tags:"), []byte("tag:"), 1))               // no tags
		f.Add(bytes.Replace(data, []byte("- address: "), []byte("- address: x"), 1)) // bad address
		f.Add(bytes.Replace(data, []byte("\n  "), []byte("\n "), 2))                 // broken indentation
	}
	f.Add([]byte("creator: c\nlastmod: 2020-01-01\nlabel: a\ncurrency: XMR\nabuse: scam\nactor: x\nis_public: yes\ntags:\n- address: \"it's\\\\\"\n  confidence: 7\n- address: '42'\n  label: b\n  category: exchange\n  confidence: forensic\n"))
	f.Add([]byte("creator: &c c\nlabel: *c\ncurrency: USDT\nlastmod: 2020-01-01T10:11:12.345678+02:00\ntags:\n- address: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\n  network: TRX\n- tx_hash: 0x01\n"))
	v := stix.Validator{Address: address.Canonical}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Options{LastMod: fallback})
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
		var buf bytes.Buffer
		if err := Write(&buf, res.Objects...); err != nil {
			t.Fatalf("write: %v", err)
		}
		if len(res.Objects) == 0 {
			return
		}
		again, err := Parse(bytes.NewReader(buf.Bytes()), Options{LastMod: fallback})
		if err != nil {
			t.Fatalf("written pack does not parse: %v\n%s", err, buf.Bytes())
		}
		if d := diff(res.Objects, again.Objects); d != "" {
			t.Fatalf("parse(write(parse)) differs: %s\n%s", d, buf.Bytes())
		}
	})
}

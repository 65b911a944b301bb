package stix

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseValidate checks that any input either fails to parse or parses
// into an object that validates without panicking and survives
// serialise-then-parse with the same canonical JSON.
func FuzzParseValidate(f *testing.F) {
	f.Add([]byte(`{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","pattern":"[x:y = 'z']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`))
	f.Add([]byte(`{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5","chain":"bitcoin","value":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}`))
	f.Add([]byte(`{"type":"relationship","id":"relationship--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","source_ref":"x--y","target_ref":7,"granular_markings":[{"selectors":[]}],"extensions":{"a":1}}`))
	f.Add([]byte(`{"type":"x","id":"x--1","confidence":1e400,"labels":"no"}`))
	f.Add([]byte(`{"type":"incident","id":"incident--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","extensions":{"extension-definition--c02837cc-e775-4d9b-84db-911019e9f16f":{"losses":[{"asset":"nem:XEM","amount":"01"}]}}}`))
	addSharedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(data)
		if err != nil {
			return
		}
		_ = Validate(o)
		_, _, _ = DeterministicID(o)
		_ = o.TLP()
		c1, err := o.Canonical()
		if err != nil {
			return // e.g. numbers JCS cannot represent
		}
		if m, err := o.MarshalJSON(); err == nil {
			if c0, err := Canonicalize(m); err != nil || !bytes.Equal(c0, c1) {
				t.Fatalf("Canonical and Canonicalize(MarshalJSON) differ:\n%s\n%s (%v)", c1, c0, err)
			}
		}
		again, err := Parse(c1)
		if err != nil {
			t.Fatalf("canonical JSON does not parse: %v\n%s", err, c1)
		}
		c2, err := again.Canonical()
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("canonical JSON not stable:\n%s\n%s (%v)", c1, c2, err)
		}
		if _, err := o.Clone().NormalizeMarkings(); err != nil {
			return
		}
	})
}

// FuzzParseBundle checks bundle parsing the same way.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"campaign","id":"campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc"}]}`))
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[1,{}]}`))
	addSharedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		for _, o := range b.Objects {
			_ = Validate(o)
		}
		c1, err := b.Canonical()
		if err != nil {
			return
		}
		again, err := ParseBundle(c1)
		if err != nil {
			t.Fatalf("canonical bundle does not parse: %v", err)
		}
		if len(again.Objects) != len(b.Objects) {
			t.Fatalf("object count changed: %d -> %d", len(b.Objects), len(again.Objects))
		}
	})
}

// addSharedSeeds seeds a fuzz target with the official STIX examples when
// the shared data is present.
func addSharedSeeds(f *testing.F) {
	dir := os.Getenv("COINTRAIL_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "stix", "*.json"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 8<<10 {
			f.Add(data)
		}
	}
}

// FuzzScalars checks the parsers of the scalar values outside input
// carries: timestamps, base-unit amounts, USD figures, TLP names.
func FuzzScalars(f *testing.F) {
	for _, s := range []string{"2018-01-26T00:02:00.000Z", "2018-01-26T09:02:00+09:00", "523000000000000", "0", "007", "-1", "5.3e6", "530000000.00", "amber+strict", "TLP:WHITE", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseTime(s); err == nil {
			if tm.Location().String() != "UTC" {
				t.Fatalf("ParseTime(%q) is not UTC", s)
			}
			if again, err := ParseTime(FormatTime(tm)); err != nil || !again.Equal(tm.Truncate(1e6)) {
				t.Fatalf("FormatTime round trip of %q: %v", s, err)
			}
		}
		if n, err := ParseAmount(s); err == nil && n.String() != s {
			t.Fatalf("ParseAmount(%q) = %s", s, n)
		}
		if r, err := ParseUSD(s); err == nil && r.Sign() < 0 {
			t.Fatalf("ParseUSD(%q) is negative", s)
		}
		if level, err := ParseTLP(s); err == nil {
			if again, err := ParseTLP(level.String()); err != nil || again != level {
				t.Fatalf("ParseTLP round trip of %q", s)
			}
		}
	})
}

package stix

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/sharedtest"
)

func mustParse(tb testing.TB, s string) *Object {
	tb.Helper()
	o, err := Parse([]byte(s))
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	return o
}

// TestSharedBundles checks every official example bundle: it parses,
// every object validates, and parse-then-serialise keeps the RFC 8785
// canonical JSON byte for byte.
func TestSharedBundles(t *testing.T) {
	files := sharedtest.Glob(t, "stix/*.json")
	bundles := 0
	for _, path := range files {
		if filepath.Base(path) == "interop-objectmarking-test.json" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseBundle(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(b.Objects) == 0 {
				t.Fatal("bundle has no objects")
			}
			inBundle := map[string]bool{}
			for _, o := range b.Objects {
				if o.Type == "marking-definition" {
					inBundle[o.ID] = true
				}
			}
			v := Validator{KnownMarking: func(id string) bool { return inBundle[id] }}
			for _, o := range b.Objects {
				if err := v.Validate(o); err != nil {
					t.Errorf("validate: %v", err)
				}
			}
			want, err := Canonicalize(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("canonical JSON changed in the round trip:\n got %.300s\nwant %.300s", got, want)
			}
		})
		bundles++
	}
	if bundles < 7 {
		t.Errorf("checked %d bundles, want the 7 shared ones", bundles)
	}
}

// TestUnknownMarking is the OASIS interop case: a campaign citing TLP:RED
// (known, under its TLP 1.0 id) and a marking definition nobody defines.
func TestUnknownMarking(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Path(t, "stix", "interop-objectmarking-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Parse(data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := Validate(o); err != nil {
		t.Fatalf("the object is valid on its own, got %v", err)
	}
	err = Validator{KnownMarking: func(string) bool { return false }}.Validate(o)
	if err == nil {
		t.Fatal("a reference to an unknown marking definition was accepted")
	}
	const unknown = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"
	if !strings.Contains(err.Error(), unknown) {
		t.Errorf("error %q does not name %s", err, unknown)
	}
	if strings.Contains(err.Error(), TLP1RedID) {
		t.Errorf("error %q names the known TLP:RED marking", err)
	}
	if got := o.TLP(); got != TLPRed {
		t.Errorf("TLP = %v, want red", got)
	}
}

func TestDeterministicID(t *testing.T) {
	tests := []struct {
		name, obj, want string
	}{
		{
			// python-stix2 test_deterministic_ids.py test_id_gen_recursive_dict_conversion_1
			"file with extension", `{"type":"file","id":"file--00000000-0000-4000-8000-000000000000","name":"example.exe","size":68000,"magic_number_hex":"50000000",
			"hashes":{"SHA-256":"841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"},
			"extensions":{"windows-pebinary-ext":{"pe_type":"exe","machine_hex":"014c","sections":[{"name":".data","size":4096,"entropy":7.980693,"hashes":{"SHA-256":"6e3b6f3978e5cd96ba7abee35c24e867b7e64072e2ecb22d0ee7a6e6af6894d0"}}]}}}`,
			"file--ced31cd4-bdcb-537d-aefa-92d291bfc11d",
		},
		{
			// python-stix2 test_deterministic_ids.py test_id_gen_recursive_dict_conversion_2
			"registry key values", `{"type":"windows-registry-key","id":"windows-registry-key--00000000-0000-4000-8000-000000000000",
			"values":[{"name":"Foo","data":"qwerty"},{"name":"Bar","data":"42"}]}`,
			"windows-registry-key--36594eba-bcc7-5014-9835-0e154264e588",
		},
		{
			// Only one hash contributes, MD5 first; other properties do not.
			"file picks MD5", `{"type":"file","id":"file--00000000-0000-4000-8000-000000000000","size":5,
			"hashes":{"SHA-256":"841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649","MD5":"d41d8cd98f00b204e9800998ecf8427e"}}`,
			"", // computed below from the MD5 alone
		},
		{
			"bitcoin wallet", `{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--00000000-0000-4000-8000-000000000000","chain":"bitcoin","value":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}`,
			"cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5",
		},
		{
			"ethereum wallet", `{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--00000000-0000-4000-8000-000000000000","chain":"ethereum","value":"0x098b716b8aaf21512996dc57eb0615e2383e2f96","extensions":{"x":{}}}`,
			"cryptocurrency-wallet--cd4967a9-0067-5446-990f-32b0de26fa4a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.obj)
			got, ok, err := DeterministicID(o)
			if err != nil || !ok {
				t.Fatalf("DeterministicID = %q, %v, %v", got, ok, err)
			}
			want := tt.want
			if want == "" {
				md5 := mustParse(t, `{"type":"file","id":"file--00000000-0000-4000-8000-000000000000","hashes":{"MD5":"d41d8cd98f00b204e9800998ecf8427e"}}`)
				want, _, _ = DeterministicID(md5)
			}
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
	// Process has no contributing properties: no deterministic id.
	if _, ok, _ := DeterministicID(mustParse(t, `{"type":"process","id":"process--00000000-0000-4000-8000-000000000000","pid":1}`)); ok {
		t.Error("process got a deterministic id")
	}
}

func TestTLPMapping(t *testing.T) {
	tests := []struct {
		id   string
		want TLP
		to   string
	}{
		{TLPClearID, TLPClear, TLPClearID},
		{TLP1WhiteID, TLPClear, TLPClearID},
		{OpenCTIClearID, TLPClear, TLPClearID},
		{TLP1GreenID, TLPGreen, TLPGreenID},
		{TLP1AmberID, TLPAmber, TLPAmberID},
		{OpenCTIAmberStrictID, TLPAmberStrict, TLPAmberStrictID},
		{TLPAmberStrictID, TLPAmberStrict, TLPAmberStrictID},
		{TLP1RedID, TLPRed, TLPRedID},
		{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec", TLPNone, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"},
	}
	for _, tt := range tests {
		got, _ := TLPOf(tt.id)
		if got != tt.want {
			t.Errorf("TLPOf(%s) = %v, want %v", tt.id, got, tt.want)
		}
		if c := CanonicalMarkingID(tt.id); c != tt.to {
			t.Errorf("CanonicalMarkingID(%s) = %s, want %s", tt.id, c, tt.to)
		}
	}
	o := mustParse(t, `{"type":"campaign","id":"campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","object_marking_refs":["`+TLP1WhiteID+`","`+TLPClearID+`"],
		"granular_markings":[{"marking_ref":"`+OpenCTIAmberStrictID+`","selectors":["name"]}]}`)
	changed, err := o.NormalizeMarkings()
	if err != nil || !changed {
		t.Fatalf("NormalizeMarkings = %v, %v", changed, err)
	}
	if got := o.Strings("object_marking_refs"); len(got) != 1 || got[0] != TLPClearID {
		t.Errorf("object_marking_refs = %v, want [%s]", got, TLPClearID)
	}
	if got := o.MarkingRefs(); len(got) != 2 || got[1] != TLPAmberStrictID {
		t.Errorf("MarkingRefs = %v", got)
	}
	if o.TLP() != TLPAmberStrict {
		t.Errorf("TLP = %v, want amber+strict (granular marking counts)", o.TLP())
	}
	for _, md := range TLPMarkingDefinitions() {
		if err := Validate(md); err != nil {
			t.Errorf("%s: %v", md.ID, err)
		}
	}
}

func TestExtensionDefinitionsValid(t *testing.T) {
	for _, o := range ExtensionDefinitions() {
		if err := Validate(o); err != nil {
			t.Errorf("%v", err)
		}
	}
}

const (
	okCreated = `"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z"`
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		obj  string
		want string // substring of the error; "" means valid
	}{
		{"indicator ok", `{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"pattern":"[ipv4-addr:value = '10.0.0.0']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`, ""},
		{"indicator without pattern", `{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`, `"pattern"`},
		{"indicator without pattern_type", `{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"pattern":"[x:y = 'z']","valid_from":"2018-01-26T00:00:00Z"}`, `"pattern_type"`},
		{"indicator without valid_from", `{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"pattern":"[x:y = 'z']","pattern_type":"stix"}`, `"valid_from"`},
		{"valid_until not after valid_from", `{"type":"indicator","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"pattern":"[x:y = 'z']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","valid_until":"2018-01-26T00:00:00Z"}`, "valid_until"},
		{"id of another type", `{"type":"campaign","id":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x"}`, "campaign--UUID"},
		{"id without uuid", `{"type":"campaign","id":"campaign--1234",` + okCreated + `,"name":"x"}`, "UUID"},
		{"bad type name", `{"type":"Campaign","id":"Campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x"}`, "type name"},
		{"spec_version 2.0", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.0","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"x"}`, "spec_version"},
		{"no spec_version", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"x"}`, "spec_version"},
		{"sco without spec_version", `{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`, ""},
		{"local time", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.1","created":"2018-01-26T09:00:00+09:00","modified":"2018-01-26T09:00:00+09:00","name":"x"}`, "UTC"},
		{"created after modified", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.1","created":"2018-01-27T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"x"}`, "earlier than created"},
		{"no modified", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.1","created":"2018-01-27T00:00:00.000Z","name":"x"}`, `"modified"`},
		{"created_by_ref to a campaign", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","created_by_ref":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"}`, "must be \"identity\""},
		{"marking ref to an identity", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","object_marking_refs":["identity--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"]}`, "marking-definition"},
		{"relationship to a marking", `{"type":"relationship","id":"relationship--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"relationship_type":"uses","source_ref":"threat-actor--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","target_ref":"` + TLPRedID + `"}`, "target_ref"},
		{"relationship ok with unknown target", `{"type":"relationship","id":"relationship--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"relationship_type":"uses","source_ref":"threat-actor--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","target_ref":"x-custom-thing--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"}`, ""},
		{"sighting of an observable", `{"type":"sighting","id":"sighting--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"sighting_of_ref":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"}`, "sighting_of_ref"},
		{"where sighted a malware", `{"type":"sighting","id":"sighting--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"sighting_of_ref":"indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","where_sighted_refs":["malware--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"]}`, "where_sighted_refs"},
		{"ref not an id", `{"type":"report","id":"report--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"r","published":"2018-01-26T00:00:00Z","object_refs":["nonsense"]}`, "not a STIX identifier"},
		{"report without published", `{"type":"report","id":"report--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"r","object_refs":["incident--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"]}`, `"published"`},
		{"confidence 101", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","confidence":101}`, "confidence"},
		{"labels not strings", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","labels":[1]}`, "labels"},
		{"external ref with only a name", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","external_references":[{"source_name":"x"}]}`, "external_references[0]"},
		{"bad property name", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","bad-name":1}`, "property name"},
		{"unknown property kept", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","x_opencti_score":50}`, ""},
		{"location without place", `{"type":"location","id":"location--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x"}`, "region, country"},
		{"marking definition tlp", `{"type":"marking-definition","id":"marking-definition--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"purple"}}`, "definition.tlp"},
		{"wallet without value", `{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","chain":"bitcoin"}`, `"value"`},
		{"incident with float amount", `{"type":"incident","id":"incident--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","extensions":{"` + IncidentExtensionID + `":{"extension_type":"property-extension","losses":[{"asset":"nem:XEM","amount":"5.23e14"}]}}}`, "base units"},
		{"incident with losses", `{"type":"incident","id":"incident--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","extensions":{"` + IncidentExtensionID + `":{"extension_type":"property-extension","occurred":"2018-01-26T00:02:00.000Z","losses":[{"asset":"nem:XEM","amount":"523000000000000","usd":"530000000.00","source":"x"}]}}}`, ""},
		{"recipient not an identity", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","extensions":{"` + SharingExtensionID + `":{"extension_type":"property-extension","recipients":["campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9"]}}}`, "recipients[0]"},
		{"bad wallet role", `{"type":"relationship","id":"relationship--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"relationship_type":"related-to","source_ref":"cryptocurrency-wallet--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","target_ref":"incident--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9","extensions":{"` + RoleExtensionID + `":{"extension_type":"property-extension","role":"buyer"}}}`, "wallet role"},
		{"bad extension type", `{"type":"campaign","id":"campaign--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9",` + okCreated + `,"name":"x","extensions":{"extension-definition--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9":{"extension_type":"new-thing"}}}`, "extension_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(mustParse(t, tt.obj))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("want an error naming %s, got none", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not mention %s", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"type":1,"id":"x"}`, `{"id":"x--y"}`, `{"type":"x"`, `{"type":"a","id":"b"} {}`, `null`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
	for _, in := range []string{`{"type":"bundle"}`, `{"type":"bundle","id":"bundle--x"}`, `{"type":"report","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982"}`,
		`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":{}}`,
		`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[1]}`} {
		if _, err := ParseBundle([]byte(in)); err == nil {
			t.Errorf("ParseBundle(%q) succeeded", in)
		}
	}
}

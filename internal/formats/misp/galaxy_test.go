package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

const lazarusUUID = "68391641-859f-4a9a-9a1e-3e5cf71ec376"

func MustParseGalaxy(tb testing.TB, data []byte) *Result {
	tb.Helper()
	res, err := ParseGalaxy(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("ParseGalaxy: %v", err)
	}
	for _, o := range res.Objects {
		if err := validator.Validate(o); err != nil {
			tb.Errorf("invalid object: %v", err)
		}
	}
	return res
}

func TestParseGalaxyDPRK(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Path(t, "misp", "galaxy", "threat-actor-dprk.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := MustParseGalaxy(t, data)
	var file struct {
		Version int `json:"version"`
		Values  []struct {
			UUID  string `json:"uuid"`
			Value string `json:"value"`
			Meta  struct {
				Synonyms []string `json:"synonyms"`
				Refs     []string `json:"refs"`
			} `json:"meta"`
		} `json:"values"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	objs := byID(res.Objects)
	var names []string
	for _, v := range file.Values {
		ta := objs[stix.ImportID("threat-actor", "misp-galaxy", v.UUID)]
		if ta == nil {
			t.Fatalf("no threat-actor for %s", v.Value)
		}
		names = append(names, ta.String("name"))
		want := slices.DeleteFunc(slices.Clone(v.Meta.Synonyms), func(s string) bool { return strings.EqualFold(s, v.Value) })
		if !slices.Equal(ta.Strings("aliases"), want) {
			t.Errorf("%s: aliases %q, want the synonyms but the name %q", v.Value, ta.Strings("aliases"), want)
		}
		if ta.TLP() != stix.TLPClear || ta.String("created") != "1970-01-01T00:00:00.000Z" {
			t.Errorf("%s: %s, created %s", v.Value, ta.TLP().Label(), ta.String("created"))
		}
		if want := stix.FormatTime(epoch.Add(time.Duration(file.Version) * time.Second)); ta.Modified() != want {
			t.Errorf("%s: modified %s, want %s (version %d)", v.Value, ta.Modified(), want, file.Version)
		}
		var refs []map[string]string
		ta.Decode("external_references", &refs)
		if len(refs) != 1+len(v.Meta.Refs) || refs[0]["external_id"] != v.UUID {
			t.Errorf("%s: %d external references, want the uuid and %d refs", v.Value, len(refs), len(v.Meta.Refs))
		}
		rel := objs[stix.ImportID("relationship", "misp-galaxy", v.UUID, "located-at", "KP")]
		if rel == nil || rel.String("source_ref") != ta.ID || rel.String("target_ref") != stix.ImportID("location", "country", "KP") {
			t.Errorf("%s: not located at KP", v.Value)
		}
	}
	if !slices.Equal(names, []string{"Lazarus Group", "Kimsuky", "TraderTraitor"}) {
		t.Errorf("threat-actors %q", names)
	}
	lazarus := objs[stix.ImportID("threat-actor", "misp-galaxy", lazarusUUID)]
	if n := len(lazarus.Strings("aliases")); n != 40 {
		t.Errorf("Lazarus Group has %d aliases, want its 40 synonyms", n)
	}
	for _, alias := range []string{"APT38", "Hidden Cobra", "Bluenoroff", "TA404"} {
		if !slices.Contains(lazarus.Strings("aliases"), alias) {
			t.Errorf("Lazarus Group lacks the alias %s", alias)
		}
	}
	var meta map[string]json.RawMessage
	lazarus.Decode("x_misp_meta", &meta)
	if _, ok := meta["cfr-suspected-state-sponsor"]; !ok || meta["synonyms"] != nil {
		t.Errorf("x_misp_meta keys: %v", keys(meta))
	}
	if len(res.Objects) != 3+3+1 {
		t.Errorf("%d objects, want 3 threat-actors, 3 located-at and one location", len(res.Objects))
	}
	if again := MustParseGalaxy(t, data); !slices.Equal(canonicals(t, res.Objects), canonicals(t, again.Objects)) {
		t.Error("two parses differ")
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestEventClusterIsGalaxyCluster checks that a cluster an event carries
// is the same threat-actor as the galaxy file's, so importing both changes
// nothing.
func TestEventClusterIsGalaxyCluster(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Path(t, "misp", "galaxy", "threat-actor-dprk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Version json.RawMessage   `json:"version"`
		Values  []json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var clusters []string
	for _, v := range file.Values {
		var c map[string]json.RawMessage
		json.Unmarshal(v, &c)
		c["type"] = json.RawMessage(`"threat-actor"`)
		c["version"] = json.RawMessage(fmt.Sprintf("%q", file.Version))
		clusters = append(clusters, string(mustJSON(c)))
	}
	event := `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","distribution":"0",
		"Galaxy":[{"uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","type":"threat-actor","GalaxyCluster":[` + strings.Join(clusters, ",") + `]}]}}`
	fromEvent := byID(MustParseEvents(t, []byte(event)).Objects)
	for _, o := range MustParseGalaxy(t, data).Objects {
		e := fromEvent[o.ID]
		if e == nil {
			t.Errorf("the event lacks %s", o.ID)
			continue
		}
		a, _ := o.Canonical()
		b, _ := e.Canonical()
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs:\ngalaxy %s\nevent  %s", o.ID, a, b)
		}
	}
}

func TestParseGalaxyErrors(t *testing.T) {
	tests := []struct {
		name, input string
		code        fault.Code
		mention     string
	}{
		{"not JSON", `{"values": [`, fault.Malformed, "not a galaxy cluster file"},
		{"no values", `{"type": "threat-actor"}`, fault.Malformed, `no "values"`},
		{"other galaxy", `{"name": "Tool", "type": "tool", "values": []}`, fault.Invalid, `type "tool"`},
		{"no uuid", `{"type": "threat-actor", "values": [{"value": "X"}]}`, fault.Malformed, `cluster 1 ("X") has no uuid`},
		{"no value", `{"type": "threat-actor", "values": [{"uuid": "` + lazarusUUID + `"}]}`, fault.Malformed, "has no value"},
		{"bad synonyms", `{"type": "threat-actor", "values": [{"uuid": "` + lazarusUUID + `", "value": "X", "meta": {"synonyms": {"a": 1}}}]}`, fault.Malformed, "meta synonyms"},
		{"bad version", `{"type": "threat-actor", "version": "new", "values": [{"uuid": "` + lazarusUUID + `", "value": "X"}]}`, fault.Malformed, `version "new"`},
		{"trailing data", `{"type": "threat-actor", "values": []} {}`, fault.Malformed, "data after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseGalaxy(strings.NewReader(tc.input))
			if err == nil || res != nil {
				t.Fatalf("ParseGalaxy = %v, %v; want an error", res, err)
			}
			if fault.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %v (%s), want %s mentioning %q", err, fault.CodeOf(err), tc.code, tc.mention)
			}
		})
	}
	res := MustParseGalaxy(t, []byte(`{"type": "threat-actor", "values": [{"uuid": "`+lazarusUUID+`", "value": "X", "meta": {"country": ["KP", "Korea"]}}]}`))
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `"Korea"`) || len(res.Objects) != 3 {
		t.Errorf("notes %q, %d objects", res.Notes, len(res.Objects))
	}
}

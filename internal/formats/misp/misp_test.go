package misp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The node organisations the test event's sharing group names.
const (
	fiuID      = "identity--a1b2c3d4-0001-4a5b-8c6d-7e8f90a1b2c3"
	exchangeID = "identity--b2c3d4e5-0002-4b6c-9d7e-8f90a1b2c3d4"
)

func testOrgs(name, uuid string) (string, bool) {
	switch name {
	case "Example FIU":
		return fiuID, true
	case "Example Exchange":
		return exchangeID, true
	}
	return "", false
}

var validator = stix.Validator{Address: address.Canonical}

// MustParseEvents parses data and checks that every object is valid.
func MustParseEvents(tb testing.TB, data []byte) *Result {
	tb.Helper()
	res, err := ParseEvents(bytes.NewReader(data), Options{Orgs: testOrgs})
	if err != nil {
		tb.Fatalf("ParseEvents: %v", err)
	}
	for _, o := range res.Objects {
		if err := validator.Validate(o); err != nil {
			tb.Errorf("invalid object: %v", err)
		}
	}
	return res
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update to accept it); got:\n%s", path, got)
	}
}

func indented(tb testing.TB, objs []*stix.Object) []byte {
	data, err := json.MarshalIndent(objs, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(data, '\n')
}

// canonicals returns the sorted canonical JSON of objs.
func canonicals(tb testing.TB, objs []*stix.Object) []string {
	tb.Helper()
	out := make([]string, len(objs))
	for i, o := range objs {
		c, err := o.Canonical()
		if err != nil {
			tb.Fatalf("%s: %v", o.ID, err)
		}
		out[i] = string(c)
	}
	slices.Sort(out)
	return out
}

func byID(objs []*stix.Object) map[string]*stix.Object {
	m := map[string]*stix.Object{}
	for _, o := range objs {
		m[o.ID] = o
	}
	return m
}

func TestLazarusEvent(t *testing.T) {
	res := MustParseEvents(t, readFile(t, "lazarus-theft.json"))
	golden(t, "lazarus-theft.stix.json", indented(t, res.Objects))

	count := map[string]int{}
	for _, o := range res.Objects {
		count[o.Type]++
	}
	want := map[string]int{
		"report": 1, "indicator": 5, "observed-data": 4, "x-misp-attribute": 1, "x-misp-object": 1,
		"cryptocurrency-wallet": 8, "cryptocurrency-transaction": 2,
		"threat-actor": 1, "location": 1, "relationship": 1,
	}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%d %s objects, want %d", count[typ], typ, n)
		}
	}
	if len(res.Objects) != 25 {
		t.Errorf("%d objects, want 25", len(res.Objects))
	}
	for _, s := range []string{"bad checksum", `"Partner CERT"`, "8e4f-5a6b7c8d9e08: deleted", "mitre-attack-pattern", "event reports"} {
		if !slices.ContainsFunc(res.Skipped, func(x string) bool { return strings.Contains(x, s) }) {
			t.Errorf("skipped %q does not mention %s", res.Skipped, s)
		}
	}
	if len(res.Skipped) != 5 {
		t.Errorf("skipped %d values, want 5: %q", len(res.Skipped), res.Skipped)
	}

	objs := byID(res.Objects)
	report := objs[stix.ImportID("report", "misp-event", "5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60")]
	if report == nil {
		t.Fatal("no report for the event")
	}
	if report.TLP() != stix.TLPAmber || !slices.Equal(report.Recipients(), []string{fiuID, exchangeID}) {
		t.Errorf("report: %s to %v, want TLP:AMBER to the FIU and the exchange", report.TLP().Label(), report.Recipients())
	}
	if got := report.String("published"); got != "2024-06-03T01:00:00.000Z" {
		t.Errorf("published %s", got)
	}
	for _, id := range report.Strings("object_refs") {
		if objs[id] == nil {
			t.Errorf("report refers to %s, which the event did not give", id)
		}
	}
	if len(report.Strings("object_refs")) != 24 {
		t.Errorf("report refers to %d objects, want all 24 others", len(report.Strings("object_refs")))
	}
	if labels := report.Strings("labels"); slices.Contains(labels, `misp-galaxy:threat-actor="Lazarus Group"`) || !slices.Contains(labels, "tlp:amber") {
		t.Errorf("labels %q", labels)
	}

	// Wallets: canonical values, marked by the attributes that name them.
	wallet := func(chain, value string) *stix.Object {
		t.Helper()
		o := objs[walletID(chain, value)]
		if o == nil {
			t.Fatalf("no wallet %s:%s", chain, value)
		}
		return o
	}
	if w := wallet("bitcoin", "bc1qcm8l3laalrczt6rpsp2v3e5xznessg9q0y9df0"); w.TLP() != stix.TLPAmber {
		t.Errorf("bech32 wallet %s", w.TLP().Label())
	}
	if w := wallet("bitcoin", "31n4M2feHR3GZqLJ75r4XBVF6cWy9wfaU4"); w.TLP() != stix.TLPRed || len(w.Recipients()) != 2 {
		t.Errorf("tlp:red attribute's wallet: %s to %v, want TLP:RED to the sharing group", w.TLP().Label(), w.Recipients())
	}
	if w := wallet("dash", "XkuMQxCzar4aDG4r6BrssxvXGhN1DA6kCL"); w.TLP() != stix.TLPAmber || w.Recipients() != nil {
		t.Errorf("distribution 0 wallet: %s to %v, want TLP:AMBER to no one", w.TLP().Label(), w.Recipients())
	}
	wallet("ethereum", "0x96570d45dfbeb65f9218a47951c991559cf5fc83")
	wallet("ethereum", "0x2bdd36e41da1c9590e9ca7da0981dd063f5b421e")
	wallet("monero", "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD")

	ind := objs[stix.ImportID("indicator", "misp-attribute", "0d5a1c64-1a2b-4c3d-8e4f-5a6b7c8d9e01")]
	if ind == nil || ind.String("pattern") != "[cryptocurrency-wallet:chain = 'bitcoin' AND cryptocurrency-wallet:value = 'bc1qcm8l3laalrczt6rpsp2v3e5xznessg9q0y9df0']" ||
		ind.String("description") != "First hop from the hot wallet" || ind.String("valid_from") != "2024-05-31T13:45:10.123456Z" {
		t.Errorf("indicator of the first btc attribute: %s", mustJSON(ind))
	}

	// Transactions, amounts in base units.
	btc := objs[txID("bitcoin", "f9dee5ee0ae5ec6e1f03974723d0b8085a7e9a2650b017e5c795f201c6508e05")]
	var inputs []ioEntry
	if btc == nil {
		t.Fatal("no bitcoin transaction")
	}
	btc.Decode("inputs", &inputs)
	if !slices.Equal(inputs, []ioEntry{{"1NbPuKEaZ9TX9coKseyHmSZArEDeUeodEm", "1250000000"}}) || btc.String("timestamp") != "2024-05-31T13:40:02Z" {
		t.Errorf("bitcoin transaction: %s", mustJSON(btc))
	}
	eth := objs[txID("ethereum", "0xfe90b6efb08699c86069257c1eb790b87629655e5545d22a6d0e6a11d337b2c6")]
	var transfers []transfer
	if eth == nil {
		t.Fatal("no ethereum transaction")
	}
	eth.Decode("transfers", &transfers)
	if !slices.Equal(transfers, []transfer{{To: "0x96570d45dfbeb65f9218a47951c991559cf5fc83", Asset: "ethereum:ETH", Amount: "1500250000000000000000"}}) {
		t.Errorf("ethereum transaction: %s", mustJSON(eth))
	}

	ta := objs[stix.ImportID("threat-actor", "misp-galaxy", "68391641-859f-4a9a-9a1e-3e5cf71ec376")]
	if ta == nil || ta.String("name") != "Lazarus Group" || ta.TLP() != stix.TLPClear || len(ta.Strings("aliases")) != 4 {
		t.Fatalf("threat-actor: %s", mustJSON(ta))
	}
	loc := objs[stix.ImportID("location", "country", "KP")]
	rel := objs[stix.ImportID("relationship", "misp-galaxy", "68391641-859f-4a9a-9a1e-3e5cf71ec376", "located-at", "KP")]
	if loc == nil || rel == nil || rel.String("source_ref") != ta.ID || rel.String("target_ref") != loc.ID {
		t.Errorf("located-at: %s %s", mustJSON(rel), mustJSON(loc))
	}
}

func TestRoundTrip(t *testing.T) {
	res := MustParseEvents(t, readFile(t, "lazarus-theft.json"))
	var out bytes.Buffer
	if err := WriteEvents(&out, res.Objects); err != nil {
		t.Fatal(err)
	}
	golden(t, "lazarus-theft.export.json", out.Bytes())

	again := MustParseEvents(t, out.Bytes())
	if a, b := canonicals(t, res.Objects), canonicals(t, again.Objects); !slices.Equal(a, b) {
		t.Errorf("export then import changed the objects:\n%s", diff(a, b))
	}
	if len(again.Skipped) != 1 || !strings.Contains(again.Skipped[0], "Partner CERT") {
		t.Errorf("re-import skipped %q, want only the unknown organisation", again.Skipped)
	}
	var out2 bytes.Buffer
	if err := WriteEvents(&out2, again.Objects); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), out2.Bytes()) {
		t.Errorf("second export differs:\n%s\n%s", out.Bytes(), out2.Bytes())
	}
}

// diff lists the canonical objects only one side has.
func diff(a, b []string) string {
	var s strings.Builder
	for _, x := range a {
		if !slices.Contains(b, x) {
			s.WriteString("- " + x + "\n")
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			s.WriteString("+ " + x + "\n")
		}
	}
	return s.String()
}

func TestDeterministic(t *testing.T) {
	data := readFile(t, "lazarus-theft.json")
	a := canonicals(t, MustParseEvents(t, data).Objects)
	b := canonicals(t, MustParseEvents(t, data).Objects)
	if !slices.Equal(a, b) {
		t.Errorf("two parses differ:\n%s", diff(a, b))
	}
}

const minimal = `{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","distribution":"3",
"Attribute":[{"uuid":"11111111-2222-4333-8444-000000000001","type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","to_ids":true}]}`

func TestInputForms(t *testing.T) {
	wrapped := `{"Event":` + minimal + `}`
	second := strings.ReplaceAll(minimal, "555555555555", "666666666666")
	tests := []struct {
		name   string
		input  string
		events int
	}{
		{"event view", wrapped, 1},
		{"bare feed event", minimal, 1},
		{"list", `[` + wrapped + `,{"Event":` + second + `}]`, 2},
		{"REST response", `{"response":[` + wrapped + `,{"Event":` + second + `}]}`, 2},
		{"REST response of one", `{"response":` + wrapped + `}`, 1},
		{"one a line", wrapped + "\n" + `{"Event":` + second + "}\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := MustParseEvents(t, []byte(tc.input))
			if res.Events != tc.events {
				t.Errorf("%d events, want %d", res.Events, tc.events)
			}
			n := 0
			for _, o := range res.Objects {
				if o.Type == "report" {
					n++
					if o.TLP() != stix.TLPClear {
						t.Errorf("distribution 3 gave %s", o.TLP().Label())
					}
				}
			}
			if n != tc.events {
				t.Errorf("%d reports, want %d", n, tc.events)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	attr := func(extra string) string {
		return `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","Attribute":[{"uuid":"11111111-2222-4333-8444-000000000001",` + extra + `}]}}`
	}
	object := func(name, attrs string) string {
		return `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","Object":[{"uuid":"11111111-2222-4333-8444-000000000002","name":"` + name + `","Attribute":[` + attrs + `]}]}}`
	}
	oattr := func(n int, rel, typ, value string) string {
		return `{"uuid":"11111111-2222-4333-8444-00000000010` + string(rune('0'+n)) + `","object_relation":"` + rel + `","type":"` + typ + `","value":"` + value + `"}`
	}
	tests := []struct {
		name, input, mention string
	}{
		{"not JSON", `{"Event": {`, "not JSON"},
		{"empty", ``, "no MISP event"},
		{"not an event", `{"foo": 1}`, "not a MISP event"},
		{"manifest", `{"5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60": {"info": "x"}}`, "manifest"},
		{"no uuid", `{"Event":{"info":"x","timestamp":"1"}}`, "event 1 has no uuid"},
		{"bad uuid", `{"Event":{"uuid":"nope","info":"x","timestamp":"1"}}`, `"nope" is not a UUID`},
		{"no info", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","timestamp":"1"}}`, "no info"},
		{"second event bad", `[{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1"}},{"Event":{"info":"y"}}]`, "event 2 has no uuid"},
		{"no timestamp", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x"}}`, "no timestamp"},
		{"bad timestamp", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"yesterday"}}`, "timestamp"},
		{"bad distribution", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1","distribution":"9"}}`, "distribution"},
		{"attribute without type", attr(`"value":"a"`), "000000000001 has no type"},
		{"attribute without value", attr(`"type":"btc"`), "000000000001 has no value"},
		{"attribute without uuid", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1","Attribute":[{"type":"btc","value":"x"}]}}`, "attribute 1 has no uuid"},
		{"attribute value an object", attr(`"type":"text","value":{"a":1}`), "expected a string"},
		{"last before first", attr(`"type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","first_seen":"2024-01-02T00:00:00Z","last_seen":"2024-01-01T00:00:00Z"`), "last_seen is before first_seen"},
		{"bad first_seen", attr(`"type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","first_seen":"soon"`), "first_seen"},
		{"coin-address without address", object("coin-address", oattr(1, "symbol", "text", "BTC")), "coin-address 11111111-2222-4333-8444-000000000002 has no one of address, address-xmr, address-crypto"},
		{"btc-transaction without anything", object("btc-transaction", oattr(1, "value_EUR", "float", "1")), "has no one of transaction-number, time, value_BTC"},
		{"transaction without anything", object("transaction", oattr(1, "text", "text", "x")), "has no one of transaction-number"},
		{"object attribute without relation", object("coin-address", `{"uuid":"11111111-2222-4333-8444-000000000101","type":"btc","value":"x"}`), "has no object_relation"},
		{"satoshi fraction", object("btc-transaction", oattr(1, "transaction-number", "text", "ab")+","+oattr(2, "value_BTC", "float", "0.000000001")), "more decimal places than the base unit"},
		{"wei fraction", object("cryptocurrency-transaction", oattr(1, "symbol", "text", "ETH")+","+oattr(2, "value", "float", "1.0000000000000000001")), "more decimal places"},
		{"amount not a number", object("btc-transaction", oattr(1, "value_BTC", "float", "lots")), "not a decimal amount"},
		{"bad galaxy meta", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1","Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"uuid":"68391641-859f-4a9a-9a1e-3e5cf71ec376","value":"L","meta":{"synonyms":[1]}}]}]}}`, "meta synonyms"},
		{"cluster without uuid", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1","Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"value":"L"}]}]}}`, `cluster "L" has no uuid`},
		{"uuid twice", `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1","Attribute":[
			{"uuid":"11111111-2222-4333-8444-000000000001","type":"text","value":"a"},{"uuid":"11111111-2222-4333-8444-000000000001","type":"text","value":"b"}]}}`, "also that of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseEvents(strings.NewReader(tc.input), Options{})
			if err == nil {
				t.Fatalf("no error; %d objects", len(res.Objects))
			}
			if res != nil {
				t.Errorf("objects returned with the error")
			}
			if fault.CodeOf(err) != fault.Malformed {
				t.Errorf("code %s, want malformed: %v", fault.CodeOf(err), err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	event := `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","distribution":"1",
	"Object":[{"uuid":"11111111-2222-4333-8444-000000000002","name":"coin-address","Attribute":[
	  {"uuid":"11111111-2222-4333-8444-000000000101","object_relation":"address","type":"btc","value":"1NjaqAowXVjwwLKBg3QSSCHAFm5pLsHxuM"},
	  {"uuid":"11111111-2222-4333-8444-000000000102","object_relation":"symbol","type":"text","value":"BTC"}]},
	 {"uuid":"11111111-2222-4333-8444-000000000003","name":"coin-address","Attribute":[
	  {"uuid":"11111111-2222-4333-8444-000000000103","object_relation":"address-crypto","type":"text","value":"addr1qxy"}]},
	 {"uuid":"11111111-2222-4333-8444-000000000004","name":"coin-address","Attribute":[
	  {"uuid":"11111111-2222-4333-8444-000000000104","object_relation":"address-crypto","type":"text","value":"addr1qxy"},
	  {"uuid":"11111111-2222-4333-8444-000000000105","object_relation":"symbol","type":"text","value":"ADA"}]}]}}`
	res := MustParseEvents(t, []byte(event))
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], "bad checksum") || !strings.Contains(res.Skipped[0], "000000000002") {
		t.Errorf("skipped %q, want the object with the bad address", res.Skipped)
	}
	types := map[string]int{}
	for _, o := range res.Objects {
		types[o.Type]++
	}
	if types["x-misp-object"] != 1 || types["observed-data"] != 1 || types["cryptocurrency-wallet"] != 1 {
		t.Errorf("objects %v: want the symbol-less address kept as an x-misp-object, the ADA one as a wallet", types)
	}
	if w := byID(res.Objects)[walletID("ada", "addr1qxy")]; w == nil {
		t.Error("no wallet on the unknown chain ada")
	}
	if len(res.Notes) != 2 {
		t.Errorf("notes %q, want the x-misp-object and the unknown symbol", res.Notes)
	}

	empty := MustParseEvents(t, []byte(`{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000"}}`))
	if len(empty.Objects) != 2 || empty.Objects[0].Type != "note" {
		t.Errorf("an empty event gives %d objects; want a report and its note", len(empty.Objects))
	}
}

func TestMarkings(t *testing.T) {
	const sg = `"SharingGroup":{"uuid":"c0ffee00-3b1d-4d2e-9f3a-5b6c7d8e9f01","name":"g","SharingGroupOrg":[{"Organisation":{"name":"Example FIU"}},{"Organisation":{"name":"Example Exchange"}}]}`
	const sgFIU = `"SharingGroup":{"uuid":"c0ffee00-3b1d-4d2e-9f3a-5b6c7d8e9f02","name":"h","SharingGroupOrg":[{"Organisation":{"name":"Example FIU"}}]}`
	both := []string{fiuID, exchangeID}
	tests := []struct {
		name        string
		event, attr string // extra members
		report      stix.TLP
		reportTo    []string
		level       stix.TLP
		to          []string
	}{
		{"org only", `"distribution":"0"`, ``, stix.TLPAmber, nil, stix.TLPAmber, nil},
		{"community", `"distribution":"1"`, ``, stix.TLPGreen, nil, stix.TLPGreen, nil},
		{"connected", `"distribution":"2"`, `"distribution":"5"`, stix.TLPGreen, nil, stix.TLPGreen, nil},
		{"all", `"distribution":"3"`, ``, stix.TLPClear, nil, stix.TLPClear, nil},
		{"sharing group", `"distribution":"4",` + sg, ``, stix.TLPAmber, both, stix.TLPAmber, both},
		{"no distribution", ``, ``, stix.TLPNone, nil, stix.TLPNone, nil},
		{"tag wins over distribution", `"distribution":"3","Tag":[{"name":"tlp:amber"}]`, ``, stix.TLPAmber, nil, stix.TLPAmber, nil},
		{"white is clear", `"distribution":"0","Tag":[{"name":"tlp:white"}]`, ``, stix.TLPClear, nil, stix.TLPClear, nil},
		{"strictest tag", `"Tag":[{"name":"tlp:green"},{"name":"TLP:AMBER+STRICT"},{"name":"tlp:ex:chr"}]`, ``, stix.TLPAmberStrict, nil, stix.TLPAmberStrict, nil},
		{"tag with sharing group", `"distribution":"4",` + sg + `,"Tag":[{"name":"tlp:red"}]`, ``, stix.TLPRed, both, stix.TLPRed, both},
		{"green tag opens a sharing group", `"distribution":"4",` + sg + `,"Tag":[{"name":"tlp:green"}]`, ``, stix.TLPGreen, nil, stix.TLPGreen, nil},
		{"attribute tag overrides", `"distribution":"4",` + sg + `,"Tag":[{"name":"tlp:amber"}]`, `"Tag":[{"name":"tlp:clear"}]`, stix.TLPAmber, both, stix.TLPClear, nil},
		{"attribute red keeps recipients", `"distribution":"4",` + sg + `,"Tag":[{"name":"tlp:amber"}]`, `"Tag":[{"name":"tlp:red"}]`, stix.TLPAmber, both, stix.TLPRed, both},
		{"attribute narrows", `"distribution":"3"`, `"distribution":"0"`, stix.TLPClear, nil, stix.TLPAmber, nil},
		{"attribute cannot widen", `"distribution":"0"`, `"distribution":"3"`, stix.TLPAmber, nil, stix.TLPAmber, nil},
		{"attribute cannot widen a tag", `"Tag":[{"name":"tlp:green"}]`, `"distribution":"3"`, stix.TLPGreen, nil, stix.TLPGreen, nil},
		{"attribute sharing group", `"distribution":"1"`, `"distribution":"4",` + sgFIU, stix.TLPGreen, nil, stix.TLPAmber, []string{fiuID}},
		{"nested sharing groups", `"distribution":"4",` + sg, `"distribution":"4",` + sgFIU, stix.TLPAmber, both, stix.TLPAmber, []string{fiuID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			event := `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000",` + tc.event + `,
				"Attribute":[{"uuid":"11111111-2222-4333-8444-000000000001","type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","to_ids":true,` + tc.attr + `}]}}`
			event = strings.ReplaceAll(strings.ReplaceAll(event, ",,", ","), ",}", "}")
			res := MustParseEvents(t, []byte(event))
			objs := byID(res.Objects)
			r := objs[stix.ImportID("report", "misp-event", "11111111-2222-4333-8444-555555555555")]
			i := objs[stix.ImportID("indicator", "misp-attribute", "11111111-2222-4333-8444-000000000001")]
			w := objs[walletID("bitcoin", "1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM")]
			if r.TLP() != tc.report || !slices.Equal(r.Recipients(), tc.reportTo) {
				t.Errorf("report %s to %v, want %s to %v", r.TLP().Label(), r.Recipients(), tc.report.Label(), tc.reportTo)
			}
			for _, o := range []*stix.Object{i, w} {
				if o.TLP() != tc.level || !slices.Equal(o.Recipients(), tc.to) {
					t.Errorf("%s %s to %v, want %s to %v", o.Type, o.TLP().Label(), o.Recipients(), tc.level.Label(), tc.to)
				}
			}
			var out bytes.Buffer
			if err := WriteEvents(&out, res.Objects); err != nil {
				t.Fatal(err)
			}
			if a, b := canonicals(t, res.Objects), canonicals(t, MustParseEvents(t, out.Bytes()).Objects); !slices.Equal(a, b) {
				t.Errorf("round trip changed:\n%s", diff(a, b))
			}
		})
	}
}

func TestLoosestWallet(t *testing.T) {
	event := `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","distribution":"4",
	"SharingGroup":{"name":"g","SharingGroupOrg":[{"Organisation":{"name":"Example FIU"}}]},
	"Attribute":[
	 {"uuid":"11111111-2222-4333-8444-000000000001","type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","Tag":[{"name":"tlp:red"}]},
	 {"uuid":"11111111-2222-4333-8444-000000000002","type":"btc","value":"1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM","Tag":[{"name":"tlp:amber"}]}]}}`
	res := MustParseEvents(t, []byte(event))
	w := byID(res.Objects)[walletID("bitcoin", "1NjaqMowXVjwwLKBg3QSSCHAFm5pLsHxuM")]
	if w.TLP() != stix.TLPAmber || !slices.Equal(w.Recipients(), []string{fiuID}) {
		t.Errorf("wallet named at RED and AMBER: %s to %v, want AMBER to the FIU", w.TLP().Label(), w.Recipients())
	}
}

func TestBaseUnits(t *testing.T) {
	tests := []struct {
		in     string
		places int
		want   string
		neg    bool
		bad    bool
	}{
		{"0.5", 8, "50000000", false, false},
		{"-12.5", 8, "1250000000", true, false},
		{"21000000", 8, "2100000000000000", false, false},
		{"0.00000001", 8, "1", false, false},
		{"0.000000010", 8, "1", false, false},
		{"0.000000001", 8, "", false, true},
		{"1500.25", 18, "1500250000000000000000", false, false},
		{"123456789012345678901234567890.123456789012345678", 18, "123456789012345678901234567890123456789012345678", false, false},
		{".5", 8, "50000000", false, false},
		{"-0", 8, "0", false, false},
		{"+3", 6, "3000000", false, false},
		{"1e-8", 8, "", false, true},
		{"0x10", 8, "", false, true},
		{"", 8, "", false, true},
		{".", 8, "", false, true},
		{"1,5", 8, "", false, true},
	}
	for _, tc := range tests {
		n, neg, err := baseUnits(tc.in, tc.places)
		if tc.bad {
			if err == nil {
				t.Errorf("baseUnits(%q) = %v, want an error", tc.in, n)
			}
			continue
		}
		if err != nil || n.String() != tc.want || neg != tc.neg {
			t.Errorf("baseUnits(%q, %d) = %v, %v, %v; want %s, %v", tc.in, tc.places, n, neg, err, tc.want, tc.neg)
		}
		if _, err := stix.ParseAmount(n.String()); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestTemplatesMatchShared checks the requirements this package holds
// against MISP's object templates.
func TestTemplatesMatchShared(t *testing.T) {
	for _, name := range []string{"coin-address", "btc-wallet", "btc-transaction", "cryptocurrency-transaction", "transaction"} {
		data, err := os.ReadFile(sharedtest.Path(t, "misp", "objects", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			Name          string                     `json:"name"`
			Required      []string                   `json:"required"`
			RequiredOneOf []string                   `json:"requiredOneOf"`
			Attributes    map[string]json.RawMessage `json:"attributes"`
		}
		if err := json.Unmarshal(data, &def); err != nil {
			t.Fatal(err)
		}
		tmpl, ok := templates[def.Name]
		if !ok {
			t.Errorf("template %s unknown", def.Name)
			continue
		}
		if !slices.Equal(tmpl.required, def.Required) || !slices.Equal(tmpl.requiredOneOf, def.RequiredOneOf) {
			t.Errorf("%s: required %v / %v, the template says %v / %v", name, tmpl.required, tmpl.requiredOneOf, def.Required, def.RequiredOneOf)
		}
		for _, rel := range slices.Concat(def.Required, def.RequiredOneOf) {
			if _, ok := def.Attributes[rel]; !ok {
				t.Errorf("%s: %s is not an attribute of the template", name, rel)
			}
		}
	}
}

// TestTLPTaxonomy checks that every level of MISP's tlp taxonomy maps.
func TestTLPTaxonomy(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Path(t, "misp", "taxonomies", "tlp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tax struct {
		Predicates []struct{ Value string } `json:"predicates"`
	}
	if err := json.Unmarshal(data, &tax); err != nil {
		t.Fatal(err)
	}
	want := map[string]stix.TLP{"red": stix.TLPRed, "amber": stix.TLPAmber, "amber+strict": stix.TLPAmberStrict,
		"green": stix.TLPGreen, "white": stix.TLPClear, "clear": stix.TLPClear, "ex:chr": stix.TLPNone, "unclear": stix.TLPNone}
	for _, p := range tax.Predicates {
		w, ok := want[p.Value]
		if !ok {
			t.Errorf("tlp:%s: not expected", p.Value)
		}
		if got := tagLevel([]string{"tlp:" + p.Value}); got != w {
			t.Errorf("tlp:%s is %s, want %s", p.Value, got.Label(), w.Label())
		}
	}
}

func TestParseManifest(t *testing.T) {
	got, err := ParseManifest(strings.NewReader(`{"5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60":{"info":"a"},"0a1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60":{"info":"b"}}`))
	if err != nil || !slices.Equal(got, []string{"0a1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60", "5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60"}) {
		t.Errorf("ParseManifest = %v, %v", got, err)
	}
	if _, err := ParseManifest(strings.NewReader(`{"x":{}}`)); fault.CodeOf(err) != fault.Malformed {
		t.Errorf("bad manifest: %v", err)
	}
}

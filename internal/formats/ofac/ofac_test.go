package ofac

import (
	"bytes"
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

var listDate = time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)

// MustParse parses an SDN file of the shared data.
func MustParse(tb testing.TB, name string, opts Options) *Result {
	tb.Helper()
	f, err := os.Open(sharedtest.Path(tb, "ofac", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if opts.ListDate.IsZero() {
		opts.ListDate = listDate
	}
	res, err := Parse(f, opts)
	if err != nil {
		tb.Fatalf("parse %s: %v", name, err)
	}
	return res
}

// MustReadCSV reads a CSV file of the shared data without its header.
func MustReadCSV(tb testing.TB, elem ...string) [][]string {
	tb.Helper()
	f, err := os.Open(sharedtest.Path(tb, elem...))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return rows[1:]
}

// Triples returns the (ent_num, name, type, programmes, ticker, address)
// rows the objects record, as the shared expected file writes them: one per
// relationship between a wallet and an SDN entry.
func Triples(tb testing.TB, objs []*stix.Object) map[string]bool {
	tb.Helper()
	byID := map[string]*stix.Object{}
	for _, o := range objs {
		byID[o.ID] = o
	}
	out := map[string]bool{}
	for _, o := range objs {
		if o.Type != "relationship" {
			continue
		}
		src, dst := byID[o.String("source_ref")], byID[o.String("target_ref")]
		ent, w := dst, src
		if o.String("relationship_type") == "uses" {
			ent, w = src, dst
		}
		if ent == nil || w == nil || w.Type != stix.TypeCryptocurrencyWallet {
			tb.Fatalf("relationship %s does not tie a wallet to an entry", o.ID)
		}
		var refs []map[string]string
		if _, err := o.Decode("external_references", &refs); err != nil || len(refs) != 1 {
			tb.Fatalf("relationship %s: external references %v", o.ID, err)
		}
		words, ok := strings.CutPrefix(refs[0]["description"], "Digital Currency Address - ")
		ticker, written, ok2 := strings.Cut(words, " ")
		if !ok || !ok2 {
			tb.Fatalf("relationship %s: reference says %q", o.ID, refs[0]["description"])
		}
		if c, err := address.Canonical(w.String("chain"), written); err != nil || c != w.String("value") {
			tb.Errorf("wallet %s:%s for listed %s %s (%v)", w.String("chain"), w.String("value"), ticker, written, err)
		}
		typ := "-0-"
		if ent.String("identity_class") == "individual" {
			typ = "individual"
		}
		var progs []string
		for _, l := range ent.Strings("labels") {
			if p, ok := strings.CutPrefix(l, "ofac:"); ok {
				progs = append(progs, p)
			}
		}
		var erefs []map[string]string
		ent.Decode("external_references", &erefs)
		row := strings.Join([]string{erefs[0]["external_id"], ent.String("name"), typ, strings.Join(progs, "] ["), ticker, written}, "|")
		if out[row] {
			tb.Errorf("triple twice: %s", row)
		}
		out[row] = true
	}
	return out
}

func TestParseExcerpt(t *testing.T) {
	res := MustParse(t, "sdn_2024-05-03_excerpt.csv", Options{})
	want := map[string]bool{}
	for _, r := range MustReadCSV(t, "ofac", "expected_addresses_2024-05-03.csv") {
		want[strings.Join(r, "|")] = true
	}
	if len(want) != 288 {
		t.Fatalf("expected file has %d triples", len(want))
	}
	got := Triples(t, res.Objects)
	for k := range want {
		if !got[k] {
			t.Errorf("missing %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("unexpected %s", k)
		}
	}

	// The fragments the 1,000-character cut leaves are reported, each with
	// its reason, and none is imported.
	var frags []string
	for _, r := range MustReadCSV(t, "ofac", "truncated_fragments_2024-05-03.csv") {
		frags = append(frags, r[0]+" "+r[4]+" "+r[5])
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.EntNum+" "+s.Ticker+" "+s.Value)
		if !strings.Contains(s.Reason, "cut at 1,000 characters") || !strings.Contains(s.Reason, "wrong length") {
			t.Errorf("reason of %v", s)
		}
	}
	slices.Sort(frags)
	slices.Sort(skipped)
	if !slices.Equal(frags, skipped) {
		t.Errorf("skipped %q\nwant %q", skipped, frags)
	}
	counts := map[string]int{}
	v := stix.Validator{Address: address.Canonical}
	ids := map[string]bool{}
	for _, o := range res.Objects {
		counts[o.Type]++
		if err := v.Validate(o); err != nil {
			t.Errorf("invalid: %v", err)
		}
		if ids[o.ID] {
			t.Errorf("id twice: %s", o.ID)
		}
		ids[o.ID] = true
		if o.Type != stix.TypeCryptocurrencyWallet && o.CreatedByRef() != IdentityID {
			t.Errorf("%s created by %q", o.ID, o.CreatedByRef())
		}
		if o.TLP() != stix.TLPClear {
			t.Errorf("%s is %s", o.ID, o.TLP())
		}
	}
	// 288 listings of 283 wallets: an ETH address listed again as USDT or
	// USDC, one bitcoin address listed by two entries.
	wantCounts := map[string]int{"identity": 55, "threat-actor": 1, "relationship": 288, "indicator": 288, stix.TypeCryptocurrencyWallet: 283}
	for typ, n := range wantCounts {
		if counts[typ] != n {
			t.Errorf("%d %s objects, want %d", counts[typ], typ, n)
		}
	}
	if res.Entries != 85 || res.Listed != 55 {
		t.Errorf("entries %d, listed %d", res.Entries, res.Listed)
	}
	if len(res.Cut) != 16 {
		t.Errorf("%d cut remarks, want 16: %v", len(res.Cut), res.Cut)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq") {
		t.Errorf("notes %q", res.Notes)
	}

	lazarus := EntryID("27307", true)
	for _, o := range res.Objects {
		if o.ID == lazarus {
			if o.Type != "threat-actor" || o.String("name") != "LAZARUS GROUP" || !slices.Contains(o.Strings("aliases"), "HIDDEN COBRA") || slices.Contains(o.Strings("aliases"), "WHOIS HACKIN") {
				t.Errorf("Lazarus: %s %q %q", o.Type, o.String("name"), o.Strings("aliases"))
			}
		}
	}

	// The same list gives the same objects.
	again := MustParse(t, "sdn_2024-05-03_excerpt.csv", Options{})
	if len(again.Objects) != len(res.Objects) {
		t.Fatal("second parse differs")
	}
	for i := range res.Objects {
		a, _ := res.Objects[i].Canonical()
		b, _ := again.Objects[i].Canonical()
		if !bytes.Equal(a, b) {
			t.Fatalf("second parse differs:\n%s\n%s", a, b)
		}
	}
}

// sdnRow writes one row of sdn.csv.
func sdnRow(ent, name, typ, program, remarks string) string {
	q := func(s string) string {
		if s == "" {
			return "-0- "
		}
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return ent + "," + q(name) + "," + q(typ) + "," + q(program) + strings.Repeat(",-0- ", 7) + "," + q(remarks) + "\r\n"
}

func TestComments(t *testing.T) {
	const genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	pad := "Nationality Nowhere; " + strings.Repeat("x", 1000)
	lead := "Digital Currency Address - XBT 12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h; " + pad
	lead = lead[:RemarksLimit-len("alt. Digital Currency Address - XBT 1A1zP1")]
	remark := lead + "alt. Digital Currency Address - XBT 1A1zP1"
	if len(remark) != RemarksLimit {
		t.Fatalf("remark of %d characters", len(remark))
	}
	sdn := sdnRow("1", "EXAMPLE, One", "individual", "CYBER2", remark) + "\x1a\r\n"
	comments := "1,\"eP5QGefi2DMPTfTL5SLmv7DivfNa; a.k.a. 'ONE'.\"\r\n"

	cut, err := Parse(strings.NewReader(sdn), Options{ListDate: listDate})
	if err != nil {
		t.Fatal(err)
	}
	if len(cut.Skipped) != 1 || cut.Skipped[0].Value != "1A1zP1" || !slices.Equal(cut.Cut, []string{"1"}) {
		t.Errorf("without comments: skipped %v, cut %v", cut.Skipped, cut.Cut)
	}
	whole, err := Parse(strings.NewReader(sdn), Options{ListDate: listDate, Comments: strings.NewReader(comments)})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Skipped) != 0 || len(whole.Cut) != 0 {
		t.Errorf("with comments: skipped %v, cut %v", whole.Skipped, whole.Cut)
	}
	var values []string
	for _, o := range whole.Objects {
		if o.Type == stix.TypeCryptocurrencyWallet {
			values = append(values, o.String("value"))
		}
		if o.Type == "identity" && o.ID != IdentityID && !slices.Equal(o.Strings("x_cointrail_aliases"), []string{"ONE"}) {
			t.Errorf("aliases %q", o.Strings("x_cointrail_aliases"))
		}
	}
	if !slices.Equal(values, []string{"12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h", genesis}) {
		t.Errorf("wallets %q", values)
	}
}

func TestLatin1(t *testing.T) {
	row := sdnRow("7", "CAF\xc9 S.A.", "", "CYBER2", "Digital Currency Address - ETH 0x098B716B8Aaf21512996dC57EB0615e2383E2f96.")
	res, err := Parse(strings.NewReader(row), Options{ListDate: listDate})
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, o := range res.Objects {
		if o.Type == "identity" && o.ID != IdentityID {
			name = o.String("name")
		}
		if o.Type == stix.TypeCryptocurrencyWallet && o.String("value") != "0x098b716b8aaf21512996dc57eb0615e2383e2f96" {
			t.Errorf("wallet %q", o.String("value"))
		}
	}
	if name != "CAFÉ S.A." {
		t.Errorf("name %q, want the Latin-1 É decoded", name)
	}
}

func TestMalformed(t *testing.T) {
	good := sdnRow("1", "ONE", "", "CYBER2", "Digital Currency Address - XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	for _, tc := range []struct {
		name, sdn, comments, want string
	}{
		{"columns", good + "2,\"TWO\",-0- \r\n", "", "line 2: 3 columns, want 12"},
		{"quote", good + sdnRow("2", "TWO", "", "", "") + "3,\"THREE,-0- \r\n", "", "line 3:"},
		{"ent_num", good + sdnRow("x2", "TWO", "", "", ""), "", `line 2: ent_num "x2" is not a number`},
		{"name", sdnRow("2", "", "", "", ""), "", "line 1: entry 2 has no SDN_Name"},
		{"duplicate", good + good, "", "line 2: ent_num 1 again (first on line 1)"},
		{"comments", good, "1,\"more\",extra\r\n", "comments: line 1: 3 columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{ListDate: listDate}
			if tc.comments != "" {
				opts.Comments = strings.NewReader(tc.comments)
			}
			res, err := Parse(strings.NewReader(tc.sdn), opts)
			if err == nil || res != nil {
				t.Fatalf("no error (%v)", res)
			}
			if fault.CodeOf(err) != fault.Malformed || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (%s), want %q", err, fault.CodeOf(err), tc.want)
			}
		})
	}
	if _, err := Parse(strings.NewReader(good), Options{}); err == nil {
		t.Error("no error without a list date")
	}
}

func TestIsGroup(t *testing.T) {
	for _, tc := range []struct {
		typ, name string
		progs     []string
		want      bool
	}{
		{"", "LAZARUS GROUP", []string{"DPRK3"}, true},
		{"", "Some Hacking Group", []string{"CYBER2"}, true},
		{"", "GROUPON", []string{"CYBER2"}, false},
		{"", "BANK GROUP", []string{"SDGT"}, false},
		{"individual", "GROUP, Ann", []string{"CYBER2"}, false},
	} {
		if got := IsGroup(tc.typ, tc.name, tc.progs); got != tc.want {
			t.Errorf("IsGroup(%q, %q, %q) = %v", tc.typ, tc.name, tc.progs, got)
		}
	}
}

func TestKeepFirstSeen(t *testing.T) {
	row := sdnRow("1", "ONE", "", "CYBER2", "Digital Currency Address - XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	first, _ := Parse(strings.NewReader(row), Options{ListDate: listDate})
	later, _ := Parse(strings.NewReader(row), Options{ListDate: listDate.AddDate(0, 1, 0)})
	stored := map[string]*stix.Object{}
	for _, o := range first.Objects {
		stored[o.ID] = o
	}
	KeepFirstSeen(later.Objects, func(id string) (*stix.Object, bool) { o, ok := stored[id]; return o, ok })
	for _, o := range later.Objects {
		if !stix.Versioned(o) || o.ID == IdentityID {
			continue
		}
		if o.String("created") != "2024-05-03T00:00:00.000Z" || o.String("modified") != "2024-06-03T00:00:00.000Z" {
			t.Errorf("%s: created %s modified %s", o.ID, o.String("created"), o.String("modified"))
		}
		if o.Type == "indicator" && o.String("valid_from") != "2024-05-03T00:00:00.000Z" {
			t.Errorf("valid_from %s", o.String("valid_from"))
		}
	}
}

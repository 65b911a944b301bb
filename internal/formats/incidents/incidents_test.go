package incidents

import (
	"encoding/csv"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// MustParseShared parses the shared DN Institute file.
func MustParseShared(tb testing.TB, opts Options) *Result {
	tb.Helper()
	f, err := os.Open(sharedtest.Path(tb, "incidents", "dn-institute-incidents.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// csvTotals sums loss_usd of the shared file straight from the CSV: by
// year, and over the rows tagged "Lazarus Group".
func csvTotals(tb testing.TB) (byYear map[string]*big.Rat, lazarus *big.Rat, rows int) {
	tb.Helper()
	f, err := os.Open(sharedtest.Path(tb, "incidents", "dn-institute-incidents.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	byYear, lazarus = map[string]*big.Rat{}, new(big.Rat)
	for _, r := range recs[1:] {
		rows++
		if r[6] == "" || r[6] == "unknown" {
			continue
		}
		v, ok := new(big.Rat).SetString(r[6])
		if !ok {
			tb.Fatalf("loss %q", r[6])
		}
		y := r[0][:4]
		if byYear[y] == nil {
			byYear[y] = new(big.Rat)
		}
		byYear[y].Add(byYear[y], v)
		if strings.Contains(r[5], "Lazarus Group") {
			lazarus.Add(lazarus, v)
		}
	}
	return byYear, lazarus, rows
}

// Totals sums the incidents' losses by the year they occurred, and over
// the incidents attributed to actor.
func Totals(tb testing.TB, objs []*stix.Object, actor string) (byYear map[string]*big.Rat, attributed *big.Rat, incidents int) {
	tb.Helper()
	byYear, attributed = map[string]*big.Rat{}, new(big.Rat)
	sums := map[string]*big.Rat{}
	for _, o := range objs {
		if o.Type != "incident" {
			continue
		}
		incidents++
		losses, occurred := o.IncidentLosses()
		sum := new(big.Rat)
		for _, l := range losses {
			v, err := stix.ParseUSD(l.USD)
			if err != nil {
				tb.Fatalf("%s: %v", o.ID, err)
			}
			sum.Add(sum, v)
		}
		sums[o.ID] = sum
		if len(losses) == 0 {
			continue
		}
		y := occurred[:4]
		if byYear[y] == nil {
			byYear[y] = new(big.Rat)
		}
		byYear[y].Add(byYear[y], sum)
	}
	for _, o := range objs {
		if o.Type == "relationship" && o.String("relationship_type") == "attributed-to" && o.String("target_ref") == actor {
			attributed.Add(attributed, sums[o.String("source_ref")])
		}
	}
	return byYear, attributed, incidents
}

func TestSharedFile(t *testing.T) {
	res := MustParseShared(t, Options{})
	wantYear, wantLazarus, rows := csvTotals(t)
	byYear, lazarus, n := Totals(t, res.Objects, LazarusID)
	if n != 124 || rows != 124 || res.Rows != 124 || len(res.Skipped) != 0 {
		t.Errorf("%d incidents of %d rows (%d read, %d skipped), want 124", n, rows, res.Rows, len(res.Skipped))
	}
	if len(byYear) != len(wantYear) {
		t.Errorf("losses in %d years, want %d", len(byYear), len(wantYear))
	}
	for y, want := range wantYear {
		if got := byYear[y]; got == nil || got.Cmp(want) != 0 {
			t.Errorf("%s: %v, want %s", y, got, want.FloatString(2))
		}
	}
	if lazarus.Cmp(wantLazarus) != 0 || lazarus.Sign() == 0 {
		t.Errorf("Lazarus Group: %s, want %s", lazarus.FloatString(2), wantLazarus.FloatString(2))
	}
	t.Logf("Lazarus Group: $%s over %d years", lazarus.FloatString(2), len(byYear))

	v := stix.Validator{Address: address.Canonical}
	counts := map[string]int{}
	for _, o := range res.Objects {
		counts[o.Type]++
		if err := v.Validate(o); err != nil {
			t.Errorf("invalid: %v", err)
		}
		if o.TLP() != stix.TLPClear {
			t.Errorf("%s is %s", o.ID, o.TLP())
		}
		if o.CreatedByRef() != PublisherID("1712n/dn-institute x") {
			t.Errorf("%s created by %s", o.ID, o.CreatedByRef())
		}
		if o.ID == LazarusID && o.String("created") != "2020-09-26T00:00:00.000Z" {
			t.Errorf("Lazarus Group created %s, want the date of its first incident", o.String("created"))
		}
	}
	// 7 incidents are tagged North Korea and Lazarus Group: one located-at,
	// one location, one actor.
	if counts["threat-actor"] != 1 || counts["location"] != 1 || counts["relationship"] < 124+7+1 {
		t.Errorf("counts %v", counts)
	}
}

func TestRow(t *testing.T) {
	csvText := "\ufeffdate,title,targets,entity_types,attack_types,tags,loss_usd,source\r\n" +
		"2023-06-02,Atomic Wallet hack,Atomic Wallet; Atomic Wallet,Wallet; Custodian,Wallet Hack; Private Key Leak,North Korea; Lazarus Group; lazarus group; Mystery,100000000.5,https://www.example.org/atomic\r\n" +
		"2023-07-01,DPRK only,X,,,North Korea,unknown,\r\n" +
		"2023-08-01,No figure,Atomic Wallet,Exchange,,,,src\r\n" +
		"2023-06-02,Atomic Wallet hack,Again,,,,1,src\r\n"
	res, err := Parse(strings.NewReader(csvText), Options{TLP: stix.TLPGreen})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Line != 5 {
		t.Errorf("skipped %v", res.Skipped)
	}
	byID := map[string]*stix.Object{}
	for _, o := range res.Objects {
		byID[o.ID] = o
		if o.TLP() != stix.TLPGreen {
			t.Errorf("%s is %s", o.ID, o.TLP())
		}
		if err := stix.Validate(o); err != nil {
			t.Error(err)
		}
	}
	inc := byID[stix.ImportID("incident", "csv", "2023-06-02", "Atomic Wallet hack")]
	losses, occurred := inc.IncidentLosses()
	if occurred != "2023-06-02T00:00:00.000Z" || len(losses) != 1 || losses[0].USD != "100000000.50" || losses[0].Asset != "unknown:USD" || losses[0].Source != "https://www.example.org/atomic" {
		t.Errorf("losses %+v at %s", losses, occurred)
	}
	if l := inc.Strings("labels"); !slices.Equal(l, []string{"wallet hack", "private key leak", "mystery"}) {
		t.Errorf("labels %q", l)
	}
	if pub := byID[inc.CreatedByRef()]; pub == nil || pub.String("name") != "example.org" {
		t.Errorf("publisher %v", pub)
	}
	none := byID[stix.ImportID("incident", "csv", "2023-08-01", "No figure")]
	if losses, _ := none.IncidentLosses(); len(losses) != 0 || none.Extension(stix.IncidentExtensionID) == nil {
		t.Errorf("no figure gave losses %+v", losses)
	}
	victim := byID[stix.ImportID("identity", "victim", "Atomic Wallet")]
	if victim.String("created") != "2023-06-02T00:00:00.000Z" || victim.String("modified") != "2023-08-01T00:00:00.000Z" || !slices.Equal(victim.Strings("x_cointrail_entity_types"), []string{"wallet", "custodian", "exchange"}) {
		t.Errorf("victim %s %s %q", victim.String("created"), victim.String("modified"), victim.Strings("x_cointrail_entity_types"))
	}
	var attributed []string
	for _, o := range res.Objects {
		if o.Type == "relationship" {
			switch o.String("relationship_type") {
			case "attributed-to":
				attributed = append(attributed, byID[o.String("source_ref")].String("name")+" -> "+byID[o.String("target_ref")].String("name"))
			case "located-at":
				attributed = append(attributed, byID[o.String("source_ref")].String("name")+" @ "+byID[o.String("target_ref")].String("country"))
			}
		}
	}
	slices.Sort(attributed)
	want := []string{"Atomic Wallet hack -> Lazarus Group", "DPRK only -> North Korea", "Lazarus Group @ KP", "North Korea @ KP"}
	if !slices.Equal(attributed, want) {
		t.Errorf("attributions %q", attributed)
	}
}

func TestMalformed(t *testing.T) {
	head := "date,title,targets,entity_types,attack_types,tags,loss_usd,source\n"
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "line 1: empty file"},
		{"header", "date,title,loss\n", `line 1: header "date,title,loss"`},
		{"order", "title,date,targets,entity_types,attack_types,tags,loss_usd,source\n", "line 1: header"},
		{"fields", head + "2020-01-01,a,b,c,d,e,1,s\n2020-01-02,a,b\n", "line 3: 3 fields, want 8"},
		{"date", head + "01/02/2020,a,b,c,d,e,1,s\n", `line 2: date "01/02/2020"`},
		{"title", head + "2020-01-01,,b,c,d,e,1,s\n", "line 2: no title"},
		{"loss", head + "2020-01-01,a,b,c,d,e,$1M,s\n", `line 2: loss_usd "$1M"`},
		{"negative", head + "2020-01-01,a,b,c,d,e,-5,s\n", `line 2: loss_usd "-5"`},
		{"quote", head + "2020-01-01,\"a,b,c,d,e,1,s\n", "line 2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.text), Options{})
			if err == nil || res != nil {
				t.Fatalf("no error: %+v", res)
			}
			if fault.CodeOf(err) != fault.Malformed || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (%s), want %q", err, fault.CodeOf(err), tc.want)
			}
		})
	}
}

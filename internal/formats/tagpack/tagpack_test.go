package tagpack

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// fallback dates the one shared pack without a lastmod (etherhiding.yaml).
var fallback = time.Date(2023, 10, 9, 0, 0, 0, 0, time.UTC)

// MustParse parses data, failing the test on an error.
func MustParse(tb testing.TB, data []byte, opts Options) *Result {
	tb.Helper()
	res, err := Parse(bytes.NewReader(data), opts)
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	return res
}

// expect is what a pack should give, counted straight from its YAML.
type expect struct {
	tags, wallets, invalid, labels, indicators, uses int
}

// count reads a pack with a generic YAML decode and counts its tags,
// distinct valid wallets, invalid addresses, and the distinct label
// relationships, indicators and actor relationships they imply.
func count(tb testing.TB, data []byte) expect {
	var pack map[string]any
	if err := yaml.Unmarshal(data, &pack); err != nil {
		tb.Fatal(err)
	}
	str := func(tag map[string]any, k string) string {
		if v, ok := tag[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		if v, ok := pack[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	var e expect
	wallets, labels, inds, uses := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, raw := range pack["tags"].([]any) {
		tag := raw.(map[string]any)
		e.tags++
		addr := fmt.Sprint(tag["address"])
		chain, _, _ := address.Ticker(str(tag, "currency"), addr)
		v, err := address.Canonical(chain, addr)
		if err != nil {
			e.invalid++
			continue
		}
		w := chain + ":" + v
		if labels[str(tag, "label")+"|"+w] {
			e.invalid++ // a duplicate
			continue
		}
		wallets[w] = true
		labels[str(tag, "label")+"|"+w] = true
		if a := str(tag, "abuse"); a != "" {
			inds[a+"|"+w] = true
		}
		if a := str(tag, "actor"); a != "" {
			uses[a+"|"+str(tag, "label")+"|"+w] = true
		}
	}
	e.wallets, e.labels, e.indicators, e.uses = len(wallets), len(labels), len(inds), len(uses)
	return e
}

func TestSharedPacks(t *testing.T) {
	v := stix.Validator{Address: address.Canonical}
	total := 0
	for _, file := range sharedtest.Glob(t, "tagpacks/*.yaml") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			res := MustParse(t, data, Options{LastMod: fallback})
			want := count(t, data)
			got := expect{tags: res.Tags, invalid: len(res.Skipped)}
			rels := map[string]int{}
			for _, o := range res.Objects {
				if err := v.Validate(o); err != nil {
					t.Errorf("invalid: %v", err)
				}
				if o.TLP() != stix.TLPAmber {
					t.Errorf("%s is %s", o.ID, o.TLP())
				}
				if o.Type != stix.TypeCryptocurrencyWallet && o.CreatedByRef() != CreatorID(res.Creator) {
					t.Errorf("%s created by %s", o.ID, o.CreatedByRef())
				}
				switch o.Type {
				case stix.TypeCryptocurrencyWallet:
					got.wallets++
				case "indicator":
					got.indicators++
				case "relationship":
					rels[o.String("relationship_type")]++
				}
			}
			got.labels, got.uses = rels["related-to"], rels["uses"]
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			t.Logf("%d tags: %d wallets, %d skipped", res.Tags, got.wallets, len(res.Skipped))
			total += got.wallets
		})
	}
	if total < 2000 {
		t.Errorf("only %d wallets in all packs", total)
	}
}

func TestSkipped(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Path(t, "tagpacks", "ofac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := MustParse(t, data, Options{})
	// OFAC lists a Tron address under XBT; the pack copies it under BTC.
	if len(res.Skipped) != 1 || res.Skipped[0].Value != "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" || !strings.Contains(res.Skipped[0].Reason, "wrong network prefix") || res.Skipped[0].Line < 2 {
		t.Errorf("skipped %v", res.Skipped)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, file := range sharedtest.Glob(t, "tagpacks/*.yaml") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range []Options{{LastMod: fallback}, {LastMod: fallback, TLP: stix.TLPGreen}} {
				first := MustParse(t, data, opts)
				var buf bytes.Buffer
				if err := Write(&buf, first.Objects...); err != nil {
					t.Fatal(err)
				}
				second := MustParse(t, buf.Bytes(), opts)
				if d := diff(first.Objects, second.Objects); d != "" {
					t.Fatalf("parse(write(parse)) differs: %s\n%s", d, buf.Bytes())
				}
			}
		})
	}
}

// diff compares two sets of objects by canonical JSON.
func diff(a, b []*stix.Object) string {
	canon := func(objs []*stix.Object) map[string]string {
		m := map[string]string{}
		for _, o := range objs {
			c, _ := o.Canonical()
			m[o.ID] = string(c)
		}
		return m
	}
	ca, cb := canon(a), canon(b)
	for id, x := range ca {
		if y, ok := cb[id]; !ok {
			return "missing " + x
		} else if x != y {
			return "changed\n" + x + "\n" + y
		}
	}
	for id, y := range cb {
		if _, ok := ca[id]; !ok {
			return "extra " + y
		}
	}
	return ""
}

func TestModel(t *testing.T) {
	pack := `title: t
creator: Someone
is_public: true
lastmod: 2022-04-15
label: Lazarus group
category: user
abuse: sanction
actor: lazarusgroup
confidence: authority_data
source: https://example.org/a
tags:
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  currency: BTC
- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'
  currency: USDT
  confidence: 42
  lastmod: 2023-01-02T03:04:05Z
- address: 0x722122dF12D4e14e13Ac3b6895a86e84145b6967
  currency: ETH
  label: tornado.cash
  category: mixing_service
  abuse: ~
  actor: tornado
  confidence: hearsay
- tx_hash: 0xabc
  currency: ETH
`
	res := MustParse(t, []byte(pack), Options{})
	byType := map[string][]*stix.Object{}
	for _, o := range res.Objects {
		byType[o.Type] = append(byType[o.Type], o)
		if o.TLP() != stix.TLPClear {
			t.Errorf("public pack: %s is %s", o.ID, o.TLP())
		}
	}
	if len(byType[stix.TypeCryptocurrencyWallet]) != 3 || len(byType["indicator"]) != 2 || len(byType["threat-actor"]) != 2 || len(byType["identity"]) != 3 {
		t.Fatalf("objects: %d wallets, %d indicators, %d actors, %d identities", len(byType[stix.TypeCryptocurrencyWallet]), len(byType["indicator"]), len(byType["threat-actor"]), len(byType["identity"]))
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Value != "0xabc" || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "hearsay") {
		t.Errorf("skipped %v, notes %q", res.Skipped, res.Notes)
	}
	conf := map[string]string{}
	for _, o := range byType["relationship"] {
		if o.String("relationship_type") != "related-to" {
			continue
		}
		l, _ := o.WalletLabel()
		conf[l.Category] += string(o.Raw("confidence")) + " " + o.String("created") + ";"
	}
	if conf["user"] != "60 2022-04-15T00:00:00.000Z;42 2023-01-02T03:04:05.000Z;" || conf["mixing_service"] != " 2022-04-15T00:00:00.000Z;" {
		t.Errorf("confidences and dates %q", conf)
	}
	for _, o := range byType["identity"] {
		want := map[string]string{"Someone": "organization", "Lazarus group": "unknown", "tornado.cash": "organization"}[o.String("name")]
		if o.String("identity_class") != want {
			t.Errorf("%s is %s", o.String("name"), o.String("identity_class"))
		}
	}
	for _, o := range byType["indicator"] {
		if !slices.Equal(o.Strings("labels"), []string{"sanction"}) || !strings.HasPrefix(o.String("pattern"), "[cryptocurrency-wallet:chain = '") {
			t.Errorf("indicator %s %q", o.String("pattern"), o.Strings("labels"))
		}
	}

	// --chain overrides the currency; without is_public the level is
	// Options.TLP, AMBER by default.
	private := strings.Replace(pack, "is_public: true", "is_public: false", 1)
	res = MustParse(t, []byte(strings.Replace(private, "- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak\n  currency: BTC\n", "", 1)), Options{Chain: "bsc", TLP: stix.TLPGreen})
	for _, o := range res.Objects {
		if o.TLP() != stix.TLPGreen || (o.Type == stix.TypeCryptocurrencyWallet && o.String("chain") != "bsc") {
			t.Errorf("%s: %s %s", o.ID, o.TLP(), o.String("chain"))
		}
	}
}

func TestConfidence(t *testing.T) {
	for in, want := range map[string]int{"ownership": 100, "ledger_immanent": 100, "authority_data": 60, "service_data": 50, "forensic": 50, "web_crawl": 20, "Heuristic": 10, "unknown": 5, "0": 0, "77": 77} {
		if got, ok := Confidence(in); !ok || got != want {
			t.Errorf("Confidence(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "hearsay", "101", "-1", "0.5"} {
		if got, ok := Confidence(in); ok {
			t.Errorf("Confidence(%q) = %d", in, got)
		}
	}
}

func TestMalformed(t *testing.T) {
	head := "title: t\ncreator: c\nlastmod: 2022-01-01\ncurrency: BTC\nlabel: l\n"
	for _, tc := range []struct{ name, pack, want string }{
		{"yaml", head + "tags:\n- address: [1\n", "line 6: did not find expected"},
		{"not a mapping", "- a\n- b\n", "line 1: not a TagPack"},
		{"no tags", head, "no list of tags"},
		{"tag not a mapping", head + "tags:\n- 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", "line 7: a tag that is not a mapping"},
		{"no address", head + "tags:\n- label: x\n", "line 7: a tag without an address"},
		{"no label", "title: t\ncreator: c\nlastmod: 2022-01-01\ncurrency: BTC\ntags:\n- address: a\n", "line 6: tag a has no label"},
		{"no currency", "title: t\ncreator: c\nlastmod: 2022-01-01\nlabel: l\ntags:\n- address: a\n", "line 6: tag a has no currency"},
		{"no lastmod", "title: t\ncreator: c\nlabel: l\ncurrency: BTC\ntags:\n- address: a\n", "line 6: tag a has no lastmod"},
		{"bad lastmod", head + "tags:\n- address: a\n  lastmod: yesterday\n", `line 8: lastmod "yesterday" is not a date`},
		{"is_public", head + "is_public: maybe\ntags: []\n", `line 6: is_public "maybe"`},
		{"no creator", "title: t\ntags: []\n", "no creator"},
		{"label list", head + "tags:\n- address: a\n  label: [x]\n", "line 8: label is not a single value"},
		{"two documents", head + "tags: []\n---\ntitle: u\n", "second YAML document"},
		{"duplicate key", head + "label: m\ntags: []\n", "line 6: label twice"},
		{"empty", "", "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.pack), Options{})
			if err == nil || res != nil {
				t.Fatalf("no error: %+v", res)
			}
			if fault.CodeOf(err) != fault.Malformed || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (%s), want %q", err, fault.CodeOf(err), tc.want)
			}
		})
	}
}

func TestWriteOthers(t *testing.T) {
	// A threat-actor's wallet without a label (as the OFAC importer
	// records LAZARUS GROUP's) is written with the actor's name as label.
	actor := stix.New("threat-actor", "threat-actor--2cb1e2ae-1d9e-4d26-8a2b-6d7c9a2b6f29")
	set(actor, map[string]any{"name": "LAZARUS GROUP"})
	w := wallet("ethereum", "0x098b716b8aaf21512996dc57eb0615e2383e2f96", stix.TLPClearID)
	uses := stix.New("relationship", "relationship--4a6e6a0e-2f6c-4e0c-9d5e-7c5b5e6a1b2c")
	set(uses, map[string]any{"relationship_type": "uses", "source_ref": actor.ID, "target_ref": w.ID, "created": "2024-05-03T00:00:00.000Z", "object_marking_refs": []string{stix.TLPClearID}})
	var buf bytes.Buffer
	if err := Write(&buf, actor, w, uses); err != nil {
		t.Fatal(err)
	}
	res := MustParse(t, buf.Bytes(), Options{})
	var labels []string
	for _, o := range res.Objects {
		if o.Type == "identity" {
			labels = append(labels, o.String("name"))
		}
		if o.TLP() != stix.TLPClear {
			t.Errorf("%s is %s", o.ID, o.TLP())
		}
	}
	if !slices.Equal(labels, []string{"cointrail", "LAZARUS GROUP"}) || !strings.Contains(buf.String(), "'0x098B716B8Aaf21512996dC57EB0615e2383E2f96'") {
		t.Errorf("labels %q from\n%s", labels, buf.String())
	}
}

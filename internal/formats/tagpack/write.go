package tagpack

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/stix"
)

// tickers gives the ticker [Write] writes for a chain; a chain not listed
// is written upper case, which [address.Ticker] maps back to it.
var tickers = map[string]string{
	"bitcoin": "BTC", "ethereum": "ETH", "tron": "TRX", "litecoin": "LTC", "dash": "DASH",
	"zcash": "ZEC", "bitcoin-cash": "BCH", "bitcoin-gold": "BTG", "bitcoin-sv": "BSV",
	"verge": "XVG", "monero": "XMR", "ethereum-classic": "ETC", "arbitrum": "ARB",
	"bsc": "BSC", "ripple": "XRP", "nem": "XEM",
}

// out is one tag as Write writes it.
type out struct {
	creator string
	public  bool
	f       map[string]string // address, currency, label, category, abuse, source, confidence, actor, lastmod
}

// tagFields is the order of a tag's fields; all but address may move to
// the header when every tag has the same value.
var tagFields = []string{"address", "currency", "label", "category", "abuse", "source", "confidence", "actor", "lastmod"}

// Write writes objs as one TagPack: a tag for each wallet label (a
// "related-to" relationship from a cryptocurrency-wallet to an identity,
// with the wallet label extension), with the label's category, abuse and
// source, its confidence as GraphSense names it, its date as lastmod, and
// the actor whose "uses" relationship [Parse] made for the same tag. A
// wallet with no label that a threat-actor uses gets a tag labelled with
// the actor's name, category "perpetrator". Objects of other kinds are
// read only as the targets of these.
//
// The pack's creator is the name of the identity that created the labels
// when it is one for all, else "cointrail"; it is public ("is_public:
// true") when every label is TLP:CLEAR. Values that all tags share are
// written once in the header. For objects made by [Parse] from one pack,
// parsing what Write wrote (with the same [Options]) gives the same
// objects.
func Write(w io.Writer, objs ...*stix.Object) error {
	byID := make(map[string]*stix.Object, len(objs))
	for _, o := range objs {
		byID[o.ID] = o
	}
	uses := map[string][]*stix.Object{} // wallet id -> uses relationships of threat-actors
	labelled := map[string]bool{}
	for _, o := range objs {
		if o.Type != "relationship" {
			continue
		}
		switch o.String("relationship_type") {
		case "uses":
			if stix.TypeOf(o.String("source_ref")) == "threat-actor" {
				uses[o.String("target_ref")] = append(uses[o.String("target_ref")], o)
			}
		case "related-to":
			if _, ok := o.WalletLabel(); ok {
				labelled[o.String("source_ref")] = true
			}
		}
	}
	name := func(id string) string {
		if o := byID[id]; o != nil {
			return o.String("name")
		}
		return ""
	}
	var tags []out
	for _, o := range objs {
		if o.Type != "relationship" || o.String("relationship_type") != "related-to" {
			continue
		}
		lab, ok := o.WalletLabel()
		wal := byID[o.String("source_ref")]
		label := name(o.String("target_ref"))
		if !ok || wal == nil || wal.Type != stix.TypeCryptocurrencyWallet || label == "" {
			continue
		}
		t := newOut(o, wal, byID)
		t.f["label"], t.f["category"], t.f["abuse"], t.f["source"] = label, lab.Category, lab.Abuse, lab.Source
		chain, value := wal.String("chain"), wal.String("value")
		for _, u := range uses[wal.ID] {
			actor := name(u.String("source_ref"))
			if actor != "" && ActorID(actor) == u.String("source_ref") && u.ID == usesID(t.creator, actor, label, chain, value) {
				t.f["actor"] = actor
				break
			}
		}
		tags = append(tags, t)
	}
	for _, o := range objs {
		if o.Type != stix.TypeCryptocurrencyWallet || labelled[o.ID] {
			continue
		}
		for _, u := range uses[o.ID] {
			actor := name(u.String("source_ref"))
			if actor == "" {
				continue
			}
			t := newOut(u, o, byID)
			t.f["label"], t.f["category"] = actor, "perpetrator"
			if ActorID(actor) == u.String("source_ref") {
				t.f["actor"] = actor
			}
			tags = append(tags, t)
		}
	}
	slices.SortStableFunc(tags, func(a, b out) int {
		for _, k := range []string{"label", "currency", "address", "lastmod"} {
			if c := cmp.Compare(a.f[k], b.f[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	return encode(w, tags)
}

// newOut starts the tag of relationship rel on wallet wal.
func newOut(rel, wal *stix.Object, byID map[string]*stix.Object) out {
	chain, value := wal.String("chain"), wal.String("value")
	shown, err := address.Display(chain, value)
	if err != nil {
		shown = value
	}
	ticker := tickers[chain]
	if ticker == "" {
		ticker = strings.ToUpper(chain)
	}
	t := out{public: rel.TLP() == stix.TLPClear, f: map[string]string{"address": shown, "currency": ticker}}
	if c := byID[rel.CreatedByRef()]; c != nil {
		t.creator = c.String("name")
	}
	if raw := rel.Raw("confidence"); raw != nil {
		if n, err := strconv.Atoi(string(raw)); err == nil {
			t.f["confidence"] = confidenceName(n)
		}
	}
	if d, ok := rel.Time("created"); ok {
		t.f["lastmod"] = formatDate(d)
	}
	return t
}

func confidenceName(n int) string {
	if s, ok := confidenceNames[n]; ok {
		return s
	}
	return strconv.Itoa(n)
}

// formatDate writes a lastmod: the date alone at midnight, else the time.
func formatDate(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format("2006-01-02")
	}
	return t.Format(stix.TimeLayout)
}

func encode(w io.Writer, tags []out) error {
	creator, public := "", len(tags) > 0
	for i, t := range tags {
		if i == 0 {
			creator = t.creator
		} else if t.creator != creator {
			creator = ""
		}
		public = public && t.public
	}
	title := "Wallet labels exported from cointrail"
	if creator == "" {
		creator = "cointrail"
	}
	root := mapping()
	addScalar(root, "title", title)
	addScalar(root, "creator", creator)
	if public {
		addTagged(root, "is_public", "!!bool", "true")
	}
	shared := map[string]bool{}
	for _, k := range tagFields[1:] {
		v, same := "", len(tags) > 0
		for i, t := range tags {
			if i == 0 {
				v = t.f[k]
			} else if t.f[k] != v {
				same = false
				break
			}
		}
		if same && v != "" {
			shared[k] = true
			addField(root, k, v)
		}
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, t := range tags {
		m := mapping()
		for _, k := range tagFields {
			if v := t.f[k]; v != "" && !shared[k] {
				addField(m, k, v)
			}
		}
		list.Content = append(list.Content, m)
	}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "tags"}, list)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("tagpack: write: %w", err)
	}
	return enc.Close()
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func addScalar(m *yaml.Node, k, v string) { addTagged(m, k, "!!str", v) }

func addTagged(m *yaml.Node, k, tag, v string) {
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: k},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v})
}

// addField writes a tag field: lastmod as a YAML date, a numeric
// confidence as a number, the rest as strings.
func addField(m *yaml.Node, k, v string) {
	switch {
	case k == "lastmod" && len(v) == len("2006-01-02"):
		addTagged(m, k, "!!timestamp", v)
	case k == "confidence":
		if _, err := strconv.Atoi(v); err == nil {
			addTagged(m, k, "!!int", v)
			return
		}
		addScalar(m, k, v)
	case k == "address" && numberLike(v):
		// Quoted, as GraphSense's packs write them: YAML 1.1 readers
		// take an unquoted 0x... for a hexadecimal integer.
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: k},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.SingleQuotedStyle, Value: v})
	default:
		addScalar(m, k, v)
	}
}

// numberLike reports whether a YAML reader could take v for a number.
func numberLike(v string) bool {
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		return true
	}
	return strings.Trim(v, "0123456789.+-_eE") == ""
}

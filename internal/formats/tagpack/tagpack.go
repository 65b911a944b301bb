// Package tagpack converts GraphSense TagPacks (YAML files of attribution
// tags) to STIX objects, and writes them back.
//
// A TagPack is a header and a list of tags; the header's fields (label,
// source, currency, network, confidence, lastmod, category, abuse, actor)
// are defaults that each tag inherits unless it sets its own. Each tag with
// an address becomes:
//
//   - a cryptocurrency-wallet: the chain from the tag's network (or else its
//     currency) through [address.Ticker], or [Options.Chain] for the whole
//     pack; the value canonical;
//   - for its label, an identity named by the label (identity_class
//     "organization" for services, "unknown" for the categories that name
//     people or kinds of use: user, perpetrator, victim, donation, entity,
//     black_list) and a "related-to" relationship from the wallet to it
//     carrying cointrail's wallet label extension: the GraphSense category,
//     the abuse if any, the source; its "confidence" is the level
//     GraphSense gives the tag's confidence name ([Confidence]);
//   - if the tag names an abuse, an indicator flagging the wallet, labelled
//     with the abuse;
//   - if the tag names an actor, a threat-actor named by the actor id and a
//     "uses" relationship from it to the wallet.
//
// A tag without a category takes "perpetrator" when it names an abuse,
// "entity" (GraphSense's concept for any actor) otherwise. Every object is
// created by an identity for the pack's creator, which is emitted too;
// "created" and "modified" (and an indicator's "valid_from") are the tag's
// lastmod, so the same pack gives the same objects. Packs marked
// "is_public: true" are TLP:CLEAR; the others take [Options.TLP].
//
// [Write] turns such objects back into a TagPack.
package tagpack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// Options configure [Parse]. The zero value is valid.
type Options struct {
	// Chain, if set, is the chain of every tag, whatever its currency says.
	Chain string
	// TLP marks the objects of a pack that is not "is_public: true".
	// Default: TLP:AMBER.
	TLP stix.TLP
	// LastMod dates the tags of a pack that gives no lastmod. Default:
	// none; such a pack is malformed.
	LastMod time.Time
}

// Result is what [Parse] made of a pack.
type Result struct {
	// Objects are the STIX objects, the creator's identity first.
	Objects []*stix.Object
	// Skipped lists the tags left out, in file order.
	Skipped []Skip
	// Notes lists tags imported with a caveat (an unknown currency or
	// confidence).
	Notes []string
	// Tags counts the tags in the pack.
	Tags int
	// Title and Creator are the pack's.
	Title, Creator string
}

// Skip is a tag left out of the import.
type Skip struct {
	// Line is the line of the tag in the pack.
	Line int
	// Value is the tag's address (or transaction hash).
	Value string
	// Reason says why it was left out.
	Reason string
}

func (s Skip) String() string { return fmt.Sprintf("line %d: %q: %s", s.Line, s.Value, s.Reason) }

// The confidence levels GraphSense gives its confidence names
// (graphsense-tagpack-tool, src/tagpack/db/confidence.csv).
var confidenceLevels = map[string]int{
	"override":               100,
	"ownership":              100,
	"ledger_immanent":        100,
	"manual_transaction":     90,
	"service_api":            70,
	"forensic_investigation": 70,
	"authority_data":         60,
	"trusted_provider":       50,
	"service_data":           50,
	"forensic":               50,
	"untrusted_transaction":  40,
	"web_crawl":              20,
	"heuristic":              10,
	"unknown":                5,
}

// confidenceNames is the name [Write] gives each level.
var confidenceNames = map[int]string{
	100: "ownership", 90: "manual_transaction", 70: "service_api", 60: "authority_data",
	50: "service_data", 40: "untrusted_transaction", 20: "web_crawl", 10: "heuristic", 5: "unknown",
}

// Confidence returns the STIX confidence (0 to 100) of a TagPack confidence:
// GraphSense's level for a name of its confidence taxonomy ("ownership" 100,
// "authority_data" 60, "forensic" 50, "web_crawl" 20, ...), or a number
// from 0 to 100 as written. It reports false for anything else.
func Confidence(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, ok := confidenceLevels[strings.ToLower(s)]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100 {
		return 0, false
	}
	return n, true
}

// peopleCategories are the categories whose label identity is of class
// "unknown": they name a person or a kind of use, not a service.
var peopleCategories = []string{"user", "perpetrator", "victim", "donation", "entity", "black_list", "unknown"}

// The header and tag fields read; a tag's value overrides the header's.
var inherited = []string{"label", "source", "currency", "network", "confidence", "lastmod", "category", "abuse", "actor"}

// fields are the scalar fields of a header or a tag, by name.
type fields map[string]*yaml.Node

func (f fields) get(name string) string {
	if n := f[name]; n != nil {
		return strings.TrimSpace(n.Value)
	}
	return ""
}

func malformed(line int, format string, args ...any) error {
	return fault.New(fault.Malformed, "line %d: %s", line, fmt.Sprintf(format, args...))
}

// readFields reads the scalar fields of a mapping node, skipping "tags" and
// fields that hold lists or mappings (concepts, context objects).
func readFields(n *yaml.Node) (fields, error) {
	out := fields{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, malformed(k.Line, "a key that is not a string")
		}
		if _, dup := out[k.Value]; dup {
			return nil, malformed(k.Line, "%s twice", k.Value)
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			out[k.Value] = nil
		case v.Kind == yaml.ScalarNode:
			out[k.Value] = v
		case slices.Contains(inherited, k.Value) || k.Value == "address" || k.Value == "title" || k.Value == "creator" || k.Value == "is_public":
			return nil, malformed(v.Line, "%s is not a single value", k.Value)
		default:
			out[k.Value] = nil
		}
	}
	return out, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n.Kind == yaml.AliasNode && n.Alias != nil && depth < 10; depth++ {
		n = n.Alias
	}
	return n
}

// parseDate parses a lastmod: a date or an RFC 3339 timestamp.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("lastmod %q is not a date (YYYY-MM-DD)", s)
}

// tag is one tag resolved against its header.
type tag struct {
	line                           int
	chain, value                   string
	label, category, abuse, source string
	actor                          string
	confidence                     *int
	lastmod                        time.Time
}

// Parse reads a TagPack from r. A file that is not a TagPack (bad YAML,
// no tags list, a tag that is not a mapping, a tag without an address,
// label or currency, a bad lastmod or is_public) gives a *[fault.Error]
// with code [fault.Malformed] naming the first bad line, and no objects. A
// tag whose address fails its chain's checks is reported in
// [Result.Skipped] and not imported, as is a transaction tag.
func Parse(r io.Reader, opts Options) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("tagpack: read: %w", err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fault.New(fault.Malformed, "line 1: empty file, not a TagPack")
		}
		return nil, fault.New(fault.Malformed, "%s", yamlError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, malformed(extra.Line, "a second YAML document; a TagPack is one")
	} else if !errors.Is(err, io.EOF) {
		return nil, fault.New(fault.Malformed, "%s", yamlError(err))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, malformed(root.Line, "not a TagPack: the document is not a mapping of header fields and tags")
	}
	header, err := readFields(root)
	if err != nil {
		return nil, err
	}
	var tags *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "tags" {
			tags = resolve(root.Content[i+1])
		}
	}
	if tags == nil || tags.Kind != yaml.SequenceNode {
		return nil, malformed(root.Line, "not a TagPack: no list of tags")
	}
	creator := header.get("creator")
	if creator == "" {
		return nil, malformed(root.Line, "the pack has no creator")
	}
	level := opts.TLP
	if level == stix.TLPNone {
		level = stix.TLPAmber
	}
	if n := header["is_public"]; n != nil {
		pub, err := strconv.ParseBool(n.Value)
		if err != nil {
			return nil, malformed(n.Line, "is_public %q is not true or false", n.Value)
		}
		if pub {
			level = stix.TLPClear
		}
	}
	res := &Result{Tags: len(tags.Content), Title: header.get("title"), Creator: creator}
	var resolved []tag
	var ns notes
	seen := map[string]int{} // label|chain|value -> line of the tag
	for _, tn := range tags.Content {
		tn = resolve(tn)
		if tn.Kind != yaml.MappingNode {
			return nil, malformed(tn.Line, "a tag that is not a mapping")
		}
		f, err := readFields(tn)
		if err != nil {
			return nil, err
		}
		t, ok, err := resolveTag(tn.Line, header, f, opts, res, &ns)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		k := t.label + "|" + t.chain + "|" + t.value
		if first, dup := seen[k]; dup {
			res.Skipped = append(res.Skipped, Skip{Line: t.line, Value: f.get("address"), Reason: fmt.Sprintf("the tag on line %d already labels %s %s %q", first, t.chain, t.value, t.label)})
			continue
		}
		seen[k] = t.line
		resolved = append(resolved, t)
	}
	res.Notes = ns.lines()
	b := newBuilder(creator, level)
	b.build(resolved)
	res.Objects = b.objs
	return res, nil
}

func yamlError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if !strings.HasPrefix(msg, "line ") {
		msg = "line 1: " + msg
	}
	return msg
}

// resolveTag applies the header's defaults to a tag and checks it.
func resolveTag(line int, header, f fields, opts Options, res *Result, notes *notes) (tag, bool, error) {
	get := func(name string) (string, int) {
		// A tag's own value wins, even a null one, as in GraphSense's
		// tool: "abuse: ~" in a tag means no abuse, whatever the header
		// says.
		if n, ok := f[name]; ok {
			if n == nil {
				return "", line
			}
			return strings.TrimSpace(n.Value), n.Line
		}
		if n := header[name]; n != nil {
			return strings.TrimSpace(n.Value), n.Line
		}
		return "", line
	}
	t := tag{line: line}
	addr := f.get("address")
	if addr == "" {
		if tx := f.get("tx_hash"); tx != "" {
			res.Skipped = append(res.Skipped, Skip{Line: line, Value: tx, Reason: "transaction tags are not imported"})
			return t, false, nil
		}
		return t, false, malformed(line, "a tag without an address")
	}
	if t.label, _ = get("label"); t.label == "" {
		return t, false, malformed(line, "tag %s has no label", addr)
	}
	t.category, _ = get("category")
	t.abuse, _ = get("abuse")
	t.source, _ = get("source")
	t.actor, _ = get("actor")
	if t.category == "" {
		t.category = "entity"
		if t.abuse != "" {
			t.category = "perpetrator"
		}
	}
	if s, l := get("lastmod"); s != "" {
		d, err := parseDate(s)
		if err != nil {
			return t, false, malformed(l, "%v", err)
		}
		t.lastmod = d
	} else if !opts.LastMod.IsZero() {
		t.lastmod = opts.LastMod.UTC().Truncate(time.Millisecond)
	} else {
		return t, false, malformed(line, "tag %s has no lastmod, and the pack none", addr)
	}
	if s, _ := get("confidence"); s != "" {
		if n, ok := Confidence(s); ok {
			t.confidence = &n
		} else {
			notes.add(fmt.Sprintf("unknown confidence %q: imported without a confidence", s), line)
		}
	}
	chain := strings.ToLower(strings.TrimSpace(opts.Chain))
	if chain == "" {
		ticker, _ := get("network")
		if ticker == "" {
			ticker, _ = get("currency")
		}
		if ticker == "" {
			return t, false, malformed(line, "tag %s has no currency", addr)
		}
		var known bool
		if chain, _, known = address.Ticker(ticker, addr); !known {
			notes.add(fmt.Sprintf("unknown currency %s: imported on chain %q unchecked", ticker, chain), line)
		}
	}
	v, err := address.Canonical(chain, addr)
	if err != nil {
		res.Skipped = append(res.Skipped, Skip{Line: line, Value: addr, Reason: fault.MessageOf(err)})
		return t, false, nil
	}
	t.chain, t.value = chain, v
	return t, true, nil
}

// notes collects caveats, one line per kind with the tags it concerns.
type notes struct {
	order []string
	where map[string][]int
}

func (n *notes) add(what string, line int) {
	if n.where == nil {
		n.where = map[string][]int{}
	}
	if _, ok := n.where[what]; !ok {
		n.order = append(n.order, what)
	}
	n.where[what] = append(n.where[what], line)
}

func (n *notes) lines() []string {
	var out []string
	for _, what := range n.order {
		lines := n.where[what]
		if len(lines) == 1 {
			out = append(out, fmt.Sprintf("line %d: %s", lines[0], what))
		} else {
			out = append(out, fmt.Sprintf("lines %d and %d more: %s", lines[0], len(lines)-1, what))
		}
	}
	return out
}

// IDs of the objects a pack makes, so that [Write] can find them again.

// CreatorID returns the id of the identity of a pack's creator.
func CreatorID(creator string) string { return stix.ImportID("identity", "tagpack-creator", creator) }

// LabelID returns the id of the identity a label names.
func LabelID(label string) string { return stix.ImportID("identity", "tagpack-entity", label) }

// ActorID returns the id of the threat-actor of a GraphSense actor id.
func ActorID(actor string) string { return stix.ImportID("threat-actor", "graphsense-actor", actor) }

func labelRelID(creator, label, chain, value string) string {
	return stix.ImportID("relationship", "tagpack-label", creator, label, chain, value)
}

func usesID(creator, actor, label, chain, value string) string {
	return stix.ImportID("relationship", "tagpack-uses", creator, actor, label, chain, value)
}

func indicatorID(creator, abuse, chain, value string) string {
	return stix.ImportID("indicator", "tagpack", creator, abuse, chain, value)
}

// builder makes the objects of the resolved tags.
type builder struct {
	creator string
	marking string
	objs    []*stix.Object
	byID    map[string]*stix.Object
}

func newBuilder(creator string, level stix.TLP) *builder {
	return &builder{creator: creator, marking: level.ID(), byID: map[string]*stix.Object{}}
}

// earliest returns the earliest lastmod of the tags for which key gives k.
func earliest(tags []tag, key func(tag) string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, t := range tags {
		k := key(t)
		if d, ok := out[k]; !ok || t.lastmod.Before(d) {
			out[k] = t.lastmod
		}
	}
	return out
}

// build makes the objects of tags, which label each wallet once per label.
// An object that several tags make (a label's identity, a wallet with two
// labels) is made once, dated by the earliest of those tags, so the result
// does not depend on the order of the tags.
func (b *builder) build(tags []tag) {
	if len(tags) == 0 {
		return
	}
	all := earliest(tags, func(tag) string { return "" })[""]
	b.add(b.sdo("identity", CreatorID(b.creator), all, map[string]any{
		"name": b.creator, "identity_class": "organization", "description": "Creator of GraphSense TagPacks.",
	}))
	byLabel := earliest(tags, func(t tag) string { return t.label })
	class := map[string]string{}
	for _, t := range tags {
		if !slices.Contains(peopleCategories, t.category) {
			class[t.label] = "organization"
		} else if class[t.label] == "" {
			class[t.label] = "unknown"
		}
	}
	byActor := earliest(tags, func(t tag) string { return t.actor })
	byAbuse := earliest(tags, func(t tag) string { return t.abuse + "|" + t.chain + "|" + t.value })
	for _, t := range tags {
		w := wallet(t.chain, t.value, b.marking)
		b.add(w)
		b.add(b.sdo("identity", LabelID(t.label), byLabel[t.label], map[string]any{
			"name": t.label, "identity_class": class[t.label],
		}))
		rel := b.sdo("relationship", labelRelID(b.creator, t.label, t.chain, t.value), t.lastmod, map[string]any{
			"relationship_type": "related-to", "source_ref": w.ID, "target_ref": LabelID(t.label),
		})
		ext := map[string]any{"category": t.category}
		if t.abuse != "" {
			ext["abuse"] = t.abuse
		}
		if t.source != "" {
			ext["source"] = t.source
		}
		must(rel.SetExtension(stix.LabelExtensionID, "property-extension", ext))
		if t.confidence != nil {
			set(rel, map[string]any{"confidence": *t.confidence})
		}
		b.add(rel)
		if t.abuse != "" {
			d := byAbuse[t.abuse+"|"+t.chain+"|"+t.value]
			b.add(b.sdo("indicator", indicatorID(b.creator, t.abuse, t.chain, t.value), d, map[string]any{
				"name":            fmt.Sprintf("%s: %s address %s", t.abuse, t.chain, t.value),
				"description":     fmt.Sprintf("Tagged %s by %s.", t.abuse, b.creator),
				"pattern":         Pattern(t.chain, t.value),
				"pattern_type":    "stix",
				"valid_from":      stix.FormatTime(d),
				"indicator_types": []string{"malicious-activity"},
				"labels":          []string{t.abuse},
			}))
		}
		if t.actor != "" {
			b.add(b.sdo("threat-actor", ActorID(t.actor), byActor[t.actor], map[string]any{"name": t.actor}))
			b.add(b.sdo("relationship", usesID(b.creator, t.actor, t.label, t.chain, t.value), t.lastmod, map[string]any{
				"relationship_type": "uses", "source_ref": ActorID(t.actor), "target_ref": w.ID,
			}))
		}
	}
}

func (b *builder) add(o *stix.Object) {
	if _, ok := b.byID[o.ID]; ok {
		return
	}
	b.byID[o.ID] = o
	b.objs = append(b.objs, o)
}

func (b *builder) sdo(typ, id string, date time.Time, props map[string]any) *stix.Object {
	o := stix.New(typ, id)
	ts := stix.FormatTime(date)
	set(o, map[string]any{
		"spec_version":        "2.1",
		"created":             ts,
		"modified":            ts,
		"created_by_ref":      CreatorID(b.creator),
		"object_marking_refs": []string{b.marking},
	})
	set(o, props)
	return o
}

// Pattern returns the STIX pattern that matches the wallet chain:value.
func Pattern(chain, value string) string {
	q := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return fmt.Sprintf("[cryptocurrency-wallet:chain = '%s' AND cryptocurrency-wallet:value = '%s']", q.Replace(chain), q.Replace(value))
}

func wallet(chain, value, marking string) *stix.Object {
	o := stix.New(stix.TypeCryptocurrencyWallet, stix.TypeCryptocurrencyWallet+"--00000000-0000-4000-8000-000000000000")
	set(o, map[string]any{"chain": chain, "value": value})
	id, _, err := stix.DeterministicID(o)
	must(err)
	set(o, map[string]any{
		"id":                  id,
		"spec_version":        "2.1",
		"extensions":          map[string]any{stix.WalletExtensionID: map[string]string{"extension_type": "new-sco"}},
		"object_marking_refs": []string{marking},
	})
	return o
}

func set(o *stix.Object, props map[string]any) {
	for k, v := range props {
		must(o.Set(k, v))
	}
}

func must(err error) {
	if err != nil {
		panic(err) // only JSON-encodable values are set
	}
}

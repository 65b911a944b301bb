package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/stix"
)

// Options configure [ParseEvents]. The zero value is usable: it names no
// recipients.
type Options struct {
	// Orgs maps an organisation of a MISP sharing group, by name and MISP
	// uuid, to the identity id of the node's organisation it is. The
	// organisations it does not know are reported in [Result.Skipped] and
	// are not recipients. Default: none is known.
	Orgs func(name, uuid string) (identityID string, ok bool)
}

// Result is what [ParseEvents] or [ParseGalaxy] made of their input.
type Result struct {
	// Objects are the STIX objects, sorted by id. Each is valid, and
	// observables are merged: a wallet that several attributes name is one
	// object.
	Objects []*stix.Object
	// Skipped lists what was left out, each with the reason: values that
	// fail their checksum, galaxies other than threat-actor, deleted
	// attributes, sharing-group members the node does not know.
	Skipped []string
	// Notes lists what was imported with a caveat (an unknown ticker, a
	// transaction whose amounts could not be placed).
	Notes []string
	// Events counts the events read.
	Events int
}

// ParseEvents reads MISP events from r and converts them to STIX objects,
// as the package documentation describes. r holds one event
// ({"Event": {...}}, or a feed's event file), a list of them, MISP's REST
// answer ({"response": [...]}), or several of these one after another.
//
// Input that is not such JSON, an event without uuid or info, an attribute
// without uuid, type or value, an object of a known template without the
// attributes its template requires, or an amount more precise than its
// asset's base unit gives a *fault.Error with code Malformed naming the
// first bad event and element, and no objects. Values that are well formed
// but fail a check of their own (an address's checksum) are left out and
// reported in [Result.Skipped].
func ParseEvents(r io.Reader, opts Options) (*Result, error) {
	raws, err := splitEvents(r)
	if err != nil {
		return nil, err
	}
	b := newBuilder(opts)
	for i, raw := range raws {
		if err := b.event(i+1, raw); err != nil {
			return nil, err
		}
	}
	b.res.Events = len(raws)
	return b.finish()
}

// builder accumulates the objects of one input.
type builder struct {
	opts Options
	res  Result
	said map[string]bool // skips and notes already reported

	objs    map[string]*held // by id, or id|modified for reports
	reports []*pending
	wallets map[string]*walletAcc
	txs     map[string]*txAcc
	actors  map[string]*actorAcc
}

type held struct {
	o     *stix.Object
	canon []byte
	where string
}

// pending is an event's report, whose references are completed once every
// event is read.
type pending struct {
	o     *stix.Object
	uuid  string
	refs  []string
	where string
	scope scope
}

func newBuilder(opts Options) *builder {
	return &builder{
		opts:    opts,
		said:    map[string]bool{},
		objs:    map[string]*held{},
		wallets: map[string]*walletAcc{},
		txs:     map[string]*txAcc{},
		actors:  map[string]*actorAcc{},
	}
}

func (b *builder) skip(msg string) {
	if !b.said["s"+msg] {
		b.said["s"+msg] = true
		b.res.Skipped = append(b.res.Skipped, msg)
	}
}

func (b *builder) note(msg string) {
	if !b.said["n"+msg] {
		b.said["n"+msg] = true
		b.res.Notes = append(b.res.Notes, msg)
	}
}

// add keeps o. The same id twice must be the same object: a MISP uuid
// stands for one element.
func (b *builder) add(o *stix.Object, where string) error {
	canon, err := o.Canonical()
	if err != nil {
		return malformed("%s: %v", where, err)
	}
	key := o.ID
	if o.Type == "report" {
		key += "|" + o.Modified()
	}
	if prev, ok := b.objs[key]; ok {
		if bytes.Equal(prev.canon, canon) {
			return nil
		}
		return malformed("%s: its uuid is also that of %s, with different content", where, prev.where)
	}
	b.objs[key] = &held{o: o, canon: canon, where: where}
	return nil
}

// set sets a property whose value is known to encode.
func set(o *stix.Object, name string, v any) {
	if err := o.Set(name, v); err != nil {
		panic(err)
	}
}

// setIf sets a property when v is not its zero value.
func setIf[T comparable](o *stix.Object, name string, v T) {
	var zero T
	if v != zero {
		set(o, name, v)
	}
}

// importID is the id of the object of type typ made from the MISP element
// kind ("misp-event", "misp-attribute", "misp-object", "misp-galaxy") with
// the given uuid.
func importID(typ, kind, uuid string) string {
	return stix.ImportID(typ, kind, strings.ToLower(uuid))
}

func mispRef(uuid string) []map[string]string {
	return []map[string]string{{"source_name": SourceName, "external_id": uuid}}
}

// SourceName is the source_name of the external reference that carries
// the MISP uuid of an event, attribute or object.
const SourceName = "misp"

// galaxyTag is the tag MISP attaches a galaxy cluster to an event with.
func galaxyTag(galaxyType, value string) string {
	return fmt.Sprintf("misp-galaxy:%s=%q", galaxyType, value)
}

// event converts the n-th event of the input.
func (b *builder) event(n int, raw json.RawMessage) error {
	var ev eventIn
	if err := json.Unmarshal(raw, &ev); err != nil {
		return malformed("event %d: %s", n, jsonError(err))
	}
	if !ev.UUID.set || ev.UUID.s == "" {
		return malformed("event %d has no uuid", n)
	}
	if !isUUID(ev.UUID.s) {
		return malformed("event %d: uuid %q is not a UUID", n, clip(ev.UUID.s))
	}
	uuid := ev.UUID.s
	where := "event " + uuid
	if strings.TrimSpace(ev.Info.s) == "" {
		return malformed("%s has no info", where)
	}
	var date time.Time
	if ev.Date.set {
		d, err := time.Parse("2006-01-02", ev.Date.s)
		if err != nil {
			return malformed("%s: date %q is not YYYY-MM-DD", where, clip(ev.Date.s))
		}
		date = d
	}
	var modified time.Time
	switch {
	case ev.Timestamp.set:
		t, err := unixTime(ev.Timestamp.s)
		if err != nil {
			return malformed("%s: timestamp: %v", where, err)
		}
		modified = t
	case ev.PublishTimestamp.set && ev.PublishTimestamp.s != "0":
		t, err := unixTime(ev.PublishTimestamp.s)
		if err != nil {
			return malformed("%s: publish_timestamp: %v", where, err)
		}
		modified = t
	case !date.IsZero():
		modified = date
	default:
		return malformed("%s has no timestamp", where)
	}
	published := publishedFallback(date, modified)
	if ev.PublishTimestamp.set && ev.PublishTimestamp.s != "0" {
		t, err := unixTime(ev.PublishTimestamp.s)
		if err != nil {
			return malformed("%s: publish_timestamp: %v", where, err)
		}
		published = t
	}
	dist := ev.Distribution.s
	if ev.Distribution.set && !validDistribution(dist) {
		return malformed("%s: distribution %q is not 0 to 5", where, clip(dist))
	}
	if dist == "5" {
		dist = "" // an event has nothing to inherit from
	}

	// The tags of the threat-actor clusters the event carries are kept as
	// the clusters, not as labels.
	galaxyTags := map[string]bool{}
	collect := func(gs []galaxyIn) {
		for _, g := range gs {
			for _, c := range g.GalaxyCluster {
				if typ := clusterType(g, c); typ == "threat-actor" && c.Value.s != "" {
					galaxyTags[galaxyTag(typ, c.Value.s)] = true
					if c.TagName.s != "" {
						galaxyTags[c.TagName.s] = true
					}
				}
			}
		}
	}
	collect(ev.Galaxy)
	for _, a := range ev.Attribute {
		collect(a.Galaxy)
	}
	for _, o := range ev.Object {
		for _, a := range o.Attribute {
			collect(a.Galaxy)
		}
	}
	labels := func(tags []tagIn) []string {
		var out []string
		for _, t := range tagNames(tags) {
			if !galaxyTags[t] {
				out = append(out, t)
			}
		}
		return out
	}

	tags := tagNames(ev.Tag)
	sc := b.rootScope(tags, dist, ev.SharingGroup.sg)
	ctx := &eventCtx{b: b, where: where, scope: sc, time: modified, labels: labels}

	var refs []string
	for i := range ev.Attribute {
		r, err := ctx.attribute(i, &ev.Attribute[i])
		if err != nil {
			return err
		}
		refs = append(refs, r...)
	}
	for i := range ev.Object {
		r, err := ctx.object(i, &ev.Object[i])
		if err != nil {
			return err
		}
		refs = append(refs, r...)
	}
	r, err := ctx.clusters(ev.Galaxy)
	if err != nil {
		return err
	}
	refs = append(refs, r...)
	if t := bytes.TrimSpace(ev.EventReport); len(t) > 2 && t[0] == '[' {
		b.skip(fmt.Sprintf("%s: its event reports (Markdown) are not imported", where))
	}

	o := stix.New("report", importID("report", "misp-event", uuid))
	set(o, "spec_version", "2.1")
	set(o, "created", stix.FormatTime(modified))
	set(o, "modified", stix.FormatTime(modified))
	set(o, "name", ev.Info.s)
	set(o, "published", stix.FormatTime(published))
	set(o, "external_references", mispRef(uuid))
	if l := labels(ev.Tag); len(l) > 0 {
		set(o, "labels", l)
	}
	setIf(o, "x_misp_date", ev.Date.s)
	if p := ev.Published.ptr(); p != nil {
		set(o, "x_misp_published", *p)
	}
	setIf(o, "x_misp_threat_level_id", ev.ThreatLevelID.s)
	setIf(o, "x_misp_analysis", ev.Analysis.s)
	setIf(o, "x_misp_distribution", ev.Distribution.s)
	if sg := ev.SharingGroup.sg; sg != nil {
		set(o, "x_misp_sharing_group", sg)
	}
	if ev.Orgc != nil && (ev.Orgc.UUID.s != "" || ev.Orgc.Name.s != "") {
		set(o, "x_misp_orgc", org{UUID: ev.Orgc.UUID.s, Name: ev.Orgc.Name.s})
	}
	setIf(o, "x_misp_extends_uuid", ev.ExtendsUUID.s)
	mark(o, sc)
	b.reports = append(b.reports, &pending{o: o, uuid: uuid, refs: refs, where: where, scope: sc})
	return nil
}

// publishedFallback is the publication time of an event that does not say
// when it was published: its date, else its timestamp.
func publishedFallback(date, modified time.Time) time.Time {
	if !date.IsZero() {
		return date
	}
	return modified
}

// eventCtx is what the elements of one event share.
type eventCtx struct {
	b      *builder
	where  string
	scope  scope
	time   time.Time // the event's timestamp
	labels func([]tagIn) []string
}

// walletTypes maps the MISP attribute types for cryptocurrency addresses
// (describeTypes: btc, dash, xmr, all in category "Financial fraud") to
// the ticker of their currency.
var walletTypes = map[string]string{"btc": "BTC", "dash": "DASH", "xmr": "XMR"}

// attribute converts the i-th attribute of the event.
func (c *eventCtx) attribute(i int, a *attributeIn) ([]string, error) {
	b := c.b
	where, err := c.checkAttribute(c.where, i, a)
	if err != nil {
		return nil, err
	}
	if a.Deleted.v {
		b.skip(where + ": deleted in MISP")
		return nil, nil
	}
	created, err := c.timestamp(where, a.Timestamp)
	if err != nil {
		return nil, err
	}
	sg := a.SharingGroup.sg
	sc := b.childScope(c.scope, tagNames(a.Tag), a.Distribution.s, sg)
	refs, err := c.clusters(a.Galaxy)
	if err != nil {
		return nil, err
	}
	seen, err := parseSeen(where, a.FirstSeen, a.LastSeen)
	if err != nil {
		return nil, err
	}
	var o *stix.Object
	if ticker, ok := walletTypes[a.Type.s]; ok {
		chain, _, _ := address.Ticker(ticker, a.Value.s)
		value, err := address.Canonical(chain, a.Value.s)
		if err != nil {
			b.skip(fmt.Sprintf("%s: %s %q: %v", where, a.Type.s, clip(a.Value.s), err))
			return refs, nil
		}
		wid := b.wallet(chain, value, sc)
		if a.ToIDs.v {
			o = stix.New("indicator", importID("indicator", "misp-attribute", a.UUID.s))
			set(o, "pattern", walletPattern(chain, value))
			set(o, "pattern_type", "stix")
			seen.indicator(o, created)
		} else {
			o = stix.New("observed-data", importID("observed-data", "misp-attribute", a.UUID.s))
			set(o, "number_observed", 1)
			set(o, "object_refs", []string{wid})
			seen.observed(o, created)
		}
		if o.Type == "indicator" {
			setIf(o, "description", a.Comment.s)
		} else {
			setIf(o, "x_misp_comment", a.Comment.s)
		}
		set(o, "x_misp_type", a.Type.s)
		set(o, "x_misp_value", a.Value.s)
		refs = append(refs, wid)
	} else {
		o = stix.New("x-misp-attribute", importID("x-misp-attribute", "misp-attribute", a.UUID.s))
		set(o, "x_misp_type", a.Type.s)
		set(o, "x_misp_value", a.Value.s)
		set(o, "x_misp_to_ids", a.ToIDs.v)
		setIf(o, "x_misp_comment", a.Comment.s)
		setIf(o, "x_misp_first_seen", a.FirstSeen.s)
		setIf(o, "x_misp_last_seen", a.LastSeen.s)
		setIf(o, "x_misp_data", a.Data.s)
	}
	set(o, "spec_version", "2.1")
	set(o, "created", stix.FormatTime(created))
	set(o, "modified", stix.FormatTime(created))
	set(o, "external_references", mispRef(a.UUID.s))
	if l := c.labels(a.Tag); len(l) > 0 {
		set(o, "labels", l)
	}
	setIf(o, "x_misp_category", a.Category.s)
	setIf(o, "x_misp_distribution", a.Distribution.s)
	if sg != nil {
		set(o, "x_misp_sharing_group", sg)
	}
	if p := a.DisableCorrelation.ptr(); p != nil {
		set(o, "x_misp_disable_correlation", *p)
	}
	mark(o, sc)
	if err := b.add(o, where); err != nil {
		return nil, err
	}
	return append(refs, o.ID), nil
}

// checkAttribute checks what every attribute must have and returns the
// words that name it in messages.
func (c *eventCtx) checkAttribute(parent string, i int, a *attributeIn) (string, error) {
	if !a.UUID.set || a.UUID.s == "" {
		return "", malformed("%s: attribute %d has no uuid", parent, i+1)
	}
	if !isUUID(a.UUID.s) {
		return "", malformed("%s: attribute %d: uuid %q is not a UUID", parent, i+1, clip(a.UUID.s))
	}
	where := parent + ": attribute " + a.UUID.s
	if a.Type.s == "" {
		return "", malformed("%s has no type", where)
	}
	if !a.Value.set {
		return "", malformed("%s has no value", where)
	}
	if a.Distribution.set && !validDistribution(a.Distribution.s) {
		return "", malformed("%s: distribution %q is not 0 to 5", where, clip(a.Distribution.s))
	}
	return where, nil
}

// timestamp parses an element's timestamp; without one, the element takes
// the event's.
func (c *eventCtx) timestamp(where string, ts text) (time.Time, error) {
	if !ts.set {
		return c.time, nil
	}
	t, err := unixTime(ts.s)
	if err != nil {
		return time.Time{}, malformed("%s: timestamp: %v", where, err)
	}
	return t, nil
}

// seen is an element's first_seen and last_seen.
type seen struct {
	first, last *time.Time
}

func parseSeen(where string, first, last text) (seen, error) {
	var s seen
	for _, p := range []struct {
		name string
		v    text
		dst  **time.Time
	}{{"first_seen", first, &s.first}, {"last_seen", last, &s.last}} {
		if !p.v.set || strings.TrimSpace(p.v.s) == "" {
			continue
		}
		t, err := isoTime(p.v.s)
		if err != nil {
			return s, malformed("%s: %s: %v", where, p.name, err)
		}
		*p.dst = &t
	}
	if s.first != nil && s.last != nil && s.last.Before(*s.first) {
		return s, malformed("%s: last_seen is before first_seen", where)
	}
	return s, nil
}

// indicator sets an indicator's validity: from first_seen (else the
// element's timestamp) until last_seen. A last_seen that is not after the
// start cannot be valid_until and is kept as x_misp_last_seen.
func (s seen) indicator(o *stix.Object, created time.Time) {
	from := created
	if s.first != nil {
		from = *s.first
	}
	set(o, "valid_from", stixTime(from))
	if s.last != nil {
		if s.last.After(from) {
			set(o, "valid_until", stixTime(*s.last))
		} else {
			set(o, "x_misp_last_seen", stixTime(*s.last))
		}
	}
}

// observed sets an observed-data's window: first_seen (else the earlier of
// the element's timestamp and last_seen) to last_seen (else the start).
func (s seen) observed(o *stix.Object, created time.Time) {
	first := created
	if s.first != nil {
		first = *s.first
	} else if s.last != nil && s.last.Before(first) {
		first = *s.last
	}
	last := first
	if s.last != nil {
		last = *s.last
	}
	set(o, "first_observed", stixTime(first))
	set(o, "last_observed", stixTime(last))
}

// walletPattern is the STIX pattern that matches the wallet chain:value.
func walletPattern(chain, value string) string {
	return fmt.Sprintf("[%s:chain = '%s' AND %s:value = '%s']", stix.TypeCryptocurrencyWallet, quote(chain), stix.TypeCryptocurrencyWallet, quote(value))
}

func txPattern(chain, hash string) string {
	return fmt.Sprintf("[%s:chain = '%s' AND %s:hash = '%s']", stix.TypeCryptocurrencyTransaction, quote(chain), stix.TypeCryptocurrencyTransaction, quote(hash))
}

var patternQuote = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func quote(s string) string { return patternQuote.Replace(s) }

// walletAcc gathers the mentions of one wallet.
type walletAcc struct {
	chain, value string
	scopes       []scope
}

// wallet records a mention of the wallet chain:value seen by s and returns
// its id.
func (b *builder) wallet(chain, value string, s scope) string {
	id := walletID(chain, value)
	w := b.wallets[id]
	if w == nil {
		w = &walletAcc{chain: chain, value: value}
		b.wallets[id] = w
	}
	w.scopes = append(w.scopes, s)
	return id
}

func walletID(chain, value string) string {
	return scoID(stix.TypeCryptocurrencyWallet, map[string]string{"chain": chain, "value": value})
}

func txID(chain, hash string) string {
	return scoID(stix.TypeCryptocurrencyTransaction, map[string]string{"chain": chain, "hash": hash})
}

// scoID is the deterministic id of an observable with the given
// id-contributing properties.
func scoID(typ string, props map[string]string) string {
	o := stix.New(typ, typ+"--00000000-0000-4000-8000-000000000000")
	for k, v := range props {
		set(o, k, v)
	}
	id, ok, err := stix.DeterministicID(o)
	if err != nil || !ok {
		panic(fmt.Sprintf("misp: no deterministic id for %s: %v", typ, err))
	}
	return id
}

// finish builds the merged observables and the reports, and returns every
// object sorted by id.
func (b *builder) finish() (*Result, error) {
	for _, w := range b.wallets {
		o := stix.New(stix.TypeCryptocurrencyWallet, walletID(w.chain, w.value))
		set(o, "spec_version", "2.1")
		set(o, "chain", w.chain)
		set(o, "value", w.value)
		set(o, "extensions", map[string]any{stix.WalletExtensionID: map[string]string{"extension_type": "new-sco"}})
		mark(o, loosest(w.scopes))
		if err := b.add(o, "wallet "+w.chain+":"+w.value); err != nil {
			return nil, err
		}
	}
	for _, t := range b.txs {
		if err := b.add(t.object(), "transaction "+t.chain+":"+t.hash); err != nil {
			return nil, err
		}
	}
	for _, a := range b.actors {
		for _, o := range a.objects {
			if err := b.add(o, a.where); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range b.reports {
		refs := slices.Clone(p.refs)
		for _, id := range p.refs {
			if a, ok := b.actors[id]; ok {
				for _, o := range a.objects[1:] {
					refs = append(refs, o.ID)
				}
			}
		}
		if len(refs) == 0 {
			// A report must refer to something: a note says the event
			// held nothing to import.
			n := stix.New("note", stix.ImportID("note", "misp-event", strings.ToLower(p.uuid), p.o.Modified()))
			set(n, "spec_version", "2.1")
			set(n, "created", p.o.String("created"))
			set(n, "modified", p.o.Modified())
			set(n, "content", emptyEventNote)
			set(n, "object_refs", []string{p.o.ID})
			mark(n, p.scope)
			if err := b.add(n, p.where); err != nil {
				return nil, err
			}
			refs = append(refs, n.ID)
		}
		slices.Sort(refs)
		set(p.o, "object_refs", slices.Compact(refs))
		if err := b.add(p.o, p.where); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(b.objs))
	for k := range b.objs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.res.Objects = append(b.res.Objects, b.objs[k].o)
	}
	return &b.res, nil
}

// emptyEventNote is the content of the note that an event without any
// element cointrail imports refers to.
const emptyEventNote = "This MISP event holds no attribute, object or threat-actor cluster that cointrail imports."

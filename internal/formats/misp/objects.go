package misp

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/stix"
)

// template is what this package knows of a MISP object template: the
// attributes it requires (its definition's "required" and "requiredOneOf",
// from MISP/misp-objects) and, for the templates that hold cryptocurrency
// observables, how to find them.
type template struct {
	required      []string
	requiredOneOf []string
	observe       func(c *eventCtx, where string, attrs []objAttr) (observed, error)
}

var templates = map[string]template{
	"coin-address":               {requiredOneOf: []string{"address", "address-xmr", "address-crypto"}, observe: coinAddress},
	"btc-wallet":                 {requiredOneOf: []string{"wallet-address"}, observe: btcWallet},
	"btc-transaction":            {requiredOneOf: []string{"transaction-number", "time", "value_BTC"}, observe: btcTransaction},
	"cryptocurrency-transaction": {requiredOneOf: []string{"transaction-number", "time", "value", "address"}, observe: cryptoTransaction},
	"transaction":                {requiredOneOf: []string{"transaction-number", "date", "amount", "transmode-code"}},
}

// missing names what an object lacks of its template's requirements, or
// "" if nothing.
func (t template) missing(has func(relation string) bool) string {
	for _, r := range t.required {
		if !has(r) {
			return r
		}
	}
	if len(t.requiredOneOf) == 0 {
		return ""
	}
	for _, r := range t.requiredOneOf {
		if has(r) {
			return ""
		}
	}
	return "one of " + strings.Join(t.requiredOneOf, ", ")
}

// attrRecord is an attribute of a MISP object as the object's STIX object
// keeps it, in "x_misp_attributes": the value as written, and the MISP
// metadata that has no STIX property of its own.
type attrRecord struct {
	UUID               string        `json:"uuid"`
	ObjectRelation     string        `json:"object_relation"`
	Type               string        `json:"type"`
	Category           string        `json:"category,omitempty"`
	Value              string        `json:"value"`
	ToIDs              bool          `json:"to_ids"`
	Comment            string        `json:"comment,omitempty"`
	Timestamp          string        `json:"timestamp,omitempty"`
	FirstSeen          string        `json:"first_seen,omitempty"`
	LastSeen           string        `json:"last_seen,omitempty"`
	Distribution       string        `json:"distribution,omitempty"`
	SharingGroup       *sharingGroup `json:"sharing_group,omitempty"`
	DisableCorrelation *bool         `json:"disable_correlation,omitempty"`
	Data               string        `json:"data,omitempty"`
	Tags               []string      `json:"tags,omitempty"`
}

// refRecord is a MISP object reference, kept in "x_misp_references".
type refRecord struct {
	UUID             string `json:"uuid,omitempty"`
	ReferencedUUID   string `json:"referenced_uuid,omitempty"`
	RelationshipType string `json:"relationship_type,omitempty"`
	Comment          string `json:"comment,omitempty"`
	Timestamp        string `json:"timestamp,omitempty"`
}

// objAttr is an attribute of an object being converted.
type objAttr struct {
	rec   attrRecord
	scope scope
}

// observed is what an object's template makes of its attributes.
type observed struct {
	specs []obsSpec
	// skip, if set, says why the object is left out.
	skip string
	// generic, if set, says why the object is kept as an x-misp-object
	// without observables.
	generic string
}

// obsSpec is an observable an object names.
type obsSpec struct {
	tx    bool // a transaction; else a wallet
	chain string
	value string // the wallet's address or the transaction's hash
	scope scope
	toIDs bool
	data  txData
}

type txData struct {
	timestamp *time.Time
	inputs    []ioEntry
	outputs   []ioEntry
	transfers []transfer
}

// ioEntry is an input or output of a UTXO transaction.
type ioEntry struct {
	Address string `json:"address"`
	Amount  string `json:"amount"`
}

// transfer is a movement of an asset on an account chain.
type transfer struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Asset  string `json:"asset"`
	Amount string `json:"amount"`
}

// object converts the i-th object of the event.
func (c *eventCtx) object(i int, in *objectIn) ([]string, error) {
	b := c.b
	if !in.UUID.set || in.UUID.s == "" {
		return nil, malformed("%s: object %d has no uuid", c.where, i+1)
	}
	if !isUUID(in.UUID.s) {
		return nil, malformed("%s: object %d: uuid %q is not a UUID", c.where, i+1, clip(in.UUID.s))
	}
	if strings.TrimSpace(in.Name.s) == "" {
		return nil, malformed("%s: object %s has no name", c.where, in.UUID.s)
	}
	where := fmt.Sprintf("%s: object %s %s", c.where, in.Name.s, in.UUID.s)
	if in.Distribution.set && !validDistribution(in.Distribution.s) {
		return nil, malformed("%s: distribution %q is not 0 to 5", where, clip(in.Distribution.s))
	}
	created, err := c.timestamp(where, in.Timestamp)
	if err != nil {
		return nil, err
	}
	for j := range in.Attribute {
		a := &in.Attribute[j]
		aw, err := c.checkAttribute(where, j, a)
		if err != nil {
			return nil, err
		}
		if a.ObjectRelation.s == "" {
			return nil, malformed("%s has no object_relation", aw)
		}
		if a.Timestamp.set {
			if _, err := unixTime(a.Timestamp.s); err != nil {
				return nil, malformed("%s: timestamp: %v", aw, err)
			}
		}
	}
	tmpl, known := templates[in.Name.s]
	has := func(keep func(*attributeIn) bool) func(string) bool {
		return func(rel string) bool {
			return slices.ContainsFunc(in.Attribute, func(a attributeIn) bool { return a.ObjectRelation.s == rel && keep(&a) })
		}
	}
	if m := tmpl.missing(has(func(*attributeIn) bool { return true })); known && m != "" {
		return nil, malformed("%s has no %s, which its template requires", where, m)
	}
	if in.Deleted.v {
		b.skip(where + ": deleted in MISP")
		return nil, nil
	}
	if m := tmpl.missing(has(func(a *attributeIn) bool { return !a.Deleted.v })); known && m != "" {
		b.skip(where + ": left out: the attributes its template requires are deleted in MISP")
		return nil, nil
	}

	osc := b.childScope(c.scope, nil, in.Distribution.s, in.SharingGroup.sg)
	var attrs []objAttr
	for j := range in.Attribute {
		a := &in.Attribute[j]
		aw := where + ": attribute " + a.UUID.s
		if a.Deleted.v {
			b.skip(aw + ": deleted in MISP")
			continue
		}
		rec := attrRecord{
			UUID: a.UUID.s, ObjectRelation: a.ObjectRelation.s, Type: a.Type.s, Category: a.Category.s,
			Value: a.Value.s, ToIDs: a.ToIDs.v, Comment: a.Comment.s, FirstSeen: a.FirstSeen.s, LastSeen: a.LastSeen.s,
			Distribution: a.Distribution.s, SharingGroup: a.SharingGroup.sg, DisableCorrelation: a.DisableCorrelation.ptr(),
			Data: a.Data.s, Tags: c.labels(a.Tag),
		}
		if a.Timestamp.set {
			t, _ := unixTime(a.Timestamp.s)
			rec.Timestamp = unixText(t)
		}
		attrs = append(attrs, objAttr{rec: rec, scope: b.childScope(osc, tagNames(a.Tag), a.Distribution.s, a.SharingGroup.sg)})
	}

	var obs observed
	if known && tmpl.observe != nil {
		if obs, err = tmpl.observe(c, where, attrs); err != nil {
			return nil, err
		}
	}
	if obs.skip != "" {
		b.skip(where + ": left out: " + obs.skip)
		return nil, nil
	}
	if obs.generic != "" {
		b.note(where + ": " + obs.generic + "; kept as an x-misp-object without observables")
	}

	var refs []string
	for j := range in.Attribute {
		a := &in.Attribute[j]
		if a.Deleted.v {
			continue
		}
		r, err := c.clusters(a.Galaxy)
		if err != nil {
			return nil, err
		}
		refs = append(refs, r...)
	}

	sc := osc
	for _, a := range attrs {
		sc = strictest(sc, a.scope)
	}
	var o *stix.Object
	if len(obs.specs) > 0 {
		s, err := parseSeen(where, in.FirstSeen, in.LastSeen)
		if err != nil {
			return nil, err
		}
		var ids, patterns []string
		toIDs := false
		for _, sp := range obs.specs {
			var id string
			if sp.tx {
				id = b.tx(sp)
				patterns = append(patterns, txPattern(sp.chain, sp.value))
			} else {
				id = b.wallet(sp.chain, sp.value, sp.scope)
				patterns = append(patterns, walletPattern(sp.chain, sp.value))
			}
			ids = append(ids, id)
			toIDs = toIDs || sp.toIDs
		}
		ids = dedupe(ids)
		refs = append(refs, ids...)
		if toIDs {
			o = stix.New("indicator", importID("indicator", "misp-object", in.UUID.s))
			set(o, "pattern", strings.Join(dedupe(patterns), " OR "))
			set(o, "pattern_type", "stix")
			s.indicator(o, created)
			setIf(o, "description", in.Comment.s)
		} else {
			o = stix.New("observed-data", importID("observed-data", "misp-object", in.UUID.s))
			set(o, "number_observed", 1)
			set(o, "object_refs", ids)
			s.observed(o, created)
			setIf(o, "x_misp_comment", in.Comment.s)
		}
	} else {
		o = stix.New("x-misp-object", importID("x-misp-object", "misp-object", in.UUID.s))
		setIf(o, "x_misp_comment", in.Comment.s)
		setIf(o, "x_misp_first_seen", in.FirstSeen.s)
		setIf(o, "x_misp_last_seen", in.LastSeen.s)
	}
	set(o, "spec_version", "2.1")
	set(o, "created", stix.FormatTime(created))
	set(o, "modified", stix.FormatTime(created))
	set(o, "external_references", mispRef(in.UUID.s))
	set(o, "x_misp_name", in.Name.s)
	setIf(o, "x_misp_meta_category", in.MetaCategory.s)
	setIf(o, "x_misp_description", in.Description.s)
	setIf(o, "x_misp_template_uuid", in.TemplateUUID.s)
	setIf(o, "x_misp_template_version", in.TemplateVersion.s)
	setIf(o, "x_misp_distribution", in.Distribution.s)
	if sg := in.SharingGroup.sg; sg != nil {
		set(o, "x_misp_sharing_group", sg)
	}
	if len(attrs) > 0 {
		recs := make([]attrRecord, len(attrs))
		for j, a := range attrs {
			recs[j] = a.rec
		}
		set(o, "x_misp_attributes", recs)
	}
	var orefs []refRecord
	for _, r := range in.ObjectReference {
		if r.Deleted.v {
			continue
		}
		orefs = append(orefs, refRecord{UUID: r.UUID.s, ReferencedUUID: r.ReferencedUUID.s, RelationshipType: r.RelationshipType.s, Comment: r.Comment.s, Timestamp: r.Timestamp.s})
	}
	if len(orefs) > 0 {
		set(o, "x_misp_references", orefs)
	}
	mark(o, sc)
	if err := b.add(o, where); err != nil {
		return nil, err
	}
	return append(refs, o.ID), nil
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// tickerRE is what a currency symbol looks like.
var tickerRE = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)

// chainOf maps a symbol and an address to a chain and asset, noting an
// unknown symbol. ok is false when the symbol is not a ticker at all.
func (c *eventCtx) chainOf(where, symbol, addr string) (chain, asset string, ok bool) {
	if !tickerRE.MatchString(symbol) {
		return "", "", false
	}
	chain, asset, known := address.Ticker(symbol, addr)
	if !known {
		c.b.note(fmt.Sprintf("%s: unknown symbol %q: imported on chain %q, unchecked", where, symbol, chain))
	}
	return chain, asset, true
}

// first returns the trimmed value of the first attribute with relation rel.
func first(attrs []objAttr, rel string) string {
	for _, a := range attrs {
		if a.rec.ObjectRelation == rel {
			return strings.TrimSpace(a.rec.Value)
		}
	}
	return ""
}

func withRelation(attrs []objAttr, rel string) []objAttr {
	var out []objAttr
	for _, a := range attrs {
		if a.rec.ObjectRelation == rel {
			out = append(out, a)
		}
	}
	return out
}

// walletSpec checks an address and returns its wallet, or why the object is
// left out.
func walletSpec(chain string, a objAttr) (obsSpec, string) {
	v, err := address.Canonical(chain, a.rec.Value)
	if err != nil {
		return obsSpec{}, fmt.Sprintf("%s %q: %v", a.rec.ObjectRelation, clip(a.rec.Value), err)
	}
	return obsSpec{chain: chain, value: v, scope: a.scope, toIDs: a.rec.ToIDs}, ""
}

// coinAddress reads a coin-address object: an address ("address" for
// Bitcoin, "address-xmr" for Monero, "address-crypto" for others) on the
// chain of its "symbol".
func coinAddress(c *eventCtx, where string, attrs []objAttr) (observed, error) {
	var out observed
	symbol := first(attrs, "symbol")
	for _, a := range attrs {
		ticker := symbol
		switch a.rec.ObjectRelation {
		case "address":
			ticker = cmp.Or(ticker, "BTC")
		case "address-xmr":
			ticker = cmp.Or(ticker, "XMR")
		case "address-crypto":
			if ticker == "" {
				return observed{generic: "address-crypto without a symbol: its chain is unknown"}, nil
			}
		default:
			continue
		}
		chain, _, ok := c.chainOf(where, ticker, a.rec.Value)
		if !ok {
			return observed{generic: fmt.Sprintf("symbol %q is not a currency ticker", clip(ticker))}, nil
		}
		sp, bad := walletSpec(chain, a)
		if bad != "" {
			return observed{skip: bad}, nil
		}
		out.specs = append(out.specs, sp)
	}
	return out, nil
}

// btcWallet reads a btc-wallet object: a Bitcoin "wallet-address".
func btcWallet(c *eventCtx, where string, attrs []objAttr) (observed, error) {
	var out observed
	for _, a := range withRelation(attrs, "wallet-address") {
		sp, bad := walletSpec("bitcoin", a)
		if bad != "" {
			return observed{skip: bad}, nil
		}
		out.specs = append(out.specs, sp)
	}
	return out, nil
}

// btcTransaction reads a btc-transaction object: a Bitcoin transaction
// ("transaction-number"), an address and the value it received (or, when
// negative, sent) in BTC.
func btcTransaction(c *eventCtx, where string, attrs []objAttr) (observed, error) {
	return transaction(c, where, attrs, txRelations{addr: "btc-address", value: "value_BTC", symbol: "BTC"})
}

// cryptoTransaction reads a cryptocurrency-transaction object: as
// btc-transaction, on the chain of its "symbol" (Bitcoin without one).
func cryptoTransaction(c *eventCtx, where string, attrs []objAttr) (observed, error) {
	return transaction(c, where, attrs, txRelations{addr: "address", value: "value", symbol: cmp.Or(first(attrs, "symbol"), "BTC")})
}

type txRelations struct {
	addr, value, symbol string
}

func transaction(c *eventCtx, where string, attrs []objAttr, rel txRelations) (observed, error) {
	addrs := withRelation(attrs, rel.addr)
	firstAddr := ""
	if len(addrs) > 0 {
		firstAddr = addrs[0].rec.Value
	}
	chain, asset, ok := c.chainOf(where, rel.symbol, firstAddr)
	if !ok {
		return observed{generic: fmt.Sprintf("symbol %q is not a currency ticker", clip(rel.symbol))}, nil
	}
	places, haveUnit := decimals[asset]
	type amount struct {
		units string
		sent  bool
	}
	var amounts []amount
	for _, a := range withRelation(attrs, rel.value) {
		if !haveUnit {
			c.b.note(fmt.Sprintf("%s: %s %q not converted: the base unit of %s is unknown", where, rel.value, clip(a.rec.Value), asset))
			continue
		}
		n, neg, err := baseUnits(a.rec.Value, places)
		if err != nil {
			return observed{}, malformed("%s: attribute %s: %s: %v", where, a.rec.UUID, rel.value, err)
		}
		amounts = append(amounts, amount{n.String(), neg})
	}
	var times []time.Time
	for _, a := range withRelation(attrs, "time") {
		t, err := isoTime(a.rec.Value)
		if err != nil {
			return observed{}, malformed("%s: attribute %s: time: %v", where, a.rec.UUID, err)
		}
		times = append(times, t)
	}
	var out observed
	var wallets []obsSpec
	for _, a := range addrs {
		sp, bad := walletSpec(chain, a)
		if bad != "" {
			return observed{skip: bad}, nil
		}
		wallets = append(wallets, sp)
	}
	var txs []obsSpec
	for _, a := range withRelation(attrs, "transaction-number") {
		h := canonicalHash(a.rec.Value)
		if h == "" {
			continue
		}
		txs = append(txs, obsSpec{tx: true, chain: chain, value: h, scope: a.scope, toIDs: a.rec.ToIDs})
	}
	if len(txs) == 1 {
		tx := &txs[0]
		if len(times) == 1 {
			tx.data.timestamp = &times[0]
		}
		switch {
		case len(wallets) == 1 && len(amounts) == 1:
			who, amt := wallets[0].value, amounts[0]
			switch {
			case accountChains[chain]:
				t := transfer{Asset: asset, Amount: amt.units}
				if amt.sent {
					t.From = who
				} else {
					t.To = who
				}
				tx.data.transfers = []transfer{t}
			case nativeAssets[asset]:
				e := ioEntry{Address: who, Amount: amt.units}
				if amt.sent {
					tx.data.inputs = []ioEntry{e}
				} else {
					tx.data.outputs = []ioEntry{e}
				}
			default:
				c.b.note(fmt.Sprintf("%s: the amount in %s is not placed in the transaction", where, asset))
			}
		case len(wallets) > 1 || len(amounts) > 1:
			c.b.note(fmt.Sprintf("%s: %d addresses and %d amounts: which address moved which amount is unknown, so none is placed in the transaction", where, len(wallets), len(amounts)))
		}
	} else if len(txs) > 1 && (len(amounts) > 0 || len(times) > 0) {
		c.b.note(fmt.Sprintf("%s: %d transaction numbers: the time and amounts are not placed in any", where, len(txs)))
	}
	out.specs = append(txs, wallets...)
	if len(out.specs) == 0 {
		out.generic = "no transaction number and no address"
	}
	return out, nil
}

// nativeAssets are the native currencies of the UTXO chains, whose amounts
// are the inputs' and outputs'.
var nativeAssets = map[string]bool{
	"bitcoin:BTC": true, "litecoin:LTC": true, "dash:DASH": true, "zcash:ZEC": true,
	"bitcoin-cash:BCH": true, "bitcoin-gold:BTG": true, "bitcoin-sv:BSV": true,
	"verge:XVG": true, "monero:XMR": true,
}

var hashRE = regexp.MustCompile(`^(0[xX])?[0-9a-fA-F]{64}$`)

// canonicalHash returns a transaction hash as the node keys it: hexadecimal
// hashes in lower case, others trimmed.
func canonicalHash(h string) string {
	h = strings.TrimSpace(h)
	if hashRE.MatchString(h) {
		return strings.ToLower(h)
	}
	return h
}

// txAcc gathers what the objects of an input say of one transaction.
type txAcc struct {
	chain, hash string
	data        txData
	scopes      []scope
}

// tx records a transaction an object names and returns its id.
func (b *builder) tx(sp obsSpec) string {
	id := txID(sp.chain, sp.value)
	t := b.txs[id]
	if t == nil {
		t = &txAcc{chain: sp.chain, hash: sp.value}
		b.txs[id] = t
	}
	t.scopes = append(t.scopes, sp.scope)
	if ts := sp.data.timestamp; ts != nil && (t.data.timestamp == nil || ts.Before(*t.data.timestamp)) {
		t.data.timestamp = ts
	}
	t.data.inputs = append(t.data.inputs, sp.data.inputs...)
	t.data.outputs = append(t.data.outputs, sp.data.outputs...)
	t.data.transfers = append(t.data.transfers, sp.data.transfers...)
	return id
}

func (t *txAcc) object() *stix.Object {
	o := stix.New(stix.TypeCryptocurrencyTransaction, txID(t.chain, t.hash))
	set(o, "spec_version", "2.1")
	set(o, "chain", t.chain)
	set(o, "hash", t.hash)
	if t.data.timestamp != nil {
		set(o, "timestamp", stixTime(*t.data.timestamp))
	}
	ioCmp := func(a, c ioEntry) int {
		return cmp.Or(cmp.Compare(a.Address, c.Address), cmp.Compare(len(a.Amount), len(c.Amount)), cmp.Compare(a.Amount, c.Amount))
	}
	if len(t.data.inputs) > 0 {
		slices.SortFunc(t.data.inputs, ioCmp)
		set(o, "inputs", slices.Compact(t.data.inputs))
	}
	if len(t.data.outputs) > 0 {
		slices.SortFunc(t.data.outputs, ioCmp)
		set(o, "outputs", slices.Compact(t.data.outputs))
	}
	if len(t.data.transfers) > 0 {
		slices.SortFunc(t.data.transfers, func(a, c transfer) int {
			return cmp.Or(cmp.Compare(a.From, c.From), cmp.Compare(a.To, c.To), cmp.Compare(a.Asset, c.Asset), cmp.Compare(len(a.Amount), len(c.Amount)), cmp.Compare(a.Amount, c.Amount))
		})
		set(o, "transfers", slices.Compact(t.data.transfers))
	}
	set(o, "extensions", map[string]any{stix.TransactionExtensionID: map[string]string{"extension_type": "new-sco"}})
	mark(o, loosest(t.scopes))
	return o
}

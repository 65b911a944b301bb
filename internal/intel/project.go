package intel

import (
	"context"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// Wallet is a cryptocurrency address on a chain.
type Wallet struct {
	Chain string `json:"chain,omitempty"`
	Value string `json:"address"`
}

var (
	bracketRE     = regexp.MustCompile(`\[([^\[\]]*)\]`)
	walletValueRE = regexp.MustCompile(`cryptocurrency-wallet:value\s*=\s*'((?:[^'\\]|\\.)*)'`)
	walletChainRE = regexp.MustCompile(`cryptocurrency-wallet:chain\s*=\s*'((?:[^'\\]|\\.)*)'`)
)

// patternWallets returns the wallets a STIX pattern matches by equality:
// each comparison "cryptocurrency-wallet:value = '...'", with the chain of a
// "cryptocurrency-wallet:chain = '...'" in the same observation expression.
func patternWallets(pattern string) []Wallet {
	var out []Wallet
	for _, m := range bracketRE.FindAllStringSubmatch(pattern, -1) {
		expr := m[1]
		chain := ""
		if c := walletChainRE.FindStringSubmatch(expr); c != nil {
			chain = unquotePattern(c[1])
		}
		for _, v := range walletValueRE.FindAllStringSubmatch(expr, -1) {
			out = append(out, Wallet{Chain: chain, Value: unquotePattern(v[1])})
		}
	}
	return out
}

func unquotePattern(s string) string {
	return strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(s)
}

// Flag is one object that flags an address.
type Flag struct {
	// Object is the id of the flagging object; Type its type.
	Object string `json:"object"`
	Type   string `json:"type"`
	// Category says what the flag means: a wallet role from an incident
	// ("theft-destination", "laundering", "cash-out", "victim"), "actor" for
	// a wallet an actor uses, or the indicator's types and labels.
	Category string `json:"category"`
	// Confidence is the flagging object's confidence (0-100), if given.
	Confidence *int `json:"confidence,omitempty"`
	// TLP is the flagging object's marking.
	TLP string `json:"tlp"`
	// Owner is the organisation that owns the flagging object.
	Owner string `json:"owner"`
	// Incident and Actor name what the flag ties the address to, if anything.
	Incident string `json:"incident,omitempty"`
	Actor    string `json:"actor,omitempty"`
}

// FlaggedAddress is an address with the objects that flag it.
type FlaggedAddress struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	Flags   []Flag `json:"flags"`
}

// Incident is the projection of an incident: what was taken, from whom, by
// whom, when.
type Incident struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Date is when the theft occurred (the incident extension's "occurred",
	// else "first_seen", else "created"); Dated says it is one of the
	// first two, the theft's own date, not the record's.
	Date    string        `json:"date"`
	Dated   bool          `json:"-"`
	Victims []Party       `json:"victims,omitempty"`
	Actors  []Attribution `json:"actors,omitempty"`
	Losses  []stix.Loss   `json:"losses,omitempty"`
	// LossUSD is the sum of the losses' USD values, as a decimal string;
	// "" when no loss has a USD value.
	LossUSD string        `json:"loss_usd,omitempty"`
	Wallets []RoleWallet  `json:"wallets,omitempty"`
	Sources []ExternalRef `json:"sources,omitempty"`
	TLP     string        `json:"tlp"`
	Owner   string        `json:"owner"`
	// Labels are the incident's STIX labels: for a CSV import, its attack
	// types and the tags that name no actor. Reports group by them; they
	// stay out of the JSON so that the incidents API is unchanged.
	Labels []string `json:"-"`
}

// Party is an identity an incident targets.
type Party struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Country string `json:"country,omitempty"`
	// Types says what kind of entity the party is, lower-cased: the
	// identity's "x_cointrail_entity_types" (a CSV import's entity types,
	// "exchange"), else its STIX "sectors" ("financial-services"), else
	// none.
	Types []string `json:"types,omitempty"`
}

// Attribution is an actor an incident is attributed to.
type Attribution struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Confidence *int   `json:"confidence,omitempty"`
}

// RoleWallet is a wallet related to an incident, with its role.
type RoleWallet struct {
	Wallet
	Role string `json:"role"`
}

// ExternalRef is a STIX external reference.
type ExternalRef struct {
	SourceName  string `json:"source_name"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
}

// view is what one viewer may see of the objects projections read.
type view struct {
	objs   map[string]*stix.Object
	recs   map[string]*Record
	byType map[string][]*stix.Object
}

var projectionTypes = []string{
	"incident", "relationship", "identity", "location", "threat-actor",
	"intrusion-set", "campaign", stix.TypeCryptocurrencyWallet, "indicator",
}

// load reads the current, unrevoked objects of the projection types that v
// may see.
func (s *Service) load(ctx context.Context, v access.Viewer) (*view, error) {
	vw := &view{objs: map[string]*stix.Object{}, recs: map[string]*Record{}, byType: map[string][]*stix.Object{}}
	seen := map[int64]bool{}
	err := s.scan(ctx, v, Query{Types: projectionTypes, Latest: true, ExcludeRevoked: true}, func(r *Record) error {
		if _, dup := vw.objs[r.ID]; dup && r.Owner != v.Org {
			return nil // another holding of an observable; one is enough
		}
		o, err := s.views.object(r)
		if err != nil {
			return err
		}
		seen[r.DateAdded] = true
		vw.objs[r.ID] = o
		vw.recs[r.ID] = r
		vw.byType[o.Type] = append(vw.byType[o.Type], o)
		return nil
	})
	if err == nil {
		s.views.keepParsed(seen)
	}
	return vw, err
}

func (vw *view) name(id string) string {
	if o, ok := vw.objs[id]; ok {
		return o.String("name")
	}
	return ""
}

func (vw *view) wallet(id string) (Wallet, bool) {
	o, ok := vw.objs[id]
	if !ok || o.Type != stix.TypeCryptocurrencyWallet {
		return Wallet{}, false
	}
	return Wallet{Chain: o.String("chain"), Value: o.String("value")}, true
}

// FlagQuery selects flagged addresses; empty fields match all.
type FlagQuery struct {
	Chain   string
	Address string
}

// matchWallet returns w with its address in canonical form, and whether q
// selects it.
func (s *Service) matchWallet(q FlagQuery, w Wallet) (Wallet, bool) {
	w.Value = s.canonicalAddress(w.Chain, w.Value)
	if q.Chain != "" && w.Chain != q.Chain {
		return w, false
	}
	return w, q.Address == "" || w.Value == s.canonicalAddress(w.Chain, q.Address)
}

// Flags returns the addresses flagged by objects v may see, with the
// objects that flag them, ordered by chain and address.
func (s *Service) Flags(ctx context.Context, v access.Viewer, q FlagQuery) ([]FlaggedAddress, error) {
	vw, err := s.cachedLoad(ctx, v)
	if err != nil {
		return nil, err
	}
	type key struct{ chain, addr string }
	byAddr := map[key]*FlaggedAddress{}
	var used []*Record
	add := func(w Wallet, o *stix.Object, f Flag) {
		w, ok := s.matchWallet(q, w)
		if !ok {
			return
		}
		r := vw.recs[o.ID]
		f.Object, f.Type, f.Confidence, f.TLP, f.Owner = o.ID, o.Type, o.Confidence(), tlpName(r.TLP), r.Owner
		k := key{w.Chain, w.Value}
		fa := byAddr[k]
		if fa == nil {
			fa = &FlaggedAddress{Chain: w.Chain, Address: w.Value}
			byAddr[k] = fa
		}
		fa.Flags = append(fa.Flags, f)
		used = append(used, r)
	}
	for _, o := range vw.byType["indicator"] {
		cat := strings.Join(append(o.Strings("indicator_types"), o.Strings("labels")...), ",")
		if cat == "" {
			cat = "indicator"
		}
		for _, w := range patternWallets(o.String("pattern")) {
			add(w, o, Flag{Category: cat})
		}
	}
	for _, o := range vw.byType["relationship"] {
		src, dst := o.String("source_ref"), o.String("target_ref")
		switch o.String("relationship_type") {
		case "related-to":
			w, ok := vw.wallet(src)
			if !ok || stix.TypeOf(dst) != "incident" {
				continue
			}
			role := o.WalletRole()
			if role == "" {
				role = "related"
			}
			add(w, o, Flag{Category: role, Incident: dst})
		case "uses":
			w, ok := vw.wallet(dst)
			if !ok {
				continue
			}
			add(w, o, Flag{Category: "actor", Actor: src})
		}
	}
	out := make([]FlaggedAddress, 0, len(byAddr))
	for _, fa := range byAddr {
		sort.Slice(fa.Flags, func(i, j int) bool { return fa.Flags[i].Object < fa.Flags[j].Object })
		out = append(out, *fa)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Chain != out[j].Chain {
			return out[i].Chain < out[j].Chain
		}
		return out[i].Address < out[j].Address
	})
	if err := s.auditReads(ctx, v, used, "flags"); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) canonicalAddress(chain, addr string) string {
	if s.valid.Address == nil || chain == "" {
		return addr
	}
	if c, err := s.valid.Address(chain, addr); err == nil {
		return c
	}
	return addr
}

func tlpName(t stix.TLP) string {
	if t == stix.TLPNone {
		return "none"
	}
	return t.String()
}

// Incidents returns the incidents v may see, newest first, with what v may
// see of their victims, attributions, losses and wallets.
func (s *Service) Incidents(ctx context.Context, v access.Viewer) ([]Incident, error) {
	vw, err := s.cachedLoad(ctx, v)
	if err != nil {
		return nil, err
	}
	countryOf := map[string]string{}
	for _, r := range vw.byType["relationship"] {
		if r.String("relationship_type") == "located-at" {
			if loc, ok := vw.objs[r.String("target_ref")]; ok {
				countryOf[r.String("source_ref")] = loc.String("country")
			}
		}
	}
	byID := map[string]*Incident{}
	var used []*Record
	for _, o := range vw.byType["incident"] {
		r := vw.recs[o.ID]
		losses, occurred := o.IncidentLosses()
		date := occurred
		if date == "" {
			date = o.String("first_seen")
		}
		dated := date != ""
		if !dated {
			date = o.String("created")
		}
		inc := &Incident{
			ID: o.ID, Name: o.String("name"), Date: date, Dated: dated, Losses: losses,
			LossUSD: sumUSD(losses), TLP: tlpName(r.TLP), Owner: r.Owner,
			Labels: o.Strings("labels"),
		}
		var refs []ExternalRef
		if _, err := o.Decode("external_references", &refs); err == nil {
			inc.Sources = refs
		}
		byID[o.ID] = inc
		used = append(used, r)
	}
	for _, o := range vw.byType["relationship"] {
		src, dst := o.String("source_ref"), o.String("target_ref")
		switch o.String("relationship_type") {
		case "attributed-to":
			if inc := byID[src]; inc != nil {
				if _, ok := vw.objs[dst]; ok {
					inc.Actors = append(inc.Actors, Attribution{ID: dst, Name: vw.name(dst), Type: stix.TypeOf(dst), Confidence: o.Confidence()})
					used = append(used, vw.recs[o.ID])
				}
			}
		case "targets":
			if inc := byID[src]; inc != nil && stix.TypeOf(dst) == "identity" {
				if _, ok := vw.objs[dst]; ok {
					inc.Victims = append(inc.Victims, Party{ID: dst, Name: vw.name(dst), Country: countryOf[dst], Types: partyTypes(vw.objs[dst])})
					used = append(used, vw.recs[o.ID])
				}
			}
		case "related-to":
			if inc := byID[dst]; inc != nil {
				if w, ok := vw.wallet(src); ok {
					inc.Wallets = append(inc.Wallets, RoleWallet{Wallet: w, Role: o.WalletRole()})
					used = append(used, vw.recs[o.ID])
				}
			}
		}
	}
	out := make([]Incident, 0, len(byID))
	for _, inc := range byID {
		slices.SortFunc(inc.Actors, func(a, b Attribution) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(inc.Victims, func(a, b Party) int { return strings.Compare(a.ID, b.ID) })
		out = append(out, *inc)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date > out[j].Date
		}
		return out[i].ID < out[j].ID
	})
	if err := s.auditReads(ctx, v, used, "incidents"); err != nil {
		return nil, err
	}
	return out, nil
}

// partyTypes returns what kind of entity identity o is: its
// "x_cointrail_entity_types", else its "sectors", lower-cased, trimmed and
// each once; nil if it says neither.
func partyTypes(o *stix.Object) []string {
	for _, prop := range []string{"x_cointrail_entity_types", "sectors"} {
		var types []string
		for _, t := range o.Strings(prop) {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		if len(types) > 0 {
			return types
		}
	}
	return nil
}

// sumUSD adds the USD values of losses exactly, to cents; "" if none has
// one.
func sumUSD(losses []stix.Loss) string {
	total := new(big.Rat)
	known := false
	for _, l := range losses {
		if l.USD == "" {
			continue
		}
		if r, err := stix.ParseUSD(l.USD); err == nil {
			total.Add(total, r)
			known = true
		}
	}
	if !known {
		return ""
	}
	return total.FloatString(2)
}

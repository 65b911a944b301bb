package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/formats/incidents"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// The incident form records a theft as the STIX objects the rest of the
// node reads (DESIGN section 3): the incident with the incident extension
// (occurred, losses), its external references, the victim identity
// ("targets") and its country (a location it is "located-at"), the actor
// it is "attributed-to", and the wallets "related-to" it with their role.
// Every object carries the form's TLP marking and, for TLP:AMBER and
// stricter, the recipients. Everything is checked before anything is
// submitted, and everything is submitted in one all-or-nothing call.
//
// Editing submits new versions (same ids, later "modified") of the objects
// the owner changed, revokes (by a new version with "revoked") the
// relationships it removed, and leaves alone what it did not change and
// what other organisations own.

// incidentFormLossRows is the least number of loss rows the form shows,
// and incidentFormSpareRows the number of empty rows after the filled ones.
const (
	incidentFormLossRows  = 3
	incidentFormSpareRows = 2
)

// incidentForm is the incident form as shown: what the visitor typed (or
// the stored incident, when editing), the choices, and the problems found.
type incidentForm struct {
	Edit   bool
	ID     string
	Action string

	Name, Occurred, Description           string
	VictimName, VictimCountry, VictimType string
	Actor, NewActor, Confidence           string
	Losses                                []incidentFormLoss
	Wallets, Sources                      string
	TLP                                   string
	Recipients                            []string

	// The choices, marked as the form's values select them.
	Actors []incidentFormChoice
	Orgs   []incidentFormChoice
	TLPs   []incidentFormChoice
	Roles  []string
	Chains []string

	// Errors holds the problem with each field by field id; Problems
	// lists them in the form's order, for the summary at the top.
	Errors   map[string]string
	Problems []incidentFormProblem
	// Failed says why the node refused a submission the form accepted.
	Failed string
}

// incidentFormLoss is one row of losses. N numbers rows from 1.
type incidentFormLoss struct {
	N                           int
	Asset, Amount, USD          string
	AssetErr, AmountErr, USDErr string
}

// incidentFormChoice is one option of a select or one checkbox.
type incidentFormChoice struct {
	ID, Name, Note string
	Selected       bool
}

// incidentFormProblem is one field's problem. Field is the id of the
// field, Label its name.
type incidentFormProblem struct {
	Field, Label, Message string
}

func (f *incidentForm) problem(field, label, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if prev, ok := f.Errors[field]; ok {
		f.Errors[field] = prev + " " + msg
		for i := range f.Problems {
			if f.Problems[i].Field == field {
				f.Problems[i].Message = f.Errors[field]
			}
		}
		return
	}
	f.Errors[field] = msg
	f.Problems = append(f.Problems, incidentFormProblem{Field: field, Label: label, Message: msg})
}

// incidentFormTLPs are the markings the form offers, as it writes them.
var incidentFormTLPs = []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}

// tlpFormValue writes a level as the form's TLP field does.
func tlpFormValue(t stix.TLP) string {
	if t == stix.TLPNone {
		return "AMBER"
	}
	return strings.ToUpper(t.String())
}

// readIncidentForm returns the form as posted.
func readIncidentForm(r *http.Request) *incidentForm {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := &incidentForm{
		Name: get("name"), Occurred: get("occurred"), Description: strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("description"), "\r\n", "\n")),
		VictimName: get("victim_name"), VictimCountry: get("victim_country"), VictimType: get("victim_type"),
		Actor: get("actor"), NewActor: get("new_actor"), Confidence: get("confidence"),
		Wallets: strings.ReplaceAll(r.PostFormValue("wallets"), "\r\n", "\n"), Sources: strings.ReplaceAll(r.PostFormValue("sources"), "\r\n", "\n"),
		TLP: get("tlp"), Recipients: r.PostForm["recipients"],
	}
	assets, amounts, usds := r.PostForm["loss_asset"], r.PostForm["loss_amount"], r.PostForm["loss_usd"]
	at := func(s []string, i int) string {
		if i < len(s) {
			return strings.TrimSpace(s[i])
		}
		return ""
	}
	for i := range max(len(assets), len(amounts), len(usds)) {
		f.Losses = append(f.Losses, incidentFormLoss{Asset: at(assets, i), Amount: at(amounts, i), USD: at(usds, i)})
	}
	return f
}

// incidentFormChoices are what a viewer may choose from: the actors it may
// see, and the organisations it may name as recipients.
type incidentFormChoices struct {
	actors []incidentFormChoice
	orgs   []incidentFormChoice
}

func (s *Server) incidentFormChoices(ctx context.Context, v access.Viewer) (*incidentFormChoices, error) {
	ch := &incidentFormChoices{}
	err := s.listAll(ctx, v, []string{"threat-actor", "intrusion-set"}, func(r *intel.Record) error {
		o, err := r.Object()
		if err != nil {
			return err
		}
		ch.actors = append(ch.actors, incidentFormChoice{ID: o.ID, Name: o.String("name"), Note: o.Type})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(ch.actors, func(i, j int) bool {
		a, b := ch.actors[i], ch.actors[j]
		if !strings.EqualFold(a.Name, b.Name) {
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
		return a.ID < b.ID
	})
	orgs, err := s.svc.Orgs(ctx, v)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		if o.ID == v.Org {
			continue // the owner sees its objects anyway
		}
		note := "this node"
		if !o.Local {
			note = "another node"
		}
		ch.orgs = append(ch.orgs, incidentFormChoice{ID: o.ID, Name: o.Name, Note: note})
	}
	return ch, nil
}

// listAll calls fn with the current version of every object of types
// that v may see, page by page.
func (s *Server) listAll(ctx context.Context, v access.Viewer, types []string, fn func(*intel.Record) error) error {
	q := intel.ListQuery{Types: types, Limit: intel.MaxPageSize}
	for {
		page, err := s.svc.List(ctx, v, q)
		if err != nil {
			return err
		}
		for i := range page.Records {
			if err := fn(&page.Records[i]); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// finish fills in the choices, marked as the form's values select them,
// and pads the loss rows.
func (f *incidentForm) finish(ch *incidentFormChoices) {
	f.Actors = nil
	for _, a := range ch.actors {
		a.Selected = a.ID == f.Actor
		f.Actors = append(f.Actors, a)
	}
	f.Orgs = nil
	for _, o := range ch.orgs {
		o.Selected = slices.Contains(f.Recipients, o.ID)
		f.Orgs = append(f.Orgs, o)
	}
	f.TLPs = nil
	for _, t := range incidentFormTLPs {
		f.TLPs = append(f.TLPs, incidentFormChoice{ID: t, Name: "TLP:" + t, Selected: strings.EqualFold(t, f.TLP)})
	}
	f.Roles = stix.WalletRoles
	f.Chains = chain.IDs()
	sort.Strings(f.Chains)
	filled := 0
	for i, l := range f.Losses {
		if l.Asset != "" || l.Amount != "" || l.USD != "" || l.AssetErr != "" || l.AmountErr != "" || l.USDErr != "" {
			filled = i + 1
		}
	}
	f.Losses = f.Losses[:filled]
	for len(f.Losses) < max(filled+incidentFormSpareRows, incidentFormLossRows) {
		f.Losses = append(f.Losses, incidentFormLoss{})
	}
	for i := range f.Losses {
		f.Losses[i].N = i + 1
	}
}

// incidentFormInput is what a valid form asks for.
type incidentFormInput struct {
	name, description string
	// occurred is the STIX timestamp of the theft.
	occurred string
	// victim is nil when the form names none.
	victim *incidentFormVictim
	// actor is the id of the chosen actor; newActor the name of an actor
	// to create. At most one is set.
	actor, newActor string
	confidence      *int
	losses          []stix.Loss
	wallets         []incidentFormWallet
	sources         []string
	tlp             stix.TLP
	recipients      []string
}

type incidentFormVictim struct {
	name, country string
	types         []string
}

// incidentFormWallet is one line of the wallets field.
type incidentFormWallet struct {
	chain, value, role, id string
}

var incidentFormAssetRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// check checks the form and returns what it asks for; the problems it
// finds are in f.Errors. cur is the incident being edited, or nil.
func (f *incidentForm) check(ch *incidentFormChoices, cur *incidentFormState, now time.Time) *incidentFormInput {
	in := &incidentFormInput{name: f.Name, description: f.Description}

	switch {
	case f.Name == "":
		f.problem("name", "Name", "Enter a name for the incident, such as “Theft from Example Exchange”.")
	case len([]rune(f.Name)) > 250:
		f.problem("name", "Name", "The name is %d characters long; keep it under 250.", len([]rune(f.Name)))
	}

	if f.Occurred == "" {
		f.problem("occurred", "Date of the theft", "Enter the date of the theft as YYYY-MM-DD.")
	} else if d, err := time.Parse("2006-01-02", f.Occurred); err != nil {
		f.problem("occurred", "Date of the theft", "%q is not a date: enter it as YYYY-MM-DD, such as 2018-01-26.", f.Occurred)
	} else if d.After(now.UTC()) {
		f.problem("occurred", "Date of the theft", "%s is in the future.", f.Occurred)
	} else {
		in.occurred = stix.FormatTime(d)
		if cur != nil && strings.HasPrefix(cur.occurred, f.Occurred) {
			in.occurred = cur.occurred // the same day, as stored
		}
	}

	// The victim.
	if f.VictimName == "" && (f.VictimCountry != "" || f.VictimType != "") {
		f.problem("victim_name", "Victim", "Name the victim, or leave its country and type empty.")
	}
	if f.VictimName != "" {
		vi := &incidentFormVictim{name: f.VictimName}
		for _, t := range strings.Split(f.VictimType, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(vi.types, t) {
				vi.types = append(vi.types, t)
			}
		}
		in.victim = vi
	}
	if f.VictimCountry != "" {
		c := strings.ToUpper(f.VictimCountry)
		region, err := language.ParseRegion(c)
		if len(c) != 2 || err != nil || !region.IsCountry() {
			f.problem("victim_country", "Victim's country", "%q is not an ISO 3166-1 alpha-2 country code, such as JP or KR.", f.VictimCountry)
		} else if in.victim != nil {
			in.victim.country = c
		}
	}

	// The attribution.
	switch {
	case f.Actor != "" && f.NewActor != "":
		f.problem("actor", "Actor", "Choose a known actor or name a new one, not both.")
	case f.Actor != "":
		if !slices.ContainsFunc(ch.actors, func(a incidentFormChoice) bool { return a.ID == f.Actor }) {
			f.problem("actor", "Actor", "That actor is not one you may see on this node; choose one from the list.")
		} else {
			in.actor = f.Actor
		}
	case f.NewActor != "":
		// An actor of that name the viewer already sees is that actor.
		if i := slices.IndexFunc(ch.actors, func(a incidentFormChoice) bool { return strings.EqualFold(a.Name, f.NewActor) }); i >= 0 {
			in.actor = ch.actors[i].ID
		} else {
			in.newActor = f.NewActor
		}
	}
	if f.Confidence != "" {
		n, err := strconv.Atoi(f.Confidence)
		switch {
		case err != nil || n < 0 || n > 100:
			f.problem("confidence", "Confidence", "%q is not a whole number from 0 to 100.", f.Confidence)
		case f.Actor == "" && f.NewActor == "":
			f.problem("confidence", "Confidence", "A confidence needs an actor: choose one or name one.")
		default:
			in.confidence = &n
		}
	}

	// The losses.
	var stored []stix.Loss
	if cur != nil {
		stored = cur.losses
	}
	for i := range f.Losses {
		l := &f.Losses[i]
		if l.Asset == "" && l.Amount == "" && l.USD == "" {
			continue
		}
		loss := stix.Loss{}
		row := i + 1
		if l.Asset == "" {
			l.AssetErr = "Enter the asset, such as bitcoin:BTC."
		} else if a, err := incidentFormAsset(l.Asset, stored); err != nil {
			l.AssetErr = err.Error()
		} else {
			loss.Asset = a
		}
		if l.Amount != "" {
			raw := strings.NewReplacer(",", "", "_", "", " ", "").Replace(l.Amount)
			if _, err := stix.ParseAmount(raw); err != nil {
				l.AmountErr = fmt.Sprintf("%q is not an amount in base units: enter a whole number of the asset's smallest unit (satoshi for BTC), digits only.", l.Amount)
			} else {
				loss.Amount = raw
			}
		}
		if l.USD != "" {
			raw := strings.NewReplacer(",", "", "$", "", " ", "").Replace(l.USD)
			if _, err := stix.ParseUSD(raw); err != nil {
				l.USDErr = fmt.Sprintf("%q is not a US dollar value: enter digits with an optional decimal point, such as 530000000.00.", l.USD)
			} else {
				loss.USD = incidents.TwoDecimals(raw)
			}
		}
		if l.Amount == "" && l.USD == "" {
			l.AmountErr = "Enter the amount, the US dollar value or both."
		}
		for _, p := range []struct{ field, label, msg string }{
			{"loss-asset-%d", "Asset of loss %d", l.AssetErr},
			{"loss-amount-%d", "Amount of loss %d", l.AmountErr},
			{"loss-usd-%d", "US dollar value of loss %d", l.USDErr},
		} {
			if p.msg != "" {
				f.problem(fmt.Sprintf(p.field, row), fmt.Sprintf(p.label, row), "%s", p.msg)
			}
		}
		if l.AssetErr == "" && l.AmountErr == "" && l.USDErr == "" {
			in.losses = append(in.losses, loss)
		}
	}

	// The wallets, one a line: CHAIN ADDRESS ROLE.
	var bad []string
	seen := map[string]int{}
	for n, line := range strings.Split(f.Wallets, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			bad = append(bad, fmt.Sprintf("line %d: write CHAIN ADDRESS ROLE, three words, such as “bitcoin 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa theft-destination”.", n+1))
			continue
		}
		w := incidentFormWallet{chain: strings.ToLower(fields[0]), role: strings.ToLower(fields[2])}
		var lineBad []string
		if _, ok := chain.Lookup(w.chain); !ok {
			lineBad = append(lineBad, fmt.Sprintf("%q is not a chain this node knows", fields[0]))
		} else if c, err := address.Canonical(w.chain, fields[1]); err != nil {
			lineBad = append(lineBad, strings.TrimPrefix(fault.MessageOf(err), "address: "))
		} else {
			w.value = c
		}
		if !slices.Contains(stix.WalletRoles, w.role) {
			lineBad = append(lineBad, fmt.Sprintf("role %q is not one of %s", fields[2], strings.Join(stix.WalletRoles, ", ")))
		}
		if len(lineBad) > 0 {
			bad = append(bad, fmt.Sprintf("line %d: %s.", n+1, strings.Join(lineBad, "; ")))
			continue
		}
		w.id = incidentFormWalletID(w.chain, w.value)
		if first, dup := seen[w.id]; dup {
			bad = append(bad, fmt.Sprintf("line %d: the same wallet as line %d.", n+1, first))
			continue
		}
		seen[w.id] = n + 1
		in.wallets = append(in.wallets, w)
	}
	if len(bad) > 0 {
		f.problem("wallets", "Wallets", "%s", strings.Join(bad, " "))
	}

	// The sources, one URL a line.
	bad = nil
	for n, line := range strings.Split(f.Sources, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, fmt.Sprintf("line %d: %q is not an http or https URL.", n+1, line))
			continue
		}
		if !slices.Contains(in.sources, line) {
			in.sources = append(in.sources, line)
		}
	}
	if len(bad) > 0 {
		f.problem("sources", "Sources", "%s", strings.Join(bad, " "))
	}
	// Losses cite the source that reports them: a kept loss its own, a
	// new one the first source.
	for i := range in.losses {
		if j := slices.IndexFunc(stored, func(l stix.Loss) bool { return l.Asset == in.losses[i].Asset }); j >= 0 {
			in.losses[i].Source = stored[j].Source
		} else if len(in.sources) > 0 {
			in.losses[i].Source = in.sources[0]
		}
	}

	// The marking and the recipients.
	tlp, err := stix.ParseTLP(f.TLP)
	switch {
	case f.TLP == "":
		f.problem("tlp", "TLP marking", "Choose a TLP marking: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
	case err != nil:
		f.problem("tlp", "TLP marking", "%q is not a TLP marking: choose CLEAR, GREEN, AMBER, AMBER+STRICT or RED.", f.TLP)
	}
	in.tlp = tlp
	for _, id := range f.Recipients {
		if !slices.ContainsFunc(ch.orgs, func(o incidentFormChoice) bool { return o.ID == id }) {
			f.problem("recipients", "Recipients", "%q is not an organisation you may share with.", id)
			continue
		}
		if !slices.Contains(in.recipients, id) {
			in.recipients = append(in.recipients, id)
		}
	}
	if len(in.recipients) > 0 && err == nil && tlp < stix.TLPAmber {
		f.problem("recipients", "Recipients", "Recipients apply to TLP:AMBER, AMBER+STRICT and RED only; %s is for everyone it names already. Clear the recipients or choose AMBER or stricter.", tlp.Label())
	}
	return in
}

// incidentFormAsset checks and normalises an asset: "<chain>:<SYMBOL>" for
// the chain's own coin or "<chain>:<contract>" for a token. An asset the
// incident already records is kept as it is (an import's "unknown:USD").
func incidentFormAsset(s string, stored []stix.Loss) (string, error) {
	if slices.ContainsFunc(stored, func(l stix.Loss) bool { return l.Asset == s }) {
		return s, nil
	}
	chainID, rest, ok := strings.Cut(s, ":")
	chainID = strings.ToLower(strings.TrimSpace(chainID))
	rest = strings.TrimSpace(rest)
	info, known := chain.Lookup(chainID)
	switch {
	case !ok || rest == "" || !incidentFormAssetRE.MatchString(rest):
		return "", fmt.Errorf("%q is not an asset: write <chain>:<symbol>, such as bitcoin:BTC, or <chain>:<token contract>", s)
	case !known:
		return "", fmt.Errorf("%q is not a chain this node knows", chainID)
	case strings.EqualFold(rest, info.Symbol):
		return chainID + ":" + info.Symbol, nil
	}
	c, err := address.Canonical(chainID, rest)
	if err != nil {
		return "", fmt.Errorf("%q is neither %s's own coin (%s:%s) nor a token contract on it: %s", s, chainID, chainID, info.Symbol, strings.TrimPrefix(fault.MessageOf(err), "address: "))
	}
	return chainID + ":" + c, nil
}

// incidentFormWalletID is the deterministic id of the wallet chain:value.
func incidentFormWalletID(chainID, value string) string {
	o := stix.New(stix.TypeCryptocurrencyWallet, stix.TypeCryptocurrencyWallet+"--00000000-0000-4000-8000-000000000000")
	incidentFormSet(o, map[string]any{"chain": chainID, "value": value})
	id, _, err := stix.DeterministicID(o)
	if err != nil {
		panic(err) // two strings always make an id
	}
	return id
}

// incidentFormState is a stored incident as its owner may edit it: the
// incident, and the relationships around it that the owner holds.
type incidentFormState struct {
	rec  *intel.Record
	obj  *stix.Object
	proj intel.Incident

	occurred string
	losses   []stix.Loss

	// The first victim the owner's "targets" names, its identity (nil if
	// the owner does not hold one), the country shown and the owner's
	// "located-at" from the victim.
	victimRel   *stix.Object
	victim      *stix.Object
	victimOwned bool
	country     string
	located     *stix.Object
	// The first actor the owner's "attributed-to" names.
	actorRel *stix.Object
	// The owner's "related-to" from wallets, by wallet id, and the wallets
	// they name.
	walletRels map[string]*stix.Object
	wallets    map[string]intel.Wallet
}

// incidentFormLoad returns incident id for v to edit: a fault.NotFound
// error if v may not see it, fault.Forbidden if v's organisation does not
// own it or v may not submit.
func (s *Server) incidentFormLoad(ctx context.Context, v access.Viewer, id string) (*incidentFormState, error) {
	if !stix.IsID(id) || stix.TypeOf(id) != "incident" {
		return nil, fault.New(fault.NotFound, "no incident %s", id)
	}
	rec, err := s.svc.Get(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if rec.Owner != v.Org {
		return nil, fault.New(fault.Forbidden, "only the organisation that owns this incident may edit it")
	}
	if err := incidentFormWriter(v); err != nil {
		return nil, err
	}
	if rec.Revoked {
		return nil, fault.New(fault.Conflict, "incident %s is revoked and takes no new versions", id)
	}
	st := &incidentFormState{rec: rec, walletRels: map[string]*stix.Object{}, wallets: map[string]intel.Wallet{}}
	if st.obj, err = rec.Object(); err != nil {
		return nil, err
	}
	st.losses, st.occurred = st.obj.IncidentLosses()
	incs, err := s.svc.Incidents(ctx, v)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(incs, func(inc intel.Incident) bool { return inc.ID == id })
	if i < 0 {
		return nil, fault.New(fault.NotFound, "no incident %s", id)
	}
	st.proj = incs[i]
	for _, w := range st.proj.Wallets {
		st.wallets[incidentFormWalletID(w.Chain, w.Value)] = w.Wallet
	}

	// The owner's relationships around the incident.
	targets := map[string]*stix.Object{}
	attributed := map[string]*stix.Object{}
	located := map[string]*stix.Object{}
	err = s.listAll(ctx, v, []string{"relationship"}, func(r *intel.Record) error {
		if r.Owner != v.Org {
			return nil
		}
		o, err := r.Object()
		if err != nil {
			return err
		}
		src, dst := o.String("source_ref"), o.String("target_ref")
		switch o.String("relationship_type") {
		case "targets":
			if src == id {
				targets[dst] = o
			}
		case "attributed-to":
			if src == id {
				attributed[dst] = o
			}
		case "located-at":
			located[src] = o
		case "related-to":
			if dst == id && stix.TypeOf(src) == stix.TypeCryptocurrencyWallet {
				if _, ok := st.wallets[src]; ok {
					st.walletRels[src] = o
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range st.proj.Victims {
		if rel := targets[p.ID]; rel != nil {
			st.victimRel, st.country, st.located = rel, p.Country, located[p.ID]
			vrec, err := s.svc.Get(ctx, v, p.ID)
			if err != nil {
				return nil, err
			}
			if st.victim, err = vrec.Object(); err != nil {
				return nil, err
			}
			st.victimOwned = vrec.Owner == v.Org
			break
		}
	}
	for _, a := range st.proj.Actors {
		if rel := attributed[a.ID]; rel != nil {
			st.actorRel = rel
			break
		}
	}
	return st, nil
}

// form returns the incident as the form shows it.
func (st *incidentFormState) form() *incidentForm {
	o := st.obj
	f := &incidentForm{
		Edit: true, ID: o.ID, Action: "/incidents/" + o.ID,
		Name: o.String("name"), Description: o.String("description"),
		TLP: tlpFormValue(st.rec.TLP), Recipients: st.obj.Recipients(),
	}
	if len(st.occurred) >= 10 {
		f.Occurred = st.occurred[:10]
	}
	if st.victimRel != nil && st.victim != nil {
		f.VictimName = st.victim.String("name")
		f.VictimCountry = st.country
		f.VictimType = strings.Join(st.victim.Strings(incidents.EntityTypesProperty), ", ")
	}
	if st.actorRel != nil {
		f.Actor = st.actorRel.String("target_ref")
		if c := st.actorRel.Confidence(); c != nil {
			f.Confidence = strconv.Itoa(*c)
		}
	}
	for _, l := range st.losses {
		f.Losses = append(f.Losses, incidentFormLoss{Asset: l.Asset, Amount: l.Amount, USD: l.USD})
	}
	var lines []string
	for _, w := range st.proj.Wallets {
		id := incidentFormWalletID(w.Chain, w.Value)
		if rel := st.walletRels[id]; rel != nil {
			line := w.Chain + " " + w.Value + " " + rel.WalletRole()
			if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	f.Wallets = strings.Join(lines, "\n")
	var urls []string
	for _, ref := range st.proj.Sources {
		if ref.URL != "" && !slices.Contains(urls, ref.URL) {
			urls = append(urls, ref.URL)
		}
	}
	f.Sources = strings.Join(urls, "\n")
	return f
}

// incidentFormBuild makes the objects a valid form submits.
type incidentFormBuild struct {
	s    *Server
	v    access.Viewer
	now  time.Time
	in   *incidentFormInput
	objs []*stix.Object
}

func incidentFormSet(o *stix.Object, props map[string]any) {
	for k, val := range props {
		if err := o.Set(k, val); err != nil {
			panic(err) // only JSON-encodable values are set
		}
	}
}

// markAs gives o the TLP marking tlp (keeping markings that are not TLP)
// and, for TLP:AMBER and stricter, the recipients.
func incidentFormMarkAs(o *stix.Object, tlp stix.TLP, recipients []string) {
	var refs []string
	for _, id := range o.Strings("object_marking_refs") {
		if _, isTLP := stix.TLPOf(id); !isTLP {
			refs = append(refs, id)
		}
	}
	incidentFormSet(o, map[string]any{"object_marking_refs": append(refs, tlp.ID())})
	if tlp >= stix.TLPAmber && len(recipients) > 0 {
		if err := o.SetExtension(stix.SharingExtensionID, "property-extension", map[string]any{"recipients": recipients}); err != nil {
			panic(err)
		}
		return
	}
	var exts map[string]json.RawMessage
	if _, err := o.Decode("extensions", &exts); err == nil && exts != nil {
		if _, ok := exts[stix.SharingExtensionID]; ok {
			delete(exts, stix.SharingExtensionID)
			if len(exts) == 0 {
				o.Delete("extensions")
			} else {
				incidentFormSet(o, map[string]any{"extensions": exts})
			}
		}
	}
}

func (b *incidentFormBuild) mark(o *stix.Object) { incidentFormMarkAs(o, b.in.tlp, b.in.recipients) }

// add makes a new domain or relationship object owned and authored by the
// viewer's organisation, marked as the form says.
func (b *incidentFormBuild) add(typ string, props map[string]any) *stix.Object {
	o := stix.New(typ, stix.NewID(typ))
	ts := stix.FormatTime(b.now)
	incidentFormSet(o, map[string]any{"spec_version": "2.1", "created": ts, "modified": ts, "created_by_ref": b.v.Org})
	incidentFormSet(o, props)
	b.mark(o)
	b.objs = append(b.objs, o)
	return o
}

// relate adds a relationship.
func (b *incidentFormBuild) relate(typ, src, dst string, props map[string]any) *stix.Object {
	p := map[string]any{"relationship_type": typ, "source_ref": src, "target_ref": dst}
	for k, v := range props {
		p[k] = v
	}
	return b.add("relationship", p)
}

// version returns the "modified" of the next version of o: now, or just
// after o's when that is not earlier.
func (b *incidentFormBuild) version(o *stix.Object) string {
	t := b.now
	if prev, ok := o.Time("modified"); ok && !t.After(prev) {
		t = prev.Add(time.Millisecond).Truncate(time.Millisecond)
	}
	return stix.FormatTime(t)
}

// revise adds the next version of stored object cur, changed by change and
// marked as the form says, unless that changes nothing.
func (b *incidentFormBuild) revise(cur *stix.Object, change func(o *stix.Object)) {
	o := cur.Clone()
	if change != nil {
		change(o)
	}
	b.mark(o)
	if incidentFormSame(cur, o) {
		return
	}
	incidentFormSet(o, map[string]any{"modified": b.version(cur)})
	b.objs = append(b.objs, o)
}

// revoke adds the next version of stored object cur, revoked.
func (b *incidentFormBuild) revoke(cur *stix.Object) {
	o := cur.Clone()
	incidentFormSet(o, map[string]any{"revoked": true, "modified": b.version(cur)})
	b.objs = append(b.objs, o)
}

// incidentFormSame reports whether a and b are the same but for "modified".
func incidentFormSame(a, b *stix.Object) bool {
	x, y := a.Clone(), b.Clone()
	x.Delete("modified")
	y.Delete("modified")
	cx, err1 := x.Canonical()
	cy, err2 := y.Canonical()
	return err1 == nil && err2 == nil && bytes.Equal(cx, cy)
}

// incident sets the incident's properties from the form, keeping what the
// form does not show: other properties of the incident extension, and
// external references without a URL.
func (b *incidentFormBuild) incident(o *stix.Object) {
	in := b.in
	incidentFormSet(o, map[string]any{"name": in.name})
	if in.description != "" {
		incidentFormSet(o, map[string]any{"description": in.description})
	} else {
		o.Delete("description")
	}
	ext := map[string]any{}
	for k, raw := range o.Extension(stix.IncidentExtensionID) {
		if k != "extension_type" {
			ext[k] = raw
		}
	}
	ext["occurred"] = in.occurred
	ext["losses"] = append([]stix.Loss{}, in.losses...)
	if err := o.SetExtension(stix.IncidentExtensionID, "property-extension", ext); err != nil {
		panic(err)
	}
	var refs []map[string]any
	var kept []string
	var stored []map[string]json.RawMessage
	if _, err := o.Decode("external_references", &stored); err == nil {
		for _, ref := range stored {
			var u string
			_ = json.Unmarshal(ref["url"], &u)
			if u != "" && !slices.Contains(in.sources, u) {
				continue // taken off the list
			}
			m := map[string]any{}
			for k, raw := range ref {
				m[k] = raw
			}
			refs = append(refs, m)
			kept = append(kept, u)
		}
	}
	for _, u := range in.sources {
		if !slices.Contains(kept, u) {
			m := map[string]any{}
			for k, val := range incidents.SourceRef(u, "") {
				m[k] = val
			}
			refs = append(refs, m)
		}
	}
	if len(refs) > 0 {
		incidentFormSet(o, map[string]any{"external_references": refs})
	} else {
		o.Delete("external_references")
	}
}

// newVictim adds a victim identity and the incident's "targets" to it, and
// its country.
func (b *incidentFormBuild) newVictim(ctx context.Context, incID string) error {
	vi := b.in.victim
	props := map[string]any{"name": vi.name, "identity_class": "organization"}
	if len(vi.types) > 0 {
		props[incidents.EntityTypesProperty] = vi.types
	}
	victim := b.add("identity", props)
	b.relate("targets", incID, victim.ID, nil)
	return b.locate(ctx, victim.ID)
}

// locate adds "located-at" from the victim to its country.
func (b *incidentFormBuild) locate(ctx context.Context, victimID string) error {
	if b.in.victim.country == "" {
		return nil
	}
	loc, err := b.location(ctx, b.in.victim.country)
	if err != nil {
		return err
	}
	b.relate("located-at", victimID, loc, nil)
	return nil
}

// location returns the id of a location of country: the viewer's own, or
// a TLP:CLEAR one anyone sees, or else a new one.
func (b *incidentFormBuild) location(ctx context.Context, country string) (string, error) {
	var own, clear string
	err := b.s.listAll(ctx, b.v, []string{"location"}, func(r *intel.Record) error {
		if r.Revoked || (own != "" && clear != "") {
			return nil
		}
		o, err := r.Object()
		if err != nil {
			return err
		}
		if !strings.EqualFold(o.String("country"), country) || o.Has("region") || o.Has("city") || o.Has("latitude") {
			return nil
		}
		switch {
		case r.Owner == b.v.Org && own == "":
			own = o.ID
		case r.TLP == stix.TLPClear && clear == "":
			clear = o.ID
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case own != "":
		return own, nil
	case clear != "":
		return clear, nil
	}
	return b.add("location", map[string]any{"country": country}).ID, nil
}

// attribute adds the incident's "attributed-to" to the form's actor,
// adding the actor first when the form names a new one.
func (b *incidentFormBuild) attribute(incID string) {
	actor := b.actorID()
	if actor == "" {
		return
	}
	props := map[string]any{}
	if b.in.confidence != nil {
		props["confidence"] = *b.in.confidence
	}
	b.relate("attributed-to", incID, actor, props)
}

func (b *incidentFormBuild) actorID() string {
	if b.in.newActor != "" {
		b.in.actor = b.add("threat-actor", map[string]any{"name": b.in.newActor}).ID
		b.in.newActor = ""
	}
	return b.in.actor
}

// wallet adds the wallet observable, unless the viewer's organisation
// already holds it visible to everyone the incident is. A holding that is
// not gets the least strict of the two markings and both sets of
// recipients, so that it stays visible to whoever saw it.
func (b *incidentFormBuild) wallet(ctx context.Context, w incidentFormWallet) error {
	tlp, recipients := b.in.tlp, b.in.recipients
	rec, err := b.s.svc.Get(ctx, b.v, w.id)
	switch {
	case err == nil && rec.Owner == b.v.Org:
		held := rec.TLP
		if held == stix.TLPNone {
			held = stix.TLPAmber
		}
		superset := !slices.ContainsFunc(recipients, func(id string) bool { return !slices.Contains(rec.Recipients, id) })
		if held <= stix.TLPGreen || (tlp >= stix.TLPAmber && held <= tlp && superset) {
			return nil
		}
		tlp = min(tlp, held)
		if tlp >= stix.TLPAmber {
			for _, id := range rec.Recipients {
				if !slices.Contains(recipients, id) {
					recipients = append(slices.Clip(recipients), id)
				}
			}
		} else {
			recipients = nil
		}
	case err != nil && fault.CodeOf(err) != fault.NotFound:
		return err
	}
	o := stix.New(stix.TypeCryptocurrencyWallet, w.id)
	incidentFormSet(o, map[string]any{
		"spec_version": "2.1", "chain": w.chain, "value": w.value,
		"extensions": map[string]any{stix.WalletExtensionID: map[string]string{"extension_type": "new-sco"}},
	})
	incidentFormMarkAs(o, tlp, recipients)
	b.objs = append(b.objs, o)
	return nil
}

// relateWallet adds "related-to" from the wallet to the incident, with the
// wallet's role.
func (b *incidentFormBuild) relateWallet(incID string, w incidentFormWallet) {
	rel := stix.New("relationship", stix.NewID("relationship"))
	ts := stix.FormatTime(b.now)
	incidentFormSet(rel, map[string]any{
		"spec_version": "2.1", "created": ts, "modified": ts, "created_by_ref": b.v.Org,
		"relationship_type": "related-to", "source_ref": w.id, "target_ref": incID,
	})
	incidentFormRole(rel, w.role)
	b.mark(rel)
	b.objs = append(b.objs, rel)
}

func incidentFormRole(rel *stix.Object, role string) {
	if err := rel.SetExtension(stix.RoleExtensionID, "property-extension", map[string]any{"role": role}); err != nil {
		panic(err)
	}
}

// create makes the objects of a new incident and returns its id.
func (b *incidentFormBuild) create(ctx context.Context) (string, error) {
	inc := b.add("incident", nil)
	b.incident(inc)
	if b.in.victim != nil {
		if err := b.newVictim(ctx, inc.ID); err != nil {
			return "", err
		}
	}
	b.attribute(inc.ID)
	for _, w := range b.in.wallets {
		if err := b.wallet(ctx, w); err != nil {
			return "", err
		}
		b.relateWallet(inc.ID, w)
	}
	return inc.ID, nil
}

// update makes the new versions that turn st into what the form asks for.
func (b *incidentFormBuild) update(ctx context.Context, st *incidentFormState) error {
	in := b.in
	incID := st.obj.ID
	b.revise(st.obj, b.incident)

	// The victim.
	switch {
	case in.victim == nil:
		if st.victimRel != nil {
			b.revoke(st.victimRel)
		}
	case st.victimRel == nil || st.victim == nil:
		if err := b.newVictim(ctx, incID); err != nil {
			return err
		}
	default:
		same := st.victim.String("name") == in.victim.name && slices.Equal(st.victim.Strings(incidents.EntityTypesProperty), in.victim.types)
		if !st.victimOwned && !same {
			// Another organisation's identity: the incident targets a
			// new victim of the viewer's own instead.
			b.revoke(st.victimRel)
			if err := b.newVictim(ctx, incID); err != nil {
				return err
			}
			break
		}
		if st.victimOwned {
			b.revise(st.victim, func(o *stix.Object) {
				incidentFormSet(o, map[string]any{"name": in.victim.name})
				if len(in.victim.types) > 0 {
					incidentFormSet(o, map[string]any{incidents.EntityTypesProperty: in.victim.types})
				} else {
					o.Delete(incidents.EntityTypesProperty)
				}
			})
		}
		b.revise(st.victimRel, nil)
		if in.victim.country == st.country {
			if st.located != nil {
				b.revise(st.located, nil)
			}
			break
		}
		if st.located != nil {
			b.revoke(st.located)
		}
		if err := b.locate(ctx, st.victim.ID); err != nil {
			return err
		}
	}

	// The attribution.
	actor := b.actorID()
	switch {
	case st.actorRel != nil && st.actorRel.String("target_ref") == actor:
		b.revise(st.actorRel, func(o *stix.Object) {
			if in.confidence != nil {
				incidentFormSet(o, map[string]any{"confidence": *in.confidence})
			} else {
				o.Delete("confidence")
			}
		})
	default:
		if st.actorRel != nil {
			b.revoke(st.actorRel)
		}
		b.attribute(incID)
	}

	// The wallets.
	want := map[string]bool{}
	for _, w := range in.wallets {
		want[w.id] = true
		if err := b.wallet(ctx, w); err != nil {
			return err
		}
		if rel := st.walletRels[w.id]; rel != nil {
			b.revise(rel, func(o *stix.Object) { incidentFormRole(o, w.role) })
		} else {
			b.relateWallet(incID, w)
		}
	}
	ids := make([]string, 0, len(st.walletRels))
	for id := range st.walletRels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !want[id] {
			b.revoke(st.walletRels[id])
		}
	}
	return nil
}

// incidentFormWriter says whether v may submit, as a page error if not.
func incidentFormWriter(v access.Viewer) error {
	if !access.Allowed(v, access.Write) {
		return fault.New(fault.Forbidden, "your token may read but not submit intelligence; ask your node's operator for a contributor token")
	}
	return nil
}

// renderIncidentForm shows the form with status.
func (s *Server) renderIncidentForm(w http.ResponseWriter, r *http.Request, status int, f *incidentForm, ch *incidentFormChoices) error {
	f.finish(ch)
	title := "New incident"
	if f.Edit {
		title = "Edit incident"
	}
	s.renderStatus(w, r, sessionFrom(r.Context()), status, "incident_form", title, f)
	return nil
}

// incidentFormSubmit checks the posted form and submits what it asks for
// in one all-or-nothing call; a form with problems is shown again with
// status 400 and nothing stored. st is the incident being edited, or nil.
func (s *Server) incidentFormSubmit(w http.ResponseWriter, r *http.Request, st *incidentFormState) error {
	ctx := r.Context()
	v := viewerOf(r)
	if err := incidentFormWriter(v); err != nil {
		return err
	}
	ch, err := s.incidentFormChoices(ctx, v)
	if err != nil {
		return err
	}
	f := readIncidentForm(r)
	f.Action = "/incidents"
	if st != nil {
		f.Edit, f.ID, f.Action = true, st.obj.ID, "/incidents/"+st.obj.ID
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	in := f.check(ch, st, now)
	if len(f.Problems) > 0 {
		return s.renderIncidentForm(w, r, http.StatusBadRequest, f, ch)
	}
	b := &incidentFormBuild{s: s, v: v, now: now, in: in}
	id := ""
	if st == nil {
		id, err = b.create(ctx)
	} else {
		id, err = st.obj.ID, b.update(ctx, st)
	}
	if err != nil {
		return err
	}
	if len(b.objs) > 0 {
		if _, err := s.svc.Submit(ctx, v, b.objs, intel.SubmitOptions{}); err != nil {
			if fault.CodeOf(err) == fault.Internal {
				return err
			}
			f.Failed = "The node refused the incident, and stored nothing: " + fault.MessageOf(err)
			return s.renderIncidentForm(w, r, fault.HTTPStatus(err), f, ch)
		}
	}
	http.Redirect(w, r, "/incidents/"+id, http.StatusSeeOther)
	return nil
}

// incidentNew shows the empty form, marked TLP:AMBER to begin with.
func (s *Server) incidentNew(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	if err := incidentFormWriter(v); err != nil {
		return err
	}
	ch, err := s.incidentFormChoices(r.Context(), v)
	if err != nil {
		return err
	}
	return s.renderIncidentForm(w, r, http.StatusOK, &incidentForm{Action: "/incidents", TLP: "AMBER"}, ch)
}

// incidentCreate records a new incident and sends the visitor to it.
func (s *Server) incidentCreate(w http.ResponseWriter, r *http.Request) error {
	return s.incidentFormSubmit(w, r, nil)
}

// incidentEdit shows the form filled in with the incident as its owner
// holds it.
func (s *Server) incidentEdit(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	st, err := s.incidentFormLoad(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	ch, err := s.incidentFormChoices(r.Context(), v)
	if err != nil {
		return err
	}
	return s.renderIncidentForm(w, r, http.StatusOK, st.form(), ch)
}

// incidentUpdate records new versions of what the owner changed.
func (s *Server) incidentUpdate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.incidentFormLoad(r.Context(), viewerOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.incidentFormSubmit(w, r, st)
}

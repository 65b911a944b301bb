package trace

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/stix"
)

// ShareOptions say how a trace is written as STIX to be shared.
type ShareOptions struct {
	// TLP marks every object. Default: TLP:AMBER.
	TLP stix.TLP
	// Recipients are the identity ids an AMBER or RED trace is shared
	// with, besides its owner.
	Recipients []string
	// Incident, if set, is the incident the trace follows: the endpoint
	// wallets are related to it with role cash-out, the wallets the taint
	// passed through with role laundering.
	Incident string
	// CreatedBy is the author's identity id, if given.
	CreatedBy string
	// Now is the time written as created and modified. Default: now.
	Now time.Time
}

// STIX returns the trace as STIX objects a peer can check against its own
// chain data: a report naming the wallets on the path and the endpoints,
// with related-to relationships that say how much reached each endpoint;
// all marked as opts says.
func (res *Result) STIX(opts ShareOptions) ([]*stix.Object, error) {
	if opts.TLP == stix.TLPNone {
		opts.TLP = stix.TLPAmber
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	now := stix.FormatTime(opts.Now)
	var objs []*stix.Object
	var refs []string
	common := func(o *stix.Object) error {
		if stix.Versioned(o) { // observables carry no created/modified
			for _, kv := range [][2]string{{"spec_version", "2.1"}, {"created", now}, {"modified", now}} {
				if err := o.Set(kv[0], kv[1]); err != nil {
					return err
				}
			}
			if opts.CreatedBy != "" {
				if err := o.Set("created_by_ref", opts.CreatedBy); err != nil {
					return err
				}
			}
		}
		if err := o.Set("object_marking_refs", []string{opts.TLP.ID()}); err != nil {
			return err
		}
		if len(opts.Recipients) > 0 && (opts.TLP == stix.TLPAmber || opts.TLP == stix.TLPAmberStrict || opts.TLP == stix.TLPRed) {
			if err := o.SetExtension(stix.SharingExtensionID, "property-extension", map[string]any{"recipients": opts.Recipients}); err != nil {
				return err
			}
		}
		objs = append(objs, o)
		refs = append(refs, o.ID)
		return nil
	}
	wallets := map[string]string{} // address -> wallet id
	wallet := func(addr string) (string, error) {
		if id, ok := wallets[addr]; ok {
			return id, nil
		}
		w := stix.New(stix.TypeCryptocurrencyWallet, "")
		if err := w.Set("chain", res.Chain); err != nil {
			return "", err
		}
		if err := w.Set("value", addr); err != nil {
			return "", err
		}
		id, _, err := stix.DeterministicID(w)
		if err != nil {
			return "", err
		}
		w.ID = id
		if err := w.Set("id", id); err != nil {
			return "", err
		}
		if err := common(w); err != nil {
			return "", err
		}
		wallets[addr] = id
		return id, nil
	}
	relate := func(src, dst, desc, role string) error {
		r := stix.New("relationship", stix.NewID("relationship"))
		for k, v := range map[string]string{"relationship_type": "related-to", "source_ref": src, "target_ref": dst, "description": desc} {
			if err := r.Set(k, v); err != nil {
				return err
			}
		}
		if role != "" {
			if err := r.SetExtension(stix.RoleExtensionID, "property-extension", map[string]any{"role": role}); err != nil {
				return err
			}
		}
		return common(r)
	}

	// The wallets the taint passed through on the way to an endpoint.
	endpoint := map[string]bool{}
	for _, e := range res.Endpoints {
		endpoint[e.Address] = true
	}
	var passed []string
	seen := map[string]bool{}
	for _, e := range res.Endpoints {
		for _, a := range e.Via {
			if a != "" && !endpoint[a] && !seen[a] {
				seen[a] = true
				passed = append(passed, a)
			}
		}
	}
	sort.Strings(passed)
	var first string // the wallet the endpoints are related to without an incident
	for _, a := range passed {
		id, err := wallet(a)
		if err != nil {
			return nil, err
		}
		if first == "" {
			first = id
		}
		if opts.Incident != "" {
			if err := relate(id, opts.Incident, fmt.Sprintf("Carried value traced from %s (%s model).", opts.Incident, res.Model), "laundering"); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range res.Endpoints {
		id, err := wallet(e.Address)
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("%s base units of %s reached %s (%s, %s) in %d hops under the %s model, first in transaction %s at block %d.",
			e.Amount, res.Asset, e.Address, e.Entity, e.Category, e.Hops, res.Model, e.FirstTx, e.FirstBlock)
		switch {
		case opts.Incident != "":
			err = relate(id, opts.Incident, desc, "cash-out")
		case first != "":
			err = relate(first, id, desc, "")
		}
		if err != nil {
			return nil, err
		}
	}
	if opts.Incident != "" {
		refs = append(refs, opts.Incident)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("the trace reached no wallet to report")
	}
	rep := stix.New("report", stix.NewID("report"))
	var seedNames []string
	for _, s := range res.Seeds {
		seedNames = append(seedNames, seedName(s.Seed))
	}
	props := map[string]any{
		"name":         fmt.Sprintf("Trace of %s on %s (%s)", strings.Join(seedNames, ", "), res.Chain, res.Model),
		"description":  fmt.Sprintf("%s base units of %s traced under the %s model: %d endpoints received %s in total; %s stopped short; %s paid as fees. Options: max hops %d, dust %s.", res.Tainted, res.Asset, res.Model, len(res.Endpoints), sumEndpoints(res), sumStops(res), res.Fees, res.Options.MaxHops, res.Options.Dust),
		"report_types": []string{"threat-report"},
		"published":    now,
		"labels":       []string{"cointrail-trace", string(res.Model)},
		"object_refs":  refs,
	}
	for k, v := range props {
		if err := rep.Set(k, v); err != nil {
			return nil, err
		}
	}
	if err := common(rep); err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := stix.Validate(o); err != nil {
			return nil, fmt.Errorf("trace as STIX: %s: %w", o.ID, err)
		}
	}
	return objs, nil
}

func sumEndpoints(res *Result) string {
	s := new(big.Int)
	for _, e := range res.Endpoints {
		s.Add(s, e.Amount.Int)
	}
	return s.String()
}

func sumStops(res *Result) string {
	s := new(big.Int)
	for _, t := range res.StopTotals {
		s.Add(s, t.Amount.Int)
	}
	return s.String()
}

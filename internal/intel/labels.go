package intel

import (
	"context"
	"fmt"
	"sort"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// WalletLabel says which service or entity controls an address, as a
// labelling source (a TagPack, an analyst) says: the `related-to`
// relationship from a wallet to an identity that carries the wallet label
// extension.
type WalletLabel struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	// Entity is the controlling identity's name; EntityID its id.
	Entity   string `json:"entity"`
	EntityID string `json:"entity_id"`
	// Category is the kind of service, in GraphSense's taxonomy
	// ("exchange", "mixing_service", ...).
	Category string `json:"category"`
	Abuse    string `json:"abuse,omitempty"`
	Source   string `json:"source,omitempty"`
	// Confidence is the relationship's confidence (0-100), if given.
	Confidence *int `json:"confidence,omitempty"`
	// Object is the labelling relationship; TLP its marking and Owner the
	// organisation that owns it.
	Object string `json:"object"`
	TLP    string `json:"tlp"`
	Owner  string `json:"owner"`
}

// Labels returns the wallet labels v may see, ordered by chain, address
// and object. A label whose relationship v may see but whose wallet it may
// not is not returned: the wallet says which address is meant.
func (s *Service) Labels(ctx context.Context, v access.Viewer, q FlagQuery) ([]WalletLabel, error) {
	vw, err := s.cachedLoad(ctx, v)
	if err != nil {
		return nil, err
	}
	var out []WalletLabel
	var used []*Record
	for _, o := range vw.byType["relationship"] {
		if o.String("relationship_type") != "related-to" {
			continue
		}
		lab, ok := o.WalletLabel()
		if !ok {
			continue
		}
		w, ok := vw.wallet(o.String("source_ref"))
		if !ok {
			continue
		}
		if w, ok = s.matchWallet(q, w); !ok {
			continue
		}
		r := vw.recs[o.ID]
		target := o.String("target_ref")
		out = append(out, WalletLabel{
			Chain: w.Chain, Address: w.Value,
			Entity: vw.name(target), EntityID: target,
			Category: lab.Category, Abuse: lab.Abuse, Source: lab.Source,
			Confidence: o.Confidence(),
			Object:     o.ID, TLP: tlpName(r.TLP), Owner: r.Owner,
		})
		used = append(used, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Chain != b.Chain {
			return a.Chain < b.Chain
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Object < b.Object
	})
	if err := s.auditReads(ctx, v, used, "labels"); err != nil {
		return nil, err
	}
	return out, nil
}

// LastAdded returns the position of the newest record stored: it changes
// whenever anything is submitted, received or revoked, so a cache of
// projections can tell it is stale.
func (s *Service) LastAdded(ctx context.Context) (int64, error) {
	return s.store.LastAdded(ctx)
}

// Evidence names an object shown to a viewer through a cached projection,
// with its marking ("amber", "red", ...).
type Evidence struct {
	ID  string
	TLP string
}

// AuditEvidence logs v's read of the AMBER and RED objects among ev, as
// the projections themselves do: a cached screening still leaves in the
// audit log every such object an organisation was shown.
func (s *Service) AuditEvidence(ctx context.Context, v access.Viewer, ev []Evidence, how string) error {
	var ids []string
	strictest := stix.TLPNone
	seen := map[string]bool{}
	for _, e := range ev {
		t, err := stix.ParseTLP(e.TLP)
		if err != nil {
			t = stix.TLPAmber // unmarked counts as AMBER
		}
		if t == stix.TLPClear || t == stix.TLPGreen || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		ids = append(ids, e.ID)
		strictest = max(strictest, t)
	}
	if len(ids) == 0 {
		return nil
	}
	entry := AuditEntry{Time: s.now().UTC(), Org: v.Org, Token: v.TokenID, Action: "read", TLP: tlpName(strictest), Detail: how}
	if len(ids) == 1 {
		entry.Object = ids[0]
	} else {
		entry.Objects = ids
	}
	if err := s.store.AppendAudit(ctx, []AuditEntry{entry}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

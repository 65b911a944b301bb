package alert

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// idSpace is the UUID namespace of the ids derived from alert ids.
var idSpace = uuid.MustParse("5b0c6f52-7a7e-4c86-9d0e-2f7a6c1e9b41")

// derivedID returns the id of the object of type typ recorded for alert
// id. It is derived, not random, so a retry after a crash submits the same
// objects and the store finds them unchanged.
func derivedID(typ, id string) string {
	return typ + "--" + uuid.NewSHA1(idSpace, []byte(typ+"|"+id)).String()
}

// sightingObjects returns the STIX objects that record a, owned by its
// organisation and marked TLP:AMBER (the organisation alone; it may share
// them on by marking a new version): the transaction as a
// cryptocurrency-transaction, an observed-data holding it, and the
// sighting of of (the flagged wallet's indicator, or the incident) where
// the organisation is, as DESIGN section 3 describes.
func sightingObjects(a Alert, of string) ([]*stix.Object, error) {
	created := stix.FormatTime(a.Created)
	seen := stix.FormatTime(a.BlockTime)
	marking := []string{stix.TLPAmber.ID()}

	tx := stix.New(stix.TypeCryptocurrencyTransaction, "")
	props := []struct {
		k string
		v any
	}{{"chain", a.Chain}, {"hash", a.Tx}, {"block_height", a.BlockHeight}, {"timestamp", seen}}
	for _, p := range props {
		if err := tx.Set(p.k, p.v); err != nil {
			return nil, err
		}
	}
	id, _, err := stix.DeterministicID(tx)
	if err != nil {
		return nil, fmt.Errorf("transaction id: %w", err)
	}
	tx.ID = id
	if err := tx.Set("id", id); err != nil {
		return nil, err
	}
	if err := tx.Set("object_marking_refs", marking); err != nil {
		return nil, err
	}

	od := stix.New("observed-data", derivedID("observed-data", a.ID))
	sg := stix.New("sighting", a.Sighting)
	desc := fmt.Sprintf("%s base units of %s (FIFO model; %s under haircut) traced from incident %s (%s) reached %s in transaction %s at block %d, %d hops from the theft.",
		a.Amounts.FIFO, a.Asset, a.Amounts.Haircut, a.IncidentName, a.Incident, a.Address, a.Tx, a.BlockHeight, a.Hops)
	for _, o := range []struct {
		obj   *stix.Object
		props map[string]any
	}{
		{od, map[string]any{"first_observed": seen, "last_observed": seen, "number_observed": 1, "object_refs": []string{tx.ID}}},
		{sg, map[string]any{"sighting_of_ref": of, "where_sighted_refs": []string{a.Org}, "observed_data_refs": []string{od.ID},
			"first_seen": seen, "last_seen": seen, "count": 1, "description": desc, "summary": false}},
	} {
		common := map[string]any{"spec_version": "2.1", "created": created, "modified": created, "created_by_ref": a.Org, "object_marking_refs": marking}
		for k, v := range common {
			if err := o.obj.Set(k, v); err != nil {
				return nil, err
			}
		}
		for k, v := range o.props {
			if err := o.obj.Set(k, v); err != nil {
				return nil, err
			}
		}
	}
	return []*stix.Object{tx, od, sg}, nil
}

// recordSightings submits the sightings of the alerts that lack theirs,
// each as its alert's organisation. A sighting is of the indicator that
// flags the wallet the theft went to (the first address on the alert's
// path), when the organisation may see one, else of the incident.
func (s *Service) recordSightings(ctx context.Context) error {
	var errs []error
	var after int64
	for {
		pending, err := s.store.pendingSightings(ctx, after, 100)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(pending) == 0 {
			return errors.Join(errs...)
		}
		after = pending[len(pending)-1].Seq
		// The indicators each organisation may see on each chain: one
		// read of its flags per batch.
		indicators := map[string]map[string]string{}
		for _, a := range pending {
			k := orgChain(a.Org, a.Chain)
			if _, ok := indicators[k]; ok {
				continue
			}
			flagged, err := s.intel.Flags(ctx, access.Viewer{Org: a.Org, Role: access.Reader}, intel.FlagQuery{Chain: a.Chain})
			if err != nil {
				return fmt.Errorf("flags of %s for %s: %w", a.Chain, a.Org, err)
			}
			byAddr := map[string]string{}
			for _, fa := range flagged {
				for _, f := range fa.Flags {
					if f.Type == "indicator" && byAddr[fa.Address] == "" {
						byAddr[fa.Address] = f.Object
					}
				}
			}
			indicators[k] = byAddr
		}
		for _, a := range pending {
			of := a.Incident
			if len(a.Via) > 0 {
				if id := indicators[orgChain(a.Org, a.Chain)][a.Via[0]]; id != "" {
					of = id
				}
			}
			// One alert's failure does not hold up the others'.
			objs, err := sightingObjects(a, of)
			if err == nil {
				_, err = s.intel.Submit(ctx, access.Viewer{Org: a.Org, Role: access.Contributor}, objs, intel.SubmitOptions{})
			}
			if err == nil {
				err = s.store.sightingStored(ctx, a.ID)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("sighting of alert %s: %w", a.ID, err))
				if ctx.Err() != nil {
					return errors.Join(errs...)
				}
			}
		}
	}
}

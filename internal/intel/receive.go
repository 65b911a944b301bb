package intel

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// ReceiveOptions configure a [Service.Receive].
type ReceiveOptions struct {
	// From names the peer node the objects came from, for the audit log.
	From string
	// StateKey, if set, is stored with StateValue in the same transaction
	// as the objects: a sync cursor that advances only with what it
	// brought.
	StateKey, StateValue string
}

// ReceiveResult counts what a [Service.Receive] did.
type ReceiveResult struct {
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
	// Rejections names each rejected object and why.
	Rejections []ObjectResult `json:"rejections,omitempty"`
}

// Receive stores objects that come from a peer node, pulled or pushed,
// keeping their owners. Each object must carry the provenance extension
// with its owner, an organisation this node knows bound to a node, and the
// signature of that node's key over the object. Objects that are unsigned,
// signed by another key, changed since they were signed, or that would
// version another owner's object, are rejected and counted; the others are
// stored in one transaction, with the state key of opts. Only a sync or an
// admin viewer receives.
func (s *Service) Receive(ctx context.Context, v access.Viewer, objs []*stix.Object, opts ReceiveOptions) (*ReceiveResult, error) {
	r, err := s.Verify(ctx, v, objs)
	if err != nil {
		return nil, err
	}
	return r.Store(ctx, opts)
}

// receivedItem is one object of a [Received] batch.
type receivedItem struct {
	o    *stix.Object
	rec  *Record
	err  *objErr
	skip bool
}

// Received is a batch of a peer's objects whose signatures were checked,
// ready to [Received.Store]. A sync verifies the next page while it stores
// the one before.
type Received struct {
	s     *Service
	v     access.Viewer
	items []receivedItem
}

// Verify runs the checks of [Service.Receive] that need no transaction:
// owners, keys, validity and signatures, on every core.
func (s *Service) Verify(ctx context.Context, v access.Viewer, objs []*stix.Object) (*Received, error) {
	if v.Role != access.Sync && v.Role != access.Admin {
		return nil, fault.New(fault.Forbidden, "only a peer node (role sync) sends signed objects")
	}
	type item = receivedItem
	items := make([]item, len(objs))
	orgs := map[string]*access.Org{}
	keys := map[string][]access.NodeKey{}
	lookup := func(owner string) (*access.Org, error) {
		if o, ok := orgs[owner]; ok {
			return o, nil
		}
		org, err := s.store.Org(ctx, owner)
		if fault.CodeOf(err) == fault.NotFound {
			orgs[owner] = nil
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if _, ok := keys[org.Node]; !ok {
			ks, err := s.store.NodeKeys(ctx, org.Node)
			if err != nil {
				return nil, err
			}
			keys[org.Node] = ks
		}
		orgs[owner] = &org
		return &org, nil
	}
	// Checks that need no transaction: first the owners and their keys,
	// then the signatures, which cost the most, on every core.
	var verify []int
	for i, o := range objs {
		items[i].o = o
		if stix.IsBuiltin(o.ID) {
			items[i].skip = true
			continue
		}
		owner, sig := o.Provenance()
		if owner == "" || sig == nil {
			items[i].err = &objErr{fault.Forbidden, "unsigned: the object carries no provenance signature"}
			continue
		}
		org, err := lookup(owner)
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if org == nil {
			items[i].err = &objErr{fault.Forbidden, fmt.Sprintf("owner %s is not an organisation this node knows", owner)}
			continue
		}
		verify = append(verify, i)
	}
	check := func(it *item) {
		owner, sig := it.o.Provenance()
		if err := s.valid.Validate(it.o); err != nil {
			it.err = &objErr{fault.Invalid, invalidText(err)}
			return
		}
		org := orgs[owner]
		var key ed25519.PublicKey
		for _, k := range keys[org.Node] {
			if k.ID == sig.Key {
				key = k.Public
			}
		}
		if key == nil {
			it.err = &objErr{fault.Forbidden, fmt.Sprintf("signed with key %q, which is not a key of the node of its owner %s", sig.Key, owner)}
			return
		}
		// One canonicalisation serves both the check and the record: what
		// was signed is the canonical JSON without the signature.
		data, err := it.o.Canonical()
		if err != nil {
			it.err = &objErr{fault.Invalid, err.Error()}
			return
		}
		msg, ok := signedFromCanonical(data, owner, sig)
		if !ok {
			if msg, err = signedBytes(it.o); err != nil {
				it.err = &objErr{fault.Invalid, err.Error()}
				return
			}
		}
		if err := verifyMessage(msg, sig, key); err != nil {
			it.err = &objErr{fault.Forbidden, err.Error()}
			return
		}
		rec, err := recordOf(it.o, data, owner, org.Local)
		if err != nil {
			it.err = &objErr{fault.Invalid, err.Error()}
			return
		}
		it.rec = rec
	}
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(verify))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(verify); j += workers {
				check(&items[verify[j]])
			}
		}()
	}
	wg.Wait()
	return &Received{s: s, v: v, items: items}, nil
}

// Store stores the verified objects in one transaction, with the state key
// of opts, after the checks that need the store (markings, ownership of
// existing ids, versions).
func (r *Received) Store(ctx context.Context, opts ReceiveOptions) (*ReceiveResult, error) {
	s, v, items := r.s, r.v, r.items
	res := &ReceiveResult{}
	var added []string
	err := s.store.Update(ctx, func(tx Tx) error {
		added = added[:0]
		bundleMarkings := map[string]bool{}
		for i := range items {
			if it := &items[i]; it.rec != nil && it.o.Type == "marking-definition" {
				bundleMarkings[it.o.ID] = true
			}
		}
		for i := range items {
			it := &items[i]
			if it.skip || it.err != nil {
				continue
			}
			e, err := s.checkReceived(ctx, tx, it.o, it.rec, bundleMarkings)
			if err != nil {
				return err
			}
			switch {
			case e == nil:
			case e.code == codeUnchanged:
				it.skip = true
				continue
			default:
				it.err = e
				continue
			}
			if err := tx.Insert(ctx, it.rec); err != nil {
				if fault.CodeOf(err) == fault.Conflict {
					it.err = &objErr{fault.Conflict, fault.MessageOf(err)}
					continue
				}
				return fmt.Errorf("store %s: %w", it.o.ID, err)
			}
			added = append(added, it.rec.ID+"@"+it.rec.Version)
		}
		if len(added) > 0 {
			e := AuditEntry{Time: s.now().UTC(), Org: v.Org, Token: v.TokenID, Action: "receive",
				Detail: fmt.Sprintf("%d objects from %s", len(added), opts.From)}
			if len(added) == 1 {
				e.Object = added[0]
			} else {
				e.Objects = added
			}
			if err := tx.Audit(ctx, e); err != nil {
				return err
			}
		}
		if opts.StateKey != "" {
			return tx.SetState(ctx, opts.StateKey, opts.StateValue)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	for i := range items {
		it := &items[i]
		switch {
		case it.err != nil:
			res.Rejected++
			res.Rejections = append(res.Rejections, ObjectResult{Index: i, ID: it.o.ID, Version: it.o.Modified(), Status: Failed, Code: it.err.code, Error: it.err.msg})
		case it.skip:
			res.Unchanged++
		default:
			res.Added++
		}
	}
	return res, nil
}

// checkReceived applies the store rules to a received object: its markings
// are known, it versions no other owner's object, and a version already
// held is the same, byte for byte. It returns an objErr with code
// codeUnchanged for an object already held.
func (s *Service) checkReceived(ctx context.Context, tx Tx, o *stix.Object, rec *Record, bundleMarkings map[string]bool) (*objErr, error) {
	for _, id := range o.MarkingRefs() {
		if _, tlp := stix.TLPOf(id); tlp || bundleMarkings[id] {
			continue
		}
		vs, err := tx.Versions(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return &objErr{fault.Invalid, fmt.Sprintf("unknown marking definition %s", id)}, nil
		}
	}
	versions, err := tx.Versions(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	if identical(versions, rec) != nil {
		return &objErr{code: codeUnchanged}, nil
	}
	if rec.Version == "" {
		return nil, nil
	}
	var latest *Record
	for i := range versions {
		r := &versions[i]
		if r.Owner != rec.Owner {
			return &objErr{fault.Forbidden, fmt.Sprintf("%s is owned here by %s, not %s", o.ID, r.Owner, rec.Owner)}, nil
		}
		if r.Version == rec.Version && !bytes.Equal(r.Data, rec.Data) {
			return &objErr{fault.Conflict, fmt.Sprintf("version %s of %s is held with different content", o.Modified(), o.ID)}, nil
		}
		if latest == nil || r.Version > latest.Version {
			latest = r
		}
	}
	if latest != nil && latest.Revoked && rec.Version > latest.Version {
		return &objErr{fault.Conflict, fmt.Sprintf("%s is revoked; a revoked object takes no new versions", o.ID)}, nil
	}
	return nil, nil
}

// codeUnchanged marks, inside Receive, an object already held: not a
// failure.
const codeUnchanged fault.Code = "unchanged"

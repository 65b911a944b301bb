package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// SubmitOptions configure a submission.
type SubmitOptions struct {
	// DefaultTLP marks the objects that carry no TLP marking. TLPNone leaves
	// them unmarked; the access rules treat them as TLP:AMBER.
	DefaultTLP stix.TLP
	// Partial stores the valid objects and reports the others, as TAXII
	// add-objects does. By default a submission is all or nothing.
	Partial bool
	// SkipSameContent treats a new version whose content equals the current
	// version's but for "modified" as already stored. Importers set it, so
	// re-importing a source whose entries carry the source's date as their
	// version adds only what changed.
	SkipSameContent bool
}

// Status is the outcome for one submitted object.
type Status string

// The outcomes.
const (
	Added     Status = "added"     // stored as a new record
	Unchanged Status = "unchanged" // the same version was already stored, byte for byte
	Failed    Status = "failed"    // refused; see the error
)

// ObjectResult is the outcome for one submitted object.
type ObjectResult struct {
	Index   int        `json:"index"`
	ID      string     `json:"id"`
	Version string     `json:"version,omitempty"` // "modified" as written
	Status  Status     `json:"status"`
	Code    fault.Code `json:"code,omitempty"`
	Error   string     `json:"error,omitempty"`
	// DateAdded is when the node stored the record (Added), or the stored
	// record's (Unchanged), in microseconds since the epoch.
	DateAdded int64 `json:"-"`
}

// SubmitResult is the outcome of a submission, one entry per object in
// input order.
type SubmitResult struct {
	Objects   []ObjectResult `json:"objects"`
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Failed    int            `json:"failed"`
}

// objErr is a refusal of one object, with the code that says why.
type objErr struct {
	code fault.Code
	msg  string
}

// Submit validates objs and stores them as owned by v's organisation. By
// default it stores all of them in one transaction or none: if any object
// is refused, the error is a *fault.Error whose Details name each refused
// object, with code Forbidden (a forgery, or another organisation's
// object), Invalid (breaks a MUST of STIX 2.1, or cites an unknown marking
// definition) or Conflict (a different object under an existing id and
// version), in that order of precedence.
func (s *Service) Submit(ctx context.Context, v access.Viewer, objs []*stix.Object, opts SubmitOptions) (*SubmitResult, error) {
	if err := require(v, access.Write); err != nil {
		return nil, err
	}
	res := &SubmitResult{Objects: make([]ObjectResult, len(objs))}
	errs := make([]*objErr, len(objs))
	recs := make([]*Record, len(objs))

	// Checks that need no store: shape, markings' form, duplicates.
	seen := map[string]int{}
	bundleMarkings := map[string]bool{}
	for i, o := range objs {
		res.Objects[i] = ObjectResult{Index: i, ID: o.ID, Version: o.Modified()}
		if _, err := o.NormalizeMarkings(); err != nil {
			errs[i] = &objErr{fault.Invalid, err.Error()}
			continue
		}
		if opts.DefaultTLP != stix.TLPNone && o.TLP() == stix.TLPNone && !isTLPDefinition(o) {
			if err := o.Set("object_marking_refs", append(o.Strings("object_marking_refs"), opts.DefaultTLP.ID())); err != nil {
				errs[i] = &objErr{fault.Invalid, err.Error()}
				continue
			}
		}
		key := o.ID + "|" + o.Modified()
		if j, dup := seen[key]; dup {
			errs[i] = &objErr{fault.Invalid, fmt.Sprintf("duplicate of objects[%d]: the same id and version twice in one submission", j)}
			continue
		}
		seen[key] = i
		if err := s.valid.Validate(o); err != nil {
			errs[i] = &objErr{fault.Invalid, invalidText(err)}
			continue
		}
		if o.Type == "marking-definition" {
			bundleMarkings[o.ID] = true
		}
		if owner, _ := o.Provenance(); owner != "" && owner != v.Org {
			errs[i] = &objErr{fault.Forbidden, fmt.Sprintf("provenance names %s as the owner; an organisation submits only objects it owns", owner)}
			continue
		}
		if err := setProvenance(o, v.Org, s.signer); err != nil {
			errs[i] = &objErr{fault.Invalid, err.Error()}
			continue
		}
		rec, err := record(o, v.Org, true)
		if err != nil {
			errs[i] = &objErr{fault.Invalid, err.Error()}
			continue
		}
		recs[i] = rec
	}
	// Even when some objects are already refused, the rest are checked
	// against the store, so the caller learns every problem at once (and a
	// forgery is reported as one).
	var audit []AuditEntry
	err := s.store.Update(ctx, func(tx Tx) error {
		audit = audit[:0]
		for i, o := range objs {
			if errs[i] != nil {
				continue
			}
			versions, e := s.checkStored(ctx, tx, v, o, recs[i], bundleMarkings)
			if e != nil && e.code == fault.Forbidden && opts.SkipSameContent && heldByOther(versions, o, v) {
				// An importer's shared fact (the OFAC identity, a victim)
				// another organisation already holds, the same: keep theirs.
				res.Objects[i].Status = Unchanged
				continue
			}
			if e != nil {
				if e.code == fault.Internal {
					return errors.New(e.msg)
				}
				errs[i] = e
				continue
			}
			if prev := identical(versions, recs[i]); prev != nil || (opts.SkipSameContent && sameContent(versions, o)) {
				if prev == nil {
					prev = latestOf(versions)
				}
				res.Objects[i].Status = Unchanged
				res.Objects[i].DateAdded = prev.DateAdded
				continue
			}
			if err := tx.Insert(ctx, recs[i]); err != nil {
				if fault.CodeOf(err) == fault.Conflict {
					errs[i] = &objErr{fault.Conflict, fault.MessageOf(err)}
					continue
				}
				return fmt.Errorf("store %s: %w", o.ID, err)
			}
			res.Objects[i].Status = Added
			res.Objects[i].DateAdded = recs[i].DateAdded
			audit = append(audit, AuditEntry{
				Time: s.now().UTC(), Org: v.Org, Token: v.TokenID, Action: "submit",
				Object: o.ID, Version: o.Modified(), TLP: recs[i].TLP.String(),
			})
		}
		if !opts.Partial && firstErr(errs) >= 0 {
			return errRefused
		}
		for _, e := range audit {
			if err := tx.Audit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errRefused) {
		for i := range res.Objects {
			if res.Objects[i].Status != Failed {
				res.Objects[i].Status = ""
			}
		}
		return res, s.refuse(res, errs)
	}
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	for i := range res.Objects {
		if errs[i] != nil {
			res.Objects[i].Status = Failed
			res.Objects[i].Code = errs[i].code
			res.Objects[i].Error = errs[i].msg
		}
		switch res.Objects[i].Status {
		case Added:
			res.Added++
		case Unchanged:
			res.Unchanged++
		case Failed:
			res.Failed++
		}
	}
	return res, nil
}

var errRefused = errors.New("intel: submission refused")

func isTLPDefinition(o *stix.Object) bool {
	_, ok := stix.TLPOf(o.ID)
	return ok
}

func invalidText(err error) string {
	var ve *stix.ValidationError
	if errors.As(err, &ve) {
		return joinProblems(ve.Problems)
	}
	return err.Error()
}

func joinProblems(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

func firstErr(errs []*objErr) int {
	for i, e := range errs {
		if e != nil {
			return i
		}
	}
	return -1
}

// refuse builds the error of a refused all-or-nothing submission.
func (s *Service) refuse(res *SubmitResult, errs []*objErr) error {
	code := fault.Conflict
	var details []fault.Detail
	for i, e := range errs {
		if e == nil {
			continue
		}
		res.Objects[i].Status = Failed
		res.Objects[i].Code = e.code
		res.Objects[i].Error = e.msg
		res.Failed++
		details = append(details, fault.Detail{Index: i, ID: res.Objects[i].ID, Message: e.msg})
		switch {
		case e.code == fault.Forbidden:
			code = fault.Forbidden
		case e.code == fault.Invalid && code != fault.Forbidden:
			code = fault.Invalid
		}
	}
	first := details[0]
	msg := fmt.Sprintf("%d of %d objects refused, nothing stored; objects[%d] %s: %s", len(details), len(errs), first.Index, first.ID, first.Message)
	return &fault.Error{Code: code, Message: msg, Details: details}
}

// checkStored applies the rules that need the store: known markings,
// forgery, ownership of existing ids, revocation.
// It returns the stored versions of the object's id.
func (s *Service) checkStored(ctx context.Context, tx Tx, v access.Viewer, o *stix.Object, rec *Record, bundleMarkings map[string]bool) ([]Record, *objErr) {
	for _, id := range o.MarkingRefs() {
		if _, tlp := stix.TLPOf(id); tlp || bundleMarkings[id] {
			continue
		}
		vs, err := tx.Versions(ctx, id)
		if err != nil {
			return nil, &objErr{fault.Internal, err.Error()}
		}
		if len(vs) == 0 {
			return nil, &objErr{fault.Invalid, fmt.Sprintf("unknown marking definition %s", id)}
		}
	}
	for _, id := range o.Recipients() {
		if _, err := tx.Org(ctx, id); err != nil {
			if fault.CodeOf(err) == fault.NotFound {
				return nil, &objErr{fault.Invalid, fmt.Sprintf("recipient %s is not an organisation this node knows", id)}
			}
			return nil, &objErr{fault.Internal, err.Error()}
		}
	}
	if ref := o.CreatedByRef(); ref != "" && ref != v.Org {
		org, err := tx.Org(ctx, ref)
		switch {
		case err == nil:
			return nil, &objErr{fault.Forbidden, fmt.Sprintf("forgery: created_by_ref names %s (%s), another organisation of this node", ref, org.Name)}
		case fault.CodeOf(err) != fault.NotFound:
			return nil, &objErr{fault.Internal, err.Error()}
		}
	}
	versions, err := tx.Versions(ctx, o.ID)
	if err != nil {
		return nil, &objErr{fault.Internal, err.Error()}
	}
	if rec.Version == "" {
		return versions, nil
	}
	var latest *Record
	for i := range versions {
		r := &versions[i]
		if r.Owner != rec.Owner {
			return versions, &objErr{fault.Forbidden, fmt.Sprintf("%s is owned by another organisation; only its owner may add versions", o.ID)}
		}
		if r.Version == rec.Version && !bytes.Equal(r.Data, rec.Data) {
			return nil, &objErr{fault.Conflict, fmt.Sprintf("version %s of %s is already stored with different content; a change needs a later modified", o.Modified(), o.ID)}
		}
		if latest == nil || r.Version > latest.Version {
			latest = r
		}
	}
	if latest != nil && latest.Revoked && rec.Version > latest.Version {
		return nil, &objErr{fault.Conflict, fmt.Sprintf("%s is revoked; a revoked object takes no new versions", o.ID)}
	}
	return versions, nil
}

// identical returns the stored record identical to rec (same id, owner,
// version and bytes), if any: resubmitting it changes nothing.
func identical(versions []Record, rec *Record) *Record {
	for i := len(versions) - 1; i >= 0; i-- {
		r := &versions[i]
		if r.Owner != rec.Owner || r.Version != rec.Version {
			continue
		}
		if rec.Version == "" && !r.Latest {
			// An older holding of an unversioned object: only the current
			// one counts as "already stored".
			continue
		}
		if bytes.Equal(r.Data, rec.Data) && slices.Equal(r.Recipients, rec.Recipients) {
			return r
		}
	}
	return nil
}

// latestOf returns the current record among versions, or nil.
func latestOf(versions []Record) *Record {
	for i := range versions {
		if versions[i].Latest {
			return &versions[i]
		}
	}
	return nil
}

// sameContent reports whether o equals the current version of its id in
// everything but "modified".
func sameContent(versions []Record, o *stix.Object) bool {
	cur := latestOf(versions)
	if cur == nil || cur.Version == "" {
		return false
	}
	stored, err := cur.Object()
	if err != nil {
		return false
	}
	a, b := stored.Clone(), o.Clone()
	a.Delete("modified")
	b.Delete("modified")
	// The signature covers "modified": compare what is signed.
	ca, err1 := signedBytes(a)
	cb, err2 := signedBytes(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

// heldByOther reports whether another organisation holds o's id as the
// current version, with the same content but for "modified" and the
// provenance, visible to v.
func heldByOther(versions []Record, o *stix.Object, v access.Viewer) bool {
	cur := latestOf(versions)
	if cur == nil || cur.Owner == v.Org || !access.CanSee(v, cur.Holding()) {
		return false
	}
	stored, err := cur.Object()
	if err != nil {
		return false
	}
	a, b := stored.Clone(), o.Clone()
	for _, x := range []*stix.Object{a, b} {
		x.Delete("modified")
		var exts map[string]json.RawMessage
		if _, err := x.Decode("extensions", &exts); err == nil && exts != nil {
			delete(exts, stix.ProvenanceExtensionID)
			if len(exts) == 0 {
				x.Delete("extensions")
			} else if err := x.Set("extensions", exts); err != nil {
				return false
			}
		}
	}
	ca, err1 := a.Canonical()
	cb, err2 := b.Canonical()
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

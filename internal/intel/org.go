package intel

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

var orgNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// manages reports whether v may manage the organisation with identity id:
// the operator's admins manage every organisation, other admins their own.
func (s *Service) manages(v access.Viewer, org string) error {
	if err := require(v, access.Manage); err != nil {
		return err
	}
	if v.Org == s.op || v.Org == org {
		return nil
	}
	return fault.New(fault.Forbidden, "only the operator's admins manage other organisations")
}

// CreateOrg registers an organisation. With id "" it creates a member of
// this node with a fresh identity id and stores its identity object
// (TLP:GREEN, owned by the organisation itself); with an id it registers
// an organisation of another node under that node's id. Only the operator's
// admins may create organisations (and anyone, on a node without one yet,
// for the first).
func (s *Service) CreateOrg(ctx context.Context, v access.Viewer, name, id string) (access.Org, error) {
	if s.op != "" {
		if err := s.manages(v, ""); err != nil {
			return access.Org{}, err
		}
		if v.Org != s.op {
			return access.Org{}, fault.New(fault.Forbidden, "only the operator's admins create organisations")
		}
	}
	if !orgNameRE.MatchString(name) {
		return access.Org{}, fault.New(fault.Invalid, "organisation name %q must be 1 to 64 letters, digits, spaces, dots, hyphens or underscores, starting with a letter or digit", name)
	}
	local := id == ""
	if local {
		id = stix.NewID("identity")
	} else if !stix.IsID(id) || stix.TypeOf(id) != "identity" {
		return access.Org{}, fault.New(fault.Invalid, "%q is not an identity id (identity--UUID)", id)
	}
	now := s.now().UTC()
	org := access.Org{ID: id, Name: name, Local: local, Created: now}
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		if local {
			o := stix.New("identity", id)
			ts := stix.FormatTime(now)
			for k, val := range map[string]any{
				"spec_version": "2.1", "created": ts, "modified": ts, "name": name,
				"identity_class": "organization", "object_marking_refs": []string{stix.TLPGreenID},
			} {
				if err := o.Set(k, val); err != nil {
					return err
				}
			}
			// Signed like every object the organisation owns, so peers
			// take it.
			if err := setProvenance(o, id, s.signer); err != nil {
				return err
			}
			rec, err := record(o, id, true)
			if err != nil {
				return err
			}
			if err := tx.Insert(ctx, rec); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, AuditEntry{Time: now, Org: v.Org, Token: v.TokenID, Action: "org.create", Object: id, Detail: name})
	})
	if err != nil {
		return access.Org{}, fmt.Errorf("create organisation %s: %w", name, err)
	}
	return org, nil
}

// Orgs lists the organisations this node knows. Any viewer with a token may
// list them, to name recipients.
func (s *Service) Orgs(ctx context.Context, v access.Viewer) ([]access.Org, error) {
	if v.Anonymous() {
		return nil, fault.New(fault.Unauthorized, "a token is required to list organisations")
	}
	return s.store.Orgs(ctx)
}

// Org returns the organisation with identity id or name.
func (s *Service) Org(ctx context.Context, v access.Viewer, idOrName string) (access.Org, error) {
	if v.Anonymous() {
		return access.Org{}, fault.New(fault.Unauthorized, "a token is required to read organisations")
	}
	if stix.IsID(idOrName) {
		return s.store.Org(ctx, idOrName)
	}
	return s.store.OrgByName(ctx, idOrName)
}

// CreateToken makes a token for the organisation with identity id org and
// returns it with its plaintext, which is shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, v access.Viewer, org string, role access.Role, ttl time.Duration) (access.Token, string, error) {
	if err := s.manages(v, org); err != nil {
		return access.Token{}, "", err
	}
	if _, err := access.ParseRole(string(role)); err != nil {
		return access.Token{}, "", fault.New(fault.Invalid, "%v", err)
	}
	if ttl < 0 {
		return access.Token{}, "", fault.New(fault.Invalid, "token lifetime %s is negative", ttl)
	}
	if _, err := s.store.Org(ctx, org); err != nil {
		return access.Token{}, "", err
	}
	now := s.now()
	t, plain, err := access.NewToken(org, role, ttl, now)
	if err != nil {
		return access.Token{}, "", err
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return access.Token{}, "", fmt.Errorf("store token: %w", err)
	}
	err = s.store.AppendAudit(ctx, []AuditEntry{{Time: now.UTC(), Org: v.Org, Token: v.TokenID, Action: "token.create", Object: org, Detail: t.ID + " " + string(role)}})
	return t, plain, err
}

// Tokens lists the tokens of the organisation with identity id org.
func (s *Service) Tokens(ctx context.Context, v access.Viewer, org string) ([]access.Token, error) {
	if err := s.manages(v, org); err != nil {
		return nil, err
	}
	return s.store.Tokens(ctx, org)
}

// RevokeToken revokes the token with public id.
func (s *Service) RevokeToken(ctx context.Context, v access.Viewer, id string) (access.Token, error) {
	t, err := s.store.Token(ctx, id)
	if err != nil {
		return access.Token{}, err
	}
	if err := s.manages(v, t.Org); err != nil {
		return access.Token{}, err
	}
	now := s.now()
	if err := s.store.RevokeToken(ctx, id, now); err != nil {
		return access.Token{}, err
	}
	if err := s.store.AppendAudit(ctx, []AuditEntry{{Time: now.UTC(), Org: v.Org, Token: v.TokenID, Action: "token.revoke", Object: t.Org, Detail: id}}); err != nil {
		return access.Token{}, err
	}
	return s.store.Token(ctx, id)
}

// Audit returns audit entries: all of them for the operator's admins, the
// entries of their own organisation for other admins.
func (s *Service) Audit(ctx context.Context, v access.Viewer, q AuditQuery) ([]AuditEntry, error) {
	if err := require(v, access.Manage); err != nil {
		return nil, err
	}
	if v.Org != s.op {
		q.Org = v.Org
	}
	return s.store.Audit(ctx, q)
}

// Revoke revokes object id: it stores a new version with "revoked": true,
// modified now. Only the owner may revoke; observables and marking
// definitions, which have no versions, cannot be revoked.
func (s *Service) Revoke(ctx context.Context, v access.Viewer, id string) (*Record, error) {
	if err := require(v, access.Write); err != nil {
		return nil, err
	}
	cur, err := s.Get(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if cur.Owner != v.Org {
		return nil, fault.New(fault.Forbidden, "%s is owned by another organisation; only its owner may revoke it", id)
	}
	if cur.Version == "" {
		return nil, fault.New(fault.Invalid, "%s has no versions and cannot be revoked", id)
	}
	if cur.Revoked {
		return nil, fault.New(fault.Conflict, "%s is already revoked", id)
	}
	o, err := cur.Object()
	if err != nil {
		return nil, err
	}
	modified := s.now().UTC().Truncate(time.Millisecond)
	if prev, ok := o.Time("modified"); ok && !modified.After(prev) {
		modified = prev.Add(time.Millisecond)
	}
	if err := o.Set("modified", stix.FormatTime(modified)); err != nil {
		return nil, err
	}
	if err := o.Set("revoked", true); err != nil {
		return nil, err
	}
	if _, err := s.Submit(ctx, v, []*stix.Object{o}, SubmitOptions{}); err != nil {
		return nil, err
	}
	return s.Get(ctx, v, id)
}

// Delete removes object id from this node: the versions in versions (in
// [VersionLayout]), or all of them, that v's organisation owns. Only the
// owner may delete; the deletion is local (peers keep their copies).
func (s *Service) Delete(ctx context.Context, v access.Viewer, id string, versions []string) (int, error) {
	if err := require(v, access.Write); err != nil {
		return 0, err
	}
	visible, err := s.visibleVersions(ctx, v, id)
	if err != nil {
		return 0, err
	}
	owned := false
	for _, r := range visible {
		owned = owned || r.Owner == v.Org
	}
	if !owned {
		return 0, fault.New(fault.Forbidden, "%s is owned by another organisation; only its owner may delete it", id)
	}
	var n int
	err = s.store.Update(ctx, func(tx Tx) error {
		var err error
		if n, err = tx.Delete(ctx, id, v.Org, versions); err != nil {
			return err
		}
		detail := "all versions"
		if len(versions) > 0 {
			detail = strings.Join(versions, ",")
		}
		return tx.Audit(ctx, AuditEntry{Time: s.now().UTC(), Org: v.Org, Token: v.TokenID, Action: "delete", Object: id, Detail: detail})
	})
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", id, err)
	}
	if n == 0 {
		return 0, fault.New(fault.NotFound, "no version of %s matches", id)
	}
	s.forgetViews()
	return n, nil
}

// RevokeMissing revokes the current, unrevoked objects that v's
// organisation owns, whose created_by_ref is createdBy, and whose id is not
// in keep: what a source (an OFAC list, say) no longer lists. It stores the
// revocations in one transaction and returns the revoked ids.
func (s *Service) RevokeMissing(ctx context.Context, v access.Viewer, createdBy string, keep map[string]bool) ([]string, error) {
	if err := require(v, access.Write); err != nil {
		return nil, err
	}
	var revs []*stix.Object
	modified := s.now().UTC().Truncate(time.Millisecond)
	err := s.scan(ctx, v, Query{Latest: true, ExcludeRevoked: true}, func(r *Record) error {
		if r.Owner != v.Org || r.Version == "" || keep[r.ID] {
			return nil
		}
		o, err := r.Object()
		if err != nil {
			return err
		}
		if o.CreatedByRef() != createdBy {
			return nil
		}
		m := modified
		if prev, ok := o.Time("modified"); ok && !m.After(prev) {
			m = prev.Add(time.Millisecond)
		}
		if err := o.Set("modified", stix.FormatTime(m)); err != nil {
			return err
		}
		if err := o.Set("revoked", true); err != nil {
			return err
		}
		revs = append(revs, o)
		return nil
	})
	if err != nil || len(revs) == 0 {
		return nil, err
	}
	if _, err := s.Submit(ctx, v, revs, SubmitOptions{}); err != nil {
		return nil, err
	}
	ids := make([]string, len(revs))
	for i, o := range revs {
		ids[i] = o.ID
	}
	return ids, nil
}

// InstallBuiltins stores the objects every node serves: the TLP 2.0 marking
// definitions and cointrail's extension definitions, as TLP:CLEAR records
// owned by the project identity. It is idempotent.
func (s *Service) InstallBuiltins(ctx context.Context) error {
	objs := append(stix.TLPMarkingDefinitions(), stix.ExtensionDefinitions()...)
	return s.store.Update(ctx, func(tx Tx) error {
		for _, o := range objs {
			rec, err := record(o, stix.ProjectIdentityID, true)
			if err != nil {
				return err
			}
			rec.TLP = stix.TLPClear
			versions, err := tx.Versions(ctx, o.ID)
			if err != nil {
				return err
			}
			if identical(versions, rec) != nil {
				continue
			}
			if err := tx.Insert(ctx, rec); err != nil {
				return fmt.Errorf("install %s: %w", o.ID, err)
			}
		}
		return nil
	})
}

// Bootstrap prepares an empty store for a new node: it installs the
// built-in objects and creates the operator organisation named name, then
// returns a service whose operator that organisation is. opts.Operator is
// ignored.
func Bootstrap(ctx context.Context, store Store, name string, opts Options) (*Service, access.Org, error) {
	opts.Operator = ""
	orgs, err := store.Orgs(ctx)
	if err != nil {
		return nil, access.Org{}, err
	}
	if len(orgs) > 0 {
		return nil, access.Org{}, fault.New(fault.Conflict, "the database already holds a node (organisation %s, ...); use a fresh database", orgs[0].Name)
	}
	boot := New(store, opts)
	if err := boot.InstallBuiltins(ctx); err != nil {
		return nil, access.Org{}, fmt.Errorf("install marking and extension definitions: %w", err)
	}
	op, err := boot.CreateOrg(ctx, access.Viewer{}, name, "")
	if err != nil {
		return nil, access.Org{}, err
	}
	opts.Operator = op.ID
	return New(store, opts), op, nil
}

// BindNode binds a node's keys and organisations: it stores the keys,
// registers each organisation under its own id (or binds an organisation
// registered before), bound to node, and stores the state key with value,
// all in one transaction. node "" binds this node's own keys. Only the
// operator's admins bind nodes.
func (s *Service) BindNode(ctx context.Context, v access.Viewer, node string, keys []access.NodeKey, orgs []access.Org, stateKey, stateValue string) error {
	if err := s.manages(v, ""); err != nil {
		return err
	}
	if s.op != "" && v.Org != s.op {
		return fault.New(fault.Forbidden, "only the operator's admins bind nodes")
	}
	now := s.now().UTC()
	return s.store.Update(ctx, func(tx Tx) error {
		for _, k := range keys {
			k.Node = node
			if k.Added.IsZero() {
				k.Added = now
			}
			if err := tx.AddNodeKey(ctx, k); err != nil {
				return fmt.Errorf("key %s of node %q: %w", k.ID, node, err)
			}
		}
		for _, o := range orgs {
			cur, err := tx.Org(ctx, o.ID)
			switch {
			case fault.CodeOf(err) == fault.NotFound:
				o.Node, o.Local, o.Created = node, false, now
				if err := tx.CreateOrg(ctx, o); err != nil {
					return fmt.Errorf("register %s: %w", o.ID, err)
				}
			case err != nil:
				return err
			case cur.Local:
				return fault.New(fault.Conflict, "organisation %s (%s) belongs to this node; node %q cannot claim it", o.ID, cur.Name, node)
			case cur.Node != "" && cur.Node != node:
				return fault.New(fault.Conflict, "organisation %s (%s) is bound to node %q already", o.ID, cur.Name, cur.Node)
			case cur.Node == "":
				if err := tx.SetOrgNode(ctx, o.ID, node); err != nil {
					return err
				}
			}
		}
		if stateKey != "" {
			if err := tx.SetState(ctx, stateKey, stateValue); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, AuditEntry{Time: now, Org: v.Org, Token: v.TokenID, Action: "node.bind",
			Detail: fmt.Sprintf("node %q: %d keys, %d organisations", node, len(keys), len(orgs))})
	})
}

// SetState stores a piece of node state under key in its own transaction;
// the empty value deletes it. Only the operator's admins set state.
func (s *Service) SetState(ctx context.Context, v access.Viewer, key, value string) error {
	if err := s.manages(v, ""); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error { return tx.SetState(ctx, key, value) })
}

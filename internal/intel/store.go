package intel

import (
	"context"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/stix"
)

// Record is one stored version of one object, with what the node knows
// about it beside the object itself.
//
// Versioned objects (domain objects, relationships) have one record per
// "modified" value. Unversioned objects (observables, marking definitions)
// have one holding per owner: each submission by the same owner adds a
// record that supersedes the previous one.
type Record struct {
	// ID is the object's id.
	ID string
	// Type is the object's type.
	Type string
	// Version is the object's "modified" timestamp normalised to
	// [VersionLayout] (so versions order as strings), or "" for unversioned
	// objects.
	Version string
	// Owner is the identity id of the organisation that owns the object.
	Owner string
	// Local reports whether Owner is an organisation of this node.
	Local bool
	// TLP is the object's strictest TLP marking.
	TLP stix.TLP
	// Recipients are the identity ids the object is shared with.
	Recipients []string
	// Revoked mirrors the object's "revoked" property.
	Revoked bool
	// SpecVersion is the object's spec_version ("2.1").
	SpecVersion string
	// Text is lower-case text searched by queries: names, aliases, values.
	Text string
	// Data is the object's canonical JSON (RFC 8785).
	Data []byte

	// DateAdded is when this node stored the record, in microseconds since
	// the Unix epoch, set by the store: strictly increasing over all records,
	// so no two records share one and a later commit never gets an earlier
	// value than one already visible.
	DateAdded int64
	// Latest reports whether the record is the current version: the greatest
	// Version among the records of its id (versioned objects) or the last
	// record of its id and owner (unversioned objects). Set by the store.
	Latest bool
}

// Holding returns what the access rule needs to know of r.
func (r *Record) Holding() access.Holding {
	return access.Holding{Owner: r.Owner, TLP: r.TLP, Recipients: r.Recipients, Local: r.Local}
}

// Added returns DateAdded as a time.
func (r *Record) Added() time.Time { return time.UnixMicro(r.DateAdded).UTC() }

// VersionLayout is the form of [Record.Version]: UTC with nanoseconds, fixed
// width, so that string order is time order.
const VersionLayout = "2006-01-02T15:04:05.000000000Z"

// Query selects records. The zero Query selects every record.
type Query struct {
	// Types keeps records of these types; empty keeps all.
	Types []string
	// IDs keeps records with these ids; empty keeps all.
	IDs []string
	// After keeps records with DateAdded strictly greater.
	After int64
	// Before, if non-zero, keeps records with DateAdded strictly smaller.
	Before int64
	// Text keeps records whose Text contains this lower-case string.
	Text string
	// Latest keeps only current versions.
	Latest bool
	// ExcludeRevoked drops revoked records.
	ExcludeRevoked bool
	// VisibleTo, if set, drops records that viewer certainly cannot see: the
	// store keeps those marked CLEAR (and GREEN, for a non-anonymous viewer),
	// owned by the viewer's organisation, or naming it as a recipient. It is
	// a pre-filter for speed; [access.CanSee] decides.
	VisibleTo *access.Viewer
	// Limit caps the number of records returned; 0 means no cap.
	Limit int
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	// Seq orders entries; set by the store.
	Seq int64 `json:"seq"`
	// Time is when the action happened.
	Time time.Time `json:"time"`
	// Org is the identity id of the acting organisation ("" if anonymous).
	Org string `json:"org,omitempty"`
	// Token is the public id of the token used, if any.
	Token string `json:"token,omitempty"`
	// Action names what was done: "submit", "revoke", "read",
	// "org.create", "token.create", "token.revoke".
	Action string `json:"action"`
	// Object is the id of the object acted on, if any.
	Object string `json:"object,omitempty"`
	// Objects lists the objects of a read that served several (a page),
	// each as id or id@version.
	Objects []string `json:"objects,omitempty"`
	// Version is the object version acted on, if any.
	Version string `json:"version,omitempty"`
	// TLP is the object's marking, if any.
	TLP string `json:"tlp,omitempty"`
	// Detail says more, in words.
	Detail string `json:"detail,omitempty"`
}

// AuditQuery selects audit entries, oldest first.
type AuditQuery struct {
	// After keeps entries with Seq strictly greater.
	After int64
	// Org keeps entries of this organisation; "" keeps all.
	Org string
	// Action keeps entries with this action; "" keeps all.
	Action string
	// Object keeps entries about this object id (in Object, or among
	// Objects); "" keeps all.
	Object string
	// Limit caps the number of entries; 0 means no cap.
	Limit int
}

// Store persists a node's intelligence: objects, organisations, tokens and
// the audit log. Implementations are safe for concurrent use; every method
// is atomic.
//
// Methods return errors with code fault.NotFound for missing organisations
// and tokens and fault.Conflict for duplicates; anything else is internal.
type Store interface {
	access.Directory

	// Update runs fn in one write transaction and commits it if fn returns
	// nil; otherwise nothing fn did is kept. Write transactions are
	// serialised: DateAdded order is commit order.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Versions returns every record with id, oldest DateAdded first.
	Versions(ctx context.Context, id string) ([]Record, error)
	// Query returns the records q selects, ordered by DateAdded.
	Query(ctx context.Context, q Query) ([]Record, error)
	// LastAdded returns the greatest DateAdded stored, 0 if none.
	LastAdded(ctx context.Context) (int64, error)

	// State returns the value stored under key by [Tx.SetState] ("" and
	// false if none).
	State(ctx context.Context, key string) (string, bool, error)
	// States returns every key and value whose key starts with prefix.
	States(ctx context.Context, prefix string) (map[string]string, error)

	// AppendAudit adds entries to the audit log outside a write transaction
	// (for reads).
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// Audit returns the entries q selects.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)

	// Close releases the store.
	Close() error
}

// Tx is a write transaction. It is used by one goroutine.
type Tx interface {
	// Versions returns every record with id, oldest DateAdded first,
	// including records inserted earlier in this transaction.
	Versions(ctx context.Context, id string) ([]Record, error)
	// Insert stores r, setting r.DateAdded and r.Latest and clearing Latest
	// on the records r supersedes. A versioned record (Version != "") with
	// the ID and Version of a stored one is a fault.Conflict; it becomes
	// Latest if its Version is the greatest of its ID. An unversioned record
	// always becomes Latest and supersedes the previous record of the same
	// ID and Owner (other owners' holdings stay Latest).
	Insert(ctx context.Context, r *Record) error
	// Org returns the organisation with identity id (fault.NotFound if none).
	Org(ctx context.Context, id string) (access.Org, error)
	// CreateOrg registers an organisation (fault.Conflict on a duplicate name
	// or id).
	CreateOrg(ctx context.Context, o access.Org) error
	// Audit appends an entry to the audit log.
	Audit(ctx context.Context, e AuditEntry) error
	// Delete removes the records of id owned by owner: all of them, or
	// those whose Version is in versions. It recomputes Latest for what
	// remains of id and returns how many records it removed.
	Delete(ctx context.Context, id, owner string, versions []string) (int, error)
	// SetState stores value under key (a small piece of node state, such
	// as a peer's configuration or a sync cursor), replacing any value; the
	// empty value deletes the key.
	SetState(ctx context.Context, key, value string) error
	// AddNodeKey binds a node's public key (fault.Conflict if that node
	// already has a different key with that id; the same key again is no
	// error).
	AddNodeKey(ctx context.Context, k access.NodeKey) error
	// SetOrgNode binds the organisation with identity id to a node: its
	// objects are signed with that node's keys.
	SetOrgNode(ctx context.Context, id, node string) error
}

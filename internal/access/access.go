// Package access decides who may see and do what on a node.
//
// Every request acts as a [Viewer]: an organisation and a role. What a
// viewer may see of a stored object is decided by one function, [CanSee],
// from the object's TLP marking, its owner and its recipients; what a viewer
// may do is decided by [Allowed] from its role. No other package filters by
// itself.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/stix"
)

// Role is what a token allows beyond reading what its organisation may see.
type Role string

// The roles.
const (
	// Reader reads what its organisation may see.
	Reader Role = "reader"
	// Contributor reads and submits objects its organisation owns.
	Contributor Role = "contributor"
	// Admin contributes and manages organisations, tokens and the audit log.
	Admin Role = "admin"
	// Sync is a peer node: it reads and pushes on behalf of its
	// organisation, and is never served what must not leave this node.
	Sync Role = "sync"
)

// Roles lists every role.
var Roles = []Role{Reader, Contributor, Admin, Sync}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want reader, contributor, admin or sync)", s)
}

// Viewer is who a request acts as. The zero Viewer is anonymous.
type Viewer struct {
	// Org is the identity id of the viewer's organisation; "" if anonymous.
	Org string
	// Role is the viewer's role; "" if anonymous.
	Role Role
	// TokenID is the public id of the token the request used, if any.
	TokenID string
}

// Anonymous reports whether v acts without a token.
func (v Viewer) Anonymous() bool { return v.Org == "" }

// Holding is what the visibility rule needs to know of one stored object.
type Holding struct {
	// Owner is the identity id of the organisation that submitted the object
	// on the node where it entered the network.
	Owner string
	// TLP is the object's strictest TLP marking; TLPNone counts as AMBER.
	TLP stix.TLP
	// Recipients are the identity ids the object is shared with.
	Recipients []string
	// Local reports whether the owner is an organisation of this node, as
	// opposed to an object learned from a peer node.
	Local bool
}

// CanSee reports whether viewer v may see an object held as h. It is the one
// place where a node decides visibility:
//
//   - TLP:CLEAR: anyone, also anonymous viewers;
//   - TLP:GREEN: every organisation with a token, here or on a peer node;
//   - TLP:AMBER (and unmarked objects): the owner and the recipients;
//   - TLP:AMBER+STRICT: as AMBER, but a node that holds another node's
//     object serves it to local organisations only, never on to another node;
//   - TLP:RED: as AMBER+STRICT: the owner and the named recipients only,
//     never re-served.
//
// The role does not widen what an organisation sees: an admin of one
// organisation does not see another's AMBER objects.
func CanSee(v Viewer, h Holding) bool {
	level := h.TLP
	if level == stix.TLPNone {
		level = stix.TLPAmber
	}
	if level == stix.TLPClear {
		return true
	}
	if v.Anonymous() {
		return false
	}
	if level == stix.TLPGreen {
		return true
	}
	if v.Org != h.Owner && !slices.Contains(h.Recipients, v.Org) {
		return false
	}
	// A peer node pulling on behalf of a recipient may take AMBER+STRICT and
	// RED only from the owner's own node.
	if v.Role == Sync && !h.Local && level >= stix.TLPAmberStrict {
		return false
	}
	return true
}

// Action is something a viewer may be allowed to do.
type Action int

// The actions roles allow.
const (
	Read   Action = iota // read objects (filtered by CanSee)
	Write                // submit and revoke objects owned by the viewer's organisation
	Manage               // manage organisations, tokens; read the audit log
)

func (a Action) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Manage:
		return "manage"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Allowed reports whether v's role permits action a.
func Allowed(v Viewer, a Action) bool {
	switch a {
	case Read:
		return true
	case Write:
		return v.Role == Contributor || v.Role == Admin || v.Role == Sync
	case Manage:
		return v.Role == Admin
	}
	return false
}

// Directory persists organisations and tokens.
//
// Methods return errors with code fault.NotFound for a missing organisation
// or token and fault.Conflict for a duplicate name or id.
type Directory interface {
	TokenStore
	// Org returns the organisation with identity id.
	Org(ctx context.Context, id string) (Org, error)
	// OrgByName returns the organisation called name.
	OrgByName(ctx context.Context, name string) (Org, error)
	// Orgs lists every organisation, ordered by name.
	Orgs(ctx context.Context) ([]Org, error)
	// CreateToken stores t.
	CreateToken(ctx context.Context, t Token) error
	// Tokens lists the tokens of the organisation with identity id org
	// ("" for all), ordered by creation.
	Tokens(ctx context.Context, org string) ([]Token, error)
	// RevokeToken marks the token with public id revoked at time at. Revoking
	// a revoked token keeps the first time.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// NodeKeys returns the keys bound to node, oldest first.
	NodeKeys(ctx context.Context, node string) ([]NodeKey, error)
}

type viewerKey struct{}

// WithViewer returns a context that carries v, for handlers behind an
// authenticating front (the REST API and TAXII share one).
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer ctx carries; the anonymous viewer if none.
func ViewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

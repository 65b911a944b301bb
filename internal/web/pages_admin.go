package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/federation"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// operatorAdmin reports whether the request comes from an admin of the
// node's operator organisation (named in Options by id or name), who
// configures the peers.
func (s *Server) operatorAdmin(r *http.Request) bool {
	sess := sessionFrom(r.Context())
	op := s.opts.Operator
	return op != "" && sess.viewer.Role == access.Admin && (sess.viewer.Org == op || sess.orgName == op)
}

// sharingPage is what the sharing page shows: the peers and their sync
// state to the operator's admins, and to everyone what their own
// organisation shares.
type sharingPage struct {
	Org      string
	Operator bool   // the viewer is an operator admin: Peers are shown
	OpName   string // the operator organisation's name
	Now      time.Time
	Peers    []sharingPeer
	Shares   []sharingCount
	Total    int
}

// sharingPeer is one peer as the page shows it. It is built field by field
// from [federation.Peer] so that the token the peer issued to this node
// never reaches a template.
type sharingPeer struct {
	Name           string
	URL            string
	Direction      string
	Collections    []string
	Push           bool
	PushCollection string
	Added          time.Time
	Orgs           []string
	Status         federation.Status
	Lag            string // "3m 12s", "never caught up", or why there is none
	CaughtUpAt     time.Time
	ErrorResolved  bool // a sync succeeded after the last error
}

// sharingCount is how many objects the viewer's organisation owns under
// one marking, and who may see them.
type sharingCount struct {
	Key        string // for element ids: "clear", "amber-strict", "none"
	Label      string // "TLP:AMBER+STRICT", or "" for unmarked objects
	Count      int
	Recipients int // of Count, how many name recipients
	Who        string
}

// sharingWho says who may see an object under each marking (DESIGN
// section 4), in the page's words.
var sharingWho = map[stix.TLP]string{
	stix.TLPClear:       "Anyone, on this node and on its peers; also visitors without a token where the node allows public reading.",
	stix.TLPGreen:       "Every organisation with a token on this node or on a peer node.",
	stix.TLPAmber:       "Your organisation and the recipients you name, wherever they are; without recipients, your organisation only.",
	stix.TLPAmberStrict: "As TLP:AMBER, but a recipient's node serves it to that organisation only, never on to another node.",
	stix.TLPRed:         "Your organisation and the named recipients only: never re-served, exported or counted for anyone else.",
	stix.TLPNone:        "No TLP marking: treated as TLP:AMBER.",
}

func (s *Server) sharing(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := viewerOf(r)
	p := sharingPage{Org: sessionFrom(ctx).orgName, OpName: s.opts.Operator, Operator: s.operatorAdmin(r), Now: s.opts.Now().UTC()}
	if o, err := s.svc.Org(ctx, v, s.opts.Operator); err == nil {
		p.OpName = o.Name
	}
	var err error
	if p.Shares, p.Total, err = s.ownShares(ctx, v); err != nil {
		return err
	}
	if p.Operator {
		if p.Peers, err = s.peers(ctx, v, p.Now); err != nil {
			return err
		}
	}
	return s.render(w, r, "sharing", "Sharing", p)
}

// peers reads the peers and their sync state as `cointrail peer list`
// does, from the node state the syncer keeps.
func (s *Server) peers(ctx context.Context, v access.Viewer, now time.Time) ([]sharingPeer, error) {
	var st federation.StateStore = s.svc.Store()
	peers, err := federation.Peers(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if len(peers) == 0 {
		return nil, nil
	}
	orgs, err := s.svc.Orgs(ctx, v)
	if err != nil {
		return nil, err
	}
	out := make([]sharingPeer, 0, len(peers))
	for _, p := range peers {
		status, err := federation.PeerStatus(ctx, st, p.Name)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		sp := sharingPeer{
			Name: p.Name, URL: p.URL, Collections: p.Collections, Push: p.Push, PushCollection: p.PushCollection,
			Added: p.Added, Status: status, CaughtUpAt: status.CaughtUp,
			ErrorResolved: status.LastError != "" && status.LastSuccess.After(status.LastErrorAt),
		}
		switch {
		case p.URL == "":
			sp.Direction = "It pushes to this node: this node cannot reach it, so it does not pull."
			sp.Lag = "none: this node does not pull from it"
		case p.Push:
			sp.Direction = "This node pulls from it, and pushes its own objects to the peer's collection " + p.PushCollection + "."
		default:
			sp.Direction = "This node pulls from it."
		}
		if p.URL != "" {
			sp.Lag = lag(now, status.CaughtUp)
		}
		for _, o := range orgs {
			if o.Node == p.Name {
				sp.Orgs = append(sp.Orgs, o.Name)
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// lag says how long ago a pull last reached the end of a peer's feed.
func lag(now, caughtUp time.Time) string {
	if caughtUp.IsZero() {
		return "never caught up"
	}
	d := max(now.Sub(caughtUp), 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// ownShares counts the objects v's organisation owns, by marking: every
// marking, and unmarked objects when there are any.
func (s *Server) ownShares(ctx context.Context, v access.Viewer) ([]sharingCount, int, error) {
	shares, err := s.svc.Shares(ctx, v)
	if err != nil {
		return nil, 0, err
	}
	byTLP := map[stix.TLP]intel.Share{}
	total := 0
	for _, sh := range shares {
		byTLP[sh.TLP] = sh
		total += sh.Count
	}
	var out []sharingCount
	for _, t := range []stix.TLP{stix.TLPClear, stix.TLPGreen, stix.TLPAmber, stix.TLPAmberStrict, stix.TLPRed, stix.TLPNone} {
		sh := byTLP[t]
		if t == stix.TLPNone && sh.Count == 0 {
			continue
		}
		c := sharingCount{Key: strings.ReplaceAll(t.String(), "+", "-"), Who: sharingWho[t], Count: sh.Count, Recipients: sh.Recipients}
		if t != stix.TLPNone {
			c.Label = t.Label()
		}
		out = append(out, c)
	}
	return out, total, nil
}

// orgsPage is the organisations page: the organisations the viewer
// manages, each with its tokens and a form to issue one.
type orgsPage struct {
	// CanCreate says whether the viewer may create organisations (the
	// operator's admins).
	CanCreate bool
	Orgs      []orgsRow
	Roles     []orgsRole
	// Issued is the token just issued, with its secret: shown once.
	Issued *orgsIssued
	// Err is the problem with the form sent, shown next to it.
	Err *orgsFormError
	// Name is the name sent in the create form, kept when it is refused.
	Name string
}

type orgsRow struct {
	access.Org
	Tokens []orgsToken
	// Role and Days fill this organisation's token form again when it was
	// refused.
	Role, Days string
}

// orgsToken is a token as the page lists it: never its secret or hash.
type orgsToken struct {
	ID                        string
	Role                      access.Role
	Created, Expires, Revoked time.Time
	Expired                   bool
	// Current marks the token the viewer is signed in with.
	Current bool
}

type orgsRole struct {
	Value access.Role
	Label string
}

var orgsRoles = []orgsRole{
	{access.Reader, "reader: reads what the organisation may see"},
	{access.Contributor, "contributor: reads and submits intelligence"},
	{access.Admin, "admin: also manages tokens and reads the audit log"},
	{access.Sync, "sync: a peer node, pulling and pushing for the organisation"},
}

type orgsIssued struct {
	Org     string
	ID      string
	Role    access.Role
	Expires time.Time
	Secret  string
}

// orgsFormError is a refused form: Form is "org" for the create form or an
// organisation's id for its token form; Field is the input at fault.
type orgsFormError struct {
	Form, Field, Message string
}

// maxTokenDays bounds a token's lifetime, far beyond any use, so the
// duration cannot overflow.
const maxTokenDays = 36500

func (s *Server) orgs(w http.ResponseWriter, r *http.Request) error {
	p, err := s.orgsData(r)
	if err != nil {
		return err
	}
	return s.render(w, r, "orgs", "Organisations", p)
}

// orgsData loads the organisations and tokens the viewer manages; the
// intel service refuses viewers that manage none.
func (s *Server) orgsData(r *http.Request) (*orgsPage, error) {
	ctx := r.Context()
	v := viewerOf(r)
	if _, err := s.svc.Tokens(ctx, v, v.Org); err != nil {
		return nil, manageErr(v, err)
	}
	orgs, err := s.svc.Orgs(ctx, v)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(orgs, func(a, b access.Org) int {
		if a.Local != b.Local {
			if a.Local {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	now := s.opts.Now()
	p := &orgsPage{CanCreate: s.operatorAdmin(r), Roles: orgsRoles}
	for _, o := range orgs {
		toks, err := s.svc.Tokens(ctx, v, o.ID)
		if fault.CodeOf(err) == fault.Forbidden {
			continue // an organisation this admin does not manage
		} else if err != nil {
			return nil, err
		}
		row := orgsRow{Org: o, Role: string(access.Reader)}
		for _, t := range toks {
			row.Tokens = append(row.Tokens, orgsToken{
				ID: t.ID, Role: t.Role, Created: t.Created, Expires: t.Expires, Revoked: t.Revoked,
				Expired: !t.Expires.IsZero() && !now.Before(t.Expires), Current: t.ID == v.TokenID,
			})
		}
		p.Orgs = append(p.Orgs, row)
	}
	return p, nil
}

// manageErr makes the service's refusal to let a viewer manage
// organisations say what the viewer can do about it.
func manageErr(v access.Viewer, err error) error {
	if fault.CodeOf(err) != fault.Forbidden || v.Role == access.Admin {
		return err
	}
	return fault.Wrap(fault.Forbidden, err, "Organisations and tokens are managed by admins, and your token's role is %s: ask an admin of your organisation or the node's operator.", v.Role)
}

// orgsRefused shows the organisations page again, with status and the
// problem next to the form that caused it; nothing was changed.
func (s *Server) orgsRefused(w http.ResponseWriter, r *http.Request, status int, fe orgsFormError) error {
	p, err := s.orgsData(r)
	if err != nil {
		return err
	}
	p.Err = &fe
	if fe.Form == "org" {
		p.Name = r.PostFormValue("name")
	} else {
		for i := range p.Orgs {
			if p.Orgs[i].ID == fe.Form {
				p.Orgs[i].Role = r.PostFormValue("role")
				p.Orgs[i].Days = r.PostFormValue("days")
			}
		}
	}
	s.renderStatus(w, r, sessionFrom(r.Context()), status, "orgs", "Organisations", p)
	return nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: "org", Field: "name", Message: "Enter a name for the organisation."})
	}
	_, err := s.svc.CreateOrg(r.Context(), v, name, "")
	switch fault.CodeOf(err) {
	case "":
		http.Redirect(w, r, "/orgs", http.StatusSeeOther)
		return nil
	case fault.Invalid, fault.Malformed:
		return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: "org", Field: "name", Message: fault.MessageOf(err)})
	case fault.Conflict:
		return s.orgsRefused(w, r, http.StatusConflict, orgsFormError{Form: "org", Field: "name", Message: fmt.Sprintf("An organisation named %q exists already.", name)})
	}
	return manageErr(v, err)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := viewerOf(r)
	orgID := r.PathValue("org")
	role, err := access.ParseRole(r.PostFormValue("role"))
	if err != nil {
		return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: orgID, Field: "role", Message: "Choose a role: reader, contributor, admin or sync."})
	}
	days := 0
	if d := strings.TrimSpace(r.PostFormValue("days")); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: orgID, Field: "days", Message: "Enter the lifetime as a whole number of days, or leave it empty for a token that does not expire."})
		case n < 0:
			return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: orgID, Field: "days", Message: "A token's lifetime cannot be negative: enter a number of days, or leave it empty for a token that does not expire."})
		case n > maxTokenDays:
			return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: orgID, Field: "days", Message: fmt.Sprintf("A token lives at most %d days; leave it empty for a token that does not expire.", maxTokenDays)})
		}
		days = n
	}
	tok, secret, err := s.svc.CreateToken(ctx, v, orgID, role, time.Duration(days)*24*time.Hour)
	switch fault.CodeOf(err) {
	case "":
	case fault.Invalid, fault.Malformed:
		return s.orgsRefused(w, r, http.StatusBadRequest, orgsFormError{Form: orgID, Field: "role", Message: fault.MessageOf(err)})
	case fault.NotFound:
		return fault.Wrap(fault.NotFound, err, "There is no organisation %s on this node.", orgID)
	default:
		return manageErr(v, err)
	}
	p, err := s.orgsData(r)
	if err != nil {
		return err
	}
	p.Issued = &orgsIssued{Org: orgID, ID: tok.ID, Role: tok.Role, Expires: tok.Expires, Secret: secret}
	if o, err := s.svc.Org(ctx, v, orgID); err == nil {
		p.Issued.Org = o.Name
	}
	return s.render(w, r, "orgs", "Organisations", p)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	if _, err := s.svc.RevokeToken(r.Context(), v, r.PathValue("id")); err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			return fault.Wrap(fault.NotFound, err, "There is no token %s on this node.", r.PathValue("id"))
		}
		return manageErr(v, err)
	}
	http.Redirect(w, r, "/orgs", http.StatusSeeOther)
	return nil
}

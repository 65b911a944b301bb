package federation

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
)

// Peer is a node this node trusts, as `peer add` configured it.
type Peer struct {
	Name string `json:"name"`
	// URL is the peer's base URL (or its TAXII discovery URL); "" for a
	// peer this node cannot reach, which only pushes to it.
	URL string `json:"url,omitempty"`
	// Token is the token the peer issued to this node.
	Token string `json:"token"`
	// CA is a PEM certificate the peer's TLS certificate must chain to.
	CA string `json:"ca,omitempty"`
	// Collections are the ids of the peer's collections to pull; empty:
	// every collection this node may read.
	Collections []string `json:"collections,omitempty"`
	// Push sends this node's objects to the peer's Push collection (for a
	// node the peer cannot reach).
	Push           bool   `json:"push,omitempty"`
	PushCollection string `json:"push_collection,omitempty"`
	// Added is when the peer was added.
	Added time.Time `json:"added"`
}

// Status is what a node knows of its sync with a peer.
type Status struct {
	Peer        string    `json:"peer"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// CaughtUp is when a pull last reached the end of the peer's feed.
	CaughtUp time.Time `json:"caught_up,omitzero"`
	Pulled   int64     `json:"pulled"`
	Pushed   int64     `json:"pushed"`
	Rejected int64     `json:"rejected"`
	// LastRejection says why the last rejected object was rejected.
	LastRejection string `json:"last_rejection,omitempty"`
}

// State keys.
const (
	peerPrefix   = "peer/"
	statusPrefix = "peerstatus/"
	cursorPrefix = "cursor/"
)

func pullCursorKey(peer, collection string) string {
	return cursorPrefix + "pull/" + peer + "/" + collection
}

func pushCursorKey(peer string) string { return cursorPrefix + "push/" + peer }

var peerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// StateStore reads node state.
type StateStore interface {
	State(ctx context.Context, key string) (string, bool, error)
	States(ctx context.Context, prefix string) (map[string]string, error)
}

// AddOptions configure [AddPeer].
type AddOptions struct {
	Collections    []string
	Push           bool
	PushCollection string
	Timeout        time.Duration
	Now            time.Time
	// Document is the peer's node document, for a peer added without a
	// URL: one that cannot be reached and pushes to this node instead.
	Document []byte
}

// AddPeer fetches the node document of the peer at url (or takes
// opts.Document, for a peer this node cannot reach, which pushes to it),
// verifies it with the key the peer's operator gave (key), and in one
// transaction binds the peer's keys and organisations and stores the peer.
// It returns what it bound.
func AddPeer(ctx context.Context, svc *intel.Service, operator access.Viewer, name, url, token string, key ed25519.PublicKey, caPEM []byte, opts AddOptions) (*Binding, error) {
	if !peerNameRE.MatchString(name) {
		return nil, fault.New(fault.Invalid, "peer name %q must be 1 to 63 lower-case letters, digits, dots, hyphens or underscores", name)
	}
	if _, ok, err := svc.Store().State(ctx, peerPrefix+name); err != nil {
		return nil, err
	} else if ok {
		return nil, fault.New(fault.Conflict, "peer %s exists; remove it first", name)
	}
	if opts.Push && opts.PushCollection == "" {
		return nil, fault.New(fault.Invalid, "pushing needs the id of the peer's collection to push to")
	}
	doc := opts.Document
	switch {
	case url == "" && doc == nil:
		return nil, fault.New(fault.Invalid, "a peer needs a URL to pull from, or its node document")
	case url == "" && opts.Push:
		return nil, fault.New(fault.Invalid, "pushing to a peer needs its URL")
	case url != "" && doc == nil:
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		c, err := NewClient(url, token, caPEM, timeout)
		if err != nil {
			return nil, fault.New(fault.Invalid, "%v", err)
		}
		if doc, err = c.Document(ctx); err != nil {
			return nil, fault.Wrap(fault.Unavailable, err, "fetch the node document of %s", url)
		}
	}
	b, err := VerifyDocument(doc, key, name)
	if err != nil {
		return nil, fault.New(fault.Forbidden, "peer %s: %v", name, err)
	}
	p := Peer{Name: name, URL: url, Token: token, CA: string(caPEM), Collections: opts.Collections,
		Push: opts.Push, PushCollection: opts.PushCollection, Added: opts.Now.UTC()}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := svc.BindNode(ctx, operator, name, b.Keys, b.Orgs, peerPrefix+name, string(data)); err != nil {
		return nil, err
	}
	return b, nil
}

// RemovePeer forgets a peer and its cursors. Its organisations and keys
// stay bound, so the objects already received stay verifiable.
func RemovePeer(ctx context.Context, svc *intel.Service, operator access.Viewer, name string) error {
	if _, ok, err := svc.Store().State(ctx, peerPrefix+name); err != nil {
		return err
	} else if !ok {
		return fault.New(fault.NotFound, "no peer %s", name)
	}
	cursors, err := svc.Store().States(ctx, cursorPrefix)
	if err != nil {
		return err
	}
	keys := []string{peerPrefix + name, statusPrefix + name}
	for k := range cursors {
		if strings.HasPrefix(k, cursorPrefix+"pull/"+name+"/") || k == pushCursorKey(name) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if err := svc.SetState(ctx, operator, k, ""); err != nil {
			return err
		}
	}
	return nil
}

// Peers returns the configured peers by name.
func Peers(ctx context.Context, st StateStore) ([]Peer, error) {
	m, err := st.States(ctx, peerPrefix)
	if err != nil {
		return nil, err
	}
	var out []Peer
	for k, v := range m {
		var p Peer
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("peer state %s: %w", k, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PeerStatus returns what the node knows of its sync with peer.
func PeerStatus(ctx context.Context, st StateStore, peer string) (Status, error) {
	v, ok, err := st.State(ctx, statusPrefix+peer)
	if err != nil || !ok {
		return Status{Peer: peer}, err
	}
	var s Status
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return Status{Peer: peer}, fmt.Errorf("peer status %s: %w", peer, err)
	}
	return s, nil
}

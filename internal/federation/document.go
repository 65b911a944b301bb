// Package federation connects nodes: it publishes a node's organisations
// and keys in a signed document, binds a peer's, and keeps the objects of
// the peers a node trusts in step with its own, pulling over TAXII 2.1
// (and pushing, for nodes that cannot be reached from outside).
//
// Every object a node's organisations own carries that node's Ed25519
// signature (DESIGN section 8). A receiving node checks it against the key
// bound to the owner's node, keeps it, and serves it on, so provenance
// survives re-sharing; markings are enforced again on every node.
package federation

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
)

// DocumentType is the type of a node document.
const DocumentType = "cointrail-node"

// Document is what a node publishes about itself: its keys (each new one
// announced under the one before) and its organisations, signed with its
// current key.
type Document struct {
	Type   string           `json:"type"`
	Issued string           `json:"issued"`
	Keys   []node.PublicKey `json:"keys"`
	// Organisations are the identity objects of the node's organisations.
	Organisations []json.RawMessage `json:"organisations"`
	Signature     *stix.Signature   `json:"signature,omitempty"`
}

func (d *Document) signedBytes() ([]byte, error) {
	c := *d
	c.Signature = nil
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return stix.Canonicalize(data)
}

// BuildDocument makes this node's document: its keys, the identity objects
// of its own organisations as the operator sees them, signed by signer.
func BuildDocument(ctx context.Context, svc *intel.Service, operator access.Viewer, keys []node.PublicKey, signer intel.Signer, now time.Time) ([]byte, error) {
	orgs, err := svc.Orgs(ctx, operator)
	if err != nil {
		return nil, err
	}
	d := Document{Type: DocumentType, Issued: stix.FormatTime(now), Keys: keys}
	for _, o := range orgs {
		if !o.Local {
			continue
		}
		rec, err := svc.Get(ctx, operator, o.ID)
		if err != nil {
			return nil, fmt.Errorf("identity of %s: %w", o.Name, err)
		}
		d.Organisations = append(d.Organisations, rec.Data)
	}
	msg, err := d.signedBytes()
	if err != nil {
		return nil, err
	}
	d.Signature = &stix.Signature{Alg: "ed25519", Key: signer.KeyID(), Sig: base64.StdEncoding.EncodeToString(signer.Sign(msg))}
	return json.Marshal(d)
}

// Binding is what a verified document binds: the node's keys and its
// organisations.
type Binding struct {
	Keys []access.NodeKey
	Orgs []access.Org
}

// VerifyDocument checks a peer's document against the key the peer's
// operator gave out of band (trusted), or the keys already bound to the
// peer: the document must list one of them, every other key it binds must
// be announced by a bound key, and the document must be signed by a bound
// key. It returns the keys and the organisations to bind, each
// organisation named "<peer>/<name>".
func VerifyDocument(data []byte, trusted ed25519.PublicKey, peer string) (*Binding, error) {
	return verifyDocument(data, []ed25519.PublicKey{trusted}, peer)
}

func verifyDocument(data []byte, trustedKeys []ed25519.PublicKey, peer string) (*Binding, error) {
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("node document: %w", err)
	}
	if d.Type != DocumentType || d.Signature == nil {
		return nil, fmt.Errorf("not a signed node document")
	}
	bound := map[string]node.PublicKey{}
	for _, trusted := range trustedKeys {
		for _, k := range d.Keys {
			if k.ID == node.KeyID(trusted) && ed25519.PublicKey(k.Public).Equal(trusted) {
				bound[k.ID] = k
			}
		}
	}
	if len(bound) == 0 {
		ids := make([]string, len(trustedKeys))
		for i, k := range trustedKeys {
			ids[i] = node.KeyID(k)
		}
		return nil, fmt.Errorf("the peer's document does not list the key you gave (%s); check --key", strings.Join(ids, ", "))
	}
	// Follow announcements until no more keys join.
	for grew := true; grew; {
		grew = false
		for _, k := range d.Keys {
			if _, ok := bound[k.ID]; ok || k.AnnouncedBy == "" {
				continue
			}
			if old, ok := bound[k.AnnouncedBy]; ok && node.VerifyAnnouncement(old.Public, k) {
				bound[k.ID] = k
				grew = true
			}
		}
	}
	signer, ok := bound[d.Signature.Key]
	if !ok {
		return nil, fmt.Errorf("the document is signed with key %s, which the key you gave does not vouch for", d.Signature.Key)
	}
	sig, err := base64.StdEncoding.DecodeString(d.Signature.Sig)
	if err != nil {
		return nil, fmt.Errorf("document signature: %w", err)
	}
	msg, err := d.signedBytes()
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(signer.Public, msg, sig) {
		return nil, fmt.Errorf("the document's signature does not verify")
	}
	b := &Binding{}
	for _, k := range d.Keys {
		if _, ok := bound[k.ID]; ok {
			b.Keys = append(b.Keys, access.NodeKey{Node: peer, ID: k.ID, Public: k.Public})
		}
	}
	for i, raw := range d.Organisations {
		o, err := stix.Parse(raw)
		if err != nil || o.Type != "identity" || !stix.IsID(o.ID) {
			return nil, fmt.Errorf("organisation %d of the document is not an identity object", i)
		}
		name := o.String("name")
		if name == "" {
			name = o.ID
		}
		b.Orgs = append(b.Orgs, access.Org{ID: o.ID, Name: peer + "/" + name, Node: peer})
	}
	return b, nil
}

package intel

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/cointrail/cointrail/internal/stix"
)

// Signer signs the objects of this node's organisations with the node's
// key. Implementations are safe for concurrent use.
type Signer interface {
	// KeyID names the key, as signatures carry it.
	KeyID() string
	// Sign returns the Ed25519 signature of msg.
	Sign(msg []byte) []byte
}

// Ed25519Signer is a [Signer] over an Ed25519 private key.
type Ed25519Signer struct {
	Key ed25519.PrivateKey
	ID  string
}

// KeyID returns the key's id.
func (s Ed25519Signer) KeyID() string { return s.ID }

// Sign signs msg.
func (s Ed25519Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.Key, msg) }

// signedBytes returns what a node signs of o: the RFC 8785 canonical JSON
// of o without the provenance extension's "signature".
func signedBytes(o *stix.Object) ([]byte, error) {
	c := o.Clone()
	ext := c.Extension(stix.ProvenanceExtensionID)
	if ext != nil {
		delete(ext, "signature")
		exts := map[string]json.RawMessage{}
		if _, err := c.Decode("extensions", &exts); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(ext)
		if err != nil {
			return nil, err
		}
		exts[stix.ProvenanceExtensionID] = raw
		if err := c.Set("extensions", exts); err != nil {
			return nil, err
		}
	}
	return c.Canonical()
}

// setProvenance records owner in o's provenance extension and, with a
// signer, signs o.
func setProvenance(o *stix.Object, owner string, signer Signer) error {
	if err := o.SetExtension(stix.ProvenanceExtensionID, "property-extension", map[string]any{"owner": owner}); err != nil {
		return err
	}
	if signer == nil {
		return nil
	}
	msg, err := signedBytes(o)
	if err != nil {
		return fmt.Errorf("sign %s: %w", o.ID, err)
	}
	sig := stix.Signature{Alg: "ed25519", Key: signer.KeyID(), Sig: base64.StdEncoding.EncodeToString(signer.Sign(msg))}
	return o.SetExtension(stix.ProvenanceExtensionID, "property-extension", map[string]any{"owner": owner, "signature": sig})
}

// verifySignature checks o's provenance signature with key.
func verifySignature(o *stix.Object, sig *stix.Signature, key ed25519.PublicKey) error {
	raw, err := base64.StdEncoding.DecodeString(sig.Sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("signature is not a base64 Ed25519 signature")
	}
	msg, err := signedBytes(o)
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, msg, raw) {
		return fmt.Errorf("signature does not verify with key %s: the object was changed or not signed by its owner's node", sig.Key)
	}
	return nil
}

package intel

import (
	"bytes"
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

// signedFromCanonical returns what o's owner's node signed, cut out of the
// canonical JSON of o (data): the same bytes without the provenance
// extension's signature. It reports false when the extension is not laid
// out as nodes write it (extra properties, say), for the caller to take the
// slow path ([signedBytes]).
func signedFromCanonical(data []byte, owner string, sig *stix.Signature) ([]byte, bool) {
	rawSig, err := json.Marshal(sig)
	if err != nil {
		return nil, false
	}
	canonSig, err := stix.Canonicalize(rawSig)
	if err != nil {
		return nil, false
	}
	canonOwner, err := stix.Canonicalize(mustJSON(owner))
	if err != nil {
		return nil, false
	}
	// In canonical JSON the extension's keys are sorted: extension_type,
	// owner, signature; the signature closes the object.
	prefix := []byte(`"` + stix.ProvenanceExtensionID + `":{"extension_type":"property-extension","owner":`)
	prefix = append(prefix, canonOwner...)
	cut := append([]byte(`,"signature":`), canonSig...)
	whole := append(append(append([]byte{}, prefix...), cut...), '}')
	i := bytes.Index(data, whole)
	if i < 0 || bytes.Index(data[i+1:], whole) >= 0 {
		return nil, false
	}
	start := i + len(prefix)
	out := make([]byte, 0, len(data)-len(cut))
	out = append(out, data[:start]...)
	return append(out, data[start+len(cut):]...), true
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// verifyMessage checks sig over msg with key.
func verifyMessage(msg []byte, sig *stix.Signature, key ed25519.PublicKey) error {
	raw, err := base64.StdEncoding.DecodeString(sig.Sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("signature is not a base64 Ed25519 signature")
	}
	if !ed25519.Verify(key, msg, raw) {
		return fmt.Errorf("signature does not verify with key %s: the object was changed or not signed by its owner's node", sig.Key)
	}
	return nil
}

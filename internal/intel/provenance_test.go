package intel

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/cointrail/cointrail/internal/stix"
)

// TestSignedFromCanonical: the fast cut gives the bytes the slow path
// signs, for objects as nodes write them, and declines otherwise.
func TestSignedFromCanonical(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer := Ed25519Signer{Key: priv, ID: "key-1"}
	const owner = "identity--00000000-0000-4000-8000-000000000001"
	for _, raw := range []string{
		`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-000000000001","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"x <&> \u00e9"}`,
		`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-000000000002","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"y","extensions":{"extension-definition--22c84236-3ce4-45d1-8ab1-988881db128b":{"extension_type":"property-extension","recipients":[]},"x-zzz":{"a":1}}}`,
	} {
		o, err := stix.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := setProvenance(o, owner, signer); err != nil {
			t.Fatal(err)
		}
		data, _ := o.Canonical()
		_, sig := o.Provenance()
		fast, ok := signedFromCanonical(data, owner, sig)
		slow, err := signedBytes(o)
		if !ok || err != nil || !bytes.Equal(fast, slow) {
			t.Errorf("%s:\nfast %s (%v)\nslow %s (%v)", o.ID, fast, ok, slow, err)
		}
		if err := verifyMessage(fast, sig, priv.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
		// An extra property in the extension: the fast path declines.
		ext := o.Extension(stix.ProvenanceExtensionID)
		props := map[string]any{"owner": owner, "signature": sig, "note": "extra"}
		o.SetExtension(stix.ProvenanceExtensionID, "property-extension", props)
		_ = ext
		data, _ = o.Canonical()
		if _, ok := signedFromCanonical(data, owner, sig); ok {
			t.Errorf("%s: fast path taken on an unusual layout", o.ID)
		}
	}
}

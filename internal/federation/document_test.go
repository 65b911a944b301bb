package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// document builds a real node document: a node with a rotated key.
func document(t testing.TB) (doc []byte, first ed25519.PublicKey, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := node.Create(dir); err != nil {
		t.Fatal(err)
	}
	keys, _ := node.Keys(dir)
	first = keys[0].Public
	if _, err := node.RotateKey(dir); err != nil {
		t.Fatal(err)
	}
	keys, _ = node.Keys(dir)
	priv, _ := node.LoadKey(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	signer := intel.Ed25519Signer{Key: priv, ID: keys[1].ID}
	svc, op, err := intel.Bootstrap(ctx, st, "alpha", intel.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	doc, err = BuildDocument(ctx, svc, access.Viewer{Org: op.ID, Role: access.Admin}, keys, signer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return doc, first, dir
}

func TestVerifyDocument(t *testing.T) {
	doc, first, _ := document(t)
	b, err := VerifyDocument(doc, first, "peer")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Keys) != 2 || len(b.Orgs) != 1 || b.Orgs[0].Name != "peer/alpha" || b.Orgs[0].Node != "peer" {
		t.Errorf("binding = %+v", b)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := VerifyDocument(doc, other, "peer"); err == nil || !strings.Contains(err.Error(), "does not list") {
		t.Errorf("a stranger's key: %v", err)
	}
	var d Document
	json.Unmarshal(doc, &d)
	d.Organisations = d.Organisations[:0]
	tampered, _ := json.Marshal(d)
	if _, err := VerifyDocument(tampered, first, "peer"); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("a tampered document: %v", err)
	}
	// A key announced by nobody the trusted key vouches for is not bound.
	json.Unmarshal(doc, &d)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d.Keys = append(d.Keys, node.PublicKey{ID: node.KeyID(pub), Public: pub, AnnouncedBy: "nobody", Announcement: ed25519.Sign(priv, []byte("x"))})
	d.Signature = nil
	msg, _ := d.signedBytes()
	d.Signature = &stix.Signature{Alg: "ed25519", Key: node.KeyID(pub), Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))}
	forged, _ := json.Marshal(d)
	if _, err := VerifyDocument(forged, first, "peer"); err == nil || !strings.Contains(err.Error(), "does not vouch") {
		t.Errorf("a document signed by an unannounced key: %v", err)
	}
}

// FuzzVerifyDocument feeds arbitrary documents to the check a node runs on
// a peer's document: never a panic, and nothing binds unless signed by the
// trusted key's chain.
func FuzzVerifyDocument(f *testing.F) {
	doc, first, _ := document(f)
	f.Add(doc)
	f.Add([]byte(`{"type":"cointrail-node","keys":[],"signature":{"alg":"ed25519","key":"x","sig":"AA=="}}`))
	f.Add([]byte(`{"type":"cointrail-node","organisations":[1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := VerifyDocument(data, first, "peer")
		if err != nil {
			return
		}
		for _, k := range b.Keys {
			if k.Node != "peer" {
				t.Fatalf("key bound to %q", k.Node)
			}
		}
		for _, o := range b.Orgs {
			if !stix.IsID(o.ID) || !strings.HasPrefix(o.Name, "peer/") {
				t.Fatalf("organisation %+v", o)
			}
		}
	})
}

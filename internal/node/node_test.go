package node

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := LoadConfig(dir); !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("LoadConfig of a missing folder = %v", err)
	}
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	key, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	cfg := Config{Operator: "identity--00000000-0000-4000-8000-000000000001", OperatorName: "operator", Created: time.Now().UTC().Truncate(time.Second)}
	if err := WriteConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil || got.Operator != cfg.Operator || got.Version != configVersion {
		t.Fatalf("LoadConfig = %+v, %v", got, err)
	}
	if err := Create(dir); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	again, _ := LoadKey(dir)
	if !key.Equal(again) {
		t.Error("key changed")
	}
	if id := KeyID(key.Public().(ed25519.PublicKey)); len(id) != 22 {
		t.Errorf("KeyID = %q", id)
	}
}

func TestRotateKey(t *testing.T) {
	dir := t.TempDir()
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	first, err := Keys(dir)
	if err != nil || len(first) != 1 {
		t.Fatalf("Keys = %v, %v", first, err)
	}
	k, err := RotateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := Keys(dir)
	if len(keys) != 2 || keys[1].ID != k.ID || keys[0].ID != first[0].ID {
		t.Fatalf("after rotation: %+v", keys)
	}
	if !VerifyAnnouncement(first[0].Public, k) {
		t.Error("the new key's announcement does not verify with the old key")
	}
	forged := k
	forged.Public = first[0].Public
	if VerifyAnnouncement(first[0].Public, forged) {
		t.Error("a forged announcement verified")
	}
	priv, _ := LoadKey(dir)
	if KeyID(priv.Public().(ed25519.PublicKey)) != k.ID {
		t.Error("node.key is not the new key")
	}
	pub, err := DecodePublic(EncodePublic(k.Public))
	if err != nil || !pub.Equal(ed25519.PublicKey(k.Public)) {
		t.Errorf("DecodePublic: %v", err)
	}
	if _, err := DecodePublic("short"); err == nil {
		t.Error("DecodePublic accepted a bad key")
	}
}

package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// KeysFile lists the node's public keys, past and present, with the
// announcement that ties each new key to the one before it.
const KeysFile = "node.keys.json"

// PublicKey is one of a node's public keys as the node announces it.
type PublicKey struct {
	// ID is the key's id ([KeyID]).
	ID string `json:"id"`
	// Public is the raw Ed25519 public key.
	Public []byte `json:"public"`
	// Created is when the key was made.
	Created time.Time `json:"created"`
	// AnnouncedBy is the id of the key that announced this one when it
	// replaced it; "" for the node's first key.
	AnnouncedBy string `json:"announced_by,omitempty"`
	// Announcement is AnnouncedBy's signature over [AnnouncementMessage].
	Announcement []byte `json:"announcement,omitempty"`
}

// AnnouncementMessage is what a node's old key signs to announce its new
// one.
func AnnouncementMessage(newKey PublicKey) []byte {
	return []byte("cointrail node key\n" + newKey.ID + "\n" + base64.StdEncoding.EncodeToString(newKey.Public) + "\n")
}

// VerifyAnnouncement reports whether newKey was announced by old.
func VerifyAnnouncement(old ed25519.PublicKey, newKey PublicKey) bool {
	return len(old) == ed25519.PublicKeySize && len(newKey.Announcement) == ed25519.SignatureSize &&
		KeyID(newKey.Public) == newKey.ID && ed25519.Verify(old, AnnouncementMessage(newKey), newKey.Announcement)
}

// Keys returns the node's public keys, oldest first; the last is the
// current one, whose private key is in node.key.
func Keys(dir string) ([]PublicKey, error) {
	priv, err := LoadKey(dir)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	var keys []PublicKey
	data, err := os.ReadFile(filepath.Join(dir, KeysFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read node keys: %w", err)
	default:
		if err := json.Unmarshal(data, &keys); err != nil {
			return nil, fmt.Errorf("node keys %s: %w", filepath.Join(dir, KeysFile), err)
		}
	}
	if len(keys) == 0 || keys[len(keys)-1].ID != KeyID(pub) {
		// A folder made before keys were listed, or a rotation interrupted
		// between its two writes: the current key is the one in node.key.
		st, _ := os.Stat(filepath.Join(dir, KeyFile))
		k := PublicKey{ID: KeyID(pub), Public: pub}
		if st != nil {
			k.Created = st.ModTime().UTC()
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// RotateKey makes a new signing key, announced under the current one, and
// returns it. Objects signed with the old key stay verifiable: the old
// public key stays listed.
func RotateKey(dir string) (PublicKey, error) {
	old, err := LoadKey(dir)
	if err != nil {
		return PublicKey{}, err
	}
	keys, err := Keys(dir)
	if err != nil {
		return PublicKey{}, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PublicKey{}, fmt.Errorf("generate node key: %w", err)
	}
	k := PublicKey{ID: KeyID(pub), Public: pub, Created: time.Now().UTC(), AnnouncedBy: KeyID(old.Public().(ed25519.PublicKey))}
	k.Announcement = ed25519.Sign(old, AnnouncementMessage(k))
	keys = append(keys, k)
	data, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return PublicKey{}, err
	}
	// The list first: a crash between the writes leaves the old key
	// current and the new one listed but unused, which the next rotation
	// repairs by announcing yet another.
	if err := writeFileAtomic(filepath.Join(dir, KeysFile), append(data, '\n'), 0o600); err != nil {
		return PublicKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return PublicKey{}, err
	}
	if err := writeFileAtomic(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// EncodePublic writes a public key as its users pass it on: base64 of the
// raw 32 bytes.
func EncodePublic(pub []byte) string { return base64.StdEncoding.EncodeToString(pub) }

// DecodePublic reads a public key written by [EncodePublic] (standard or
// URL base64, padded or not).
func DecodePublic(s string) (ed25519.PublicKey, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, fmt.Errorf("%q is not a base64 Ed25519 public key (32 bytes)", s)
}

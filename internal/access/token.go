package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
)

// Org is an organisation: a member of this node, or one of a peer node
// registered under its own id.
type Org struct {
	// ID is the organisation's STIX identity id, minted by its own node.
	ID string `json:"id"`
	// Name is unique on this node.
	Name string `json:"name"`
	// Local reports whether the organisation belongs to this node.
	Local bool `json:"local"`
	// Node names the peer node the organisation belongs to, whose keys sign
	// its objects; "" for this node's organisations, or a registered
	// organisation not bound to a peer yet.
	Node string `json:"node,omitempty"`
	// Created is when this node registered it.
	Created time.Time `json:"created"`
}

// Token is a stored access token. Only a hash of its secret is kept.
type Token struct {
	// ID is the token's short public id, for listing and revoking.
	ID string `json:"id"`
	// Org is the identity id of the organisation the token acts for.
	Org string `json:"org"`
	// Role is what the token allows.
	Role Role `json:"role"`
	// Hash is the SHA-256 of the secret.
	Hash []byte `json:"-"`
	// Created is when the token was made.
	Created time.Time `json:"created"`
	// Expires is when it stops working; zero for never.
	Expires time.Time `json:"expires,omitzero"`
	// Revoked is when it was revoked; zero if it was not.
	Revoked time.Time `json:"revoked,omitzero"`
}

// LogValue keeps the secret's hash out of logs.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID), slog.String("org", t.Org), slog.String("role", string(t.Role)))
}

// tokenPrefix marks cointrail tokens, so secret scanners can find leaked ones.
const tokenPrefix = "ct_"

// secretBytes is the size of a token's random secret: 256 bits.
const secretBytes = 32

// NewToken makes a token for org with role, expiring after ttl (0 for
// never). It returns the stored form and the plaintext to show once:
// "ct_<public id>_<secret>".
func NewToken(org string, role Role, ttl time.Duration, now time.Time) (Token, string, error) {
	idb := make([]byte, 6)
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(idb); err != nil {
		return Token{}, "", fmt.Errorf("token id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", fmt.Errorf("token secret: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString(secret)
	t := Token{
		ID:      hex.EncodeToString(idb),
		Org:     org,
		Role:    role,
		Hash:    hashSecret(enc),
		Created: now.UTC(),
	}
	if ttl > 0 {
		t.Expires = now.Add(ttl).UTC()
	}
	return t, tokenPrefix + t.ID + "_" + enc, nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SplitToken splits a plaintext token into its public id and secret.
func SplitToken(plaintext string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(plaintext, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 12 || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

// TokenStore finds stored tokens by public id.
type TokenStore interface {
	// Token returns the token with public id, or an error with code
	// fault.NotFound.
	Token(ctx context.Context, id string) (Token, error)
}

// Authenticate checks a plaintext token and returns the viewer it stands
// for. Every failure is a fault.Unauthorized error whose message says why
// (malformed, unknown, revoked, expired) without revealing the secret.
func Authenticate(ctx context.Context, store TokenStore, plaintext string, now time.Time) (Viewer, error) {
	id, secret, ok := SplitToken(plaintext)
	if !ok {
		return Viewer{}, fault.New(fault.Unauthorized, "malformed token")
	}
	t, err := store.Token(ctx, id)
	if err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			// Hash anyway so an unknown id costs the same as a bad secret.
			subtle.ConstantTimeCompare(hashSecret(secret), make([]byte, sha256.Size))
			return Viewer{}, fault.New(fault.Unauthorized, "unknown token")
		}
		return Viewer{}, fmt.Errorf("look up token: %w", err)
	}
	if subtle.ConstantTimeCompare(hashSecret(secret), t.Hash) != 1 {
		return Viewer{}, fault.New(fault.Unauthorized, "unknown token")
	}
	if !t.Revoked.IsZero() {
		return Viewer{}, fault.New(fault.Unauthorized, "token %s was revoked", t.ID)
	}
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return Viewer{}, fault.New(fault.Unauthorized, "token %s expired at %s", t.ID, t.Expires.Format(time.RFC3339))
	}
	return Viewer{Org: t.Org, Role: t.Role, TokenID: t.ID}, nil
}

// NodeKey is a node's Ed25519 public key, by which the objects of the
// node's organisations are signed.
type NodeKey struct {
	// Node names the node: a peer's name, or "" for this node.
	Node string `json:"node"`
	// ID is the key's id, as signatures name it.
	ID string `json:"id"`
	// Public is the raw 32-byte Ed25519 public key.
	Public []byte `json:"public"`
	// Added is when this node learned the key.
	Added time.Time `json:"added"`
}

package access

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

const (
	owner     = "identity--00000000-0000-4000-8000-00000000000a"
	recipient = "identity--00000000-0000-4000-8000-00000000000b"
	other     = "identity--00000000-0000-4000-8000-00000000000c"
)

// TestCanSee covers every marking x {owner, recipient, other organisation,
// anonymous} x role, for objects owned here and objects learned from a
// peer. Each row states the expected answer for every role; the sync role
// differs only for AMBER+STRICT and RED held for another node.
func TestCanSee(t *testing.T) {
	type who int
	const (
		isOwner who = iota
		isRecipient
		isOther
		isAnonymous
	)
	whoNames := []string{"owner", "recipient", "other", "anonymous"}
	orgOf := []string{owner, recipient, other, ""}

	// want[marking][who] for a human role on a local object; the sync
	// column overrides for remote objects below.
	want := map[stix.TLP][4]bool{
		stix.TLPClear:       {true, true, true, true},
		stix.TLPGreen:       {true, true, true, false},
		stix.TLPAmber:       {true, true, false, false},
		stix.TLPAmberStrict: {true, true, false, false},
		stix.TLPRed:         {true, true, false, false},
		stix.TLPNone:        {true, true, false, false}, // unmarked is AMBER
	}
	// A peer node (sync) pulling from a node that holds another node's
	// object: AMBER+STRICT and RED are never re-served.
	wantSyncRemote := map[stix.TLP][4]bool{
		stix.TLPClear:       {true, true, true, true},
		stix.TLPGreen:       {true, true, true, false},
		stix.TLPAmber:       {true, true, false, false},
		stix.TLPAmberStrict: {false, false, false, false},
		stix.TLPRed:         {false, false, false, false},
		stix.TLPNone:        {true, true, false, false},
	}
	cases := 0
	for level, row := range want {
		for _, local := range []bool{true, false} {
			for w := isOwner; w <= isAnonymous; w++ {
				roles := Roles
				if w == isAnonymous {
					roles = []Role{""}
				}
				for _, role := range roles {
					name := fmt.Sprintf("%s/local=%v/%s/%s", level, local, whoNames[w], role)
					t.Run(name, func(t *testing.T) {
						v := Viewer{Org: orgOf[w], Role: role}
						h := Holding{Owner: owner, TLP: level, Recipients: []string{recipient}, Local: local}
						expect := row[w]
						if role == Sync && !local {
							expect = wantSyncRemote[level][w]
						}
						if got := CanSee(v, h); got != expect {
							t.Errorf("CanSee = %v, want %v", got, expect)
						}
					})
					cases++
				}
			}
		}
	}
	if cases != 6*2*(3*4+1) {
		t.Errorf("ran %d cases", cases)
	}
}

func TestAmberWithoutRecipients(t *testing.T) {
	h := Holding{Owner: owner, TLP: stix.TLPAmber, Local: true}
	if !CanSee(Viewer{Org: owner, Role: Reader}, h) {
		t.Error("owner cannot see its own AMBER object")
	}
	if CanSee(Viewer{Org: recipient, Role: Admin}, h) {
		t.Error("an AMBER object without recipients is visible to another organisation")
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		role                Role
		read, write, manage bool
	}{
		{Reader, true, false, false},
		{Contributor, true, true, false},
		{Admin, true, true, true},
		{Sync, true, true, false},
		{"", true, false, false},
	}
	for _, tt := range tests {
		v := Viewer{Org: owner, Role: tt.role}
		if Allowed(v, Read) != tt.read || Allowed(v, Write) != tt.write || Allowed(v, Manage) != tt.manage {
			t.Errorf("role %q: read/write/manage = %v/%v/%v, want %v/%v/%v", tt.role,
				Allowed(v, Read), Allowed(v, Write), Allowed(v, Manage), tt.read, tt.write, tt.manage)
		}
	}
}

type tokenMap map[string]Token

func (m tokenMap) Token(_ context.Context, id string) (Token, error) {
	t, ok := m[id]
	if !ok {
		return Token{}, fault.New(fault.NotFound, "no token %s", id)
	}
	return t, nil
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	live, liveText, err := NewToken(owner, Contributor, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	short, shortText, _ := NewToken(owner, Reader, time.Hour, now)
	revoked, revokedText, _ := NewToken(owner, Admin, 0, now)
	revoked.Revoked = now
	store := tokenMap{live.ID: live, short.ID: short, revoked.ID: revoked}

	if len(liveText) < len("ct_")+12+1+43 {
		t.Errorf("token %q is too short for 256 random bits", liveText)
	}
	if strings.Contains(string(live.Hash), liveText) {
		t.Error("hash holds the plaintext")
	}
	id, secret, _ := SplitToken(liveText)
	tests := []struct {
		name  string
		token string
		at    time.Time
		want  string // error substring, "" for success
	}{
		{"valid", liveText, now, ""},
		{"before expiry", shortText, now.Add(59 * time.Minute), ""},
		{"expired", shortText, now.Add(time.Hour), "expired"},
		{"revoked", revokedText, now, "revoked"},
		{"wrong secret", "ct_" + id + "_" + strings.Repeat("A", len(secret)), now, "unknown token"},
		{"unknown id", "ct_000000000000_" + secret, now, "unknown token"},
		{"malformed", "Bearer nonsense", now, "malformed"},
		{"empty", "", now, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Authenticate(context.Background(), store, tt.token, tt.at)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if v.Org != owner || v.TokenID == "" {
					t.Errorf("viewer = %+v", v)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if fault.CodeOf(err) != fault.Unauthorized {
				t.Errorf("code = %s, want unauthorized", fault.CodeOf(err))
			}
		})
	}
}

// FuzzSplitToken checks token parsing: no panic, and a token split into
// its parts is made of exactly those parts.
func FuzzSplitToken(f *testing.F) {
	_, tok, _ := NewToken(owner, Reader, 0, time.Now())
	f.Add(tok)
	f.Add("ct_000000000000_")
	f.Add("ct__x")
	f.Add("Bearer ct_abc")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := SplitToken(s)
		if !ok {
			return
		}
		if tokenPrefix+id+"_"+secret != s || len(id) != 12 || secret == "" {
			t.Fatalf("SplitToken(%q) = %q, %q", s, id, secret)
		}
		_, err := Authenticate(context.Background(), tokenMap{}, s, time.Now())
		if fault.CodeOf(err) != fault.Unauthorized {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// testAudit: entries appended inside and outside write transactions come
// back oldest first, with increasing Seq, filtered by each AuditQuery field.
func testAudit(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, _ := MustOpen(t, f, Config{Now: clock.Now})
	at := epoch.Add(-time.Hour).Add(7 * time.Nanosecond)
	entries := []intel.AuditEntry{
		{Time: at, Org: orgA, Token: "a1b2c3d4e5f6", Action: "read", Object: "indicator--1", Version: version(1), TLP: "amber"},
		{Time: at, Org: orgB, Action: "read", Object: "indicator--2", TLP: "red", Detail: "list"},
		{Action: "read", Object: "indicator--1", Detail: "anonymous, time from the store's clock"},
	}
	if err := st.AppendAudit(ctx, entries[:2]); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx, nil); err != nil {
		t.Fatalf("AppendAudit(nil): %v", err)
	}
	clock.Add(time.Minute)
	if err := st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.Audit(ctx, intel.AuditEntry{Time: at, Org: orgA, Action: "submit", Object: "indicator--2", Version: version(2), TLP: "green"}); err != nil {
			return err
		}
		return tx.Audit(ctx, intel.AuditEntry{Org: orgA, Action: "org.create", Object: orgC, Detail: "Charlie, time from the clock"})
	}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if err := st.AppendAudit(ctx, entries[2:]); err != nil {
		t.Fatal(err)
	}

	want := []intel.AuditEntry{
		entries[0], entries[1],
		{Time: at, Org: orgA, Action: "submit", Object: "indicator--2", Version: version(2), TLP: "green"},
		{Time: epoch.Add(time.Minute), Org: orgA, Action: "org.create", Object: orgC, Detail: "Charlie, time from the clock"},
		{Time: epoch.Add(2 * time.Minute), Action: "read", Object: "indicator--1", Detail: "anonymous, time from the store's clock"},
	}
	got, err := st.Audit(ctx, intel.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Audit returned %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		if i > 0 && got[i].Seq <= got[i-1].Seq {
			t.Errorf("entry %d: Seq %d not after %d", i, got[i].Seq, got[i-1].Seq)
		}
		w := want[i]
		w.Seq = got[i].Seq
		if !got[i].Time.Equal(w.Time) {
			t.Errorf("entry %d: Time %s, want %s", i, got[i].Time, w.Time)
		}
		w.Time = got[i].Time
		if !sameAudit(got[i], w) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], w)
		}
	}
	seq := func(i int) int64 { return got[i].Seq }
	tests := []struct {
		name string
		q    intel.AuditQuery
		want []int // indexes into got
	}{
		{"after", intel.AuditQuery{After: seq(1)}, []int{2, 3, 4}},
		{"org", intel.AuditQuery{Org: orgA}, []int{0, 2, 3}},
		{"action", intel.AuditQuery{Action: "read"}, []int{0, 1, 4}},
		{"object", intel.AuditQuery{Object: "indicator--2"}, []int{1, 2}},
		{"limit", intel.AuditQuery{Limit: 2}, []int{0, 1}},
		{"combined", intel.AuditQuery{After: seq(0), Org: orgA, Limit: 1}, []int{2}},
		{"no match", intel.AuditQuery{Action: "token.revoke"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := st.Audit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var seqs, wantSeqs []int64
			for _, e := range res {
				seqs = append(seqs, e.Seq)
			}
			for _, i := range tc.want {
				wantSeqs = append(wantSeqs, got[i].Seq)
			}
			if !slices.Equal(seqs, wantSeqs) {
				t.Errorf("Audit(%+v) seqs %v, want %v", tc.q, seqs, wantSeqs)
			}
		})
	}
}

// testDirectory: organisations by id and name, listed by name; duplicates
// are fault.Conflict, missing ones fault.NotFound.
func testDirectory(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, _ := MustOpen(t, f, Config{Now: clock.Now})
	orgs := []access.Org{
		{ID: orgB, Name: "bravo", Local: false, Created: epoch.Add(-time.Hour).Add(3 * time.Nanosecond)},
		{ID: orgA, Name: "Alpha", Local: true, Created: epoch.Add(-2 * time.Hour)},
		{ID: orgC, Name: "Charlie", Local: true}, // Created from the clock
		{ID: orgD, Name: "delta", Node: "delta-node", Created: epoch.Add(time.Minute)},
	}
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for _, o := range orgs {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	orgs[2].Created = epoch
	same := sameOrg
	for _, o := range orgs {
		got, err := st.Org(ctx, o.ID)
		if err != nil || !same(got, o) {
			t.Errorf("Org(%s) = %+v, %v; want %+v", o.ID, got, err, o)
		}
		got, err = st.OrgByName(ctx, o.Name)
		if err != nil || !same(got, o) {
			t.Errorf("OrgByName(%s) = %+v, %v; want %+v", o.Name, got, err, o)
		}
	}
	list, err := st.Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	// Byte order: upper case before lower case.
	if want := []string{"Alpha", "Charlie", "bravo", "delta"}; !slices.Equal(names, want) {
		t.Errorf("Orgs ordered %v, want %v", names, want)
	}
	for _, o := range list {
		if i := slices.IndexFunc(orgs, func(w access.Org) bool { return w.ID == o.ID }); i < 0 || !same(o, orgs[i]) {
			t.Errorf("Orgs listed %+v", o)
		}
	}

	conflicts := []struct {
		name string
		org  access.Org
	}{
		{"same id", access.Org{ID: orgA, Name: "Another"}},
		{"same name", access.Org{ID: "identity--eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", Name: "Alpha"}},
	}
	for _, tc := range conflicts {
		t.Run("conflict "+tc.name, func(t *testing.T) {
			var createErr error
			err := st.Update(ctx, func(tx intel.Tx) error {
				createErr = tx.CreateOrg(ctx, tc.org)
				return createErr
			})
			if fault.CodeOf(createErr) != fault.Conflict || fault.CodeOf(err) != fault.Conflict {
				t.Errorf("CreateOrg(%+v) = %v, Update = %v; want conflicts", tc.org, createErr, err)
			}
		})
	}
	if _, err := st.Org(ctx, "identity--eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("Org of a missing id: %v, want not found", err)
	}
	if _, err := st.OrgByName(ctx, "alpha"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("OrgByName is exact: %v, want not found for another case", err)
	}
	if list, _ := st.Orgs(ctx); len(list) != 4 {
		t.Errorf("Orgs after conflicts: %d, want 4", len(list))
	}
}

// sameOrg reports whether a and b are equal, times compared as instants.
func sameOrg(a, b access.Org) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Local == b.Local && a.Node == b.Node && a.Created.Equal(b.Created)
}

// sameAudit reports whether a and b are equal, times compared as instants
// and nil and empty Objects as equal.
func sameAudit(a, b intel.AuditEntry) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Org == b.Org && a.Token == b.Token &&
		a.Action == b.Action && a.Object == b.Object && slices.Equal(a.Objects, b.Objects) &&
		a.Version == b.Version && a.TLP == b.TLP && a.Detail == b.Detail
}

// testAuditObjects: Objects round-trip (none comes back nil), and
// AuditQuery.Object matches an entry whose Object is the id, or whose
// Objects hold the id alone or as "id@version"; never another id that the
// id begins, nor one a LIKE wildcard in the id would match.
func testAuditObjects(t *testing.T, f Factory) {
	ctx := context.Background()
	st, reopen := MustOpen(t, f, Config{Now: NewClock(epoch).Now})
	const (
		ind1  = "indicator--13131313-0000-4000-8000-000000000001"
		ind12 = "indicator--13131313-0000-4000-8000-0000000000012" // begins with ind1
		under = "x-a_c--13131313-0000-4000-8000-000000000003"      // LIKE's _ in an id
		plain = "x-abc--13131313-0000-4000-8000-000000000003"      // what an unescaped _ matches
		pct   = "x-a%c--13131313-0000-4000-8000-000000000003"      // LIKE's % in an id
		odd   = `x-"odd"\id<&>--1`                                 // what JSON escapes
	)
	entries := []intel.AuditEntry{
		{Action: "read", Objects: []string{ind1 + "@" + version(1), ind12}},
		{Action: "read", Objects: []string{ind12 + "@" + version(2)}},
		{Action: "submit", Object: ind1, Version: version(3)},
		{Action: "read", Objects: []string{plain + "@" + version(1), "x-abc--other"}},
		{Action: "read", Objects: []string{under}},
		{Action: "read", Objects: []string{}},
		{Action: "read", Object: plain, Objects: []string{ind1}},
		{Action: "read", Objects: []string{odd, odd + "@" + version(1)}},
	}
	if err := st.AppendAudit(ctx, entries[:4]); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for _, e := range entries[4:] {
			if err := tx.Audit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, st intel.Store) {
		got, err := st.Audit(ctx, intel.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("Audit returned %d entries, want %d", len(got), len(entries))
		}
		for i, e := range got {
			w := entries[i]
			w.Seq, w.Time = e.Seq, epoch
			if !sameAudit(e, w) {
				t.Errorf("entry %d = %+v, want %+v", i, e, w)
			}
			if len(w.Objects) == 0 && e.Objects != nil {
				t.Errorf("entry %d: empty Objects read back as %#v, want nil", i, e.Objects)
			}
		}
		tests := []struct {
			object string
			want   []int
		}{
			{ind1, []int{0, 2, 6}},
			{ind12, []int{0, 1}},
			{under, []int{4}},
			{plain, []int{3, 6}},
			{pct, nil},
			{odd, []int{7}},
			{"indicator--13131313", nil},
			{version(1), nil},
		}
		for _, tc := range tests {
			res, err := st.Audit(ctx, intel.AuditQuery{Object: tc.object})
			if err != nil {
				t.Fatal(err)
			}
			var seqs, want []int64
			for _, e := range res {
				seqs = append(seqs, e.Seq)
			}
			for _, i := range tc.want {
				want = append(want, got[i].Seq)
			}
			if !slices.Equal(seqs, want) {
				t.Errorf("Audit(Object %q) seqs %v, want %v", tc.object, seqs, want)
			}
		}
		res, err := st.Audit(ctx, intel.AuditQuery{Object: ind1, After: got[0].Seq, Action: "read", Limit: 1})
		if err != nil || len(res) != 1 || res[0].Seq != got[6].Seq {
			t.Errorf("Audit(Object, After, Action, Limit) = %+v, %v; want entry 6", res, err)
		}
	}
	check(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("reopened", func(t *testing.T) { check(t, reopen()) })
}

// testOrgNode: an organisation's Node is stored by CreateOrg, set by
// SetOrgNode (seen by Tx.Org at once, by every read after the commit, and
// undone by a rollback), and SetOrgNode of an unknown organisation is
// fault.NotFound, leaving the transaction usable.
func testOrgNode(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{Now: NewClock(epoch).Now})
	orgs := []access.Org{
		{ID: orgA, Name: "Alpha", Local: true, Created: epoch},
		{ID: orgB, Name: "Bravo", Node: "bravo-node", Created: epoch},
		{ID: orgC, Name: "Charlie", Created: epoch},
	}
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for _, o := range orgs {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// check compares every read of the organisations with want.
	check := func(step string, want []access.Org) {
		t.Helper()
		for _, o := range want {
			if got, err := st.Org(ctx, o.ID); err != nil || !sameOrg(got, o) {
				t.Errorf("%s: Org(%s) = %+v, %v; want %+v", step, o.Name, got, err, o)
			}
			if got, err := st.OrgByName(ctx, o.Name); err != nil || !sameOrg(got, o) {
				t.Errorf("%s: OrgByName(%s) = %+v, %v; want %+v", step, o.Name, got, err, o)
			}
		}
		list, err := st.Orgs(ctx)
		if err != nil || !slices.EqualFunc(list, want, sameOrg) {
			t.Errorf("%s: Orgs = %+v, %v; want %+v", step, list, err, want)
		}
	}
	check("created", orgs)

	err := st.Update(ctx, func(tx intel.Tx) error {
		if _, err := tx.Org(ctx, orgC); err != nil { // read first: the transaction may keep it
			return err
		}
		if err := tx.SetOrgNode(ctx, orgC, "charlie-node"); err != nil {
			return err
		}
		if o, err := tx.Org(ctx, orgC); err != nil || o.Node != "charlie-node" {
			return fmt.Errorf("Tx.Org after SetOrgNode = %+v, %v; want node charlie-node", o, err)
		}
		if err := tx.SetOrgNode(ctx, orgD, "delta-node"); fault.CodeOf(err) != fault.NotFound {
			return fmt.Errorf("SetOrgNode of an unknown organisation: %v, want not found", err)
		}
		if _, err := tx.Org(ctx, orgD); fault.CodeOf(err) != fault.NotFound {
			return fmt.Errorf("Tx.Org of an unknown organisation after SetOrgNode: %v, want not found", err)
		}
		return tx.SetOrgNode(ctx, orgB, "") // unbind, after a NotFound
	})
	if err != nil {
		t.Fatal(err)
	}
	orgs[1].Node, orgs[2].Node = "", "charlie-node"
	check("set", orgs)

	boom := errors.New("boom")
	err = st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.SetOrgNode(ctx, orgC, "other-node"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	check("rolled back", orgs)
}

// testNodeKeys: NodeKeys lists a node's keys oldest Added first, then by
// id, byte-identical; a zero Added is set from the store's clock. The same
// (node, id) and key again is a no-op that keeps the first Added; another
// key under it is a fault.Conflict that leaves the transaction usable. An
// unknown node has no keys; a rollback keeps none.
func testNodeKeys(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, _ := MustOpen(t, f, Config{Now: clock.Now})
	key := func(b byte) []byte {
		k := make([]byte, 32)
		for i := range k {
			k[i] = b ^ byte(i*37) // every byte value, zero included
		}
		return k
	}
	later := epoch.Add(time.Hour).Add(7 * time.Nanosecond)
	keys := []access.NodeKey{
		{Node: "alpha", ID: "k2", Public: key(1), Added: later},
		{Node: "alpha", ID: "k1", Public: key(2), Added: later},
		{Node: "alpha", ID: "k0", Public: key(3), Added: later.Add(time.Nanosecond)},
		{Node: "alpha", ID: "k9", Public: key(4), Added: epoch.Add(-time.Hour)},
		{Node: "", ID: "k1", Public: key(5)}, // this node's; Added from the clock
		{Node: "bravo", ID: "k1", Public: key(6), Added: epoch},
	}
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for _, k := range keys {
			if err := tx.AddNodeKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	keys[4].Added = epoch
	same := func(a, b access.NodeKey) bool {
		return a.Node == b.Node && a.ID == b.ID && bytes.Equal(a.Public, b.Public) && a.Added.Equal(b.Added)
	}
	check := func(step, node string, want ...access.NodeKey) {
		t.Helper()
		got, err := st.NodeKeys(ctx, node)
		if err != nil || !slices.EqualFunc(got, want, same) {
			t.Errorf("%s: NodeKeys(%q) = %+v, %v; want %+v", step, node, got, err, want)
		}
	}
	check("added", "alpha", keys[3], keys[1], keys[0], keys[2])
	check("added", "", keys[4])
	check("added", "bravo", keys[5])
	check("added", "charlie")

	clock.Add(time.Hour)
	added := access.NodeKey{Node: "alpha", ID: "k5", Public: key(7), Added: epoch.Add(3 * time.Hour)}
	err := st.Update(ctx, func(tx intel.Tx) error {
		again := keys[1]
		again.Added = epoch.Add(2 * time.Hour)
		again.Public = bytes.Clone(again.Public)
		if err := tx.AddNodeKey(ctx, again); err != nil {
			return fmt.Errorf("the same key again: %v, want no error", err)
		}
		other := access.NodeKey{Node: "alpha", ID: "k1", Public: key(9), Added: epoch}
		if err := tx.AddNodeKey(ctx, other); fault.CodeOf(err) != fault.Conflict {
			return fmt.Errorf("another key under a taken id: %v, want a conflict", err)
		}
		if err := tx.AddNodeKey(ctx, access.NodeKey{Node: "alpha", ID: "", Public: key(1)}); fault.CodeOf(err) != fault.Invalid {
			return fmt.Errorf("a key without an id: %v, want invalid", err)
		}
		return tx.AddNodeKey(ctx, added)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after a conflict", "alpha", keys[3], keys[1], keys[0], keys[2], added)

	boom := errors.New("boom")
	err = st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.AddNodeKey(ctx, access.NodeKey{Node: "charlie", ID: "k1", Public: key(8)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	check("rolled back", "charlie")
}

// testTokens: tokens round-trip, list by organisation ordered by creation,
// revoke once (the first time stays), and report NotFound and Conflict.
func testTokens(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, _ := MustOpen(t, f, Config{Now: clock.Now})
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for _, o := range []access.Org{{ID: orgA, Name: "A", Local: true}, {ID: orgB, Name: "B", Local: true}} {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var tokens []access.Token
	for i, spec := range []struct {
		org  string
		role access.Role
		ttl  time.Duration
		at   time.Duration
	}{
		{orgA, access.Admin, 0, 3 * time.Second},
		{orgB, access.Reader, time.Hour, 1 * time.Second},
		{orgA, access.Contributor, 24 * time.Hour, 2 * time.Second},
		{orgA, access.Sync, 0, 5 * time.Second},
	} {
		tok, _, err := access.NewToken(spec.org, spec.role, spec.ttl, epoch.Add(spec.at+time.Duration(i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		tokens = append(tokens, tok)
	}
	same := func(a, b access.Token) bool {
		return a.ID == b.ID && a.Org == b.Org && a.Role == b.Role && slices.Equal(a.Hash, b.Hash) &&
			a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) && a.Revoked.Equal(b.Revoked)
	}
	for _, tok := range tokens {
		got, err := st.Token(ctx, tok.ID)
		if err != nil || !same(got, tok) {
			t.Errorf("Token(%s) = %+v, %v; want %+v", tok.ID, got, err, tok)
		}
	}
	list := func(org string) []string {
		t.Helper()
		ts, err := st.Tokens(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tok := range ts {
			ids = append(ids, tok.ID)
		}
		return ids
	}
	if got, want := list(orgA), []string{tokens[2].ID, tokens[0].ID, tokens[3].ID}; !slices.Equal(got, want) {
		t.Errorf("Tokens(A) = %v, want %v (by creation)", got, want)
	}
	if got, want := list(""), []string{tokens[1].ID, tokens[2].ID, tokens[0].ID, tokens[3].ID}; !slices.Equal(got, want) {
		t.Errorf("Tokens(all) = %v, want %v (by creation)", got, want)
	}
	if got := list(orgC); len(got) != 0 {
		t.Errorf("Tokens of an organisation without any = %v", got)
	}

	first := epoch.Add(time.Hour).Add(9 * time.Nanosecond)
	if err := st.RevokeToken(ctx, tokens[0].ID, first); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, tokens[0].ID, first.Add(time.Hour)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if got, err := st.Token(ctx, tokens[0].ID); err != nil || !got.Revoked.Equal(first) {
		t.Errorf("revoked twice: Revoked = %s, %v; want the first time %s", got.Revoked, err, first)
	}
	if got, _ := st.Token(ctx, tokens[1].ID); !got.Revoked.IsZero() {
		t.Errorf("another token was revoked: %s", got.Revoked)
	}

	errCases := []struct {
		name string
		err  error
		code fault.Code
	}{
		{"Token of a missing id", func() error { _, err := st.Token(ctx, "000000000000"); return err }(), fault.NotFound},
		{"RevokeToken of a missing id", st.RevokeToken(ctx, "000000000000", epoch), fault.NotFound},
		{"CreateToken with a taken id", st.CreateToken(ctx, access.Token{ID: tokens[1].ID, Org: orgA, Role: access.Reader, Hash: []byte{1}, Created: epoch}), fault.Conflict},
		{"CreateToken for an unknown organisation", st.CreateToken(ctx, access.Token{ID: "ffffffffffff", Org: orgD, Role: access.Reader, Hash: []byte{1}, Created: epoch}), fault.NotFound},
	}
	for _, tc := range errCases {
		if fault.CodeOf(tc.err) != tc.code {
			t.Errorf("%s: %v (code %q), want code %q", tc.name, tc.err, fault.CodeOf(tc.err), tc.code)
		}
	}
	if got, _ := st.Token(ctx, tokens[1].ID); got.Org != orgB {
		t.Errorf("a conflicting CreateToken changed the stored token: %+v", got)
	}

	// Authenticate works through the store.
	tok, secret, err := access.NewToken(orgB, access.Contributor, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	v, err := access.Authenticate(ctx, st, secret, time.Now())
	if err != nil || v.Org != orgB || v.Role != access.Contributor {
		t.Errorf("Authenticate = %+v, %v", v, err)
	}
	if _, err := access.Authenticate(ctx, st, "ct_000000000000_secret", time.Now()); fault.CodeOf(err) != fault.Unauthorized {
		t.Errorf("Authenticate of an unknown token: %v", err)
	}
}

// testReopen: everything survives closing and opening the database again,
// and DateAdded goes on increasing from the stored value.
func testReopen(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, reopen := MustOpen(t, f, Config{Now: clock.Now})
	var recs []*intel.Record
	for i := range 20 {
		r := newRecord(fmt.Sprintf("indicator--dddddddd-0000-4000-8000-%012d", i%7), version(i), orgA, stix.TLP(1+i%5), orgB)
		recs = append(recs, r)
	}
	recs = append(recs, newRecord("cryptocurrency-wallet--dddddddd-0000-5000-8000-000000000001", "", orgB, stix.TLPGreen))
	insert(t, st, recs[:10]...)
	insert(t, st, recs[10:]...)
	if err := st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.CreateOrg(ctx, access.Org{ID: orgA, Name: "Alpha", Local: true, Created: epoch}); err != nil {
			return err
		}
		if err := tx.CreateOrg(ctx, access.Org{ID: orgB, Name: "Bravo", Node: "bravo", Created: epoch}); err != nil {
			return err
		}
		if err := tx.AddNodeKey(ctx, access.NodeKey{Node: "bravo", ID: "k1", Public: []byte{0, 1, 2, 255}, Added: epoch}); err != nil {
			return err
		}
		if err := tx.SetState(ctx, "peer/bravo", "on"); err != nil {
			return err
		}
		return tx.Audit(ctx, intel.AuditEntry{Org: orgA, Action: "org.create", Object: orgA, Objects: []string{orgA, orgB + "@1"}})
	}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := access.NewToken(orgA, access.Admin, time.Hour, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, tok.ID, epoch.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := mustQuery(t, st, intel.Query{})
	audit, err := st.Audit(ctx, intel.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	last, err := st.LastAdded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st2 := reopen()
	if d := diffRecords(mustQuery(t, st2, intel.Query{}), before); d != "" {
		t.Errorf("records after reopening:%s", d)
	}
	if got, err := st2.LastAdded(ctx); err != nil || got != last {
		t.Errorf("LastAdded after reopening = %d, %v; want %d", got, err, last)
	}
	if got, err := st2.Audit(ctx, intel.AuditQuery{}); err != nil || len(got) != len(audit) || got[0].Seq != audit[0].Seq {
		t.Errorf("audit after reopening = %+v, %v; want %+v", got, err, audit)
	}
	if o, err := st2.Org(ctx, orgA); err != nil || o.Name != "Alpha" {
		t.Errorf("Org after reopening = %+v, %v", o, err)
	}
	if o, err := st2.Org(ctx, orgB); err != nil || o.Node != "bravo" {
		t.Errorf("Org with a node after reopening = %+v, %v", o, err)
	}
	if keys, err := st2.NodeKeys(ctx, "bravo"); err != nil || len(keys) != 1 || !bytes.Equal(keys[0].Public, []byte{0, 1, 2, 255}) {
		t.Errorf("NodeKeys after reopening = %+v, %v", keys, err)
	}
	if v, ok, err := st2.State(ctx, "peer/bravo"); err != nil || !ok || v != "on" {
		t.Errorf("State after reopening = %q, %v, %v", v, ok, err)
	}
	if got, err := st2.Audit(ctx, intel.AuditQuery{Object: orgB}); err != nil || len(got) != 1 || !slices.Equal(got[0].Objects, []string{orgA, orgB + "@1"}) {
		t.Errorf("audit by an object of Objects after reopening = %+v, %v", got, err)
	}
	if got, err := st2.Token(ctx, tok.ID); err != nil || !got.Revoked.Equal(epoch.Add(time.Minute)) {
		t.Errorf("Token after reopening = %+v, %v", got, err)
	}
	// The clock stands still: DateAdded continues from the stored value.
	r := newRecord("indicator--dddddddd-0000-4000-8000-000000000099", version(1), orgA, stix.TLPGreen)
	insert(t, st2, r)
	if r.DateAdded != last+1 {
		t.Errorf("DateAdded after reopening = %d, want %d", r.DateAdded, last+1)
	}
	// Audit sequence numbers go on too.
	if err := st2.AppendAudit(ctx, []intel.AuditEntry{{Action: "read"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := st2.Audit(ctx, intel.AuditQuery{After: audit[len(audit)-1].Seq}); err != nil || len(got) != 1 {
		t.Errorf("new audit entry after reopening: %+v, %v", got, err)
	}
}

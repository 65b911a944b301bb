package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// testInsertVersioned: the greatest Version of an id is Latest, whatever the
// order in which versions arrive; Versions lists them oldest DateAdded first.
func testInsertVersioned(t *testing.T, f Factory) {
	st, _ := MustOpen(t, f, Config{})
	const id = "indicator--11111111-1111-4111-8111-111111111111"
	steps := []struct {
		name       string
		version    string
		wantLatest bool
		// wantFlags are the Latest flags of Versions(id) afterwards.
		wantFlags []bool
	}{
		{"first", version(1), true, []bool{true}},
		{"newer", version(2), true, []bool{false, true}},
		{"older arrives late", version(0), false, []bool{false, true, false}},
	}
	for _, s := range steps {
		r := newRecord(id, s.version, orgA, stix.TLPGreen)
		insert(t, st, r)
		if r.Latest != s.wantLatest {
			t.Errorf("%s: Insert set Latest=%v, want %v", s.name, r.Latest, s.wantLatest)
		}
		if r.DateAdded == 0 {
			t.Errorf("%s: Insert left DateAdded zero", s.name)
		}
		got := mustVersions(t, st, id)
		if !slices.Equal(latestOf(got), s.wantFlags) {
			t.Errorf("%s: Latest flags %v, want %v", s.name, latestOf(got), s.wantFlags)
		}
	}
	got := mustVersions(t, st, id)
	var order []string
	for i, r := range got {
		order = append(order, r.Version)
		if i > 0 && r.DateAdded <= got[i-1].DateAdded {
			t.Errorf("Versions not in DateAdded order: %d after %d", r.DateAdded, got[i-1].DateAdded)
		}
	}
	if want := []string{version(1), version(2), version(0)}; !slices.Equal(order, want) {
		t.Errorf("Versions order %v, want %v (oldest DateAdded first)", order, want)
	}
	latest := mustQuery(t, st, intel.Query{IDs: []string{id}, Latest: true})
	if len(latest) != 1 || latest[0].Version != version(2) {
		t.Errorf("Query Latest returned %v, want only version %s", latest, version(2))
	}
	if got := mustVersions(t, st, "indicator--00000000-0000-4000-8000-000000000000"); len(got) != 0 {
		t.Errorf("Versions of an unknown id = %v, want none", got)
	}
}

// testInsertUnversioned: each owner has one holding of an observable; a
// resubmission by the same owner supersedes only that owner's holding.
func testInsertUnversioned(t *testing.T, f Factory) {
	st, _ := MustOpen(t, f, Config{})
	const id = "cryptocurrency-wallet--22222222-2222-5222-8222-222222222222"
	a1 := newRecord(id, "", orgA, stix.TLPAmber)
	b1 := newRecord(id, "", orgB, stix.TLPRed)
	insert(t, st, a1, b1)
	if !a1.Latest || !b1.Latest {
		t.Fatalf("two owners' holdings: Latest = %v, %v; want both true", a1.Latest, b1.Latest)
	}
	a2 := newRecord(id, "", orgA, stix.TLPGreen)
	insert(t, st, a2)
	got := mustVersions(t, st, id)
	if want := []bool{false, true, true}; !slices.Equal(latestOf(got), want) {
		t.Errorf("after A resubmits: Latest flags %v, want %v (A's old, B's, A's new)", latestOf(got), want)
	}
	// Resubmitting within one transaction supersedes too.
	a3 := newRecord(id, "", orgA, stix.TLPGreen)
	a4 := newRecord(id, "", orgA, stix.TLPClear)
	insert(t, st, a3, a4)
	got = mustVersions(t, st, id)
	if want := []bool{false, true, false, false, true}; !slices.Equal(latestOf(got), want) {
		t.Errorf("after two resubmissions in one Update: Latest flags %v, want %v", latestOf(got), want)
	}
	latest := mustQuery(t, st, intel.Query{IDs: []string{id}, Latest: true})
	var owners []string
	for _, r := range latest {
		owners = append(owners, r.Owner)
	}
	if want := []string{orgB, orgA}; !slices.Equal(owners, want) {
		t.Errorf("latest holdings owned by %v, want %v", owners, want)
	}
}

// testDuplicateVersion: a versioned (id, version) stored twice is a
// fault.Conflict, and an Update whose fn returns it keeps nothing.
func testDuplicateVersion(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "threat-actor--33333333-3333-4333-8333-333333333333"
	first := newRecord(id, version(5), orgA, stix.TLPGreen)
	insert(t, st, first)
	last, err := st.LastAdded(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		recs []*intel.Record
	}{
		{"against a stored version", []*intel.Record{
			newRecord("indicator--33333333-0000-4000-8000-000000000001", version(1), orgA, stix.TLPGreen),
			newRecord(id, version(5), orgB, stix.TLPRed),
		}},
		{"within one update", []*intel.Record{
			newRecord("indicator--33333333-0000-4000-8000-000000000002", version(7), orgA, stix.TLPGreen),
			newRecord("indicator--33333333-0000-4000-8000-000000000002", version(7), orgA, stix.TLPGreen),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var insertErr error
			err := st.Update(ctx, func(tx intel.Tx) error {
				for _, r := range tc.recs {
					if err := tx.Insert(ctx, r); err != nil {
						insertErr = err
						return err
					}
				}
				return nil
			})
			if fault.CodeOf(insertErr) != fault.Conflict {
				t.Fatalf("Insert of a duplicate version: %v (code %q), want code %q", insertErr, fault.CodeOf(insertErr), fault.Conflict)
			}
			if fault.CodeOf(err) != fault.Conflict {
				t.Errorf("Update returned %v (code %q), want fn's conflict", err, fault.CodeOf(err))
			}
			if got, _ := st.LastAdded(ctx); got != last {
				t.Errorf("LastAdded %d after a rolled back Update, want %d", got, last)
			}
			for _, r := range tc.recs {
				for _, v := range mustVersions(t, st, r.ID) {
					if v.DateAdded > last {
						t.Errorf("record %s of the rolled back Update is visible", describe(v))
					}
				}
			}
		})
	}
	got := mustVersions(t, st, id)
	if len(got) != 1 || !got[0].Latest || got[0].Owner != orgA {
		t.Errorf("stored versions after conflicts: %v, want the first one only, latest", got)
	}
}

// testConflictLeavesTxUsable: after a fault.Conflict from Insert or
// CreateOrg, fn may go on; what it does after is committed (partial TAXII
// submissions store the valid objects).
func testConflictLeavesTxUsable(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "incident--44444444-4444-4444-8444-444444444444"
	insert(t, st, newRecord(id, version(1), orgA, stix.TLPGreen))
	if err := st.Update(ctx, func(tx intel.Tx) error {
		return tx.CreateOrg(ctx, access.Org{ID: orgA, Name: "Alpha", Local: true, Created: epoch})
	}); err != nil {
		t.Fatal(err)
	}
	after := newRecord("incident--44444444-0000-4000-8000-000000000001", version(2), orgA, stix.TLPGreen)
	err := st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.Insert(ctx, newRecord(id, version(1), orgA, stix.TLPGreen)); fault.CodeOf(err) != fault.Conflict {
			return fmt.Errorf("duplicate insert: %v, want a conflict", err)
		}
		if err := tx.CreateOrg(ctx, access.Org{ID: orgA, Name: "Other"}); fault.CodeOf(err) != fault.Conflict {
			return fmt.Errorf("duplicate org: %v, want a conflict", err)
		}
		if err := tx.Insert(ctx, after); err != nil {
			return fmt.Errorf("insert after a conflict: %w", err)
		}
		return tx.Audit(ctx, intel.AuditEntry{Action: "submit", Object: after.ID})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := mustVersions(t, st, after.ID); len(got) != 1 || !sameRecord(got[0], *after) {
		t.Errorf("record inserted after a conflict: %v, want %s", got, describe(*after))
	}
	if got := mustVersions(t, st, id); len(got) != 1 {
		t.Errorf("versions of the conflicting id: %d, want 1", len(got))
	}
}

// testRollback: when fn returns an error, Update returns it and nothing fn
// did is kept: records, organisations, audit entries, the clock.
func testRollback(t *testing.T, f Factory) {
	ctx := context.Background()
	clock := NewClock(epoch)
	st, _ := MustOpen(t, f, Config{Now: clock.Now})
	boom := errors.New("boom")
	const id = "report--55555555-5555-4555-8555-555555555555"
	err := st.Update(ctx, func(tx intel.Tx) error {
		for i := range 3 {
			if err := tx.Insert(ctx, newRecord(id, version(i), orgA, stix.TLPGreen)); err != nil {
				return err
			}
		}
		if err := tx.CreateOrg(ctx, access.Org{ID: orgA, Name: "Alpha", Local: true}); err != nil {
			return err
		}
		if err := tx.Audit(ctx, intel.AuditEntry{Action: "submit", Object: id}); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if got := mustVersions(t, st, id); len(got) != 0 {
		t.Errorf("records of a rolled back Update are visible: %v", got)
	}
	if got := mustQuery(t, st, intel.Query{}); len(got) != 0 {
		t.Errorf("Query after rollback: %d records, want 0", len(got))
	}
	if last, err := st.LastAdded(ctx); err != nil || last != 0 {
		t.Errorf("LastAdded after rollback = %d, %v; want 0", last, err)
	}
	if _, err := st.Org(ctx, orgA); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("organisation of a rolled back Update: %v, want not found", err)
	}
	if got, err := st.Audit(ctx, intel.AuditQuery{}); err != nil || len(got) != 0 {
		t.Errorf("audit after rollback: %v, %v; want none", got, err)
	}
	// The DateAdded handed out in the rolled back Update are handed out
	// again: nothing was visible.
	r := newRecord(id, version(9), orgA, stix.TLPGreen)
	insert(t, st, r)
	if want := epoch.UnixMicro(); r.DateAdded != want {
		t.Errorf("DateAdded after a rollback = %d, want %d", r.DateAdded, want)
	}
}

// testRollbackOnPanic: a panic in fn propagates, rolls back, and leaves the
// store usable.
func testRollbackOnPanic(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "note--66666666-6666-4666-8666-666666666666"
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Update swallowed fn's panic")
			}
		}()
		_ = st.Update(ctx, func(tx intel.Tx) error {
			if err := tx.Insert(ctx, newRecord(id, version(1), orgA, stix.TLPGreen)); err != nil {
				return err
			}
			panic("fn panics")
		})
	}()
	if got := mustVersions(t, st, id); len(got) != 0 {
		t.Errorf("records of a panicking Update are visible: %v", got)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		insert(t, st, newRecord(id, version(2), orgA, stix.TLPGreen))
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Update after a panic did not finish: the write transaction leaked")
	}
	if got := mustVersions(t, st, id); len(got) != 1 {
		t.Errorf("versions after the panic: %d, want 1", len(got))
	}
}

// testTxSeesOwnWrites: Tx.Versions and Tx.Org see what the transaction did
// before it commits.
func testTxSeesOwnWrites(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "grouping--77777777-7777-4777-8777-777777777777"
	insert(t, st, newRecord(id, version(1), orgA, stix.TLPGreen))
	err := st.Update(ctx, func(tx intel.Tx) error {
		r := newRecord(id, version(2), orgA, stix.TLPGreen)
		if err := tx.Insert(ctx, r); err != nil {
			return err
		}
		got, err := tx.Versions(ctx, id)
		if err != nil {
			return err
		}
		if len(got) != 2 || got[1].DateAdded != r.DateAdded || !got[1].Latest || got[0].Latest {
			return fmt.Errorf("Tx.Versions = %v, want the stored version then the new one, latest", got)
		}
		if _, err := tx.Org(ctx, orgB); fault.CodeOf(err) != fault.NotFound {
			return fmt.Errorf("Tx.Org of a missing organisation: %v, want not found", err)
		}
		o := access.Org{ID: orgB, Name: "Bravo", Local: false, Created: epoch}
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		got2, err := tx.Org(ctx, orgB)
		if err != nil {
			return err
		}
		if got2.ID != o.ID || got2.Name != o.Name || !got2.Created.Equal(o.Created) {
			return fmt.Errorf("Tx.Org = %+v, want %+v", got2, o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testDateAdded: DateAdded is max(clock in µs, last + 1): strictly
// increasing over all records, within and across Updates, whatever the
// clock does.
func testDateAdded(t *testing.T, f Factory) {
	ctx := context.Background()
	tests := []struct {
		name string
		// tick moves the clock before each Update.
		tick func(c *Clock)
		// exact, if set, checks DateAdded against the clock.
		exact bool
	}{
		{"frozen clock", func(c *Clock) {}, true},
		{"clock goes backwards", func(c *Clock) { c.Add(-time.Second) }, true},
		{"clock moves on", func(c *Clock) { c.Add(time.Second) }, true},
		{"real clock", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(epoch)
			cfg := Config{Now: clock.Now}
			if tc.tick == nil {
				cfg.Now = nil
			}
			st, _ := MustOpen(t, f, cfg)
			begin := time.Now().UnixMicro()
			var prev int64
			for u := range 4 {
				if tc.tick != nil {
					tc.tick(clock)
				}
				now := clock.Now().UnixMicro()
				var recs []*intel.Record
				for i := range 5 {
					recs = append(recs, newRecord(fmt.Sprintf("indicator--88888888-0000-4000-8000-%012d", u*10+i), version(1), orgA, stix.TLPGreen))
				}
				recs = append(recs, newRecord("cryptocurrency-wallet--88888888-8888-5888-8888-888888888888", "", orgA, stix.TLPGreen))
				insert(t, st, recs...)
				for i, r := range recs {
					if r.DateAdded <= prev {
						t.Fatalf("update %d record %d: DateAdded %d not after %d", u, i, r.DateAdded, prev)
					}
					if tc.exact {
						if want := max(now, prev+1); r.DateAdded != want {
							t.Errorf("update %d record %d: DateAdded %d, want max(clock %d, last+1 %d)", u, i, r.DateAdded, now, prev+1)
						}
					} else if r.DateAdded < begin {
						t.Errorf("update %d record %d: DateAdded %d before the test began (%d)", u, i, r.DateAdded, begin)
					}
					prev = r.DateAdded
				}
			}
			if last, err := st.LastAdded(ctx); err != nil || last != prev {
				t.Errorf("LastAdded = %d, %v; want %d", last, err, prev)
			}
			all := mustQuery(t, st, intel.Query{})
			for i := 1; i < len(all); i++ {
				if all[i].DateAdded <= all[i-1].DateAdded {
					t.Errorf("Query order: %d after %d", all[i].DateAdded, all[i-1].DateAdded)
				}
			}
		})
	}
}

// fixture is a set of labelled records, stored in order, for Query tests.
type fixture struct {
	labels []string
	recs   map[string]*intel.Record
	byAdd  map[int64]string
}

func newFixture(t *testing.T, st intel.Store) *fixture {
	const (
		ind  = "indicator--99999999-0000-4000-8000-000000000001"
		ta   = "threat-actor--99999999-0000-4000-8000-000000000002"
		wal  = "cryptocurrency-wallet--99999999-0000-5000-8000-000000000003"
		inc1 = "incident--99999999-0000-4000-8000-000000000004"
		inc2 = "incident--99999999-0000-4000-8000-000000000005"
		rep  = "report--99999999-0000-4000-8000-000000000006"
		rel  = "relationship--99999999-0000-4000-8000-000000000007"
	)
	fx := &fixture{recs: map[string]*intel.Record{}, byAdd: map[int64]string{}}
	add := func(label string, r *intel.Record, text string) {
		r.Text = text
		fx.labels = append(fx.labels, label)
		fx.recs[label] = r
	}
	add("ind1", newRecord(ind, version(1), orgA, stix.TLPClear), "lazarus group wallet indicator")
	add("ind2", newRecord(ind, version(2), orgA, stix.TLPClear), "lazarus group apt38 indicator")
	fx.recs["ind2"].Revoked = true
	add("ta", newRecord(ta, version(1), orgB, stix.TLPGreen), "bluenoroff")
	add("walA", newRecord(wal, "", orgA, stix.TLPAmber, orgC), "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
	add("walB", newRecord(wal, "", orgB, stix.TLPRed), "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
	add("inc1", newRecord(inc1, version(1), orgC, stix.TLPAmberStrict), "ronin bridge 100%_hack")
	add("inc2", newRecord(inc2, version(1), orgA, stix.TLPNone), "harmony horizon 100xhack")
	add("rep", newRecord(rep, version(3), orgB, stix.TLPAmber, orgA, orgC), "report on tradertraitor")
	add("rel", newRecord(rel, version(1), orgD, stix.TLPRed, orgB), "attributed-to")
	add("walA2", newRecord(wal, "", orgA, stix.TLPAmber, orgC), "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
	// Store in three Updates.
	for _, part := range [][]string{fx.labels[:3], fx.labels[3:7], fx.labels[7:]} {
		var recs []*intel.Record
		for _, l := range part {
			recs = append(recs, fx.recs[l])
		}
		insert(t, st, recs...)
	}
	for _, l := range fx.labels {
		fx.byAdd[fx.recs[l].DateAdded] = l
	}
	// Superseded since they were inserted.
	fx.recs["ind1"].Latest = false
	fx.recs["walA"].Latest = false
	return fx
}

func (fx *fixture) names(t *testing.T, recs []intel.Record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		l, ok := fx.byAdd[r.DateAdded]
		if !ok {
			t.Fatalf("unknown record %s", describe(r))
		}
		if want := fx.recs[l]; !sameRecord(r, *want) {
			t.Errorf("%s read back as\n  %s\nwant\n  %s", l, describe(r), describe(*want))
		}
		out = append(out, l)
	}
	return out
}

// testQuery: each filter of intel.Query alone and combined; results
// ordered by DateAdded.
func testQuery(t *testing.T, f Factory) {
	st, _ := MustOpen(t, f, Config{Now: NewClock(epoch).Now})
	fx := newFixture(t, st)
	at := func(l string) int64 { return fx.recs[l].DateAdded }
	viewer := func(org string, role access.Role) *access.Viewer {
		return &access.Viewer{Org: org, Role: role}
	}
	all := fx.labels
	tests := []struct {
		name string
		q    intel.Query
		want []string
	}{
		{"zero query", intel.Query{}, all},
		{"one type", intel.Query{Types: []string{"incident"}}, []string{"inc1", "inc2"}},
		{"two types", intel.Query{Types: []string{"report", "indicator"}}, []string{"ind1", "ind2", "rep"}},
		{"unknown type", intel.Query{Types: []string{"malware"}}, nil},
		{"one id", intel.Query{IDs: []string{fx.recs["walA"].ID}}, []string{"walA", "walB", "walA2"}},
		{"two ids", intel.Query{IDs: []string{fx.recs["rel"].ID, fx.recs["ind1"].ID}}, []string{"ind1", "ind2", "rel"}},
		{"ids and types", intel.Query{IDs: []string{fx.recs["rel"].ID, fx.recs["ind1"].ID}, Types: []string{"relationship"}}, []string{"rel"}},
		{"after", intel.Query{After: at("walB")}, []string{"inc1", "inc2", "rep", "rel", "walA2"}},
		{"after the last", intel.Query{After: at("walA2")}, nil},
		{"before", intel.Query{Before: at("ta")}, []string{"ind1", "ind2"}},
		{"after and before", intel.Query{After: at("ta"), Before: at("inc2")}, []string{"walA", "walB", "inc1"}},
		{"text", intel.Query{Text: "lazarus"}, []string{"ind1", "ind2"}},
		{"text in the middle", intel.Query{Text: "apt38"}, []string{"ind2"}},
		{"text is not a pattern: %", intel.Query{Text: "100%"}, []string{"inc1"}},
		{"text is not a pattern: _", intel.Query{Text: "%_h"}, []string{"inc1"}},
		{"text is not a pattern: _ alone", intel.Query{Text: "0_"}, nil},
		{"text is case-sensitive (lower-case)", intel.Query{Text: "LAZARUS"}, nil},
		{"latest (revoked included)", intel.Query{Latest: true}, []string{"ind2", "ta", "walB", "inc1", "inc2", "rep", "rel", "walA2"}},
		{"exclude revoked", intel.Query{ExcludeRevoked: true}, []string{"ind1", "ta", "walA", "walB", "inc1", "inc2", "rep", "rel", "walA2"}},
		{"latest not revoked", intel.Query{Latest: true, ExcludeRevoked: true}, []string{"ta", "walB", "inc1", "inc2", "rep", "rel", "walA2"}},
		{"limit", intel.Query{Limit: 3}, []string{"ind1", "ind2", "ta"}},
		{"limit over the count", intel.Query{Limit: 100}, all},
		{"page after with limit", intel.Query{After: at("ta"), Limit: 2}, []string{"walA", "walB"}},
		{"anonymous", intel.Query{VisibleTo: &access.Viewer{}}, []string{"ind1", "ind2"}},
		{"org A", intel.Query{VisibleTo: viewer(orgA, access.Reader)}, []string{"ind1", "ind2", "ta", "walA", "inc2", "rep", "walA2"}},
		{"org B", intel.Query{VisibleTo: viewer(orgB, access.Admin)}, []string{"ind1", "ind2", "ta", "walB", "rep", "rel"}},
		{"org C", intel.Query{VisibleTo: viewer(orgC, access.Contributor)}, []string{"ind1", "ind2", "ta", "walA", "inc1", "rep", "walA2"}},
		{"org D", intel.Query{VisibleTo: viewer(orgD, access.Sync)}, []string{"ind1", "ind2", "ta", "rel"}},
		{"unknown org", intel.Query{VisibleTo: viewer("identity--eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", access.Reader)}, []string{"ind1", "ind2", "ta"}},
		{"org id with LIKE wildcards", intel.Query{VisibleTo: viewer("identity--cccccccc-cccc-4ccc-8ccc-ccccccccccc_", access.Reader)}, []string{"ind1", "ind2", "ta"}},
		{"org id as a prefix", intel.Query{VisibleTo: viewer("identity--cccccccc", access.Reader)}, []string{"ind1", "ind2", "ta"}},
		{"combined", intel.Query{Types: []string{"cryptocurrency-wallet", "report", "incident"}, Latest: true, VisibleTo: viewer(orgC, access.Reader), After: at("walA"), Limit: 2}, []string{"inc1", "rep"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fx.names(t, mustQuery(t, st, tc.q))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Query(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// testVisibleToSuperset: the VisibleTo pre-filter never drops a record that
// access.CanSee would show.
func testVisibleToSuperset(t *testing.T, f Factory) {
	st, _ := MustOpen(t, f, Config{})
	fx := newFixture(t, st)
	var viewers []access.Viewer
	viewers = append(viewers, access.Viewer{})
	for _, org := range []string{orgA, orgB, orgC, orgD, "identity--eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"} {
		for _, role := range access.Roles {
			viewers = append(viewers, access.Viewer{Org: org, Role: role})
		}
	}
	for _, v := range viewers {
		got := map[string]bool{}
		for _, l := range fx.names(t, mustQuery(t, st, intel.Query{VisibleTo: &v})) {
			got[l] = true
		}
		for _, l := range fx.labels {
			if access.CanSee(v, fx.recs[l].Holding()) && !got[l] {
				t.Errorf("viewer %+v: VisibleTo dropped %s, which CanSee shows", v, l)
			}
		}
	}
}

// testRoundTrip: every field comes back as stored; Data byte-identical,
// non-ASCII and large included.
func testRoundTrip(t *testing.T, f Factory) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	x := uint32(2463534242)
	for i := range big {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		big[i] = byte(x)
	}
	tests := []struct {
		name string
		rec  *intel.Record
	}{
		{"plain", newRecord("indicator--aaaaaaaa-0000-4000-8000-000000000001", version(1), orgA, stix.TLPGreen)},
		{"every field", &intel.Record{
			ID: "threat-actor--aaaaaaaa-0000-4000-8000-000000000002", Type: "threat-actor", Version: version(2),
			Owner: orgB, Local: false, TLP: stix.TLPAmberStrict, Recipients: []string{orgA, orgC, orgD},
			Revoked: true, SpecVersion: "2.1", Text: "lazarus group hidden cobra",
			Data: []byte(`{"aliases":["APT38","Hidden Cobra"],"id":"threat-actor--aaaaaaaa-0000-4000-8000-000000000002","revoked":true}`),
		}},
		{"non-ascii", &intel.Record{
			ID: "threat-actor--aaaaaaaa-0000-4000-8000-000000000003", Type: "threat-actor", Version: version(3),
			Owner: orgA, Local: true, TLP: stix.TLPRed, SpecVersion: "2.1", Text: "라자루스 그룹 лазарь ☠ 😈",
			Data: []byte(`{"name":"라자루스 그룹","description":"Лазарь \u2620 😈 \"quoted\" \\ back"}`),
		}},
		{"every byte value", &intel.Record{
			ID: "note--aaaaaaaa-0000-4000-8000-000000000004", Type: "note", Version: version(4),
			Owner: orgA, TLP: stix.TLPNone, SpecVersion: "2.1", Text: "", Data: all,
		}},
		{"one megabyte", &intel.Record{
			ID: "report--aaaaaaaa-0000-4000-8000-000000000005", Type: "report", Version: version(5),
			Owner: orgA, TLP: stix.TLPClear, SpecVersion: "2.1", Text: strings.Repeat("x", 1000), Data: big,
		}},
		{"empty data and recipients", &intel.Record{
			ID: "cryptocurrency-wallet--aaaaaaaa-0000-5000-8000-000000000006", Type: "cryptocurrency-wallet",
			Owner: orgA, TLP: stix.TLPGreen, Recipients: []string{}, SpecVersion: "2.1", Data: []byte{},
		}},
	}
	st, reopen := MustOpen(t, f, Config{})
	for _, tc := range tests {
		insert(t, st, tc.rec)
	}
	check := func(t *testing.T, st intel.Store) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				want := *tc.rec
				if len(want.Recipients) == 0 {
					want.Recipients = nil
				}
				got := mustVersions(t, st, tc.rec.ID)
				if d := diffRecords(got, []intel.Record{want}); d != "" {
					t.Errorf("Versions:%s", d)
				}
				got = mustQuery(t, st, intel.Query{IDs: []string{tc.rec.ID}})
				if d := diffRecords(got, []intel.Record{want}); d != "" {
					t.Errorf("Query:%s", d)
				}
				if len(got) == 1 && tc.rec.Recipients != nil && len(tc.rec.Recipients) == 0 && got[0].Recipients != nil {
					t.Errorf("empty Recipients read back as %#v, want nil", got[0].Recipients)
				}
			})
		}
	}
	check(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("reopened", func(t *testing.T) { check(t, reopen()) })
}

// testConcurrent: Updates from several goroutines are serialised: no write
// is lost, DateAdded values are distinct and each Update's records are
// contiguous in DateAdded order (commit order); a reader paging with After
// while they run never skips a record.
func testConcurrent(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const workers, updates, perUpdate = 6, 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*updates)
	stop := make(chan struct{})
	seen := map[int64]bool{}
	var pagerErr error
	var pagerDone sync.WaitGroup
	pagerDone.Add(1)
	// page reads every record after the cursor, 7 at a time.
	var cursor int64
	page := func() (int, error) {
		n := 0
		for {
			recs, err := st.Query(ctx, intel.Query{After: cursor, Limit: 7})
			if err != nil {
				return n, err
			}
			for _, r := range recs {
				if r.DateAdded <= cursor || seen[r.DateAdded] {
					return n, fmt.Errorf("page after %d returned %d", cursor, r.DateAdded)
				}
				seen[r.DateAdded] = true
				cursor = r.DateAdded
				n++
			}
			if len(recs) < 7 {
				return n, nil
			}
		}
	}
	go func() {
		defer pagerDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := page(); err != nil {
				pagerErr = err
				return
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range updates {
				err := st.Update(ctx, func(tx intel.Tx) error {
					for i := range perUpdate {
						id := fmt.Sprintf("indicator--cccccccc-%04d-4%03d-8000-%012d", w, u, i)
						r := newRecord(id, version(i), orgA, stix.TLPGreen)
						r.Text = fmt.Sprintf("w%d u%d", w, u)
						if err := tx.Insert(ctx, r); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pagerDone.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}
	if pagerErr != nil {
		t.Fatalf("pager: %v", pagerErr)
	}
	all := mustQuery(t, st, intel.Query{})
	if len(all) != workers*updates*perUpdate {
		t.Fatalf("stored %d records, want %d", len(all), workers*updates*perUpdate)
	}
	runs := map[string]int{}
	for i, r := range all {
		if i > 0 && r.DateAdded <= all[i-1].DateAdded {
			t.Errorf("DateAdded %d after %d", r.DateAdded, all[i-1].DateAdded)
		}
		if i == 0 || r.Text != all[i-1].Text {
			runs[r.Text]++
		}
	}
	for text, n := range runs {
		if n != 1 {
			t.Errorf("records of Update %q form %d runs in DateAdded order, want 1 (Updates interleaved)", text, n)
		}
	}
	// The pager, resumed from its cursor, must reach every record.
	if _, err := page(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(all) {
		t.Errorf("a reader paging by DateAdded saw %d of %d records: one was committed behind its cursor", len(seen), len(all))
	}
}

// testDelete: Tx.Delete removes one owner's records of an id (all of them,
// or those whose Version is listed: nil and empty lists mean all), returns
// how many, and sets Latest anew on what remains of the id (the greatest
// Version; each owner's last holding). Deleting nothing returns 0 and no
// error. The clock does not go back: a record inserted after the newest was
// deleted gets a greater DateAdded than it had, while LastAdded reports
// what is stored.
func testDelete(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{Now: NewClock(epoch).Now})
	const (
		ind   = "indicator--12121212-0000-4000-8000-000000000001"
		other = "indicator--12121212-0000-4000-8000-000000000002"
		wal   = "cryptocurrency-wallet--12121212-0000-5000-8000-000000000003"
	)
	a1 := newRecord(ind, version(1), orgA, stix.TLPGreen)
	a3 := newRecord(ind, version(3), orgA, stix.TLPGreen)
	b2 := newRecord(ind, version(2), orgB, stix.TLPAmber, orgA)
	a4 := newRecord(ind, version(4), orgA, stix.TLPGreen)
	o1 := newRecord(other, version(1), orgA, stix.TLPGreen)
	wa1 := newRecord(wal, "", orgA, stix.TLPGreen)
	wb1 := newRecord(wal, "", orgB, stix.TLPGreen)
	wa2 := newRecord(wal, "", orgA, stix.TLPGreen)
	insert(t, st, a1, a3, b2, o1, wa1, wb1, wa2, a4)
	newest := a4.DateAdded

	del := func(id, owner string, versions []string) int {
		t.Helper()
		var n int
		if err := st.Update(ctx, func(tx intel.Tx) error {
			var err error
			n, err = tx.Delete(ctx, id, owner, versions)
			return err
		}); err != nil {
			t.Fatalf("Delete(%s, %s, %q): %v", id, owner, versions, err)
		}
		return n
	}
	// left describes the records of id as "owner-version:latest".
	left := func(id string) []string {
		t.Helper()
		var out []string
		for _, r := range mustVersions(t, st, id) {
			out = append(out, fmt.Sprintf("%s-%s:%v", ownerLabel(r.Owner), r.Version, r.Latest))
		}
		return out
	}
	A, B := ownerLabel(orgA), ownerLabel(orgB)
	steps := []struct {
		name     string
		id       string
		owner    string
		versions []string
		want     int
		left     []string
	}{
		{"an owner without records", ind, orgC, nil, 0,
			[]string{A + "-" + version(1) + ":false", A + "-" + version(3) + ":false", B + "-" + version(2) + ":false", A + "-" + version(4) + ":true"}},
		{"versions the owner lacks", ind, orgA, []string{version(2), version(9)}, 0,
			[]string{A + "-" + version(1) + ":false", A + "-" + version(3) + ":false", B + "-" + version(2) + ":false", A + "-" + version(4) + ":true"}},
		{"an unknown id", "indicator--12121212-0000-4000-8000-00000000ffff", orgA, nil, 0, nil},
		{"the latest version", ind, orgA, []string{version(4)}, 1,
			[]string{A + "-" + version(1) + ":false", A + "-" + version(3) + ":true", B + "-" + version(2) + ":false"}},
		{"another owner's version becomes latest", ind, orgA, []string{version(3), version(7)}, 1,
			[]string{A + "-" + version(1) + ":false", B + "-" + version(2) + ":true"}},
		{"all of an owner (nil versions)", ind, orgA, nil, 1,
			[]string{B + "-" + version(2) + ":true"}},
		{"all of an owner (empty versions)", ind, orgB, []string{}, 1, nil},
		{"an owner's holdings", wal, orgA, nil, 2, []string{B + "-:true"}},
		{"holdings by the empty version", wal, orgB, []string{""}, 1, nil},
	}
	for _, s := range steps {
		if n := del(s.id, s.owner, s.versions); n != s.want {
			t.Errorf("%s: Delete returned %d, want %d", s.name, n, s.want)
		}
		if got := left(s.id); !slices.Equal(got, s.left) {
			t.Errorf("%s: left %v, want %v", s.name, got, s.left)
		}
	}
	if got := mustVersions(t, st, other); len(got) != 1 || !sameRecord(got[0], *o1) {
		t.Errorf("another id was touched: %v", got)
	}
	last, err := st.LastAdded(ctx)
	if err != nil || last != o1.DateAdded {
		t.Errorf("LastAdded after deleting the newest records = %d, %v; want %d (the greatest stored)", last, err, o1.DateAdded)
	}
	// An older version than the deleted ones is now the greatest.
	a0 := newRecord(ind, version(0), orgA, stix.TLPGreen)
	insert(t, st, a0)
	if !a0.Latest || a0.DateAdded <= newest {
		t.Errorf("insert after the deletes: Latest=%v DateAdded=%d; want latest, after the deleted %d", a0.Latest, a0.DateAdded, newest)
	}
	if got := mustQuery(t, st, intel.Query{IDs: []string{ind}, Latest: true}); len(got) != 1 || got[0].DateAdded != a0.DateAdded {
		t.Errorf("latest of %s after the deletes: %v, want the new record", ind, got)
	}
}

// ownerLabel names the tests' organisations by their letter.
func ownerLabel(org string) string {
	switch org {
	case orgA:
		return "A"
	case orgB:
		return "B"
	case orgC:
		return "C"
	case orgD:
		return "D"
	}
	return org
}

// testDeleteInTx: in one transaction, Tx.Versions and Tx.Insert see what
// Delete removed (a deleted version may be inserted again, and the greatest
// remaining decides Latest); a rolled back Delete keeps everything.
func testDeleteInTx(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "malware--14141414-0000-4000-8000-000000000001"
	v1 := newRecord(id, version(1), orgA, stix.TLPGreen)
	v2 := newRecord(id, version(2), orgA, stix.TLPGreen)
	insert(t, st, v1, v2)
	var again, v0 *intel.Record
	err := st.Update(ctx, func(tx intel.Tx) error {
		if _, err := tx.Versions(ctx, id); err != nil { // read first: the transaction may keep them
			return err
		}
		if n, err := tx.Delete(ctx, id, orgA, []string{version(2)}); err != nil || n != 1 {
			return fmt.Errorf("Delete of version 2 = %d, %v; want 1", n, err)
		}
		got, err := tx.Versions(ctx, id)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Version != version(1) || !got[0].Latest {
			return fmt.Errorf("Tx.Versions after Delete = %v, want version 1, latest", got)
		}
		again = newRecord(id, version(2), orgA, stix.TLPRed)
		if err := tx.Insert(ctx, again); err != nil {
			return fmt.Errorf("inserting a deleted version again: %w", err)
		}
		if !again.Latest {
			return fmt.Errorf("version 2 inserted again is not latest")
		}
		if n, err := tx.Delete(ctx, id, orgA, nil); err != nil || n != 2 {
			return fmt.Errorf("Delete of all = %d, %v; want 2", n, err)
		}
		if got, err := tx.Versions(ctx, id); err != nil || len(got) != 0 {
			return fmt.Errorf("Tx.Versions after deleting all = %v, %v; want none", got, err)
		}
		if n, err := tx.Delete(ctx, id, orgA, nil); err != nil || n != 0 {
			return fmt.Errorf("Delete of nothing = %d, %v; want 0, no error", n, err)
		}
		v0 = newRecord(id, version(0), orgA, stix.TLPGreen)
		return tx.Insert(ctx, v0)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := mustVersions(t, st, id)
	if len(got) != 1 || !sameRecord(got[0], *v0) || !got[0].Latest {
		t.Fatalf("after the Update: %v, want only %s, latest", got, describe(*v0))
	}

	boom := errors.New("boom")
	before := mustQuery(t, st, intel.Query{})
	err = st.Update(ctx, func(tx intel.Tx) error {
		if n, err := tx.Delete(ctx, id, orgA, nil); err != nil || n != 1 {
			return fmt.Errorf("Delete = %d, %v; want 1", n, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if d := diffRecords(mustQuery(t, st, intel.Query{}), before); d != "" {
		t.Errorf("a rolled back Delete changed the records:%s", d)
	}
}

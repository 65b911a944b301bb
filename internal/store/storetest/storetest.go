// Package storetest is the conformance suite of [intel.Store]: every store
// (SQLite, PostgreSQL) runs the same tests through [Run], replays the same
// seeded random operations against a small in-memory model of the rules
// (so all stores give identical results), and survives the same crash test
// ([CrashChild] and [Crash]).
//
// The suite reads the contract from the doc comments of package intel and
// adds the rules those comments leave to the store, each stated on the test
// that checks it:
//
//   - a fault.Conflict from Tx.Insert or Tx.CreateOrg leaves the transaction
//     usable (partial TAXII submissions go on with the next object);
//   - DateAdded is max(clock in microseconds, last DateAdded + 1), with the
//     store's clock read once the write lock is held;
//   - times (audit entries, organisations, tokens) round-trip to the
//     nanosecond in UTC, and zero audit and registration times are set from
//     the store's clock;
//   - empty Recipients come back nil; Data comes back byte-identical;
//   - a token of an unregistered organisation is fault.NotFound;
//   - Tx.Delete with nil or empty versions removes all of the owner's
//     records of the id; deleting nothing is 0 and no error; deleted
//     DateAdded values are not handed out again, while LastAdded reports the
//     greatest stored;
//   - empty audit Objects come back nil; AuditQuery.Object matches an
//     element of Objects that is the id or begins with the id and "@", and
//     no other;
//   - a fault.NotFound from Tx.SetOrgNode and a fault.Conflict from
//     Tx.AddNodeKey leave the transaction usable; the same node key again
//     keeps its first Added, and a zero Added is set from the store's clock;
//   - node keys with equal Added list by id;
//   - state keys are non-empty UTF-8 (the empty key is fault.Invalid) and
//     match a States prefix byte for byte; what a transaction writes is not
//     visible to the Store's reads before it commits.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// Config is what a [Factory] passes on to the store it opens.
type Config struct {
	// Now is the clock the store must use for DateAdded and audit times
	// (the Now of the adapter's Options). Nil means time.Now.
	Now func() time.Time
}

// Factory prepares a fresh, empty database for test t (a file in
// t.TempDir(), a new PostgreSQL database dropped in t.Cleanup) and returns
// a function that opens a store on it with cfg. Every call of open opens the
// same database anew, so a test can close a store and open it again; the
// suite closes every store it opens. A Factory is called from parallel
// tests.
type Factory func(t *testing.T, cfg Config) (open func() (intel.Store, error))

// Run runs the conformance suite against the stores f makes. Its subtests
// run in parallel; each has a database of its own.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"InsertVersioned", testInsertVersioned},
		{"InsertUnversioned", testInsertUnversioned},
		{"DuplicateVersion", testDuplicateVersion},
		{"ConflictLeavesTxUsable", testConflictLeavesTxUsable},
		{"Rollback", testRollback},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"TxSeesOwnWrites", testTxSeesOwnWrites},
		{"DateAdded", testDateAdded},
		{"Query", testQuery},
		{"VisibleToSupersetOfCanSee", testVisibleToSuperset},
		{"RoundTrip", testRoundTrip},
		{"Concurrent", testConcurrent},
		{"Delete", testDelete},
		{"DeleteInTx", testDeleteInTx},
		{"Audit", testAudit},
		{"AuditObjects", testAuditObjects},
		{"Directory", testDirectory},
		{"OrgNode", testOrgNode},
		{"NodeKeys", testNodeKeys},
		{"Tokens", testTokens},
		{"State", testState},
		{"StateRollback", testStateRollback},
		{"Reopen", testReopen},
		{"Random", testRandom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, f)
		})
	}
}

// MustOpen opens a store with f and cfg and closes it when the test ends.
// It also returns the open function, to reopen the same database.
func MustOpen(tb testing.TB, f Factory, cfg Config) (intel.Store, func() intel.Store) {
	tb.Helper()
	t, ok := tb.(*testing.T)
	if !ok {
		tb.Fatalf("storetest: MustOpen needs a *testing.T")
	}
	open := f(t, cfg)
	reopen := func() intel.Store {
		tb.Helper()
		st, err := open()
		if err != nil {
			tb.Fatalf("open store: %v", err)
		}
		c := &closeOnce{Store: st}
		tb.Cleanup(func() {
			if err := c.Close(); err != nil {
				tb.Errorf("close store: %v", err)
			}
		})
		return c
	}
	return reopen(), reopen
}

// closeOnce makes Close idempotent, so tests may close a store early.
type closeOnce struct {
	intel.Store
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.Store.Close() })
	return c.err
}

// Clock is a clock for tests: it returns the time last set, whatever the
// number of calls. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the time set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the time.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock by d, which may be negative.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// epoch is the frozen instant of the tests' clocks.
var epoch = time.Date(2024, 3, 29, 12, 0, 0, 123456789, time.UTC)

// Identity ids of the tests' organisations.
const (
	orgA = "identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	orgB = "identity--bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	orgC = "identity--cccccccc-cccc-4ccc-8ccc-cccccccccccc"
	orgD = "identity--dddddddd-dddd-4ddd-8ddd-dddddddddddd"
)

// version returns a Version string for minute m of the test epoch.
func version(m int) string {
	return epoch.Add(time.Duration(m) * time.Minute).Format(intel.VersionLayout)
}

// newRecord returns a record of id (its type is the id's prefix), with
// version ("" for unversioned), owner and marking, and data naming them.
func newRecord(id, ver, owner string, tlp stix.TLP, recipients ...string) *intel.Record {
	typ, _, _ := strings.Cut(id, "--")
	return &intel.Record{
		ID:          id,
		Type:        typ,
		Version:     ver,
		Owner:       owner,
		Local:       true,
		TLP:         tlp,
		Recipients:  recipients,
		SpecVersion: "2.1",
		Text:        strings.ToLower(typ + " " + id),
		Data:        fmt.Appendf(nil, `{"id":%q,"modified":%q,"owner":%q,"type":%q}`, id, ver, owner, typ),
	}
}

// insert commits recs in one Update, failing the test on error.
func insert(t testing.TB, st intel.Store, recs ...*intel.Record) {
	t.Helper()
	err := st.Update(context.Background(), func(tx intel.Tx) error {
		for _, r := range recs {
			if err := tx.Insert(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
}

// mustQuery runs q, failing the test on error.
func mustQuery(t testing.TB, st intel.Store, q intel.Query) []intel.Record {
	t.Helper()
	recs, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	return recs
}

// mustVersions returns the versions of id, failing the test on error.
func mustVersions(t testing.TB, st intel.Store, id string) []intel.Record {
	t.Helper()
	recs, err := st.Versions(context.Background(), id)
	if err != nil {
		t.Fatalf("versions %s: %v", id, err)
	}
	return recs
}

// sameRecord reports whether a and b are equal, taking nil and empty
// Recipients and Data as equal.
func sameRecord(a, b intel.Record) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Version == b.Version && a.Owner == b.Owner &&
		a.Local == b.Local && a.TLP == b.TLP && slices.Equal(a.Recipients, b.Recipients) &&
		a.Revoked == b.Revoked && a.SpecVersion == b.SpecVersion && a.Text == b.Text &&
		bytes.Equal(a.Data, b.Data) && a.DateAdded == b.DateAdded && a.Latest == b.Latest
}

// diffRecords describes how got differs from want, or returns "".
func diffRecords(got, want []intel.Record) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "\n  [%d] missing: %s", i, describe(want[i]))
		case i >= len(want):
			fmt.Fprintf(&b, "\n  [%d] extra:   %s", i, describe(got[i]))
		case !sameRecord(got[i], want[i]):
			fmt.Fprintf(&b, "\n  [%d] got:  %s\n  [%d] want: %s", i, describe(got[i]), i, describe(want[i]))
		}
	}
	return b.String()
}

func describe(r intel.Record) string {
	data := string(r.Data)
	if len(data) > 60 {
		data = fmt.Sprintf("%s... (%d bytes)", data[:60], len(r.Data))
	}
	return fmt.Sprintf("{%s v=%q owner=%s local=%v tlp=%s rcpt=%v revoked=%v spec=%q text=%q added=%d latest=%v data=%s}",
		r.ID, r.Version, r.Owner, r.Local, r.TLP, r.Recipients, r.Revoked, r.SpecVersion, r.Text,
		r.DateAdded, r.Latest, data)
}

// latestOf returns the Latest flags of recs, in order.
func latestOf(recs []intel.Record) []bool {
	out := make([]bool, len(recs))
	for i, r := range recs {
		out[i] = r.Latest
	}
	return out
}

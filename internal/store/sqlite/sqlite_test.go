package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/storetest"
)

// fileFactory makes a database file in the test's temporary folder.
func fileFactory(t *testing.T, cfg storetest.Config) func() (intel.Store, error) {
	path := filepath.Join(t.TempDir(), "intel.db")
	return func() (intel.Store, error) {
		return Open(context.Background(), path, Options{Now: cfg.Now})
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, fileFactory)
}

// TestMemory runs a smoke test on an in-memory database (which cannot be
// reopened, so the full suite runs on files).
func TestMemory(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, Memory, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &intel.Record{ID: "indicator--1", Type: "indicator", Version: "v1", Owner: "identity--a", TLP: stix.TLPGreen, Data: []byte("{}")}
	if err := st.Update(ctx, func(tx intel.Tx) error { return tx.Insert(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	recs, err := st.Query(ctx, intel.Query{Latest: true})
	if err != nil || len(recs) != 1 || recs[0].DateAdded != r.DateAdded {
		t.Fatalf("Query = %v, %v", recs, err)
	}
	other, err := Open(ctx, Memory, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if recs, err := other.Query(ctx, intel.Query{}); err != nil || len(recs) != 0 {
		t.Errorf("a second in-memory store shares the first's records: %v, %v", recs, err)
	}
}

// TestTwoStoresOneFile: two stores on one file (two processes, in effect)
// write in turn and see each other's commits; DateAdded stays increasing.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	a, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 2)
	for n, st := range []*Store{a, b} {
		go func() {
			for i := range 20 {
				r := &intel.Record{ID: fmt.Sprintf("indicator--%d-%d", n, i), Type: "indicator", Version: "v", Owner: "o", Data: []byte("{}")}
				if err := st.Update(ctx, func(tx intel.Tx) error { return tx.Insert(ctx, r) }); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	recs, err := a.Query(ctx, intel.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 40 {
		t.Fatalf("%d records, want 40", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].DateAdded <= recs[i-1].DateAdded {
			t.Errorf("DateAdded %d after %d", recs[i].DateAdded, recs[i-1].DateAdded)
		}
	}
}

// TestNewerSchema: a database migrated by a newer binary is refused, and the
// error names both versions.
func TestNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.wdb.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 'x')`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(ctx, path, Options{})
	if err == nil {
		t.Fatal("Open of a newer schema succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "9999") || !strings.Contains(msg, fmt.Sprint(SchemaVersion())) {
		t.Errorf("error %q does not name both versions", msg)
	}
}

// TestMigrateFromVersion1: a database of schema version 1 holding data, as
// deployed, migrates forward at Open and keeps its data; what version 2
// adds works on it.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`,
		ms[0].SQL,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, '2024-03-29T12:00:00Z')`,
		`INSERT INTO orgs (id, name, local, created) VALUES ('identity--a', 'Alpha', 1, 1711713600000000000)`,
		`INSERT INTO audit (time, org, token, action, object, version, tlp, detail)
			VALUES (1711713600000000000, 'identity--a', '', 'submit', 'indicator--1', '', 'green', '')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var version int
	if err := st.rdb.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != SchemaVersion() {
		t.Errorf("schema version after Open = %d, %v; want %d", version, err, SchemaVersion())
	}
	if o, err := st.Org(ctx, "identity--a"); err != nil || o.Name != "Alpha" || o.Node != "" {
		t.Errorf("organisation of version 1 = %+v, %v", o, err)
	}
	if got, err := st.Audit(ctx, intel.AuditQuery{Object: "indicator--1"}); err != nil || len(got) != 1 || got[0].Objects != nil {
		t.Errorf("audit entry of version 1 = %+v, %v; want it, without Objects", got, err)
	}
	err = st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.SetOrgNode(ctx, "identity--a", "alpha"); err != nil {
			return err
		}
		if err := tx.AddNodeKey(ctx, access.NodeKey{Node: "alpha", ID: "k1", Public: []byte{1}}); err != nil {
			return err
		}
		return tx.SetState(ctx, "peer/alpha", "on")
	})
	if err != nil {
		t.Fatalf("version 2 writes on a migrated database: %v", err)
	}
	if keys, err := st.NodeKeys(ctx, "alpha"); err != nil || len(keys) != 1 {
		t.Errorf("NodeKeys = %+v, %v", keys, err)
	}
	if v, ok, err := st.State(ctx, "peer/alpha"); err != nil || !ok || v != "on" {
		t.Errorf("State = %q, %v, %v", v, ok, err)
	}
}

// TestSettings: the connections run with the journal, durability and lock
// settings the package promises.
func TestSettings(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "intel.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, db := range []*sql.DB{st.rdb, st.wdb} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000",
		} {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
			}
		}
	}
}

// TestQueryPlans: the common pages are served by an index, without sorting.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "intel.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v := &access.Viewer{Org: "identity--a", Role: access.Reader}
	tests := []struct {
		name string
		q    intel.Query
	}{
		{"page", intel.Query{After: 5, Limit: 100}},
		{"latest page", intel.Query{Latest: true, ExcludeRevoked: true, After: 5, Limit: 100, VisibleTo: v}},
		{"typed latest page", intel.Query{Types: []string{"indicator"}, Latest: true, After: 5, Limit: 100, VisibleTo: v}},
		{"ids", intel.Query{IDs: []string{"a", "b"}}},
	}
	type planCase struct {
		name  string
		query string
		args  []any
	}
	var cases []planCase
	for _, tc := range tests {
		query, args, err := buildQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, planCase{tc.name, query, args})
	}
	// Every insert runs one of the supersede statements, every delete the
	// delete ones: they must go by id.
	cases = append(cases,
		planCase{"supersede versioned", supersedeVersionedSQL, []any{"a", 1}},
		planCase{"supersede unversioned", supersedeUnversionedSQL, []any{"a", "o", 1}},
		planCase{"by id: delete all", deleteAllSQL, []any{"a", "o"}},
		planCase{"by id: delete versions", deleteVersionsSQL, []any{"a", "o", `["v1","v2"]`}},
		planCase{"by id: relatest", relatestSQL, []any{"a"}})
	for _, prefix := range []string{"cursor/pull/alpha/", ""} {
		query, args := statesQuery(prefix)
		cases = append(cases, planCase{fmt.Sprintf("states %q", prefix), query, args})
	}
	for _, tc := range cases {
		rows, err := st.wdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING") || (tc.name != "ids" && strings.Contains(p, "TEMP B-TREE")) {
			t.Errorf("%s: plan %q", tc.name, p)
		}
		if (strings.HasPrefix(tc.name, "supersede") || strings.HasPrefix(tc.name, "by id")) &&
			(!strings.Contains(p, "USING INDEX objects_id ") || strings.Contains(p, "SCAN objects")) {
			t.Errorf("%s does not go by the id index: %q", tc.name, p)
		}
		t.Logf("%s: %s", tc.name, p)
	}
}

// Crash test: a child process commits bundles until it is killed.

const crashEnv = "COINTRAIL_SQLITE_CRASH_CHILD"

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	path := filepath.Join(t.TempDir(), "intel.db")
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=3m")
	child.Env = append(os.Environ(), crashEnv+"="+path)
	storetest.Crash(t, child, 20, func() (intel.Store, error) {
		return Open(context.Background(), path, Options{})
	})
}

// TestCrashChild is the child process of TestCrash.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the child process of TestCrash")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := storetest.CrashChild(ctx, st, os.Stdout, 100000); err != nil {
		t.Fatal(err)
	}
}

// Benchmarks: see storetest.BenchmarkInsert and storetest.BenchmarkQueryPage.

func BenchmarkInsert1000(b *testing.B) {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), "intel.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkInsert(b, st, 1000)
}

// BenchmarkIngest1000 is BenchmarkInsert1000 as intel submits a bundle,
// reading each id's versions before inserting it.
func BenchmarkIngest1000(b *testing.B) {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), "intel.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkIngest(b, st, 1000)
}

func BenchmarkQueryPage(b *testing.B) {
	st, err := Open(context.Background(), filepath.Join(b.TempDir(), "intel.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkQueryPage(b, st, 10000, 1000)
}

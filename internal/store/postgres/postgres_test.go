package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/postgres/pgtest"
	"github.com/cointrail/cointrail/internal/store/storetest"
)

func factory(t *testing.T, cfg storetest.Config) func() (intel.Store, error) {
	dsn := pgtest.FreshDatabase(t)
	return func() (intel.Store, error) {
		return Open(context.Background(), dsn, Options{Now: cfg.Now})
	}
}

func TestConformance(t *testing.T) {
	pgtest.AdminURL(t)
	storetest.Run(t, factory)
}

// TestConformanceSmallCache runs the suite with write transactions that
// forget what they read after two ids and send their writes every three
// statements.
func TestConformanceSmallCache(t *testing.T) {
	pgtest.AdminURL(t)
	ids, bytes, pending := maxCachedIDs, maxCachedBytes, maxPending
	maxCachedIDs, maxCachedBytes, maxPending = 2, 4096, 3
	t.Cleanup(func() { maxCachedIDs, maxCachedBytes, maxPending = ids, bytes, pending })
	storetest.Run(t, factory)
}

// TestNewerSchema: a database migrated by a newer binary is refused, and the
// error names both versions.
func TestNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.FreshDatabase(t)
	st, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, now())`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(ctx, dsn, Options{})
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
	dsn := pgtest.FreshDatabase(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`,
		ms[0].SQL,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, now())`,
		`INSERT INTO orgs (id, name, local, created) VALUES ('identity--a', 'Alpha', true, 1711713600000000000)`,
		`INSERT INTO audit (seq, time, org, token, action, object, version, tlp, detail)
			VALUES (1, 1711713600000000000, 'identity--a', '', 'submit', 'indicator--1', '', 'green', '')`,
		`UPDATE counters SET value = 1 WHERE name = 'audit_seq'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}

	st, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var version int
	if err := st.pool.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != SchemaVersion() {
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

// TestOpenTogether: stores opened at once on a new database migrate it once.
func TestOpenTogether(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.FreshDatabase(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := Open(ctx, dsn, Options{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestTwoStoresOneDatabase: two stores on one database (two nodes sharing
// it, in effect) write at once; their Updates serialise.
func TestTwoStoresOneDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.FreshDatabase(t)
	var stores []*Store
	for range 2 {
		st, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores = append(stores, st)
	}
	done := make(chan error, 2)
	for n, st := range stores {
		go func() {
			for i := range 20 {
				err := st.Update(ctx, func(tx intel.Tx) error {
					for j := range 3 {
						r := &intel.Record{ID: fmt.Sprintf("indicator--%d-%d-%d", n, i, j), Type: "indicator", Version: "v", Owner: "o", Text: fmt.Sprintf("%d-%d", n, i), Data: []byte("{}")}
						if err := tx.Insert(ctx, r); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
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
	recs, err := stores[1].Query(ctx, intel.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 120 {
		t.Fatalf("%d records, want 120", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].DateAdded <= recs[i-1].DateAdded {
			t.Errorf("DateAdded %d after %d", recs[i].DateAdded, recs[i-1].DateAdded)
		}
		if i%3 != 0 && recs[i].Text != recs[i-1].Text {
			t.Errorf("Updates interleaved: %q after %q", recs[i].Text, recs[i-1].Text)
		}
	}
}

func TestBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://user:secret@[::1", Options{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open with a bad URL: %v", err)
	}
}

// TestQueryPlans: the common pages are served by an index.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, pgtest.FreshDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The planner needs rows and statistics to prefer the indexes.
	err = st.Update(ctx, func(tx intel.Tx) error {
		for i := range 5000 {
			r := &intel.Record{
				ID: fmt.Sprintf("indicator--%d", i%2500), Type: []string{"indicator", "report", "note"}[i%3],
				Version: fmt.Sprint(i), Owner: "identity--b", TLP: []stix.TLP{stix.TLPGreen, stix.TLPClear, stix.TLPAmber}[i%3], Text: "x", Data: []byte("{}"),
			}
			if err := tx.Insert(ctx, r); err != nil {
				return err
			}
			if err := tx.SetState(ctx, fmt.Sprintf("cursor/pull/peer%d/%d", i%50, i), "1"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.pool.Exec(ctx, "ANALYZE objects, state"); err != nil {
		t.Fatal(err)
	}
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
	for _, tc := range tests {
		query, args, err := buildQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.pool.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "Index") || (tc.name != "ids" && strings.Contains(p, "Sort")) {
			t.Errorf("%s: plan %q: want an ordered index scan", tc.name, p)
		}
		t.Logf("%s: %s", tc.name, p)
	}

	// Every delete runs these: they must go by id. A prefix of the state
	// keys is a range of its primary key.
	statesSQL, statesArgs := statesQuery("cursor/pull/peer7/")
	writes := []struct {
		name, query string
		args        []any
		index       string
	}{
		{"delete all", deleteAllSQL, []any{"indicator--7", "identity--b"}, "objects_id"},
		{"delete versions", deleteVersionsSQL, []any{"indicator--7", "identity--b", []string{"7", "2507"}}, "objects_id"},
		{"relatest", relatestSQL, []any{"indicator--7", []int64{1, 2}}, "objects_id"},
		{"states", statesSQL, statesArgs, "state_pkey"},
	}
	for _, tc := range writes {
		p := explain(t, st, tc.query, tc.args...)
		if !strings.Contains(p, "Index") || !strings.Contains(p, tc.index) || strings.Contains(p, "Seq Scan") {
			t.Errorf("%s: plan %q: want a scan of %s", tc.name, p, tc.index)
		}
		t.Logf("%s: %s", tc.name, p)
	}
}

// explain returns the plan of query, its lines joined by "; ". It does not
// run the query.
func explain(t *testing.T, st *Store, query string, args ...any) string {
	t.Helper()
	rows, err := st.pool.Query(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, strings.TrimSpace(line))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// Crash test: a child process commits bundles until it is killed.

const crashEnv = "COINTRAIL_POSTGRES_CRASH_CHILD"

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dsn := pgtest.FreshDatabase(t)
	// Migrate first, so the child starts committing at once.
	st, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=3m")
	child.Env = append(os.Environ(), crashEnv+"="+dsn)
	storetest.Crash(t, child, 20, func() (intel.Store, error) {
		return Open(context.Background(), dsn, Options{})
	})
}

// TestCrashChild is the child process of TestCrash.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashEnv)
	if dsn == "" {
		t.Skip("the child process of TestCrash")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Open(ctx, dsn, Options{})
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
	st, err := Open(context.Background(), pgtest.FreshDatabase(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkInsert(b, st, 1000)
}

// BenchmarkIngest1000 is BenchmarkInsert1000 as intel submits a bundle,
// reading each id's versions before inserting it.
func BenchmarkIngest1000(b *testing.B) {
	st, err := Open(context.Background(), pgtest.FreshDatabase(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkIngest(b, st, 1000)
}

func BenchmarkQueryPage(b *testing.B) {
	st, err := Open(context.Background(), pgtest.FreshDatabase(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchmarkQueryPage(b, st, 10000, 1000)
}

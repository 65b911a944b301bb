// Package postgres stores a node's intelligence (objects, organisations,
// tokens, the audit log, node keys and node state) in a PostgreSQL database
// through pgx/v5 and its connection pool, so that several nodes or replicas
// can share one database. [*Store] implements [intel.Store].
//
// Every write transaction of [Store.Update] begins by locking one counter
// row (SELECT ... FOR UPDATE) and holds it to its commit: writers, of this
// process and of every other that shares the database, run one at a time,
// each hands out DateAdded values greater than those of every transaction
// committed before it, and commit order is DateAdded order. Readers take no
// lock.
//
// The schema carries a version and migrates forward at [Open] (see
// migrations/), under an advisory lock so that processes opening the
// database together migrate it once.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/store/column"
	"github.com/cointrail/cointrail/internal/store/migration"
)

// Options configures a [Store]. The zero value is valid.
type Options struct {
	// Logger receives the store's log records. Default: discard.
	Logger *slog.Logger
	// Now is the clock used for DateAdded, audit times and registration
	// times left zero. Default: time.Now.
	Now func() time.Time
}

// EnsureDefaults fills in the zero fields of o.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is an [intel.Store] on a PostgreSQL database. It is safe for
// concurrent use. Close it when done.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; pgxpool's pool_* parameters apply) and migrates its
// schema forward. A database whose schema is newer than this binary knows
// is an error.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts.EnsureDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error may quote the URL, password included: keep it out.
		return nil, errors.New("postgres: invalid connection URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, log: opts.Logger.With("store", "postgres"), now: opts.Now}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// Close closes the pool, waiting for the connections in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Migrations.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations")
}

// SchemaVersion is the newest schema version this binary knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return migration.Latest(ms)
}

// migrationLock is the key of the advisory lock held while migrating.
const migrationLock = 0x636f696e7472 // "cointr"

// migrate applies the migrations the database lacks, each in its own
// transaction, and refuses a database newer than this binary.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	known := ms[len(ms)-1].Version
	var current int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at TIMESTAMPTZ NOT NULL
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current)
	})
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade cointrail", current, known)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		applied := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version >= $1`, m.Version).Scan(&n); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if n > 0 {
				return nil // another process got there first
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("exec: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, s.now().UTC()); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if applied {
			s.log.InfoContext(ctx, "schema migrated", "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// Write transactions.

// Update runs fn in one write transaction and commits it if fn returns nil.
// The transaction first locks the 'date_added' counter row and keeps it to
// the end: writers run one at a time, and DateAdded order is commit order.
// fn's error is returned unchanged.
//
// A fault.Conflict returned by [intel.Tx.Insert], [intel.Tx.CreateOrg] or
// [intel.Tx.AddNodeKey], and a fault.NotFound returned by
// [intel.Tx.SetOrgNode], leave the transaction usable: fn may go on and
// commit the rest (none of them sends a statement that fails, so
// PostgreSQL does not abort the transaction).
//
// Since the lock keeps every other writer out, the transaction keeps what it
// reads of objects and organisations, and what it writes, in memory: Insert
// and Delete decide Latest and conflicts from there and queue their
// statements, which go to the server with the next read (or the commit) in
// one round trip. State writes are queued too.
func (s *Store) Update(ctx context.Context, fn func(tx intel.Tx) error) error {
	pgTx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	t := &tx{s: s, tx: pgTx, ids: map[string][]intel.Record{}, orgs: map[string]*access.Org{}}
	if err := pgTx.QueryRow(ctx, `SELECT value FROM counters WHERE name = 'date_added' FOR UPDATE`).Scan(&t.last); err != nil {
		return fmt.Errorf("postgres: lock clock: %w", err)
	}
	// Take the time once the lock is held: the wait is not part of it.
	t.now = s.now()
	t.nowMicros = t.now.UnixMicro()
	if err := fn(t); err != nil {
		return err
	}
	if t.dirty {
		t.pending.Queue(`UPDATE counters SET value = $1 WHERE name = 'date_added'`, t.last)
	}
	queueAudit(&t.pending, t.audit)
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// Limits of what a transaction keeps in memory; past them it forgets
// (and reads again from the server). Variables for tests.
var (
	maxCachedIDs   = 20000
	maxCachedBytes = 64 << 20
	// maxPending caps the statements queued before they are sent.
	maxPending = 1000
)

// tx is the [intel.Tx] of [Store.Update]. It is used by one goroutine.
type tx struct {
	s  *Store
	tx pgx.Tx
	// now is the time fixed at begin; nowMicros, in microseconds.
	now       time.Time
	nowMicros int64
	// last is the greatest DateAdded handed out so far; dirty reports
	// whether this transaction handed one out.
	last  int64
	dirty bool
	// pending holds the writes not yet sent.
	pending pgx.Batch
	// ids holds every record of an id, DateAdded order, as this
	// transaction sees them (read once, then kept up to date by Insert and
	// Delete); cachedBytes counts their data.
	ids         map[string][]intel.Record
	cachedBytes int
	// orgs holds the organisations read or created (nil: not found).
	orgs map[string]*access.Org
	// audit holds the entries to append at commit, so that the audit
	// counter is locked only for an instant.
	audit []intel.AuditEntry
}

// flush sends the pending writes, and whatever was queued after them, in
// one round trip.
func (t *tx) flush(ctx context.Context) error {
	if t.pending.Len() == 0 {
		return nil
	}
	err := t.tx.SendBatch(ctx, &t.pending).Close()
	t.pending = pgx.Batch{}
	return err
}

// load returns the records of id, reading them (with the pending writes
// before) unless they are kept.
func (t *tx) load(ctx context.Context, id string) ([]intel.Record, error) {
	if recs, ok := t.ids[id]; ok {
		return recs, nil
	}
	var recs []intel.Record
	t.pending.Queue(`SELECT `+recordColumns+` FROM objects WHERE id = $1 ORDER BY date_added`, id).
		Query(func(rows pgx.Rows) error {
			var err error
			recs, err = scanRecords(rows)
			return err
		})
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	if len(t.ids) >= maxCachedIDs || t.cachedBytes >= maxCachedBytes {
		clear(t.ids)
		t.cachedBytes = 0
	}
	t.ids[id] = recs
	for _, r := range recs {
		t.cachedBytes += len(r.Data)
	}
	return recs, nil
}

// Insert stores r, setting r.DateAdded and r.Latest. The statements are
// sent with the transaction's next read or its commit.
func (t *tx) Insert(ctx context.Context, r *intel.Record) error {
	if r.ID == "" {
		return fault.New(fault.Invalid, "record without an id")
	}
	tlp, err := column.TLP(r.TLP)
	if err != nil {
		return fmt.Errorf("insert %s: %w", r.ID, err)
	}
	recipients, err := column.Recipients(r.Recipients)
	if err != nil {
		return fmt.Errorf("insert %s: %w", r.ID, err)
	}
	recs, err := t.load(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("insert %s: %w", r.ID, err)
	}
	latest := true
	if r.Version != "" {
		for _, o := range recs {
			if o.Version == "" {
				continue
			}
			if o.Version == r.Version {
				return fault.New(fault.Conflict, "%s version %s is already stored", r.ID, r.Version)
			}
			if o.Version > r.Version {
				latest = false
			}
		}
	}
	// Clear Latest on what r supersedes, here and on the server.
	if latest {
		supersedes := false
		for i := range recs {
			o := &recs[i]
			if o.Latest && (r.Version != "" && o.Version != "" || r.Version == "" && o.Version == "" && o.Owner == r.Owner) {
				o.Latest, supersedes = false, true
			}
		}
		switch {
		case supersedes && r.Version != "":
			t.pending.Queue(`UPDATE objects SET latest = false WHERE id = $1 AND version <> '' AND latest`, r.ID)
		case supersedes:
			t.pending.Queue(`UPDATE objects SET latest = false WHERE id = $1 AND owner = $2 AND version = '' AND latest`, r.ID, r.Owner)
		}
	}
	data := bytes.Clone(r.Data)
	if data == nil {
		data = []byte{}
	}
	added := max(t.nowMicros, t.last+1)
	t.pending.Queue(`INSERT INTO objects (`+recordColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		added, r.ID, r.Type, r.Version, r.Owner, r.Local, tlp, recipients, r.Revoked, r.SpecVersion, r.Text, data, latest)
	t.last, t.dirty = added, true
	r.DateAdded, r.Latest = added, latest

	c := *r
	c.Data = data
	c.Recipients = slices.Clone(r.Recipients)
	if len(c.Recipients) == 0 {
		c.Recipients = nil
	}
	t.ids[r.ID] = append(recs, c)
	t.cachedBytes += len(data)
	if t.pending.Len() >= maxPending {
		if err := t.flush(ctx); err != nil {
			return fmt.Errorf("insert %s: %w", r.ID, err)
		}
	}
	return nil
}

// Versions returns every record with id, including this transaction's.
func (t *tx) Versions(ctx context.Context, id string) ([]intel.Record, error) {
	recs, err := t.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("versions %s: %w", id, err)
	}
	// Copies: the caller may keep or change them.
	out := make([]intel.Record, len(recs))
	for i, r := range recs {
		r.Data = bytes.Clone(r.Data)
		r.Recipients = slices.Clone(r.Recipients)
		out[i] = r
	}
	return out, nil
}

// Org returns the organisation with identity id, including those created in
// this transaction.
func (t *tx) Org(ctx context.Context, id string) (access.Org, error) {
	o, ok := t.orgs[id]
	if !ok {
		var found access.Org
		var err error
		t.pending.Queue(`SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id).QueryRow(func(row pgx.Row) error {
			found, err = scanOrg(row, "organisation "+id)
			if fault.CodeOf(err) == fault.NotFound {
				return nil
			}
			return err
		})
		if err := t.flush(ctx); err != nil {
			return access.Org{}, fmt.Errorf("organisation %s: %w", id, err)
		}
		if err == nil {
			o = &found
		}
		t.orgs[id] = o
	}
	if o == nil {
		return access.Org{}, fault.New(fault.NotFound, "organisation %s not found", id)
	}
	return *o, nil
}

// CreateOrg registers o. A zero o.Created is set to the transaction's time.
func (t *tx) CreateOrg(ctx context.Context, o access.Org) error {
	if o.ID == "" || o.Name == "" {
		return fault.New(fault.Invalid, "organisation needs an id and a name")
	}
	if o.Created.IsZero() {
		o.Created = t.now
	}
	created, err := column.Nanos(o.Created)
	if err != nil {
		return fmt.Errorf("create org %s: %w", o.ID, err)
	}
	var inserted int64
	t.pending.Queue(`INSERT INTO orgs (id, name, local, node, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		o.ID, o.Name, o.Local, o.Node, created).Exec(func(ct pgconn.CommandTag) error {
		inserted = ct.RowsAffected()
		return nil
	})
	err = t.flush(ctx)
	switch {
	case isUnique(err):
		return fault.Wrap(fault.Conflict, err, "an organisation with id %s or name %q exists", o.ID, o.Name)
	case err != nil:
		return fmt.Errorf("create org %s: %w", o.ID, err)
	case inserted == 0:
		return fault.New(fault.Conflict, "an organisation with id %s or name %q exists", o.ID, o.Name)
	}
	o.Created = o.Created.UTC()
	t.orgs[o.ID] = &o
	return nil
}

// SetOrgNode binds the organisation with identity id to node
// (fault.NotFound if there is no such organisation).
func (t *tx) SetOrgNode(ctx context.Context, id, node string) error {
	var updated int64
	t.pending.Queue(`UPDATE orgs SET node = $2 WHERE id = $1`, id, node).Exec(func(ct pgconn.CommandTag) error {
		updated = ct.RowsAffected()
		return nil
	})
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("set node of %s: %w", id, err)
	}
	if updated == 0 {
		t.orgs[id] = nil
		return fault.New(fault.NotFound, "organisation %s not found", id)
	}
	if o := t.orgs[id]; o != nil {
		o.Node = node
	}
	return nil
}

// Delete removes owner's records of id (all, or those whose Version is in
// versions) and sets Latest anew on the records of id that remain. It
// decides from the records the transaction keeps of id, which it updates,
// and queues the statements.
func (t *tx) Delete(ctx context.Context, id, owner string, versions []string) (int, error) {
	recs, err := t.load(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", id, err)
	}
	keep := make([]intel.Record, 0, len(recs))
	gone := 0
	for _, r := range recs {
		if r.Owner == owner && (len(versions) == 0 || slices.Contains(versions, r.Version)) {
			gone++
			t.cachedBytes -= len(r.Data)
			continue
		}
		keep = append(keep, r)
	}
	if gone == 0 {
		return 0, nil
	}
	check := func(ct pgconn.CommandTag) error {
		if n := ct.RowsAffected(); n != int64(gone) {
			return fmt.Errorf("delete %s: the server removed %d records, the transaction expected %d", id, n, gone)
		}
		return nil
	}
	if len(versions) == 0 {
		t.pending.Queue(deleteAllSQL, id, owner).Exec(check)
	} else {
		t.pending.Queue(deleteVersionsSQL, id, owner, versions).Exec(check)
	}
	if len(keep) > 0 {
		latest := []int64{}
		for _, r := range relatest(keep) {
			latest = append(latest, r.DateAdded)
		}
		t.pending.Queue(relatestSQL, id, latest)
	}
	t.ids[id] = keep
	if t.pending.Len() >= maxPending {
		if err := t.flush(ctx); err != nil {
			return 0, fmt.Errorf("delete %s: %w", id, err)
		}
	}
	return gone, nil
}

// The statements of Tx.Delete: remove owner $2's records of id $1 (all,
// or those of the versions $3), then set Latest on the records of id $1 to
// whether their DateAdded is among $2, changing only the rows whose flag
// changes. They go by the id index (objects_id, objects_id_version).
const (
	deleteAllSQL      = `DELETE FROM objects WHERE id = $1 AND owner = $2`
	deleteVersionsSQL = `DELETE FROM objects WHERE id = $1 AND owner = $2 AND version = ANY($3::text[])`
	relatestSQL       = `UPDATE objects SET latest = NOT latest
		WHERE id = $1 AND latest <> (date_added = ANY($2::bigint[]))`
)

// relatest sets Latest on recs, the records of one id: the greatest
// Version of the versioned ones, and each owner's last unversioned
// holding. It returns those it set.
func relatest(recs []intel.Record) []intel.Record {
	greatest := ""
	last := map[string]int64{} // owner: greatest DateAdded of a holding
	for _, r := range recs {
		if r.Version != "" {
			greatest = max(greatest, r.Version)
		} else {
			last[r.Owner] = max(last[r.Owner], r.DateAdded)
		}
	}
	var out []intel.Record
	for i := range recs {
		r := &recs[i]
		if r.Version != "" {
			r.Latest = r.Version == greatest
		} else {
			r.Latest = r.DateAdded == last[r.Owner]
		}
		if r.Latest {
			out = append(out, *r)
		}
	}
	return out
}

// SetState queues storing value under key; the empty value deletes it.
func (t *tx) SetState(ctx context.Context, key, value string) error {
	if key == "" || !utf8.ValidString(key) {
		return fault.New(fault.Invalid, "state key %q: want non-empty UTF-8", key)
	}
	if !utf8.ValidString(value) {
		return fault.New(fault.Invalid, "state value of %q is not UTF-8", key)
	}
	if value == "" {
		t.pending.Queue(`DELETE FROM state WHERE key = $1`, key)
	} else {
		t.pending.Queue(`INSERT INTO state (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	}
	if t.pending.Len() >= maxPending {
		if err := t.flush(ctx); err != nil {
			return fmt.Errorf("set state %q: %w", key, err)
		}
	}
	return nil
}

// AddNodeKey stores k; the same key again is a no-op (the first Added
// stays), another key under the same node and id a fault.Conflict. A zero
// k.Added is set to the transaction's time.
func (t *tx) AddNodeKey(ctx context.Context, k access.NodeKey) error {
	if k.ID == "" || len(k.Public) == 0 {
		return fault.New(fault.Invalid, "node key needs an id and a public key")
	}
	if k.Added.IsZero() {
		k.Added = t.now
	}
	added, err := column.Nanos(k.Added)
	if err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	}
	var inserted int64
	t.pending.Queue(`INSERT INTO node_keys (node, key_id, public_key, added) VALUES ($1, $2, $3, $4)
		ON CONFLICT (node, key_id) DO NOTHING`, k.Node, k.ID, k.Public, added).Exec(func(ct pgconn.CommandTag) error {
		inserted = ct.RowsAffected()
		return nil
	})
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	}
	if inserted == 1 {
		return nil
	}
	var stored []byte
	if err := t.tx.QueryRow(ctx, `SELECT public_key FROM node_keys WHERE node = $1 AND key_id = $2`,
		k.Node, k.ID).Scan(&stored); err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	}
	if !bytes.Equal(stored, k.Public) {
		return fault.New(fault.Conflict, "node %q has another key with id %s", k.Node, k.ID)
	}
	return nil
}

// Audit queues e for the audit log; it is written when the transaction
// commits. A zero e.Time is set to the transaction's time.
func (t *tx) Audit(ctx context.Context, e intel.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = t.now
	}
	if _, err := column.Nanos(e.Time); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	if _, err := column.List(e.Objects); err != nil {
		return fmt.Errorf("audit %s: objects: %w", e.Action, err)
	}
	e.Objects = slices.Clone(e.Objects)
	t.audit = append(t.audit, e)
	return nil
}

// queueAudit queues the statements that write entries, numbered from the
// 'audit_seq' counter, whose row they lock until the transaction ends:
// entries commit in Seq order, so a reader paging with AuditQuery.After
// misses none. The entries' times and objects must encode (see
// column.Nanos and column.List).
func queueAudit(b *pgx.Batch, entries []intel.AuditEntry) {
	n := len(entries)
	if n == 0 {
		return
	}
	at := make([]int64, n)
	org, token, action, object, objects, version, tlp, detail := make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		at[i], _ = column.Nanos(e.Time)
		objects[i], _ = column.List(e.Objects)
		org[i], token[i], action[i], object[i] = e.Org, e.Token, e.Action, e.Object
		version[i], tlp[i], detail[i] = e.Version, e.TLP, e.Detail
	}
	b.Queue(`WITH c AS (
		UPDATE counters SET value = value + $1 WHERE name = 'audit_seq' RETURNING value - $1 AS base
	)
	INSERT INTO audit (seq, time, org, token, action, object, objects, version, tlp, detail)
	SELECT c.base + e.n, e.time, e.org, e.token, e.action, e.object, e.objects, e.version, e.tlp, e.detail
	FROM c, unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
		WITH ORDINALITY AS e(time, org, token, action, object, objects, version, tlp, detail, n)`,
		int64(n), at, org, token, action, object, objects, version, tlp, detail)
}

// Reads.

// recordColumns lists the objects columns in the order scanRecords reads.
const recordColumns = `date_added, id, type, version, owner, local, tlp, recipients, revoked, spec_version, text, data, latest`

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Versions returns every record with id, oldest DateAdded first.
func (s *Store) Versions(ctx context.Context, id string) ([]intel.Record, error) {
	return versions(ctx, s.pool, id)
}

func versions(ctx context.Context, q querier, id string) ([]intel.Record, error) {
	recs, err := queryRecords(ctx, q, `SELECT `+recordColumns+` FROM objects WHERE id = $1 ORDER BY date_added`, id)
	if err != nil {
		return nil, fmt.Errorf("versions %s: %w", id, err)
	}
	return recs, nil
}

// Query returns the records q selects, ordered by DateAdded.
func (s *Store) Query(ctx context.Context, q intel.Query) ([]intel.Record, error) {
	query, args, err := buildQuery(q)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	recs, err := queryRecords(ctx, s.pool, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return recs, nil
}

// buildQuery turns q into SQL that the indexes serve: (type, latest,
// date_added) for typed pages, (latest, date_added) for pages of current
// versions, (id, date_added) for ids, the primary key otherwise.
func buildQuery(q intel.Query) (string, []any, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	inList := func(col string, vals []string) {
		if len(vals) == 1 {
			where = append(where, col+" = "+arg(vals[0]))
		} else {
			where = append(where, col+" = ANY("+arg(vals)+"::text[])")
		}
	}
	if len(q.Types) > 0 {
		inList("type", q.Types)
	}
	if len(q.IDs) > 0 {
		inList("id", q.IDs)
	}
	if q.Latest {
		where = append(where, "latest")
	}
	if q.After != 0 {
		where = append(where, "date_added > "+arg(q.After))
	}
	if q.Before != 0 {
		where = append(where, "date_added < "+arg(q.Before))
	}
	if q.Text != "" {
		where = append(where, "strpos(text, "+arg(q.Text)+") > 0")
	}
	if q.ExcludeRevoked {
		where = append(where, "NOT revoked")
	}
	if v := q.VisibleTo; v != nil {
		if v.Anonymous() {
			where = append(where, "tlp = 'clear'")
		} else {
			pattern, err := column.ListPattern(v.Org)
			if err != nil {
				return "", nil, err
			}
			where = append(where, "(tlp IN ('clear', 'green') OR owner = "+arg(v.Org)+
				" OR recipients LIKE "+arg(pattern)+` ESCAPE '\')`)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT " + recordColumns + " FROM objects")
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY date_added")
	if q.Limit > 0 {
		b.WriteString(" LIMIT " + arg(int64(q.Limit)))
	}
	return b.String(), args, nil
}

func queryRecords(ctx context.Context, q querier, query string, args ...any) ([]intel.Record, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// scanRecords reads and closes rows of recordColumns.
func scanRecords(rows pgx.Rows) ([]intel.Record, error) {
	defer rows.Close()
	var out []intel.Record
	for rows.Next() {
		var r intel.Record
		var tlp, recipients string
		var err error
		if err = rows.Scan(&r.DateAdded, &r.ID, &r.Type, &r.Version, &r.Owner, &r.Local, &tlp,
			&recipients, &r.Revoked, &r.SpecVersion, &r.Text, &r.Data, &r.Latest); err != nil {
			return nil, err
		}
		if r.TLP, err = column.ParseTLP(tlp); err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		if r.Recipients, err = column.ParseRecipients(recipients); err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		if r.Data == nil {
			r.Data = []byte{}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// LastAdded returns the greatest DateAdded stored, 0 if none. Once records
// are deleted, it may be smaller than DateAdded values handed out before.
func (s *Store) LastAdded(ctx context.Context) (int64, error) {
	var last int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(date_added), 0) FROM objects`).Scan(&last); err != nil {
		return 0, fmt.Errorf("last added: %w", err)
	}
	return last, nil
}

// Audit log.

// AppendAudit adds entries to the audit log in one transaction. A zero
// Time is set to the store's clock.
func (s *Store) AppendAudit(ctx context.Context, entries []intel.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	filled := make([]intel.AuditEntry, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		filled[i] = e
	}
	for _, e := range filled {
		if _, err := column.Nanos(e.Time); err != nil {
			return fmt.Errorf("append audit %s: %w", e.Action, err)
		}
		if _, err := column.List(e.Objects); err != nil {
			return fmt.Errorf("append audit %s: objects: %w", e.Action, err)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		queueAudit(&b, filled)
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// Audit returns the entries q selects, oldest first. q.Object matches an
// entry's Object, or an element of its Objects that is the id or begins
// with the id and "@"; the latter is a LIKE over the JSON text, so that
// filter reads every entry after q.After.
func (s *Store) Audit(ctx context.Context, q intel.AuditQuery) ([]intel.AuditEntry, error) {
	where := []string{"seq > $1"}
	args := []any{q.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, f := range []struct{ col, val string }{{"org", q.Org}, {"action", q.Action}} {
		if f.val != "" {
			where = append(where, f.col+" = "+arg(f.val))
		}
	}
	if q.Object != "" {
		exact, err := column.ListPattern(q.Object)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		versioned, err := column.ListPrefixPattern(q.Object + "@")
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		where = append(where, "(object = "+arg(q.Object)+" OR objects LIKE "+arg(exact)+
			` ESCAPE '\' OR objects LIKE `+arg(versioned)+` ESCAPE '\')`)
	}
	query := `SELECT seq, time, org, token, action, object, objects, version, tlp, detail FROM audit WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY seq`
	if q.Limit > 0 {
		query += " LIMIT " + arg(int64(q.Limit))
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []intel.AuditEntry
	for rows.Next() {
		var e intel.AuditEntry
		var at int64
		var objects string
		if err := rows.Scan(&e.Seq, &at, &e.Org, &e.Token, &e.Action, &e.Object, &objects, &e.Version, &e.TLP, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.Time = column.Time(at)
		if e.Objects, err = column.ParseList(objects); err != nil {
			return nil, fmt.Errorf("audit entry %d: objects: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// Directory.

const orgColumns = `id, name, local, node, created`

// scanOrgColumns reads a row of orgColumns.
func scanOrgColumns(row pgx.Row) (access.Org, error) {
	var o access.Org
	var created int64
	if err := row.Scan(&o.ID, &o.Name, &o.Local, &o.Node, &created); err != nil {
		return access.Org{}, err
	}
	o.Created = column.Time(created)
	return o, nil
}

func scanOrg(row pgx.Row, what string) (access.Org, error) {
	o, err := scanOrgColumns(row)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return access.Org{}, fault.New(fault.NotFound, "%s not found", what)
		}
		return access.Org{}, fmt.Errorf("%s: %w", what, err)
	}
	return o, nil
}

// Org returns the organisation with identity id (fault.NotFound if none).
func (s *Store) Org(ctx context.Context, id string) (access.Org, error) {
	return scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id), "organisation "+id)
}

// OrgByName returns the organisation called name (fault.NotFound if none).
func (s *Store) OrgByName(ctx context.Context, name string) (access.Org, error) {
	return scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE name = $1`, name),
		fmt.Sprintf("organisation %q", name))
}

// Orgs lists every organisation, ordered by name (byte order).
func (s *Store) Orgs(ctx context.Context) ([]access.Org, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("orgs: %w", err)
	}
	defer rows.Close()
	var out []access.Org
	for rows.Next() {
		o, err := scanOrgColumns(rows)
		if err != nil {
			return nil, fmt.Errorf("orgs: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("orgs: %w", err)
	}
	return out, nil
}

// CreateToken stores t: fault.Conflict if its id is taken, fault.NotFound
// if its organisation is not registered.
func (s *Store) CreateToken(ctx context.Context, t access.Token) error {
	created, err := column.Nanos(t.Created)
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	expires, err := toNullNanos(t.Expires)
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	revoked, err := toNullNanos(t.Revoked)
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	hash := t.Hash
	if hash == nil {
		hash = []byte{}
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO tokens (id, org, role, hash, created, expires, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, t.Org, string(t.Role), hash, created, expires, revoked)
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return fault.Wrap(fault.Conflict, err, "token %s exists", t.ID)
	case isForeignKey(err):
		return fault.Wrap(fault.NotFound, err, "organisation %s not found", t.Org)
	}
	return fmt.Errorf("create token %s: %w", t.ID, err)
}

const tokenColumns = `id, org, role, hash, created, expires, revoked`

func scanToken(row pgx.Row) (access.Token, error) {
	var t access.Token
	var role string
	var created int64
	var expires, revoked *int64
	if err := row.Scan(&t.ID, &t.Org, &role, &t.Hash, &created, &expires, &revoked); err != nil {
		return access.Token{}, err
	}
	t.Role = access.Role(role)
	t.Created = column.Time(created)
	if expires != nil {
		t.Expires = column.Time(*expires)
	}
	if revoked != nil {
		t.Revoked = column.Time(*revoked)
	}
	return t, nil
}

// Token returns the token with public id (fault.NotFound if none).
func (s *Store) Token(ctx context.Context, id string) (access.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return access.Token{}, fault.New(fault.NotFound, "token %s not found", id)
	}
	if err != nil {
		return access.Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return t, nil
}

// Tokens lists the tokens of organisation org ("" for all), ordered by
// creation time, then id.
func (s *Store) Tokens(ctx context.Context, org string) ([]access.Token, error) {
	query := `SELECT ` + tokenColumns + ` FROM tokens`
	var args []any
	if org != "" {
		query += ` WHERE org = $1`
		args = append(args, org)
	}
	query += ` ORDER BY created, id`
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []access.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks the token with public id revoked at at (the store's
// clock if at is zero), keeping the first time if it was revoked already.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	n, err := column.Nanos(at)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked = coalesce(revoked, $1) WHERE id = $2`, n, id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.NotFound, "token %s not found", id)
	}
	return nil
}

// NodeKeys returns the keys of node, oldest Added first (then by id).
func (s *Store) NodeKeys(ctx context.Context, node string) ([]access.NodeKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT node, key_id, public_key, added FROM node_keys
		WHERE node = $1 ORDER BY added, key_id`, node)
	if err != nil {
		return nil, fmt.Errorf("keys of node %q: %w", node, err)
	}
	defer rows.Close()
	var out []access.NodeKey
	for rows.Next() {
		var k access.NodeKey
		var added int64
		if err := rows.Scan(&k.Node, &k.ID, &k.Public, &added); err != nil {
			return nil, fmt.Errorf("keys of node %q: %w", node, err)
		}
		k.Added = column.Time(added)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys of node %q: %w", node, err)
	}
	return out, nil
}

// Node state.

// State returns the value stored under key ("" and false if none).
func (s *Store) State(ctx context.Context, key string) (string, bool, error) {
	if !utf8.ValidString(key) {
		return "", false, nil // SetState stores none
	}
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM state WHERE key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("state %q: %w", key, err)
	}
	return v, true, nil
}

// States returns every key and value whose key begins with prefix: a range
// of the primary key (keys compare as bytes, COLLATE "C").
func (s *Store) States(ctx context.Context, prefix string) (map[string]string, error) {
	if !utf8.ValidString(prefix) {
		return nil, fault.New(fault.Invalid, "state prefix %q is not UTF-8", prefix)
	}
	query, args := statesQuery(prefix)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("states %q: %w", prefix, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("states %q: %w", prefix, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("states %q: %w", prefix, err)
	}
	return out, nil
}

// statesQuery returns the query of States(prefix) and its arguments.
func statesQuery(prefix string) (string, []any) {
	if end, ok := column.PrefixEnd(prefix); ok {
		return `SELECT key, value FROM state WHERE key >= $1 AND key < $2`, []any{prefix, end}
	}
	return `SELECT key, value FROM state WHERE key >= $1`, []any{prefix}
}

// Encoding.

// PostgreSQL error codes (SQLSTATE) the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint.
func isUnique(err error) bool { return err != nil && pgCode(err) == uniqueViolation }

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool { return err != nil && pgCode(err) == foreignKeyViolation }

// toNullNanos is toNanos with NULL (nil) for the zero time.
func toNullNanos(t time.Time) (*int64, error) {
	n, err := column.Nanos(t)
	if err != nil || n == 0 {
		return nil, err
	}
	return &n, nil
}

var _ intel.Store = (*Store)(nil)

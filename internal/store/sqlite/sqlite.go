// Package sqlite stores a node's intelligence (objects, organisations,
// tokens, the audit log, node keys and node state) in one SQLite database
// file, through modernc.org/sqlite (pure Go, no cgo). [*Store] implements
// [intel.Store].
//
// The database runs in WAL mode with a busy timeout, so several processes
// may open the same file at once (a CLI command while `cointrail serve`
// runs): readers never block the writer nor each other, and writers wait
// for one another. Reads use a pool of connections; writes go through a
// single connection per process and begin with BEGIN IMMEDIATE, which takes
// SQLite's write lock at once. That lock serialises every writer of the
// file, in this process and in others, so the DateAdded values a write
// transaction hands out are greater than those of every transaction
// committed before it, and commit order is DateAdded order.
//
// The schema carries a version and migrates forward at [Open] (see
// migrations/).
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/store/column"
	"github.com/cointrail/cointrail/internal/store/migration"
)

// Memory is the path that opens a private in-memory database, for tests.
// Such a store has one connection, which reads and writes: a function
// passed to [Store.Update] must use its [intel.Tx], never the Store itself,
// or it waits for ever.
const Memory = ":memory:"

// Options configures a [Store]. The zero value is valid.
type Options struct {
	// Logger receives the store's log records. Default: discard.
	Logger *slog.Logger
	// Now is the clock used for DateAdded, audit times and registration
	// times left zero. Default: time.Now.
	Now func() time.Time
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process before failing. Default: 10s.
	BusyTimeout time.Duration
	// MaxReadConns caps the connections of the read pool. Default: the
	// larger of 4 and GOMAXPROCS.
	MaxReadConns int
}

// EnsureDefaults fills in the zero fields of o.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.MaxReadConns <= 0 {
		o.MaxReadConns = max(4, runtime.GOMAXPROCS(0))
	}
}

// Store is an [intel.Store] on a SQLite database. It is safe for concurrent
// use. Close it when done.
type Store struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	// rdb is the read pool; wdb holds the one write connection. They are
	// the same pool for [Memory].
	rdb *sql.DB
	wdb *sql.DB

	// Statements prepared on wdb, used inside write transactions.
	stmt struct {
		readClock, writeClock            *sql.Stmt
		maxVersion                       *sql.Stmt
		insertObject                     *sql.Stmt
		supersedeVersioned, supersedeUnv *sql.Stmt
		deleteAll, deleteVersions        *sql.Stmt
		relatest                         *sql.Stmt
		insertAudit                      *sql.Stmt
		insertOrg, orgByID, orgByName    *sql.Stmt
		versions                         *sql.Stmt
		setState, deleteState            *sql.Stmt
	}
	// readVersions is prepared on rdb.
	readVersions *sql.Stmt
}

// Open opens (creating it if needed) the database file at path and migrates
// its schema forward. A database whose schema is newer than this binary
// knows is an error. path [Memory] opens a private in-memory database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts.EnsureDefaults()
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: unsupported database path %q (want a plain file name)", path)
	}
	s := &Store{path: path, log: opts.Logger.With("store", "sqlite"), now: opts.Now}
	ms := opts.BusyTimeout.Milliseconds()

	common := url.Values{}
	common.Add("_pragma", "busy_timeout("+strconv.FormatInt(ms, 10)+")")
	common.Add("_pragma", "foreign_keys(1)")
	// synchronous=FULL: WAL with NORMAL keeps every commit through a kill
	// -9 of the process (the WAL is in the page cache of the OS), but the
	// last commits may be lost on power loss or an OS crash. A committed
	// bundle is a promise to the submitter, and one fsync per write
	// transaction (bundles commit in batches) costs little, so we sync.
	common.Add("_pragma", "synchronous(FULL)")
	common.Add("_pragma", "cache_size(-16000)")

	write := cloneValues(common)
	write.Add("_pragma", "journal_mode(WAL)")
	write.Set("_txlock", "immediate")

	var err error
	if path == Memory {
		s.wdb, err = sql.Open("sqlite", path+"?"+write.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		// Every connection to :memory: is a database of its own: keep one,
		// for ever.
		s.wdb.SetMaxOpenConns(1)
		s.wdb.SetMaxIdleConns(1)
		s.wdb.SetConnMaxLifetime(0)
		s.wdb.SetConnMaxIdleTime(0)
		s.rdb = s.wdb
	} else {
		s.wdb, err = sql.Open("sqlite", path+"?"+write.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		s.wdb.SetMaxOpenConns(1)
		s.wdb.SetMaxIdleConns(1)
		read := cloneValues(common)
		read.Add("_pragma", "query_only(1)")
		s.rdb, err = sql.Open("sqlite", path+"?"+read.Encode())
		if err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		s.rdb.SetMaxOpenConns(opts.MaxReadConns)
		s.rdb.SetMaxIdleConns(opts.MaxReadConns)
	}
	if err := s.init(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// The statements that clear Latest on the records a new one supersedes.
// They name the id index: without table statistics SQLite's planner would
// pick objects_latest (latest, date_added) instead, and every insert would
// walk every current record.
const (
	supersedeVersionedSQL = `UPDATE objects INDEXED BY objects_id SET latest = 0
		WHERE id = ? AND version <> '' AND latest = 1 AND date_added <> ?`
	supersedeUnversionedSQL = `UPDATE objects INDEXED BY objects_id SET latest = 0
		WHERE id = ? AND owner = ? AND version = '' AND latest = 1 AND date_added <> ?`
)

// The statements of Tx.Delete: remove an owner's records of an id (all, or
// those of the versions in a JSON array), then set Latest anew on what
// remains of the id (the greatest version; each owner's last holding),
// changing only the rows whose flag changes. They name the id index for the
// reason above.
const (
	deleteAllSQL      = `DELETE FROM objects INDEXED BY objects_id WHERE id = ? AND owner = ?`
	deleteVersionsSQL = `DELETE FROM objects INDEXED BY objects_id
		WHERE id = ? AND owner = ? AND version IN (SELECT value FROM json_each(?))`
	relatestSQL = `UPDATE objects INDEXED BY objects_id SET latest = NOT latest
		WHERE id = ? AND latest <> CASE WHEN version <> ''
			THEN version = (SELECT max(o.version) FROM objects AS o
				WHERE o.id = objects.id AND o.version <> '')
			ELSE date_added = (SELECT max(o.date_added) FROM objects AS o
				WHERE o.id = objects.id AND o.owner = objects.owner AND o.version = '')
		END`
)

// init connects, migrates and prepares the write statements.
func (s *Store) init(ctx context.Context) error {
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("sqlite: %s: %w", s.path, err)
	}
	prepare := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.stmt.readClock, `SELECT last FROM clock WHERE id = 1`},
		{&s.stmt.writeClock, `UPDATE clock SET last = ? WHERE id = 1`},
		{&s.stmt.maxVersion, `SELECT max(version) FROM objects WHERE id = ? AND version <> ''`},
		{&s.stmt.insertObject, `INSERT INTO objects (` + recordColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.stmt.supersedeVersioned, supersedeVersionedSQL},
		{&s.stmt.supersedeUnv, supersedeUnversionedSQL},
		{&s.stmt.deleteAll, deleteAllSQL},
		{&s.stmt.deleteVersions, deleteVersionsSQL},
		{&s.stmt.relatest, relatestSQL},
		{&s.stmt.insertAudit, `INSERT INTO audit (time, org, token, action, object, objects, version, tlp, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.stmt.insertOrg, `INSERT INTO orgs (id, name, local, node, created) VALUES (?, ?, ?, ?, ?)`},
		{&s.stmt.orgByID, `SELECT ` + orgColumns + ` FROM orgs WHERE id = ?`},
		{&s.stmt.orgByName, `SELECT ` + orgColumns + ` FROM orgs WHERE name = ?`},
		{&s.stmt.versions, versionsQuery},
		{&s.stmt.setState, `INSERT INTO state (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`},
		{&s.stmt.deleteState, `DELETE FROM state WHERE key = ?`},
	}
	for _, p := range prepare {
		st, err := s.wdb.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.query, err)
		}
		*p.dst = st
	}
	st, err := s.rdb.PrepareContext(ctx, versionsQuery)
	if err != nil {
		return fmt.Errorf("sqlite: prepare %q: %w", versionsQuery, err)
	}
	s.readVersions = st
	return nil
}

// Close releases the store's connections.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{
		s.stmt.readClock, s.stmt.writeClock, s.stmt.maxVersion, s.stmt.insertObject,
		s.stmt.supersedeVersioned, s.stmt.supersedeUnv, s.stmt.deleteAll, s.stmt.deleteVersions,
		s.stmt.relatest, s.stmt.insertAudit, s.stmt.insertOrg, s.stmt.orgByID, s.stmt.orgByName,
		s.stmt.versions, s.stmt.setState, s.stmt.deleteState, s.readVersions,
	} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.rdb != nil && s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
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

// migrate applies the migrations the database lacks, each in its own
// write transaction, and refuses a database newer than this binary.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	known := ms[len(ms)-1].Version
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := s.wdb.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade cointrail", current, known)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		applied, err := s.applyMigration(ctx, m)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if applied {
			s.log.InfoContext(ctx, "schema migrated", "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// applyMigration runs m in one transaction unless another process applied
// it first.
func (s *Store) applyMigration(ctx context.Context, m migration.Migration) (bool, error) {
	tx, err := s.wdb.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version >= ?`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("check: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("exec: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, s.now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// Write transactions.

// Update runs fn in one write transaction and commits it if fn returns nil.
// The transaction begins with BEGIN IMMEDIATE, so it holds the database's
// write lock from the start: writers (of every process) run one at a time,
// and DateAdded order is commit order. fn's error is returned unchanged.
//
// A fault.Conflict returned by [intel.Tx.Insert], [intel.Tx.CreateOrg] or
// [intel.Tx.AddNodeKey], and a fault.NotFound returned by
// [intel.Tx.SetOrgNode], leave the transaction usable: fn may go on and
// commit the rest.
//
// fn must not call the Store's own writing methods (Update, AppendAudit,
// CreateToken, RevokeToken): they wait for the write connection that fn's
// transaction holds.
func (s *Store) Update(ctx context.Context, fn func(tx intel.Tx) error) error {
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer sqlTx.Rollback()
	t := &tx{s: s, tx: sqlTx, stmts: map[*sql.Stmt]*sql.Stmt{}}
	if err := t.stmt(ctx, s.stmt.readClock).QueryRowContext(ctx).Scan(&t.last); err != nil {
		return fmt.Errorf("sqlite: read clock: %w", err)
	}
	// Take the time once the lock is held: the wait is not part of it.
	t.now = s.now()
	t.nowMicros = t.now.UnixMicro()
	if err := fn(t); err != nil {
		return err
	}
	if t.dirty {
		if _, err := t.stmt(ctx, s.stmt.writeClock).ExecContext(ctx, t.last); err != nil {
			return fmt.Errorf("sqlite: write clock: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// tx is the [intel.Tx] of [Store.Update]. It is used by one goroutine.
type tx struct {
	s  *Store
	tx *sql.Tx
	// now is the time fixed at begin; nowMicros, in microseconds.
	now       time.Time
	nowMicros int64
	// last is the greatest DateAdded handed out so far; dirty reports
	// whether this transaction handed one out.
	last  int64
	dirty bool
	// stmts maps the store's prepared statements to their transaction
	// bound forms.
	stmts map[*sql.Stmt]*sql.Stmt
}

func (t *tx) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	if ts, ok := t.stmts[st]; ok {
		return ts
	}
	ts := t.tx.StmtContext(ctx, st)
	t.stmts[st] = ts
	return ts
}

// Insert stores r, setting r.DateAdded and r.Latest.
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
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	latest := true
	if r.Version != "" {
		var cur sql.NullString
		if err := t.stmt(ctx, t.s.stmt.maxVersion).QueryRowContext(ctx, r.ID).Scan(&cur); err != nil {
			return fmt.Errorf("insert %s: latest version: %w", r.ID, err)
		}
		latest = !cur.Valid || r.Version > cur.String
	}
	added := max(t.nowMicros, t.last+1)
	if _, err := t.stmt(ctx, t.s.stmt.insertObject).ExecContext(ctx,
		added, r.ID, r.Type, r.Version, r.Owner, r.Local, tlp, recipients,
		r.Revoked, r.SpecVersion, r.Text, data, latest); err != nil {
		if isUnique(err) {
			return fault.Wrap(fault.Conflict, err, "%s version %s is already stored", r.ID, r.Version)
		}
		return fmt.Errorf("insert %s: %w", r.ID, err)
	}
	if latest {
		var err error
		if r.Version != "" {
			_, err = t.stmt(ctx, t.s.stmt.supersedeVersioned).ExecContext(ctx, r.ID, added)
		} else {
			_, err = t.stmt(ctx, t.s.stmt.supersedeUnv).ExecContext(ctx, r.ID, r.Owner, added)
		}
		if err != nil {
			return fmt.Errorf("insert %s: supersede: %w", r.ID, err)
		}
	}
	t.last, t.dirty = added, true
	r.DateAdded, r.Latest = added, latest
	return nil
}

// Versions returns every record with id, including this transaction's.
func (t *tx) Versions(ctx context.Context, id string) ([]intel.Record, error) {
	return versions(ctx, t.stmt(ctx, t.s.stmt.versions), id)
}

// Org returns the organisation with identity id, including those created in
// this transaction.
func (t *tx) Org(ctx context.Context, id string) (access.Org, error) {
	return scanOrg(t.stmt(ctx, t.s.stmt.orgByID).QueryRowContext(ctx, id), "organisation "+id)
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
	if _, err := t.stmt(ctx, t.s.stmt.insertOrg).ExecContext(ctx, o.ID, o.Name, o.Local, o.Node, created); err != nil {
		if isUnique(err) {
			return fault.Wrap(fault.Conflict, err, "an organisation with id %s or name %q exists", o.ID, o.Name)
		}
		return fmt.Errorf("create org %s: %w", o.ID, err)
	}
	return nil
}

// SetOrgNode binds the organisation with identity id to node
// (fault.NotFound if there is no such organisation).
func (t *tx) SetOrgNode(ctx context.Context, id, node string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE orgs SET node = ? WHERE id = ?`, node, id)
	if err != nil {
		return fmt.Errorf("set node of %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set node of %s: %w", id, err)
	} else if n == 0 {
		return fault.New(fault.NotFound, "organisation %s not found", id)
	}
	return nil
}

// Delete removes owner's records of id (all, or those whose Version is in
// versions) and sets Latest anew on the records of id that remain.
func (t *tx) Delete(ctx context.Context, id, owner string, versions []string) (int, error) {
	var res sql.Result
	var err error
	if len(versions) == 0 {
		res, err = t.stmt(ctx, t.s.stmt.deleteAll).ExecContext(ctx, id, owner)
	} else {
		var list []byte
		if list, err = json.Marshal(versions); err != nil {
			return 0, fmt.Errorf("delete %s: %w", id, err)
		}
		res, err = t.stmt(ctx, t.s.stmt.deleteVersions).ExecContext(ctx, id, owner, string(list))
	}
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", id, err)
	}
	if n > 0 {
		if _, err := t.stmt(ctx, t.s.stmt.relatest).ExecContext(ctx, id); err != nil {
			return 0, fmt.Errorf("delete %s: latest: %w", id, err)
		}
	}
	return int(n), nil
}

// SetState stores value under key; the empty value deletes it.
func (t *tx) SetState(ctx context.Context, key, value string) error {
	if err := checkState(key, value); err != nil {
		return err
	}
	var err error
	if value == "" {
		_, err = t.stmt(ctx, t.s.stmt.deleteState).ExecContext(ctx, key)
	} else {
		_, err = t.stmt(ctx, t.s.stmt.setState).ExecContext(ctx, key, value)
	}
	if err != nil {
		return fmt.Errorf("set state %q: %w", key, err)
	}
	return nil
}

// checkState refuses an empty key, and a key or value that is not UTF-8
// (which PostgreSQL would not store).
func checkState(key, value string) error {
	if key == "" || !utf8.ValidString(key) {
		return fault.New(fault.Invalid, "state key %q: want non-empty UTF-8", key)
	}
	if !utf8.ValidString(value) {
		return fault.New(fault.Invalid, "state value of %q is not UTF-8", key)
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
	res, err := t.tx.ExecContext(ctx, `INSERT INTO node_keys (node, key_id, public_key, added) VALUES (?, ?, ?, ?)
		ON CONFLICT (node, key_id) DO NOTHING`, k.Node, k.ID, k.Public, added)
	if err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	} else if n == 1 {
		return nil
	}
	var stored []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT public_key FROM node_keys WHERE node = ? AND key_id = ?`,
		k.Node, k.ID).Scan(&stored); err != nil {
		return fmt.Errorf("add key %s of node %q: %w", k.ID, k.Node, err)
	}
	if !bytes.Equal(stored, k.Public) {
		return fault.New(fault.Conflict, "node %q has another key with id %s", k.Node, k.ID)
	}
	return nil
}

// Audit appends e to the audit log. A zero e.Time is set to the
// transaction's time.
func (t *tx) Audit(ctx context.Context, e intel.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = t.now
	}
	return insertAudit(ctx, t.stmt(ctx, t.s.stmt.insertAudit), e)
}

func insertAudit(ctx context.Context, st *sql.Stmt, e intel.AuditEntry) error {
	at, err := column.Nanos(e.Time)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	objects, err := column.List(e.Objects)
	if err != nil {
		return fmt.Errorf("audit %s: objects: %w", e.Action, err)
	}
	if _, err := st.ExecContext(ctx, at, e.Org, e.Token, e.Action, e.Object, objects, e.Version, e.TLP, e.Detail); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Reads.

// recordColumns lists the objects columns in the order scanRecord reads.
const recordColumns = `date_added, id, type, version, owner, local, tlp, recipients, revoked, spec_version, text, data, latest`

const versionsQuery = `SELECT ` + recordColumns + ` FROM objects WHERE id = ? ORDER BY date_added`

// Versions returns every record with id, oldest DateAdded first.
func (s *Store) Versions(ctx context.Context, id string) ([]intel.Record, error) {
	return versions(ctx, s.readVersions, id)
}

func versions(ctx context.Context, st *sql.Stmt, id string) ([]intel.Record, error) {
	rows, err := st.QueryContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("versions %s: %w", id, err)
	}
	recs, err := scanRecords(rows)
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
	recs, err := queryRecords(ctx, s.rdb, query, args...)
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
	inList := func(col string, vals []string) error {
		if len(vals) == 1 {
			where = append(where, col+" = ?")
			args = append(args, vals[0])
			return nil
		}
		b, err := json.Marshal(vals)
		if err != nil {
			return err
		}
		where = append(where, col+" IN (SELECT value FROM json_each(?))")
		args = append(args, string(b))
		return nil
	}
	if len(q.Types) > 0 {
		if err := inList("type", q.Types); err != nil {
			return "", nil, err
		}
	}
	if len(q.IDs) > 0 {
		if err := inList("id", q.IDs); err != nil {
			return "", nil, err
		}
	}
	if q.Latest {
		where = append(where, "latest = 1")
	}
	if q.After != 0 {
		where = append(where, "date_added > ?")
		args = append(args, q.After)
	}
	if q.Before != 0 {
		where = append(where, "date_added < ?")
		args = append(args, q.Before)
	}
	if q.Text != "" {
		where = append(where, "instr(text, ?) > 0")
		args = append(args, q.Text)
	}
	if q.ExcludeRevoked {
		where = append(where, "revoked = 0")
	}
	if v := q.VisibleTo; v != nil {
		if v.Anonymous() {
			where = append(where, "tlp = 'clear'")
		} else {
			pattern, err := column.ListPattern(v.Org)
			if err != nil {
				return "", nil, err
			}
			where = append(where, `(tlp IN ('clear', 'green') OR owner = ? OR recipients LIKE ? ESCAPE '\')`)
			args = append(args, v.Org, pattern)
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
		b.WriteString(" LIMIT ?")
		args = append(args, q.Limit)
	}
	return b.String(), args, nil
}

func queryRecords(ctx context.Context, db *sql.DB, query string, args ...any) ([]intel.Record, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// scanRecords reads and closes rows of recordColumns.
func scanRecords(rows *sql.Rows) ([]intel.Record, error) {
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
	if err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(date_added), 0) FROM objects`).Scan(&last); err != nil {
		return 0, fmt.Errorf("last added: %w", err)
	}
	return last, nil
}

// Audit log.

// AppendAudit adds entries to the audit log in one write transaction. A
// zero Time is set to the store's clock.
func (s *Store) AppendAudit(ctx context.Context, entries []intel.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append audit: begin: %w", err)
	}
	defer sqlTx.Rollback()
	st := sqlTx.StmtContext(ctx, s.stmt.insertAudit)
	now := s.now()
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		if err := insertAudit(ctx, st, e); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("append audit: commit: %w", err)
	}
	return nil
}

// Audit returns the entries q selects, oldest first. q.Object matches an
// entry's Object, or an element of its Objects that is the id or begins
// with the id and "@"; the latter is a LIKE over the JSON text, so that
// filter reads every entry after q.After.
func (s *Store) Audit(ctx context.Context, q intel.AuditQuery) ([]intel.AuditEntry, error) {
	where := []string{"seq > ?"}
	args := []any{q.After}
	for _, f := range []struct{ col, val string }{{"org", q.Org}, {"action", q.Action}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
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
		where = append(where, `(object = ? OR objects LIKE ? ESCAPE '\' OR objects LIKE ? ESCAPE '\')`)
		args = append(args, q.Object, exact, versioned)
	}
	query := `SELECT seq, time, org, token, action, object, objects, version, tlp, detail FROM audit WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY seq`
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, query, args...)
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
func scanOrgColumns(row rowScanner) (access.Org, error) {
	var o access.Org
	var created int64
	if err := row.Scan(&o.ID, &o.Name, &o.Local, &o.Node, &created); err != nil {
		return access.Org{}, err
	}
	o.Created = column.Time(created)
	return o, nil
}

func scanOrg(row *sql.Row, what string) (access.Org, error) {
	o, err := scanOrgColumns(row)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return access.Org{}, fault.New(fault.NotFound, "%s not found", what)
		}
		return access.Org{}, fmt.Errorf("%s: %w", what, err)
	}
	return o, nil
}

// Org returns the organisation with identity id (fault.NotFound if none).
func (s *Store) Org(ctx context.Context, id string) (access.Org, error) {
	return scanOrg(s.rdb.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = ?`, id), "organisation "+id)
}

// OrgByName returns the organisation called name (fault.NotFound if none).
func (s *Store) OrgByName(ctx context.Context, name string) (access.Org, error) {
	return scanOrg(s.rdb.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE name = ?`, name),
		fmt.Sprintf("organisation %q", name))
}

// Orgs lists every organisation, ordered by name (byte order).
func (s *Store) Orgs(ctx context.Context) ([]access.Org, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+orgColumns+` FROM orgs ORDER BY name`)
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
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO tokens (id, org, role, hash, created, expires, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Org, string(t.Role), hash, created, expires, revoked)
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

type rowScanner interface{ Scan(dest ...any) error }

func scanToken(row rowScanner) (access.Token, error) {
	var t access.Token
	var role string
	var created int64
	var expires, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Org, &role, &t.Hash, &created, &expires, &revoked); err != nil {
		return access.Token{}, err
	}
	t.Role = access.Role(role)
	t.Created = column.Time(created)
	t.Expires = column.Time(expires.Int64)
	t.Revoked = column.Time(revoked.Int64)
	return t, nil
}

// Token returns the token with public id (fault.NotFound if none).
func (s *Store) Token(ctx context.Context, id string) (access.Token, error) {
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
		query += ` WHERE org = ?`
		args = append(args, org)
	}
	query += ` ORDER BY created, id`
	rows, err := s.rdb.QueryContext(ctx, query, args...)
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
	res, err := s.wdb.ExecContext(ctx, `UPDATE tokens SET revoked = coalesce(revoked, ?) WHERE id = ?`, n, id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	} else if k == 0 {
		return fault.New(fault.NotFound, "token %s not found", id)
	}
	return nil
}

// NodeKeys returns the keys of node, oldest Added first (then by id).
func (s *Store) NodeKeys(ctx context.Context, node string) ([]access.NodeKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT node, key_id, public_key, added FROM node_keys
		WHERE node = ? ORDER BY added, key_id`, node)
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
	var v string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("state %q: %w", key, err)
	}
	return v, true, nil
}

// States returns every key and value whose key begins with prefix: a range
// of the primary key (keys compare as bytes).
func (s *Store) States(ctx context.Context, prefix string) (map[string]string, error) {
	if !utf8.ValidString(prefix) {
		return nil, fault.New(fault.Invalid, "state prefix %q is not UTF-8", prefix)
	}
	query, args := statesQuery(prefix)
	rows, err := s.rdb.QueryContext(ctx, query, args...)
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
		return `SELECT key, value FROM state WHERE key >= ? AND key < ?`, []any{prefix, end}
	}
	return `SELECT key, value FROM state WHERE key >= ?`, []any{prefix}
}

// Encoding.

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// toNullNanos is toNanos with NULL for the zero time.
func toNullNanos(t time.Time) (sql.NullInt64, error) {
	n, err := column.Nanos(t)
	return sql.NullInt64{Int64: n, Valid: n != 0}, err
}

var _ intel.Store = (*Store)(nil)

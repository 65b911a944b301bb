package alert

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/store/migration"
)

// File is the name of the alerts' database in a node's data folder.
const File = "alerts.db"

// Memory is the path that opens a private in-memory store, for tests.
const Memory = ":memory:"

// StoreOptions configure a [Store]. The zero value is valid.
type StoreOptions struct {
	// Logger receives the store's log records. Default: discard.
	Logger *slog.Logger
	// BusyTimeout is how long a statement waits for a lock another process
	// holds. Default: 10s.
	BusyTimeout time.Duration
}

// Store keeps watches, alerts, the webhook outbox and the live traces'
// state in one SQLite file. It runs in WAL mode with a busy timeout, so a
// command (cointrail alert ack) may write while cointrail serve runs on
// the same file. It is safe for concurrent use; its one connection
// serialises the statements of a process. Close it when done.
type Store struct {
	db   *sql.DB
	path string
	log  *slog.Logger
	// Now is the store's clock; tests may replace it before use.
	Now func() time.Time
}

// OpenStore opens (creating it if needed) the store at path and migrates
// its schema forward; a schema newer than this binary knows is an error.
func OpenStore(ctx context.Context, path string, opts StoreOptions) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("alert: unsupported database path %q", path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	// An alert is a promise to deliver it: keep every commit through a
	// power loss.
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("alert: open %s: %w", path, err)
	}
	// One connection: a :memory: database lives in it, and the writes of
	// a process never wait for one another's locks.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, path: path, log: opts.Logger.With("store", "alerts"), Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("alert: %s: %w", path, err), db.Close())
	}
	return s, nil
}

// Close closes the store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("alert: close %s: %w", s.path, err)
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// SchemaVersion is the newest schema version this binary knows.
func SchemaVersion() int {
	ms, err := migration.Load(migrationFiles, "migrations")
	if err != nil {
		return 0
	}
	return migration.Latest(ms)
}

// migrate applies the migrations the database lacks, each in one
// transaction, recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migration.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.update(ctx, func(tx *sql.Tx) error {
			var current int
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if current > migration.Latest(ms) {
				return fmt.Errorf("schema version %d is newer than this binary's %d: upgrade cointrail", current, migration.Latest(ms))
			}
			if current >= m.Version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, formatTime(s.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// update runs fn in one write transaction (BEGIN IMMEDIATE: the write lock
// is taken at once) and commits it if fn returns nil.
func (s *Store) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func newID() string { return uuid.NewString() }

// Watches.

// AddWatch stores w, giving it an id and a creation time when it has none.
// The caller checks w (see [Service.AddWatch]).
func (s *Store) AddWatch(ctx context.Context, w *Watch) error {
	if w.ID == "" {
		w.ID = "w-" + strings.ReplaceAll(newID(), "-", "")[:16]
	}
	if w.Created.IsZero() {
		w.Created = s.Now().UTC().Truncate(time.Millisecond)
	}
	if w.Min == "" {
		w.Min = "0"
	}
	addrs, err := json.Marshal(nonNil(w.Addresses))
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO watches (id, org, chain, addresses, label, min_amount, webhook, secret, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.Org, w.Chain, string(addrs), w.Label, w.Min, w.Webhook, w.Secret, formatTime(w.Created))
		if err != nil {
			return fmt.Errorf("add watch: %w", err)
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const watchColumns = `id, org, chain, addresses, label, min_amount, webhook, secret, created`

func scanWatch(sc scanner) (Watch, error) {
	var w Watch
	var addrs, created string
	if err := sc.Scan(&w.ID, &w.Org, &w.Chain, &addrs, &w.Label, &w.Min, &w.Webhook, &w.Secret, &created); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(addrs), &w.Addresses); err != nil {
		return w, fmt.Errorf("watch %s: addresses: %w", w.ID, err)
	}
	if len(w.Addresses) == 0 {
		w.Addresses = nil
	}
	w.Created = parseTime(created)
	return w, nil
}

// Watches returns org's watches (every organisation's when org is ""),
// oldest first. The secrets are filled in.
func (s *Store) Watches(ctx context.Context, org string) ([]Watch, error) {
	return queryAll(ctx, s.db, "watches", scanWatch, `SELECT `+watchColumns+` FROM watches WHERE ? = '' OR org = ? ORDER BY created, id`, org, org)
}

// queryAll runs query and scans every row with scan; what names the rows
// in the error.
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// Watch returns the watch with id (of org, unless org is ""), or an error
// with code fault.NotFound.
func (s *Store) Watch(ctx context.Context, id, org string) (Watch, error) {
	w, err := scanWatch(s.db.QueryRowContext(ctx, `SELECT `+watchColumns+` FROM watches WHERE id = ? AND (? = '' OR org = ?)`, id, org, org))
	if errors.Is(err, sql.ErrNoRows) {
		return w, fault.New(fault.NotFound, "no watch %s", id)
	}
	if err != nil {
		return w, fmt.Errorf("watch %s: %w", id, err)
	}
	return w, nil
}

// RemoveWatch deletes the watch with id (of org, unless org is "") and
// cancels the webhook deliveries of its alerts still pending; its alerts
// stay. A missing watch is an error with code fault.NotFound.
func (s *Store) RemoveWatch(ctx context.Context, id, org string) error {
	return s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM watches WHERE id = ? AND (? = '' OR org = ?)`, id, org, org)
		if err != nil {
			return fmt.Errorf("remove watch %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.New(fault.NotFound, "no watch %s", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE delivered IS NULL AND alert IN (SELECT id FROM alerts WHERE watch = ?)`, id); err != nil {
			return fmt.Errorf("cancel deliveries of watch %s: %w", id, err)
		}
		return nil
	})
}

// Alerts.

// insertAlert stores a, unless an alert of the same incident, watch,
// transaction and address is stored already, and queues its delivery to
// webhook when there is one. It reports whether it stored a, and fills in
// a's Seq, State and Created.
func (s *Store) insertAlert(ctx context.Context, a *Alert, webhook, secret string) (bool, error) {
	now := s.Now().UTC().Truncate(time.Millisecond)
	a.Created, a.State, a.Acknowledged, a.Delivery = now, StateNew, nil, nil
	if a.ID == "" {
		a.ID = newID()
	}
	inserted := false
	err := s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, org, watch, chain, address, incident, tx, created, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}') ON CONFLICT (incident, watch, tx, address) DO NOTHING`,
			a.ID, a.Org, a.Watch, a.Chain, a.Address, a.Incident, a.Tx, formatTime(now))
		if err != nil {
			return fmt.Errorf("insert alert: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if a.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert alert: %w", err)
		}
		body, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET body = ? WHERE seq = ?`, string(body), a.Seq); err != nil {
			return fmt.Errorf("insert alert: %w", err)
		}
		if webhook != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (alert, url, secret, next_attempt) VALUES (?, ?, ?, ?)`,
				a.ID, webhook, secret, now.UnixMilli()); err != nil {
				return fmt.Errorf("queue alert: %w", err)
			}
			a.Delivery = &Delivery{State: DeliveryPending, NextAttempt: &now}
		}
		inserted = true
		return nil
	})
	return inserted, err
}

const alertQuery = `SELECT a.seq, a.body, a.state, a.acknowledged,
	o.attempts, o.next_attempt, o.last_error, o.delivered
	FROM alerts AS a LEFT JOIN outbox AS o ON o.alert = a.id`

func scanAlert(sc scanner) (Alert, error) {
	var a Alert
	var seq int64
	var body, state string
	var acked, lastErr sql.NullString
	var attempts, next, delivered sql.NullInt64
	if err := sc.Scan(&seq, &body, &state, &acked, &attempts, &next, &lastErr, &delivered); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return a, fmt.Errorf("alert %d: %w", seq, err)
	}
	a.Seq, a.State = seq, State(state)
	if acked.Valid {
		t := parseTime(acked.String)
		a.Acknowledged = &t
	}
	a.Delivery = nil
	if attempts.Valid {
		d := &Delivery{State: DeliveryPending, Attempts: int(attempts.Int64), LastError: lastErr.String}
		if delivered.Valid {
			t := time.UnixMilli(delivered.Int64).UTC()
			d.State, d.Delivered = DeliveryDelivered, &t
		} else {
			t := time.UnixMilli(next.Int64).UTC()
			d.NextAttempt = &t
		}
		a.Delivery = d
	}
	return a, nil
}

// Alerts returns the alerts f selects, oldest first.
func (s *Store) Alerts(ctx context.Context, f Filter) ([]Alert, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	out, err := queryAll(ctx, s.db, "alerts", scanAlert, alertQuery+` WHERE a.seq > ? AND (? = '' OR a.org = ?) AND (? = '' OR a.state = ?)
		ORDER BY a.seq LIMIT ?`, f.After, f.Org, f.Org, string(f.State), string(f.State), f.Limit)
	if out == nil && err == nil {
		out = []Alert{} // an empty list, in JSON too
	}
	return out, err
}

// Alert returns the alert with id (of org, unless org is ""), or an error
// with code fault.NotFound.
func (s *Store) Alert(ctx context.Context, id, org string) (Alert, error) {
	a, err := scanAlert(s.db.QueryRowContext(ctx, alertQuery+` WHERE a.id = ? AND (? = '' OR a.org = ?)`, id, org, org))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fault.New(fault.NotFound, "no alert %s", id)
	}
	if err != nil {
		return a, fmt.Errorf("alert %s: %w", id, err)
	}
	return a, nil
}

// Ack acknowledges the alert with id (of org, unless org is "") and
// returns it. Acknowledging an acknowledged alert changes nothing. A
// missing alert is an error with code fault.NotFound.
func (s *Store) Ack(ctx context.Context, id, org string) (Alert, error) {
	err := s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ?, acknowledged = ? WHERE id = ? AND (? = '' OR org = ?) AND state = ?`,
			StateAcknowledged, formatTime(s.Now()), id, org, org, StateNew)
		if err != nil {
			return fmt.Errorf("ack alert %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Alert{}, err
	}
	return s.Alert(ctx, id, org)
}

// alertKeys returns the keys of the stored alerts: incident, watch,
// transaction and address.
func (s *Store) alertKeys(ctx context.Context) (map[alertKey]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT incident, watch, tx, address FROM alerts`)
	if err != nil {
		return nil, fmt.Errorf("alert keys: %w", err)
	}
	defer rows.Close()
	out := map[alertKey]bool{}
	for rows.Next() {
		var k alertKey
		if err := rows.Scan(&k.incident, &k.watch, &k.tx, &k.address); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

type alertKey struct{ incident, watch, tx, address string }

// pendingSightings returns alerts after seq whose sighting is not stored
// yet, oldest first.
func (s *Store) pendingSightings(ctx context.Context, after int64, limit int) ([]Alert, error) {
	return queryAll(ctx, s.db, "pending sightings", scanAlert, alertQuery+` WHERE a.sighting_stored = 0 AND a.seq > ? ORDER BY a.seq LIMIT ?`, after, limit)
}

func (s *Store) sightingStored(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerts SET sighting_stored = 1 WHERE id = ?`, id)
		return err
	})
}

// The outbox.

// outboxEntry is an alert to deliver.
type outboxEntry struct {
	alert    string
	url      string
	secret   string
	body     []byte
	attempts int
}

// due returns up to limit undelivered entries due at now, most overdue
// first.
func (s *Store) due(ctx context.Context, now time.Time, limit int) ([]outboxEntry, error) {
	return queryAll(ctx, s.db, "due deliveries", func(sc scanner) (outboxEntry, error) {
		var e outboxEntry
		var body string
		err := sc.Scan(&e.alert, &e.url, &e.secret, &body, &e.attempts)
		e.body = []byte(body)
		return e, err
	}, `SELECT o.alert, o.url, o.secret, a.body, o.attempts
		FROM outbox AS o JOIN alerts AS a ON a.id = o.alert
		WHERE o.delivered IS NULL AND o.next_attempt <= ? ORDER BY o.next_attempt LIMIT ?`, now.UnixMilli(), limit)
}

// nextDue returns when the next undelivered entry is due.
func (s *Store) nextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(next_attempt) FROM outbox WHERE delivered IS NULL`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(next.Int64), true, nil
}

// delivered records a successful delivery of alert at at.
func (s *Store) delivered(ctx context.Context, alert string, attempts int, at time.Time) error {
	return s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET delivered = ?, attempts = ?, last_error = '' WHERE alert = ?`, at.UnixMilli(), attempts, alert)
		return err
	})
}

// failed records a failed delivery of alert and when to try again.
func (s *Store) failed(ctx context.Context, alert string, attempts int, next time.Time, msg string) error {
	return s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE alert = ? AND delivered IS NULL`,
			attempts, next.UnixMilli(), msg, alert)
		return err
	})
}

// Live traces.

// LiveState is what the node keeps of one live trace: the seeds, the
// tainted frontier (unspent tainted outputs as "txid:vout", or on an
// account chain the addresses holding taint) and the totals per model, as
// of the transaction count Txs of the chain's graph.
type LiveState struct {
	Incident string            `json:"incident"`
	Chain    string            `json:"chain"`
	Seeds    []string          `json:"seeds"`
	Frontier []string          `json:"frontier"`
	Tainted  map[string]string `json:"tainted"`
	Unspent  map[string]string `json:"unspent"`
	Txs      uint32            `json:"txs"`
	Error    string            `json:"error,omitempty"`
	Updated  time.Time         `json:"updated"`
}

// saveLive stores the states in one transaction.
func (s *Store) saveLive(ctx context.Context, states []LiveState) error {
	if len(states) == 0 {
		return nil
	}
	return s.update(ctx, func(tx *sql.Tx) error {
		for _, st := range states {
			enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
			_, err := tx.ExecContext(ctx, `INSERT INTO live_traces (incident, chain, seeds, frontier, tainted, unspent, txs, error, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (incident, chain) DO UPDATE SET seeds = excluded.seeds, frontier = excluded.frontier,
				tainted = excluded.tainted, unspent = excluded.unspent, txs = excluded.txs, error = excluded.error, updated = excluded.updated`,
				st.Incident, st.Chain, enc(nonNil(st.Seeds)), enc(nonNil(st.Frontier)), enc(st.Tainted), enc(st.Unspent), st.Txs, st.Error, formatTime(st.Updated))
			if err != nil {
				return fmt.Errorf("save live trace of %s on %s: %w", st.Incident, st.Chain, err)
			}
		}
		return nil
	})
}

// deleteLive forgets the live trace of incident on chain.
func (s *Store) deleteLive(ctx context.Context, incident, chainID string) error {
	return s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM live_traces WHERE incident = ? AND chain = ?`, incident, chainID)
		return err
	})
}

// LiveStates returns the stored state of every live trace.
func (s *Store) LiveStates(ctx context.Context) ([]LiveState, error) {
	return queryAll(ctx, s.db, "live traces", func(sc scanner) (LiveState, error) {
		var st LiveState
		var seeds, frontier, tainted, unspent, updated string
		if err := sc.Scan(&st.Incident, &st.Chain, &seeds, &frontier, &tainted, &unspent, &st.Txs, &st.Error, &updated); err != nil {
			return st, err
		}
		for _, p := range []struct {
			s string
			v any
		}{{seeds, &st.Seeds}, {frontier, &st.Frontier}, {tainted, &st.Tainted}, {unspent, &st.Unspent}} {
			if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
				return st, fmt.Errorf("live trace of %s: %w", st.Incident, err)
			}
		}
		st.Updated = parseTime(updated)
		return st, nil
	}, `SELECT incident, chain, seeds, frontier, tainted, unspent, txs, error, updated FROM live_traces ORDER BY incident, chain`)
}

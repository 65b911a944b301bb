package alert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
)

// TestStoreOutboxSurvivesReopen: an alert queued for its webhook, and the
// failed attempts at it, are still there after the store is closed and
// opened again, until a delivery succeeds.
func TestStoreOutboxSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), File)
	s, err := OpenStore(ctx, path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := Watch{Org: "identity--00000000-0000-4000-8000-000000000001", Chain: chainID, Addresses: []string{"bcrt1q"}, Webhook: "http://127.0.0.1:1/hook", Secret: "s3cret"}
	if err := s.AddWatch(ctx, &w); err != nil {
		t.Fatal(err)
	}
	a := &Alert{Org: w.Org, Watch: w.ID, Chain: chainID, Address: "bcrt1q", Incident: incidentID, Tx: h("tx"), Amounts: Amounts{FIFO: "5", Haircut: "4"}}
	if ok, err := s.insertAlert(ctx, a, w.Webhook, w.Secret); !ok || err != nil {
		t.Fatalf("insert: %v %v", ok, err)
	}
	dup := *a
	dup.ID = ""
	if ok, err := s.insertAlert(ctx, &dup, w.Webhook, w.Secret); ok || err != nil {
		t.Fatalf("the same alert twice: %v %v", ok, err)
	}
	due, err := s.due(ctx, time.Now(), 10)
	if err != nil || len(due) != 1 || due[0].alert != a.ID || due[0].secret != "s3cret" {
		t.Fatalf("due: %+v, %v", due, err)
	}
	body := string(due[0].body)
	next := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := s.failed(ctx, a.ID, 1, next, "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenStore(ctx, path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if due, _ := s.due(ctx, time.Now(), 10); len(due) != 0 {
		t.Errorf("due before its time: %+v", due)
	}
	if at, ok, _ := s.nextDue(ctx); !ok || !at.Equal(next) {
		t.Errorf("next due %v %v, want %v", at, ok, next)
	}
	due, _ = s.due(ctx, next, 10)
	if len(due) != 1 || string(due[0].body) != body || due[0].attempts != 1 {
		t.Fatalf("due after reopening: %+v", due)
	}
	got, err := s.Alert(ctx, a.ID, "")
	if err != nil || got.Delivery == nil || got.Delivery.State != DeliveryPending || got.Delivery.Attempts != 1 || got.Delivery.LastError != "HTTP 503" || got.Seq != a.Seq {
		t.Errorf("alert: %+v %v", got, err)
	}
	if err := s.delivered(ctx, a.ID, 2, next); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.due(ctx, next.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("due once delivered: %+v", due)
	}
	got, _ = s.Alert(ctx, a.ID, "")
	if got.Delivery.State != DeliveryDelivered || got.Delivery.Attempts != 2 || got.Delivery.Delivered == nil {
		t.Errorf("delivered alert: %+v", got.Delivery)
	}

	// Another organisation neither reads nor acknowledges it.
	if _, err := s.Ack(ctx, a.ID, "identity--00000000-0000-4000-8000-000000000002"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("ack by another organisation: %v", err)
	}
	if err := s.RemoveWatch(ctx, w.ID, "identity--00000000-0000-4000-8000-000000000002"); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("remove by another organisation: %v", err)
	}
	if err := s.RemoveWatch(ctx, w.ID, w.Org); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.Watches(ctx, ""); len(ws) != 0 {
		t.Errorf("watches after removal: %+v", ws)
	}
	if _, err := s.Alert(ctx, a.ID, w.Org); err != nil {
		t.Errorf("the alert went with its watch: %v", err)
	}
}

// TestStoreSchemaVersion: a store records its schema version and refuses
// a newer one.
func TestStoreSchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), File)
	s, err := OpenStore(ctx, path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version %d (%v), want %d", v, err, SchemaVersion())
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (999, 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenStore(ctx, path, StoreOptions{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatal("opened a store of a newer schema")
	}
}

func TestWatchChecks(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	good := Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}}
	for _, tc := range []struct {
		name string
		w    Watch
		code fault.Code
	}{
		{"unknown chain", Watch{Chain: "moon", Addresses: []string{"x"}}, fault.Invalid},
		{"nothing watched", Watch{Chain: chainID}, fault.Invalid},
		{"both", Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}, Label: "X"}, fault.Invalid},
		{"bad address", Watch{Chain: chainID, Addresses: []string{"bcrt1qnotanaddress"}}, fault.Malformed},
		{"bad min", Watch{Chain: chainID, Label: "X", Min: "1.5"}, fault.Invalid},
		{"webhook without secret", Watch{Chain: chainID, Label: "X", Webhook: "https://example.com/h"}, fault.Invalid},
		{"bad webhook", Watch{Chain: chainID, Label: "X", Webhook: "ftp://example.com/h", Secret: "s"}, fault.Invalid},
		{"secret without webhook", Watch{Chain: chainID, Label: "X", Secret: "s"}, fault.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.AddWatch(ctx, f.exchange, tc.w); fault.CodeOf(err) != tc.code {
				t.Errorf("error %v, want code %s", err, tc.code)
			}
		})
	}
	reader := f.exchange
	reader.Role = "reader"
	if _, err := f.svc.AddWatch(ctx, reader, good); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("a reader added a watch: %v", err)
	}
	ghost := f.exchange
	ghost.Org = "identity--00000000-0000-4000-8000-00000000dead"
	if _, err := f.svc.AddWatch(ctx, ghost, good); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("a watch of an organisation that does not exist: %v", err)
	}
	w, err := f.svc.AddWatch(ctx, f.exchange, Watch{Chain: chainID, Addresses: []string{f.addr["deposit"], f.addr["deposit"]}, Webhook: "https://example.com/h", Secret: "s"})
	if err != nil || len(w.Addresses) != 1 || w.Min != "0" || w.Org != f.exchange.Org {
		t.Fatalf("watch %+v, %v", w, err)
	}
	if ws, _ := f.svc.Watches(ctx, f.other); len(ws) != 0 {
		t.Errorf("another organisation's watches: %+v", ws)
	}
}

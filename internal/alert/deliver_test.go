package alert

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {10, 512 * time.Second}, {11, 10 * time.Minute}, {1000, 10 * time.Minute}} {
		if got := Backoff(tc.attempts, 10*time.Minute); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := Sign("key", body)
	// HMAC-SHA256("key", body), computed apart (Python's hmac).
	if sig != "sha256=9ceaa4a60fd94e663e15900ab1b5d7c00781640620d1414798d6ed63ed6ff2d7" || !Verify("key", body, sig) {
		t.Fatalf("signature %s", sig)
	}
	if Verify("other", body, sig) || Verify("key", []byte(`{"id":"y"}`), sig) || Verify("key", body, "sha256=00") {
		t.Error("a wrong key, body or signature verifies")
	}
}

// TestDeliverer: a receiver that answers 503 twice gets the alert a
// third time; every attempt has the same body, a valid signature and the
// same Idempotency-Key.
func TestDeliverer(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	type hit struct {
		key, sig string
		body     []byte
	}
	var mu sync.Mutex
	var hits []hit
	got := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Header.Get(IdempotencyHeader), r.Header.Get(SignatureHeader), b})
		n := len(hits)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		got <- struct{}{}
	}))
	defer srv.Close()
	w, err := f.svc.AddWatch(ctx, f.exchange, Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}, Webhook: srv.URL, Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDeliverer(f.svc, DelivererOptions{MaxBackoff: 50 * time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(rctx) }()
	a := &Alert{Org: w.Org, Watch: w.ID, Chain: chainID, Address: f.addr["deposit"], Incident: incidentID, Tx: h("tx")}
	if ok, err := f.svc.store.insertAlert(ctx, a, w.Webhook, w.Secret); !ok || err != nil {
		t.Fatal(ok, err)
	}
	f.svc.notify()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		stored, _ := f.store.Alert(ctx, a.ID, "")
		if stored.Delivery != nil && stored.Delivery.State == DeliveryDelivered || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(hits) != 3 {
		t.Fatalf("%d attempts, want 3", len(hits))
	}
	for i, h := range hits {
		if h.key != a.ID || !Verify("s3cret", h.body, h.sig) || string(h.body) != string(hits[0].body) {
			t.Errorf("attempt %d: key %q, signature %q over %s", i+1, h.key, h.sig, h.body)
		}
	}
	stored, _ := f.store.Alert(ctx, a.ID, "")
	if stored.Delivery == nil || stored.Delivery.State != DeliveryDelivered || stored.Delivery.Attempts != 3 {
		t.Errorf("delivery: %+v", stored.Delivery)
	}
}

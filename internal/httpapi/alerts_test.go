package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/httpapi"
)

// lateAlerts lets the fixture's server use an alert service made after it.
type lateAlerts struct{ *alert.Service }

// sseEvent is one event of a stream.
type sseEvent struct {
	id, event, data string
}

// stream opens the alert stream with token, resuming after lastID if set,
// and returns its events as they come.
func stream(t *testing.T, url, token, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.event = "comment" + line
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return events, cancel
}

// nextAlert returns the next alert event, skipping comments.
func nextAlert(t *testing.T, events <-chan sseEvent) (sseEvent, alert.Alert) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.event != "alert" {
				continue
			}
			var a alert.Alert
			if err := json.Unmarshal([]byte(ev.data), &a); err != nil {
				t.Fatalf("event data: %v: %s", err, ev.data)
			}
			return ev, a
		case <-timeout:
			t.Fatal("no alert event within 5s")
		}
	}
}

// TestAlertsAPI manages watches and reads, streams and acknowledges
// alerts over REST, each organisation its own.
func TestAlertsAPI(t *testing.T) {
	ctx := context.Background()
	late := &lateAlerts{}
	f := mustFixture(t, httpapi.Options{Alerts: late, AlertKeepAlive: 50 * time.Millisecond})
	st, err := alert.OpenStore(ctx, alert.Memory, alert.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	late.Service = alert.NewService(st, f.svc, alert.Options{})
	addr := regtest(t, "deposit")

	res := f.do(t, "POST", "/api/v1/watches", f.tokens["a"], "application/json",
		[]byte(fmt.Sprintf(`{"chain":"bitcoin-regtest","addresses":[%q],"min":"1000","webhook":"https://example.com/hook","secret":"s3cret"}`, addr)))
	if res.status != http.StatusCreated || strings.Contains(string(res.body), "s3cret") {
		t.Fatalf("add watch: %d %s", res.status, res.body)
	}
	var w alert.Watch
	res.json(t, &w)
	if w.ID == "" || w.Org != f.orgA || w.Min != "1000" || res.header.Get("Location") != "/api/v1/watches/"+w.ID {
		t.Errorf("watch: %+v", w)
	}
	for _, tc := range []struct {
		name, token, body string
		status            int
	}{
		{"reader", f.tokens["a-reader"], `{"chain":"bitcoin-regtest","label":"X"}`, http.StatusForbidden},
		{"no token", "", `{"chain":"bitcoin-regtest","label":"X"}`, http.StatusUnauthorized},
		{"malformed", f.tokens["a"], `{"chain":`, http.StatusBadRequest},
		{"unknown field", f.tokens["a"], `{"chain":"bitcoin-regtest","lable":"X"}`, http.StatusBadRequest},
		{"nothing watched", f.tokens["a"], `{"chain":"bitcoin-regtest"}`, http.StatusUnprocessableEntity},
		{"bad address", f.tokens["a"], `{"chain":"bitcoin-regtest","addresses":["bcrt1qbad"]}`, http.StatusBadRequest},
		{"webhook without secret", f.tokens["a"], `{"chain":"bitcoin-regtest","label":"X","webhook":"https://example.com"}`, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, "POST", "/api/v1/watches", tc.token, "application/json", []byte(tc.body))
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			res.errorCode(t)
		})
	}
	var ws struct{ Watches []alert.Watch }
	f.do(t, "GET", "/api/v1/watches", f.tokens["b"], "", nil).json(t, &ws)
	if len(ws.Watches) != 0 {
		t.Errorf("bravo sees alpha's watches: %+v", ws)
	}
	f.do(t, "GET", "/api/v1/watches", f.tokens["a-reader"], "", nil).json(t, &ws)
	if len(ws.Watches) != 1 || ws.Watches[0].ID != w.ID {
		t.Errorf("alpha's watches: %+v", ws)
	}

	raise := func(org, tx string) alert.Alert {
		t.Helper()
		a := &alert.Alert{Org: org, Watch: w.ID, Chain: "bitcoin-regtest", Address: addr, Incident: "incident--00000000-0000-4000-8000-0000000000e1",
			Tx: h(tx), Amounts: alert.Amounts{FIFO: "5000", Haircut: "4000"}, BlockTime: time.Unix(1516924800, 0)}
		if ok, err := late.Raise(ctx, a, alert.Watch{ID: w.ID, Org: org, Webhook: "https://example.com/hook", Secret: "s3cret"}); !ok || err != nil {
			t.Fatalf("raise: %v %v", ok, err)
		}
		return *a
	}

	// A stream without Last-Event-ID starts with what comes next.
	first := raise(f.orgA, "tx0")
	events, stop := stream(t, f.url, f.tokens["a"], "")
	bravo, stopB := stream(t, f.url, f.tokens["b"], "")
	defer stopB()
	a1 := raise(f.orgA, "tx1")
	ev, got := nextAlert(t, events)
	if ev.id != fmt.Sprint(a1.Seq) || got.ID != a1.ID || got.Amounts.FIFO != "5000" || got.Tx != h("tx1") {
		t.Errorf("first event: %+v", ev)
	}
	// Keep-alive comments come while idle.
	keepAlive := false
	for !keepAlive {
		select {
		case ev := <-events:
			keepAlive = strings.HasPrefix(ev.event, "comment: keep-alive")
		case <-time.After(2 * time.Second):
			t.Fatal("no keep-alive")
		}
	}
	stop()
	a2, a3 := raise(f.orgA, "tx2"), raise(f.orgA, "tx3")
	b1 := raise(f.orgB, "tx4")
	// Resumed after a1: a2 and a3, in order, and none of bravo's.
	events, stop = stream(t, f.url, f.tokens["a"], fmt.Sprint(a1.Seq))
	defer stop()
	for _, want := range []alert.Alert{a2, a3} {
		if ev, got := nextAlert(t, events); ev.id != fmt.Sprint(want.Seq) || got.ID != want.ID {
			t.Errorf("resumed: event %s (%s), want %d (%s)", ev.id, got.ID, want.Seq, want.ID)
		}
	}
	if _, got := nextAlert(t, bravo); got.ID != b1.ID {
		t.Errorf("bravo's stream: %+v", got)
	}
	req, _ := http.NewRequest("GET", f.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens["a"])
	req.Header.Set("Last-Event-ID", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad Last-Event-ID: %s", resp.Status)
	}

	// List, acknowledge, filter.
	var list struct{ Alerts []alert.Alert }
	f.do(t, "GET", "/api/v1/alerts", f.tokens["a-reader"], "", nil).json(t, &list)
	if len(list.Alerts) != 4 || list.Alerts[0].ID != first.ID || list.Alerts[0].Delivery == nil || list.Alerts[0].Delivery.State != alert.DeliveryPending {
		t.Fatalf("alpha's alerts: %+v", list.Alerts)
	}
	if res := f.do(t, "POST", "/api/v1/alerts/"+a1.ID+"/ack", f.tokens["a-reader"], "", nil); res.status != http.StatusForbidden {
		t.Errorf("a reader acknowledged: %d", res.status)
	}
	if res := f.do(t, "POST", "/api/v1/alerts/"+a1.ID+"/ack", f.tokens["b"], "", nil); res.status != http.StatusNotFound {
		t.Errorf("bravo acknowledged alpha's alert: %d", res.status)
	}
	res = f.do(t, "POST", "/api/v1/alerts/"+a1.ID+"/ack", f.tokens["a"], "", nil)
	var acked alert.Alert
	res.json(t, &acked)
	if res.status != http.StatusOK || acked.State != alert.StateAcknowledged || acked.Acknowledged == nil {
		t.Errorf("ack: %d %s", res.status, res.body)
	}
	f.do(t, "GET", "/api/v1/alerts?state=acknowledged", f.tokens["a"], "", nil).json(t, &list)
	if len(list.Alerts) != 1 || list.Alerts[0].ID != a1.ID {
		t.Errorf("acknowledged: %+v", list.Alerts)
	}
	f.do(t, "GET", "/api/v1/alerts?state=new&limit=2", f.tokens["a"], "", nil).json(t, &list)
	if len(list.Alerts) != 2 || list.Alerts[0].ID != first.ID || list.Alerts[1].ID != a2.ID {
		t.Errorf("new, two: %+v", list.Alerts)
	}
	if res := f.do(t, "GET", "/api/v1/alerts?state=old", f.tokens["a"], "", nil); res.status != http.StatusBadRequest {
		t.Errorf("bad state: %d", res.status)
	}

	// Remove the watch: bravo may not, alpha may; the alerts stay.
	if res := f.do(t, "DELETE", "/api/v1/watches/"+w.ID, f.tokens["b"], "", nil); res.status != http.StatusNotFound {
		t.Errorf("bravo removed alpha's watch: %d", res.status)
	}
	if res := f.do(t, "DELETE", "/api/v1/watches/"+w.ID, f.tokens["a"], "", nil); res.status != http.StatusNoContent {
		t.Errorf("remove: %d %s", res.status, res.body)
	}
	f.do(t, "GET", "/api/v1/alerts", f.tokens["a"], "", nil).json(t, &list)
	if len(list.Alerts) != 4 {
		t.Errorf("alerts after the watch went: %d", len(list.Alerts))
	}

	// A stream outlives the server's read and write timeouts.
	timed := httptest.NewUnstartedServer(httpapi.New(f.svc, httpapi.Options{Alerts: late}).Handler())
	timed.Config.ReadTimeout, timed.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	timed.Start()
	defer timed.Close()
	events, stopT := stream(t, timed.URL, f.tokens["a"], "")
	defer stopT()
	time.Sleep(600 * time.Millisecond)
	late1 := raise(f.orgA, "tx5")
	if _, got := nextAlert(t, events); got.ID != late1.ID {
		t.Errorf("after the timeouts: %+v", got)
	}

	// A sync token has no alerts; a node without alerts says so.
	_, secret, _ := f.svc.CreateToken(ctx, access.Viewer{Org: f.orgA, Role: access.Admin}, f.orgA, access.Sync, 0)
	if res := f.do(t, "GET", "/api/v1/alerts", secret, "", nil); res.status != http.StatusForbidden {
		t.Errorf("sync token: %d", res.status)
	}
	bare := mustFixture(t, httpapi.Options{})
	if res := bare.do(t, "GET", "/api/v1/alerts", bare.tokens["a"], "", nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("no alert service: %d", res.status)
	}
}

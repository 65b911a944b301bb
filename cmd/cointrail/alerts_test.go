package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// receiver is a webhook receiver the test starts and stops on one port,
// answering 503 to the first `fail` requests.
type receiver struct {
	addr string
	mu   sync.Mutex
	fail int
	hits []hook
	srv  *http.Server
	got  chan struct{}
}

type hook struct {
	key, sig, attempt string
	body              []byte
	status            int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	h := hook{key: r.Header.Get(alert.IdempotencyHeader), sig: r.Header.Get(alert.SignatureHeader), attempt: r.Header.Get(alert.AttemptHeader), body: body, status: http.StatusOK}
	if rc.fail > 0 {
		rc.fail--
		h.status = http.StatusServiceUnavailable
	}
	rc.hits = append(rc.hits, h)
	rc.mu.Unlock()
	w.WriteHeader(h.status)
	if h.status == http.StatusOK {
		select {
		case rc.got <- struct{}{}:
		default:
		}
	}
}

// up starts the receiver on its port.
func (rc *receiver) up(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger a moment after down
		if ln, err = net.Listen("tcp", rc.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	rc.addr = ln.Addr().String()
	rc.srv = &http.Server{Handler: rc}
	go rc.srv.Serve(ln)
}

// down stops it: connections are refused.
func (rc *receiver) down() {
	rc.srv.Close()
}

// delivered waits for a 2xx delivery of alert id and returns every attempt
// at it.
func (rc *receiver) delivered(t *testing.T, id string, within time.Duration) []hook {
	t.Helper()
	deadline := time.After(within)
	for {
		rc.mu.Lock()
		var at []hook
		ok := false
		for _, h := range rc.hits {
			if h.key == id {
				at = append(at, h)
				ok = ok || h.status == http.StatusOK
			}
		}
		rc.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-rc.got:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("alert %s not delivered within %s (%d attempts)", id, within, len(at))
		}
	}
}

// waitAlerts polls `alert list --json` until n alerts are stored.
func waitAlerts(t *testing.T, dir string, n int, within time.Duration) []alert.Alert {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var list []alert.Alert
		decodeJSON(t, mustRun(t, "alert", "list", "--data", dir, "--json"), &list)
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts within %s, want %d", len(list), within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAlertsBtcd is the alert path end to end with a real btcd node: a
// signed theft to the thief's key, a peel chain of three transactions, and
// a deposit to an address the exchange watches, all mined, reach a node
// that follows btcd. The alert goes to a webhook that answers 503 twice,
// then takes it; every attempt has the same body, signature and
// Idempotency-Key. Then a second deposit is raised while the receiver is
// down, the node is stopped with it in the outbox, the receiver comes up,
// the node starts again, and the alert is delivered.
func TestAlertsBtcd(t *testing.T) {
	node := btcdtest.Start(t)
	hashes := node.Generate(t, 102)
	p := node.Params
	key := func(name string) *btcdtest.Key { return btcdtest.NewKey(t, p, "alerts "+name) }
	thief, a1, a2, a3, p1, p2, p3, exch, change := key("thief"), key("a1"), key("a2"), key("a3"), key("p1"), key("p2"), key("p3"), key("exchange deposit"), key("change")
	// Legacy scripts: segwit activates at height 300 on simnet.
	pkh := func(k *btcdtest.Key) []byte { return k.Script(t, k.P2PKH) }
	deposit := exch.P2PKH.EncodeAddress()

	dir := initData(t)
	mustRun(t, "org", "create", "exchange", "--data", dir)
	tok := strings.TrimSpace(mustRun(t, "token", "create", "--org", "exchange", "--role", "contributor", "--data", dir))

	// The incident, shared TLP:GREEN by the operator: its theft went to
	// the thief's address on bitcoin-simnet.
	wallet := stix.New(stix.TypeCryptocurrencyWallet, "")
	_ = wallet.Set("chain", "bitcoin-simnet")
	_ = wallet.Set("value", thief.P2PKH.EncodeAddress())
	walletID, _, err := stix.DeterministicID(wallet)
	if err != nil {
		t.Fatal(err)
	}
	const (
		incident = "incident--7b0c1f0e-4d8a-4b8e-9a51-6f3c2d1e0a01"
		actor    = "threat-actor--7b0c1f0e-4d8a-4b8e-9a51-6f3c2d1e0a02"
		ts       = `"spec_version":"2.1","created":"2024-05-01T00:00:00.000Z","modified":"2024-05-01T00:00:00.000Z"`
	)
	green := stix.TLPGreenID
	bundle := fmt.Sprintf(`{"type":"bundle","id":"bundle--7b0c1f0e-4d8a-4b8e-9a51-6f3c2d1e0a00","objects":[
		{"type":"incident","id":%q,%s,"name":"Simnet exchange hack","object_marking_refs":[%q]},
		{"type":"threat-actor","id":%q,%s,"name":"Lazarus Group","object_marking_refs":[%q]},
		{"type":"relationship","id":"relationship--7b0c1f0e-4d8a-4b8e-9a51-6f3c2d1e0a03",%s,"relationship_type":"attributed-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]},
		{"type":"cryptocurrency-wallet","id":%q,"chain":"bitcoin-simnet","value":%q,"object_marking_refs":[%q]},
		{"type":"relationship","id":"relationship--7b0c1f0e-4d8a-4b8e-9a51-6f3c2d1e0a04",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],
		 "extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}}]}`,
		incident, ts, green, actor, ts, green, ts, incident, actor, green,
		walletID, thief.P2PKH.EncodeAddress(), green, ts, walletID, incident, green, stix.RoleExtensionID)
	file := filepath.Join(t.TempDir(), "incident.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "stix", file, "--data", dir, "--org", "operator")

	// The exchange watches its deposit address; its webhook answers 503
	// twice.
	rc := &receiver{addr: "127.0.0.1:0", fail: 2, got: make(chan struct{}, 1)}
	rc.up(t)
	defer func() { rc.down() }()
	const secret = "hook secret"
	watchID := strings.TrimSpace(mustRun(t, "watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--address", deposit,
		"--webhook", "http://"+rc.addr+"/hook", "--secret", secret, "--data", dir))
	wantUsage(t, run(t, nil, "", "watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--data", dir), "--address")
	wantUsage(t, run(t, nil, "", "watch", "add", "--org", "nobody", "--chain", "bitcoin-simnet", "--label", "X", "--data", dir), "nobody")

	follow := []string{"--follow-bitcoin", node.URL, "--follow-bitcoin-network", "simnet", "--follow-bitcoin-user", node.User, "--follow-bitcoin-password", node.Password, "--follow-interval", "100ms"}
	url, stop := startServe(t, dir, follow...)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	// The theft, a peel chain and the deposit, each mined.
	mine := func(ins []btcdtest.Coin, outs ...*wire.TxOut) *wire.MsgTx {
		t.Helper()
		tx := btcdtest.Sign(t, ins, outs)
		node.Send(t, tx)
		node.Generate(t, 1)
		return tx
	}
	theft := mine([]btcdtest.Coin{node.CoinbaseCoin(t, hashes[0])}, wire.NewTxOut(4_000_000_000, pkh(thief)), wire.NewTxOut(999_990_000, node.Miner.Script(t, node.Miner.P2PKH)))
	peel1 := mine([]btcdtest.Coin{btcdtest.Output(theft, 0, thief)}, wire.NewTxOut(3_699_990_000, pkh(a1)), wire.NewTxOut(300_000_000, pkh(p1)))
	peel2 := mine([]btcdtest.Coin{btcdtest.Output(peel1, 0, a1)}, wire.NewTxOut(3_399_980_000, pkh(a2)), wire.NewTxOut(300_000_000, pkh(p2)))
	peel3 := mine([]btcdtest.Coin{btcdtest.Output(peel2, 0, a2)}, wire.NewTxOut(3_099_970_000, pkh(a3)), wire.NewTxOut(300_000_000, pkh(p3)))
	// a3's 3,099,970,000 (stolen) and 5,000,000,000 clean: FIFO puts all
	// the stolen value in the 4,000,000,000 deposit; haircut puts
	// 3,099,970,000 × 4,000,000,000 / 8,099,970,000 there (1,530,855,052.5:
	// the half unit to the deposit, the largest remainder).
	dep := mine([]btcdtest.Coin{btcdtest.Output(peel3, 0, a3), node.CoinbaseCoin(t, hashes[1])},
		wire.NewTxOut(4_000_000_000, pkh(exch)), wire.NewTxOut(4_099_960_000, pkh(change)))

	list := waitAlerts(t, dir, 1, 30*time.Second)
	a := list[0]
	hits := rc.delivered(t, a.ID, 20*time.Second)
	if len(hits) < 3 || hits[0].status != 503 || hits[1].status != 503 || hits[len(hits)-1].status != 200 {
		t.Fatalf("attempts: %+v", hits)
	}
	for i, h := range hits {
		if h.key != a.ID || !alert.Verify(secret, h.body, h.sig) || string(h.body) != string(hits[0].body) || h.attempt != fmt.Sprint(i+1) {
			t.Errorf("attempt %d: key %q, signature %q, attempt %q, body %s", i+1, h.key, h.sig, h.attempt, h.body)
		}
	}
	var got alert.Alert
	if err := json.Unmarshal(hits[0].body, &got); err != nil {
		t.Fatal(err)
	}
	path := []string{theft.TxHash().String(), peel1.TxHash().String(), peel2.TxHash().String(), peel3.TxHash().String(), dep.TxHash().String()}
	via := []string{thief.P2PKH.EncodeAddress(), a1.P2PKH.EncodeAddress(), a2.P2PKH.EncodeAddress(), a3.P2PKH.EncodeAddress()}
	if got.ID != a.ID || got.Incident != incident || got.IncidentName != "Simnet exchange hack" || len(got.Actors) != 1 || got.Actors[0].ID != actor ||
		got.Amounts != (alert.Amounts{FIFO: "3099970000", Haircut: "1530855053"}) || got.Address != deposit || got.Tx != dep.TxHash().String() ||
		got.Chain != "bitcoin-simnet" || got.Watch != watchID || got.Hops != 4 || !slices.Equal(got.Path, path) || !slices.Equal(got.Via, via) ||
		got.BlockHeight != 107 || got.Block == "" || got.BlockTime.IsZero() {
		t.Errorf("delivered alert: %s\nwant path %v via %v", hits[0].body, path, via)
	}

	// Over REST, the exchange sees it delivered; the sighting is its own.
	var page struct{ Alerts []alert.Alert }
	if code := getJSON(t, url+"/api/v1/alerts?state=new", tok, &page); code != 200 || len(page.Alerts) != 1 {
		t.Fatalf("alerts over REST: %d %+v", code, page)
	}
	deadline := time.Now().Add(10 * time.Second)
	for page.Alerts[0].Delivery == nil || page.Alerts[0].Delivery.State != alert.DeliveryDelivered {
		if time.Now().After(deadline) {
			t.Fatalf("delivery over REST: %+v", page.Alerts[0].Delivery)
		}
		time.Sleep(50 * time.Millisecond)
		getJSON(t, url+"/api/v1/alerts?state=new", tok, &page)
	}
	// The sighting is recorded apart from the delivery: wait for it.
	var sighting map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/objects/"+got.Sighting, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&sighting)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sighting %s over REST: %s", got.Sighting, resp.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sighting["type"] != "sighting" || sighting["created_by_ref"] != a.Org || sighting["sighting_of_ref"] != incident {
		t.Errorf("sighting: %v", sighting)
	}
	// Acknowledged from the command line while the node runs.
	if out := mustRun(t, "alert", "ack", a.ID, "--org", "exchange", "--data", dir); !strings.Contains(out, "acknowledged") {
		t.Errorf("ack printed %q", out)
	}
	if out := mustRun(t, "alert", "list", "--state", "new", "--data", dir); strings.Contains(out, a.ID) {
		t.Errorf("an acknowledged alert is listed as new:\n%s", out)
	}

	// The receiver goes down; a second deposit (a peel's stolen 3 BTC)
	// raises an alert the node cannot deliver.
	rc.down()
	dep2 := mine([]btcdtest.Coin{btcdtest.Output(peel3, 1, p3)}, wire.NewTxOut(299_990_000, pkh(exch)))
	var second alert.Alert
	deadline = time.Now().Add(30 * time.Second)
	for second.ID == "" {
		for _, x := range waitAlerts(t, dir, 2, 30*time.Second) {
			if x.Tx == dep2.TxHash().String() && x.Delivery != nil && x.Delivery.Attempts > 0 {
				second = x
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the second alert was not attempted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if second.Delivery.State != alert.DeliveryPending || second.Amounts.FIFO != "299990000" || second.Hops != 4 {
		t.Errorf("second alert: %+v %+v", second, second.Delivery)
	}
	stop()
	stopped = true

	// Up again, receiver and node: the alert in the outbox is delivered.
	rc.up(t)
	_, stop = startServe(t, dir, follow...)
	stopped = false
	hits = rc.delivered(t, second.ID, 30*time.Second)
	if last := hits[len(hits)-1]; !alert.Verify(secret, last.body, last.sig) {
		t.Errorf("after the restart: %+v", last)
	}
	var again alert.Alert
	if err := json.Unmarshal(hits[len(hits)-1].body, &again); err != nil || again.Tx != dep2.TxHash().String() || again.Amounts.FIFO != "299990000" {
		t.Errorf("after the restart: %s", hits[len(hits)-1].body)
	}
	// Nothing was raised twice.
	if list := waitAlerts(t, dir, 2, time.Second); len(list) != 2 {
		t.Errorf("alerts after the restart: %d", len(list))
	}
}

// TestWatchCommands adds, lists and removes watches and lists and
// acknowledges alerts from the command line, and refuses bad usage with
// one line.
func TestWatchCommands(t *testing.T) {
	dir := initData(t)
	mustRun(t, "org", "create", "exchange", "--data", dir)
	mustRun(t, "org", "create", "other", "--data", dir)
	addr := btcdtest.NewKey(t, &chaincfg.SimNetParams, "watch commands").P2PKH.EncodeAddress()
	id := strings.TrimSpace(mustRun(t, "watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--address", addr, "--min", "5000", "--data", dir))
	label := strings.TrimSpace(mustRun(t, "watch", "add", "--org", "other", "--chain", "bitcoin-simnet", "--label", "Other Exchange", "--data", dir))
	if id == "" || label == "" || id == label {
		t.Fatalf("watch ids %q %q", id, label)
	}
	out := mustRun(t, "watch", "list", "--data", dir)
	for _, want := range []string{id, label, addr, "label Other Exchange", "exchange", "5000"} {
		if !strings.Contains(out, want) {
			t.Errorf("watch list lacks %q:\n%s", want, out)
		}
	}
	var ws []alert.Watch
	decodeJSON(t, mustRun(t, "watch", "list", "--org", "other", "--data", dir, "--json"), &ws)
	if len(ws) != 1 || ws[0].ID != label || ws[0].Label != "Other Exchange" {
		t.Errorf("other's watches: %+v", ws)
	}
	wantUsage(t, run(t, nil, "", "watch", "remove", id, "--org", "other", "--data", dir), id)
	if out := mustRun(t, "watch", "remove", id, "--org", "exchange", "--data", dir); !strings.Contains(out, id) {
		t.Errorf("remove printed %q", out)
	}
	decodeJSON(t, mustRun(t, "watch", "list", "--data", dir, "--json"), &ws)
	if len(ws) != 1 {
		t.Errorf("watches after removal: %+v", ws)
	}
	var list []alert.Alert
	decodeJSON(t, mustRun(t, "alert", "list", "--data", dir, "--json"), &list)
	if len(list) != 0 {
		t.Errorf("alerts: %+v", list)
	}
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{"watch", "add", "--chain", "bitcoin-simnet", "--label", "X", "--data", dir}, "--org"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "moon", "--label", "X", "--data", dir}, "moon"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--label", "X", "--address", addr, "--data", dir}, "one of them"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--address", "sbnotanaddress", "--data", dir}, "sbnotanaddress"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--label", "X", "--webhook", "http://127.0.0.1:9/h", "--data", dir}, "--secret"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--label", "X", "--min", "-1", "--data", dir}, "min"},
		{[]string{"watch", "add", "--org", "exchange", "--chain", "bitcoin-simnet", "--label", "X", "--webhook", "ftp://x", "--secret", "s", "--data", dir}, "webhook"},
		{[]string{"watch", "remove", "w-0000", "--data", dir}, "w-0000"},
		{[]string{"watch", "frob"}, "frob"},
		{[]string{"alert", "list", "--state", "old", "--data", dir}, "--state"},
		{[]string{"alert", "list", "--org", "nobody", "--data", dir}, "nobody"},
		{[]string{"alert", "ack", "00000000-0000-4000-8000-000000000000", "--data", dir}, "no alert"},
		{[]string{"alert", "ack", "--data", dir}, "alert ack"},
	} {
		wantUsage(t, run(t, nil, "", c.args...), c.mention)
	}
}

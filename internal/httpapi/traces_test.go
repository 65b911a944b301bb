package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/trace"
)

// regtest returns a valid regtest P2WPKH address for a name.
func regtest(t *testing.T, name string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	a, err := btcutil.NewAddressWitnessPubKeyHash(sum[:20], &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

func h(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:])
}

// theftChain is a chain index holding a theft: a thief's 100,000 sat, of
// which 60,000 go to an exchange's address and 39,000 to a wallet (fee
// 1,000).
func theftChain(t *testing.T) *chainstore.Store {
	t.Helper()
	thief, exchange, wallet := regtest(t, "thief"), regtest(t, "exchange"), regtest(t, "wallet")
	st, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p2wpkh := func(addr string, v int64, i uint32) chain.Output {
		return chain.Output{Index: i, Value: v, Kind: "p2wpkh", Address: addr, Key: addr}
	}
	blocks := []*chain.Block{
		{Chain: "bitcoin-regtest", Height: 0, Hash: h("b0"), Parent: h("none"), Time: time.Unix(1516924800, 0),
			Txs: []chain.Tx{{Hash: h("cb"), Coinbase: true, Outputs: []chain.Output{p2wpkh(thief, 100_000, 0)}}}},
		{Chain: "bitcoin-regtest", Height: 1, Hash: h("b1"), Parent: h("b0"), Time: time.Unix(1516925400, 0),
			Txs: []chain.Tx{{Hash: h("move"), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: h("cb"), Index: 0}}},
				Outputs: []chain.Output{p2wpkh(exchange, 60_000, 0), p2wpkh(wallet, 39_000, 1)}}}},
	}
	if err := st.ApplyFrom(context.Background(), "test", blocks...); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTracesAPI runs traces over REST: at once and as a job, each
// organisation with the labels it may see, and the bad requests.
func TestTracesAPI(t *testing.T) {
	st := theftChain(t)
	f := mustFixture(t, httpapi.Options{Tracer: trace.New(st)})
	const (
		exch   = "identity--00000000-0000-4000-8000-0000000000c1"
		wallet = "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000c2"
	)
	// alpha labels the exchange's address, TLP:AMBER: bravo does not see it.
	res := f.do(t, "POST", "/api/v1/objects", f.tokens["a"], "application/json", bundle(
		fmt.Sprintf(`{"type":"identity","id":%q,%s,"name":"Exchange A","identity_class":"organization","object_marking_refs":[%q]}`, exch, ts, stix.TLPAmberID),
		fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":"bitcoin-regtest","value":%q,"object_marking_refs":[%q]}`, wallet, regtest(t, "exchange"), stix.TLPAmberID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000c3",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","category":"exchange"}}}`, ts, wallet, exch, stix.TLPAmberID, stix.LabelExtensionID),
	))
	if res.status != http.StatusCreated {
		t.Fatalf("submit labels: %d %s", res.status, res.body)
	}
	body := fmt.Sprintf(`{"chain":"bitcoin-regtest","seeds":[{"output":"%s:0"}],"model":"haircut","dust":"0"}`, h("cb"))

	var result struct {
		Model     string `json:"model"`
		Tainted   string `json:"tainted"`
		Endpoints []struct {
			Address, Entity, Category, Amount string
			Hops                              int
		} `json:"endpoints"`
		StopTotals map[string]struct{ Amount string } `json:"stop_totals"`
		Fees       string                             `json:"fees"`
	}
	res = f.do(t, "POST", "/api/v1/traces", f.tokens["a"], "application/json", []byte(body))
	if res.status != http.StatusOK {
		t.Fatalf("alpha's trace: %d %s", res.status, res.body)
	}
	res.json(t, &result)
	// haircut: 60,000 of 100,000 (all of it tainted) reach the exchange.
	if result.Model != "haircut" || result.Tainted != "100000" || len(result.Endpoints) != 1 || result.Endpoints[0].Amount != "60000" ||
		result.Endpoints[0].Entity != "Exchange A" || result.Endpoints[0].Category != "exchange" || result.Endpoints[0].Hops != 1 ||
		result.StopTotals["unspent"].Amount != "39000" || result.Fees != "1000" {
		t.Errorf("alpha's trace: %s", res.body)
	}
	// bravo does not see the label: no endpoint, the 60,000 sit unspent.
	res = f.do(t, "POST", "/api/v1/traces", f.tokens["b"], "application/json", []byte(body))
	result.Endpoints = nil
	res.json(t, &result)
	if res.status != http.StatusOK || len(result.Endpoints) != 0 || result.StopTotals["unspent"].Amount != "99000" {
		t.Errorf("bravo's trace: %d %s", res.status, res.body)
	}

	// As a job: 202, Location, then the result.
	res = f.do(t, "POST", "/api/v1/traces", f.tokens["a"], "application/json", []byte(body[:len(body)-1]+`,"async":true}`))
	if res.status != http.StatusAccepted || res.header.Get("Location") == "" {
		t.Fatalf("async trace: %d %s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	var job struct {
		ID, Status string
		Result     *struct{ Endpoints []struct{ Amount string } } `json:"result"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res = f.do(t, "GET", loc, f.tokens["a"], "", nil)
		res.json(t, &job)
		if job.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res.status != http.StatusOK || job.Status != "done" || job.Result == nil || len(job.Result.Endpoints) != 1 || job.Result.Endpoints[0].Amount != "60000" {
		t.Errorf("job: %d %s", res.status, res.body)
	}
	// Another organisation does not see alpha's job.
	if res = f.do(t, "GET", loc, f.tokens["b"], "", nil); res.status != http.StatusNotFound {
		t.Errorf("bravo reads alpha's job: %d", res.status)
	}

	for _, tc := range []struct {
		name, token, body string
		status            int
	}{
		{"no token", "", body, http.StatusUnauthorized},
		{"malformed", f.tokens["a"], `{"chain":`, http.StatusBadRequest},
		{"unknown field", f.tokens["a"], `{"chain":"bitcoin-regtest","sedes":[]}`, http.StatusBadRequest},
		{"no seed", f.tokens["a"], `{"chain":"bitcoin-regtest"}`, http.StatusUnprocessableEntity},
		{"unknown chain", f.tokens["a"], `{"chain":"moon","seeds":[{"tx":"00"}]}`, http.StatusUnprocessableEntity},
		{"bad model", f.tokens["a"], fmt.Sprintf(`{"chain":"bitcoin-regtest","seeds":[{"output":"%s:0"}],"model":"fofo"}`, h("cb")), http.StatusUnprocessableEntity},
		{"bad outpoint", f.tokens["a"], `{"chain":"bitcoin-regtest","seeds":[{"output":"nope"}]}`, http.StatusUnprocessableEntity},
		{"two kinds in a seed", f.tokens["a"], fmt.Sprintf(`{"chain":"bitcoin-regtest","seeds":[{"output":"%s:0","tx":"%s"}]}`, h("cb"), h("cb")), http.StatusUnprocessableEntity},
		{"bad amount", f.tokens["a"], fmt.Sprintf(`{"chain":"bitcoin-regtest","seeds":[{"output":"%s:0","amount":"1.5"}]}`, h("cb")), http.StatusUnprocessableEntity},
		{"unknown output", f.tokens["a"], fmt.Sprintf(`{"chain":"bitcoin-regtest","seeds":[{"output":"%s:0"}]}`, h("nothing")), http.StatusNotFound},
		{"unknown incident", f.tokens["a"], `{"chain":"bitcoin-regtest","incident":"incident--00000000-0000-4000-8000-000000000009"}`, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, "POST", "/api/v1/traces", tc.token, "application/json", []byte(tc.body))
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			res.errorCode(t)
		})
	}
}

package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// alertIncidents is how many live traces BenchmarkAlertLatency keeps.
const alertIncidents = 1000

// BenchmarkAlertLatency measures how long an alert takes from the block
// that brings stolen value to a watched address being applied to the chain
// index (ApplyFrom returned, Live notified, as serve's follower does) to
// the webhook receiving it, with 1,000 live traces.
//
// The node is what serve runs, on disk in a temporary folder: the intel
// store (SQLite) holds 1,000 synthetic incidents (TLP:GREEN), each with its
// thief's address as theft-destination wallet; the chain index (Pebble)
// holds a coinbase paying 1,000 victims and 1,000 thefts, one to each
// thief; the alert store (SQLite, synced commits) holds one watch of an
// exchange on its deposit address with a webhook to an in-process
// receiver. Each iteration applies one block whose transaction moves an
// incident's stolen output on: 1,000 sat to the deposit address, the rest
// to a fresh address (a peel), so the incidents' peel chains grow by one.
// Live re-runs the one trace the block touches (under FIFO and haircut),
// raises the alert (stored, queued, its sighting submitted) and the
// deliverer POSTs it. It reports the p50 and p99 latencies.
//
// Run: go test -run '^$' -bench AlertLatency -benchtime 300x ./bench
func BenchmarkAlertLatency(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	const chainID = "bitcoin-regtest"
	addr := func(name string) string {
		sum := sha256.Sum256([]byte(name))
		a, err := btcutil.NewAddressWitnessPubKeyHash(sum[:20], &chaincfg.RegressionNetParams)
		if err != nil {
			b.Fatal(err)
		}
		return a.EncodeAddress()
	}
	hash := func(name string) string {
		s := sha256.Sum256([]byte(name))
		return hex.EncodeToString(s[:])
	}
	out := func(a string, v int64, i uint32) chain.Output {
		return chain.Output{Index: i, Value: v, Kind: "p2wpkh", Address: a, Key: a}
	}

	// The intelligence: 1,000 incidents.
	st, err := sqlite.Open(ctx, filepath.Join(dir, "cointrail.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	in, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		b.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	ex, err := in.CreateOrg(ctx, opV, "exchange", "")
	if err != nil {
		b.Fatal(err)
	}
	const ts = `"spec_version":"2.1","created":"2024-05-01T00:00:00.000Z","modified":"2024-05-01T00:00:00.000Z"`
	var objs []*stix.Object
	parse := func(s string) {
		o, err := stix.Parse([]byte(s))
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o)
	}
	for i := range alertIncidents {
		w := stix.New(stix.TypeCryptocurrencyWallet, "")
		_ = w.Set("chain", chainID)
		_ = w.Set("value", addr(fmt.Sprint("thief ", i)))
		wid, _, err := stix.DeterministicID(w)
		if err != nil {
			b.Fatal(err)
		}
		inc := stix.NewID("incident")
		parse(fmt.Sprintf(`{"type":"incident","id":%q,%s,"name":"Theft %d","object_marking_refs":[%q]}`, inc, ts, i, stix.TLPGreenID))
		parse(fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":%q,"value":%q,"object_marking_refs":[%q]}`, wid, chainID, addr(fmt.Sprint("thief ", i)), stix.TLPGreenID))
		parse(fmt.Sprintf(`{"type":"relationship","id":%q,%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}}`,
			stix.NewID("relationship"), ts, wid, inc, stix.TLPGreenID, stix.RoleExtensionID))
	}
	if _, err := in.Submit(ctx, opV, objs, intel.SubmitOptions{}); err != nil {
		b.Fatal(err)
	}

	// The chain: victims paid, then robbed.
	idx, err := chainstore.Open(filepath.Join(dir, "chain"), chainstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	cb := chain.Tx{Hash: hash("coinbase"), Coinbase: true}
	var thefts []chain.Tx
	for i := range alertIncidents {
		cb.Outputs = append(cb.Outputs, out(addr(fmt.Sprint("victim ", i)), 100_000_000, uint32(i)))
		thefts = append(thefts, chain.Tx{Hash: hash(fmt.Sprint("theft ", i)), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: cb.Hash, Index: uint32(i)}}},
			Outputs: []chain.Output{out(addr(fmt.Sprint("thief ", i)), 99_990_000, 0)}})
	}
	parent := hash("block 1")
	blocks := []*chain.Block{
		{Chain: chainID, Height: 0, Hash: hash("block 0"), Parent: hash("none"), Time: time.Unix(1714521600, 0), Txs: []chain.Tx{cb}},
		{Chain: chainID, Height: 1, Hash: parent, Parent: hash("block 0"), Time: time.Unix(1714522200, 0),
			Txs: append([]chain.Tx{{Hash: hash("coinbase 1"), Coinbase: true, Outputs: []chain.Output{out(addr("miner"), 50, 0)}}}, thefts...)},
	}
	if err := idx.ApplyFrom(ctx, "bench", blocks...); err != nil {
		b.Fatal(err)
	}

	// The receiver: when each alert's transaction arrived.
	arrived := map[string]time.Time{}
	var mu sync.Mutex
	got := make(chan struct{}, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		var a struct{ Tx string }
		_ = json.Unmarshal(body, &a)
		mu.Lock()
		if _, ok := arrived[a.Tx]; !ok {
			arrived[a.Tx] = now
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	defer recv.Close()

	// The alerts, as serve runs them.
	as, err := alert.OpenStore(ctx, filepath.Join(dir, alert.File), alert.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer as.Close()
	svc := alert.NewService(as, in, alert.Options{Operator: op.ID})
	deposit := addr("exchange deposit")
	if _, err := svc.AddWatch(ctx, access.Viewer{Org: ex.ID, Role: access.Contributor}, alert.Watch{Chain: chainID, Addresses: []string{deposit}, Webhook: recv.URL, Secret: "s"}); err != nil {
		b.Fatal(err)
	}
	live := alert.NewLive(svc, idx, alert.LiveOptions{})
	del := alert.NewDeliverer(svc, alert.DelivererOptions{})
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{live.Run, del.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = run(rctx)
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	start := time.Now()
	for {
		states, err := as.LiveStates(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(states) == alertIncidents {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("%d live traces after 5 minutes", len(states))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Logf("%d live traces started in %s", alertIncidents, time.Since(start).Round(time.Millisecond))

	// Each incident's stolen output, as it moves on.
	type coin struct {
		tx    string
		value int64
	}
	cur := make([]coin, alertIncidents)
	for i := range cur {
		cur[i] = coin{hash(fmt.Sprint("theft ", i)), 99_990_000}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for n := range b.N {
		k := n % alertIncidents
		tx := chain.Tx{Hash: hash(fmt.Sprint("peel ", n)), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: cur[k].tx, Index: 1}}},
			Outputs: []chain.Output{out(deposit, 1000, 0), out(addr(fmt.Sprint("hop ", n)), cur[k].value-2000, 1)}}
		if cur[k].tx == hash(fmt.Sprint("theft ", k)) {
			tx.Inputs[0].Prev.Index = 0
		}
		blk := &chain.Block{Chain: chainID, Height: int64(2 + n), Hash: hash(fmt.Sprint("block ", 2+n)), Parent: parent, Time: time.Unix(1714522800+int64(n)*600, 0),
			Txs: []chain.Tx{{Hash: hash(fmt.Sprint("coinbase ", 2+n)), Coinbase: true, Outputs: []chain.Output{out(addr("miner"), 50, 0)}}, tx}}
		if err := idx.ApplyFrom(ctx, "bench", blk); err != nil {
			b.Fatal(err)
		}
		applied := time.Now()
		live.Notify(chainID)
		parent, cur[k] = blk.Hash, coin{tx.Hash, cur[k].value - 2000}
		deadline := time.After(30 * time.Second)
		for {
			mu.Lock()
			at, ok := arrived[tx.Hash]
			mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(applied))
				break
			}
			select {
			case <-got:
			case <-deadline:
				b.Fatalf("block %d: no alert within 30s", 2+n)
			}
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	b.ReportMetric(float64(pct(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

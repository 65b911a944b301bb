package ingest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/ingest"
)

const btc = 100_000_000

// openStore opens an in-memory chain index, closed when the test ends.
func openStore(t *testing.T) *chainstore.Store {
	t.Helper()
	s, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rpcSource(t *testing.T, node *btcdtest.Node, rawURL string) *bitcoin.RPC {
	t.Helper()
	src, err := bitcoin.NewRPC(rawURL, bitcoin.Simnet, bitcoin.RPCOptions{User: node.User, Password: node.Password, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// balance is an address's balance in the index (0 when it has none).
func balance(t *testing.T, s *chainstore.Store, addr string) int64 {
	t.Helper()
	v, err := s.Address(context.Background(), "bitcoin-simnet", addr)
	if errors.Is(err, chain.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range v.Balances {
		if b.Asset == "bitcoin-simnet:BTC" {
			return b.Balance.Int64()
		}
	}
	t.Fatalf("%s: no BTC balance in %+v", addr, v.Balances)
	return 0
}

// spentBy returns the transaction that spends op in the index ("" for
// none).
func spentBy(t *testing.T, s *chainstore.Store, op wire.OutPoint) string {
	t.Helper()
	v, err := s.Tx(context.Background(), "bitcoin-simnet", op.Hash.String())
	if err != nil {
		t.Fatalf("tx %s: %v", op.Hash, err)
	}
	for _, o := range v.Outputs {
		if o.Index == op.Index {
			if o.SpentBy == nil {
				return ""
			}
			return o.SpentBy.Tx
		}
	}
	t.Fatalf("tx %s has no output %d", op.Hash, op.Index)
	return ""
}

// TestBtcdIngest mines on a real btcd, sends signed transactions between
// several keys (several inputs and outputs, legacy and segwit), and
// ingests over JSON-RPC in two runs, the second resuming at the cursor.
// Every balance must equal what btcd's address index says, and every
// spend must be the one the test made. Then a follower picks up new
// blocks as they are mined.
func TestBtcdIngest(t *testing.T) {
	node := btcdtest.Start(t)
	p := node.Params
	alice := btcdtest.NewKey(t, p, "ingest alice")
	bob := btcdtest.NewKey(t, p, "ingest bob")
	carol := btcdtest.NewKey(t, p, "ingest carol")
	miner := node.Miner

	// Segwit activates for the block after 299 on simnet.
	hashes := node.Generate(t, 300)
	cb0, cb1, cb2 := node.CoinbaseCoin(t, hashes[0]), node.CoinbaseCoin(t, hashes[1]), node.CoinbaseCoin(t, hashes[2])
	tx1 := btcdtest.Sign(t, []btcdtest.Coin{cb0, cb1}, []*wire.TxOut{
		wire.NewTxOut(60*btc, alice.Script(t, alice.P2WPKH)),
		wire.NewTxOut(30*btc, bob.Script(t, bob.P2PKH)),
		wire.NewTxOut(10*btc-10_000, carol.Script(t, carol.P2TR)),
	})
	node.Send(t, tx1)
	node.Generate(t, 1)
	tx2 := btcdtest.Sign(t, []btcdtest.Coin{btcdtest.Output(tx1, 0, alice), btcdtest.Output(tx1, 1, bob), cb2}, []*wire.TxOut{
		wire.NewTxOut(100*btc, carol.Script(t, carol.P2WPKH)),
		wire.NewTxOut(25*btc, alice.Script(t, alice.P2PKH)),
		wire.NewTxOut(15*btc-20_000, bob.Script(t, bob.P2WPKH)),
	})
	node.Send(t, tx2)
	tx3 := btcdtest.Sign(t, []btcdtest.Coin{btcdtest.Output(tx2, 0, carol), btcdtest.Output(tx1, 2, carol)}, []*wire.TxOut{
		wire.NewTxOut(50*btc, alice.Script(t, alice.P2TR)),
		wire.NewTxOut(60*btc-35_000, carol.Script(t, carol.P2PKH)),
	})
	node.Send(t, tx3)
	node.Generate(t, 2)
	tip := node.Height(t)

	ctx := context.Background()
	s := openStore(t)
	src := rpcSource(t, node, node.URL)
	var progress []ingest.Progress
	opts := ingest.Options{Group: 16, Progress: func(p ingest.Progress) { progress = append(progress, p) }}
	if err := ingest.FromSource(ctx, s, src, "rpc", -1, 50, false, opts); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Cursor("bitcoin-simnet", "rpc"); err != nil || c.Height != 50 {
		t.Fatalf("cursor after the first run: %+v, %v", c, err)
	}
	if len(progress) != 4 || progress[3].Height != 50 || progress[3].Blocks != 51 || progress[3].Tip != tip {
		t.Errorf("progress: %+v", progress)
	}
	if err := ingest.FromSource(ctx, s, src, "rpc", -1, -1, false, opts); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status("bitcoin-simnet")
	if err != nil {
		t.Fatal(err)
	}
	if st.Tip == nil || st.Tip.Height != tip || st.Tip.Hash != node.BestHash(t) || st.Blocks != uint64(tip+1) || len(st.Segments) != 1 {
		t.Fatalf("status: %+v", st)
	}
	// Every block and 3 more transactions.
	if st.Txs != uint64(tip+1)+3 {
		t.Errorf("status: %d transactions, want %d", st.Txs, tip+1+3)
	}

	for _, k := range []*btcdtest.Key{alice, bob, carol, miner} {
		for _, a := range []interface{ EncodeAddress() string }{k.P2PKH, k.P2WPKH, k.P2TR} {
			addr := a.EncodeAddress()
			if got, want := balance(t, s, addr), node.Balance(t, addr); got != want {
				t.Errorf("%s %s: index balance %d, btcd %d", k.Name, addr, got, want)
			}
		}
	}
	if got := balance(t, s, alice.P2TR.EncodeAddress()); got != 50*btc {
		t.Errorf("alice's taproot balance %d", got)
	}
	for _, tx := range []*wire.MsgTx{tx1, tx2, tx3} {
		for i, in := range tx.TxIn {
			if got := spentBy(t, s, in.PreviousOutPoint); got != tx.TxHash().String() {
				t.Errorf("%v (input %d of %s) spent by %q", in.PreviousOutPoint, i, tx.TxHash(), got)
			}
		}
	}

	// Follow: new blocks arrive while the follower runs.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- ingest.FromSource(fctx, s, src, "rpc", -1, -1, true, ingest.Options{Interval: 50 * time.Millisecond})
	}()
	node.Generate(t, 3)
	want := node.BestHash(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := s.Cursor("bitcoin-simnet", "rpc")
		if err == nil && c.Hash == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower did not reach %s: %+v, %v", want, c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follower: %v", err)
	}
}

// TestBtcdReorg runs two real btcd nodes that share 101 blocks, then mine
// apart: A spends a coinbase to alice and mines 2 blocks, B spends the same
// coinbase to bob and mines 4. The index follows A, then A connects to B
// and reorganises onto B's longer chain; the next ingest must leave the
// index equal to a clean ingest of B: alice's payment gone, bob's in, the
// coinbase spent by bob's transaction, A's blocks stale.
func TestBtcdReorg(t *testing.T) {
	a := btcdtest.StartListening(t)
	b := btcdtest.StartListening(t)
	p := a.Params
	alice := btcdtest.NewKey(t, p, "reorg alice")
	bob := btcdtest.NewKey(t, p, "reorg bob")

	shared := a.Generate(t, 101)
	for _, h := range shared {
		b.Submit(t, a.Block(t, h))
	}
	if a.BestHash(t) != b.BestHash(t) {
		t.Fatal("the nodes do not share their first 101 blocks")
	}
	cb := a.CoinbaseCoin(t, shared[0])
	toAlice := btcdtest.Sign(t, []btcdtest.Coin{cb}, []*wire.TxOut{wire.NewTxOut(50*btc-10_000, alice.Script(t, alice.P2WPKH))})
	toBob := btcdtest.Sign(t, []btcdtest.Coin{cb}, []*wire.TxOut{wire.NewTxOut(50*btc-20_000, bob.Script(t, bob.P2PKH))})
	a.Send(t, toAlice)
	aBranch := a.Generate(t, 2)
	b.Send(t, toBob)
	b.Generate(t, 4)

	ctx := context.Background()
	s := openStore(t)
	srcA := rpcSource(t, a, a.URL)
	if err := ingest.FromSource(ctx, s, srcA, "rpc", -1, -1, false, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, s, alice.P2WPKH.EncodeAddress()); got != 50*btc-10_000 {
		t.Fatalf("alice before the reorg: %d", got)
	}
	if got := spentBy(t, s, cb.OutPoint); got != toAlice.TxHash().String() {
		t.Fatalf("coinbase spent by %q before the reorg", got)
	}

	a.Connect(t, b)
	want := b.BestHash(t)
	deadline := time.Now().Add(30 * time.Second)
	for a.BestHash(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("node A did not reorganise onto B's chain (A at %d, B at %d)", a.Height(t), b.Height(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ingest.FromSource(ctx, s, srcA, "rpc", -1, -1, false, ingest.Options{}); err != nil {
		t.Fatal(err)
	}

	clean := openStore(t)
	if err := ingest.FromSource(ctx, clean, rpcSource(t, b, b.URL), "rpc", -1, -1, false, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Status("bitcoin-simnet")
	if err != nil {
		t.Fatal(err)
	}
	wantSt, err := clean.Status("bitcoin-simnet")
	if err != nil {
		t.Fatal(err)
	}
	if got.Blocks != wantSt.Blocks || got.Txs != wantSt.Txs || *got.Tip != *wantSt.Tip || len(got.Segments) != 1 || got.Tip.Hash != want {
		t.Fatalf("after the reorg: %+v\na clean ingest of B: %+v", got, wantSt)
	}
	for _, addr := range []string{alice.P2WPKH.EncodeAddress(), bob.P2PKH.EncodeAddress(), a.Miner.P2PKH.EncodeAddress()} {
		if g, w := balance(t, s, addr), balance(t, clean, addr); g != w {
			t.Errorf("%s: %d after the reorg, %d in a clean ingest of B", addr, g, w)
		}
		if g, w := balance(t, s, addr), b.Balance(t, addr); g != w {
			t.Errorf("%s: %d after the reorg, B's address index says %d", addr, g, w)
		}
	}
	if got := balance(t, s, alice.P2WPKH.EncodeAddress()); got != 0 {
		t.Errorf("alice after the reorg: %d", got)
	}
	if got := balance(t, s, bob.P2PKH.EncodeAddress()); got != 50*btc-20_000 {
		t.Errorf("bob after the reorg: %d", got)
	}
	// The miner: 105 subsidies and bob's fee.
	if got := balance(t, s, a.Miner.P2PKH.EncodeAddress()); got != 105*50*btc-50*btc+20_000 {
		t.Errorf("miner after the reorg: %d", got)
	}
	if got := spentBy(t, s, cb.OutPoint); got != toBob.TxHash().String() {
		t.Errorf("coinbase spent by %q after the reorg", got)
	}
	if _, err := s.Tx(ctx, "bitcoin-simnet", toAlice.TxHash().String()); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("alice's transaction after the reorg: %v", err)
	}
	for _, h := range aBranch {
		v, err := s.Block(ctx, "bitcoin-simnet", h)
		if err != nil || v.State != "stale" {
			t.Errorf("A's block %s after the reorg: %+v, %v", h, v, err)
		}
	}
	sameGraph(t, s.Graph("bitcoin-simnet"), clean.Graph("bitcoin-simnet"))
}

// TestBtcdGoesAway puts a proxy in front of a real btcd that starts
// failing part way: the ingest stops with an error, the cursor is at the
// last block applied, every block up to it is indexed and none after it;
// a second run against the node finishes the job.
func TestBtcdGoesAway(t *testing.T) {
	node := btcdtest.Start(t)
	node.Generate(t, 120)
	target, err := url.Parse(node.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"http-500", "garbage", "hang-up"} {
		t.Run(mode, func(t *testing.T) {
			var blocks atomic.Int64
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if strings.Contains(string(body), `"getblock"`) && blocks.Add(1) > 70 {
					switch mode {
					case "http-500":
						http.Error(w, "node shutting down", http.StatusInternalServerError)
					case "garbage":
						io.WriteString(w, `{"result":"00ff`)
					default:
						hj, ok := w.(http.Hijacker)
						if !ok {
							t.Error("no hijacker")
							return
						}
						c, _, _ := hj.Hijack()
						c.Close()
					}
					return
				}
				req, _ := http.NewRequestWithContext(r.Context(), r.Method, target.String(), strings.NewReader(string(body)))
				req.Header = r.Header.Clone()
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
				io.Copy(w, resp.Body)
			}))
			defer proxy.Close()

			ctx := context.Background()
			s := openStore(t)
			err := ingest.FromSource(ctx, s, rpcSource(t, node, proxy.URL), "rpc", -1, -1, false, ingest.Options{Group: 32})
			if err == nil {
				t.Fatal("no error from a node that fails")
			}
			if !strings.Contains(err.Error(), "block ") {
				t.Errorf("the error does not name the block: %v", err)
			}
			c, err := s.Cursor("bitcoin-simnet", "rpc")
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Status("bitcoin-simnet")
			if err != nil {
				t.Fatal(err)
			}
			// Groups of 32 blocks: 0-31 and 32-63 are applied, 64-95
			// fails at its 7th block.
			if c.Height != 63 || st.Blocks != 64 || st.Tip.Height != 63 || st.Txs != 64 {
				t.Fatalf("after the failure: cursor %+v, status %+v", c, st)
			}
			if err := ingest.FromSource(ctx, s, rpcSource(t, node, node.URL), "rpc", -1, -1, false, ingest.Options{Group: 32}); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Status("bitcoin-simnet"); err != nil || st.Tip.Hash != node.BestHash(t) || st.Blocks != 121 {
				t.Fatalf("after the second run: %+v, %v", st, err)
			}
		})
	}
}

// sameGraph checks that two graphs number the same transactions, outputs
// and inputs alike, with the same values and spends.
func sameGraph(t *testing.T, got, want *chainstore.Graph) {
	t.Helper()
	got.RLock()
	defer got.RUnlock()
	want.RLock()
	defer want.RUnlock()
	if got.NumTx() != want.NumTx() || got.NumOutputs() != want.NumOutputs() || got.NumInputs() != want.NumInputs() {
		t.Fatalf("graph: %d txs, %d outputs, %d inputs; want %d, %d, %d", got.NumTx(), got.NumOutputs(), got.NumInputs(), want.NumTx(), want.NumOutputs(), want.NumInputs())
	}
	for n := range got.NumTx() {
		if got.TxHash(n) != want.TxHash(n) || got.Tx(n) != want.Tx(n) {
			t.Fatalf("graph tx %d: %s %+v, want %s %+v", n, got.TxHash(n), got.Tx(n), want.TxHash(n), want.Tx(n))
		}
	}
	for o := range got.NumOutputs() {
		g, w := got.Output(o), want.Output(o)
		if g.Value != w.Value || g.SpentBy != w.SpentBy {
			t.Fatalf("graph output %d: %+v, want %+v", o, g, w)
		}
	}
	for i := range got.NumInputs() {
		if got.Input(i) != want.Input(i) {
			t.Fatalf("graph input %d spends %d, want %d", i, got.Input(i), want.Input(i))
		}
	}
}

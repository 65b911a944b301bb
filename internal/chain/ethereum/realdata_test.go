package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
)

// line renders a transfer for comparisons: "kind from -> to amount asset".
func line(t chain.Transfer) string {
	s := fmt.Sprintf("%s %s -> %s %s %s", t.Kind, t.From, t.To, t.Amount, t.Asset)
	if t.TokenID != nil {
		s += " #" + t.TokenID.String()
	}
	return s
}

func lines(ts []chain.Transfer) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = line(t)
	}
	return out
}

// wantTx is the expected content of one transaction.
type wantTx struct {
	hash           string
	failed         bool
	failureUnknown bool
	transfers      []string
}

func checkTxs(t *testing.T, got []chain.Tx, want []wantTx) {
	t.Helper()
	if len(got) != len(want) {
		var hashes []string
		for _, tx := range got {
			hashes = append(hashes, tx.Hash)
		}
		t.Fatalf("got %d transactions %v, want %d", len(got), hashes, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Hash != w.hash {
			t.Errorf("tx %d: hash %s, want %s", i, g.Hash, w.hash)
		}
		if g.Failed != w.failed || g.FailureUnknown != w.failureUnknown {
			t.Errorf("tx %s: failed=%v unknown=%v, want %v %v", w.hash, g.Failed, g.FailureUnknown, w.failed, w.failureUnknown)
		}
		if gl := lines(g.Transfers); !slices.Equal(gl, w.transfers) {
			t.Errorf("tx %s transfers:\n got  %s\n want %s", w.hash, strings.Join(gl, "\n      "), strings.Join(w.transfers, "\n      "))
		}
	}
}

const eth = "ethereum:ETH"

// TestRealBlocks reads the recorded mainnet blocks whose receipts are all
// recorded through the RPC source, end to end, from a node without
// eth_getBlockReceipts and without the debug API, and checks every
// transfer against values worked out by hand from the JSON.
func TestRealBlocks(t *testing.T) {
	node := newFakeNode(t)
	node.loadShared(t)
	node.offer("debug_traceBlockByNumber", false)
	src, err := NewRPC(node.URL, "ethereum", RPCOptions{})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		height       int64
		hash, parent string
		time         int64
		txs          []wantTx
	}{{
		// The genesis block: no transactions, no reward (its allocations
		// are not transfers of any block).
		height: 0,
		hash:   "0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3",
		parent: "0x0000000000000000000000000000000000000000000000000000000000000000",
		time:   0,
	}, {
		// An empty Frontier/Homestead block: the 5 ETH block reward only.
		height: 1755634,
		hash:   "0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178",
		parent: "0x112aa801c14d16d9b929fd8e1e639a29d79e467334054a111c2f860e462e3ff4",
		time:   0x576b99f5,
		txs: []wantTx{{
			hash:      "0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178:rewards",
			transfers: []string{"reward mint -> 0x61c808d82a3ac53231750dadc13c777b59310bd9 5000000000000000000 " + eth},
		}},
	}, {
		height: 1755635,
		hash:   "0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67",
		parent: "0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178",
		time:   0x576b99fa,
		txs: []wantTx{{
			// A contract call without value whose receipt carries an
			// ERC-20 Transfer of 0x4563918244f40000 = 5e18 base units of
			// 0xbb9bc244... (the second log, topic 0xe3e6..., is another
			// event); fee 0x8e42 × 0x4a817c800 = 36418 × 20 gwei. Before
			// Byzantium, without a trace: it used 36418 of 250000 gas, so
			// it did not fail.
			hash: "0x2e3dcd051a91d3a694f6b8de2ac4b5fe7acdba55f58bcf8471ff00d4a430074d",
			transfers: []string{
				"token 0x6498077292a0921c8804924fdf47b5e91e2a215f -> 0x8b3b3b624c3c0397d3da8fd861512393d51dcbac 5000000000000000000 ethereum:0xbb9bc244d798123fde783fcc1c72d3bb8c189413",
				"fee 0xed059bc543141c8c93031d545079b3da0233b27f -> 0xa027231f42c80ca4125b5cb962a21cd4f812e88f 728360000000000 " + eth,
			},
		}, {
			// A plain payment of 0x5a178a89b930e00 wei; fee 21000 × 20 gwei.
			hash: "0x9a5437ec71b74ecf5930b406908ac6999966d38a86d1534b7190ece7599095eb",
			transfers: []string{
				"native 0x3763e6e1228bfeab94191c856412d1bb0a8e6996 -> 0xec1ebac9da3430213281c80fa6d46378341a96ae 405738107000000000 " + eth,
				"fee 0x3763e6e1228bfeab94191c856412d1bb0a8e6996 -> 0xa027231f42c80ca4125b5cb962a21cd4f812e88f 420000000000000 " + eth,
			},
		}, {
			hash:      "0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67:rewards",
			transfers: []string{"reward mint -> 0xa027231f42c80ca4125b5cb962a21cd4f812e88f 5000000000000000000 " + eth},
		}},
	}, {
		// Four transactions, two of them token transfers of
		// 0xf4eced2f..., which the recorded eth_getFilterLogs also shows;
		// all at 50 gwei.
		height: 483920,
		hash:   "0x246edb4b351d93c27926f4649bcf6c24366e2a7c7c718dc9158eea20c03bc6ae",
		parent: "0x2610dc6eb941f4bcbddfd2362b999087ccd956e978f0ece4f8da96851283a2ba",
		time:   0x5638c858,
		txs: []wantTx{{
			hash: "0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8",
			transfers: []string{
				"token 0x1b63142628311395ceafeea5667e7c9026c862ca -> 0xac4df82fe37ea2187bc8c011a23d743b4f39019a 100000 ethereum:0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
				"fee 0x1b63142628311395ceafeea5667e7c9026c862ca -> 0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5 2542650000000000 " + eth,
			},
		}, {
			hash: "0xcea6f89720cc1d2f46cc7a935463ae0b99dd5fad9c91bb7357de5421511cee49",
			transfers: []string{
				"token 0x9b22a80d5c7b3374a05b446081f97d0a34079e7f -> 0x66f183060253cfbe45beff1e6e7ebbe318c81e56 200000 ethereum:0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
				"fee 0x9b22a80d5c7b3374a05b446081f97d0a34079e7f -> 0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5 2542650000000000 " + eth,
			},
		}, {
			hash: "0x463d53f0ad57677a3b430a007c1c31d15d62c37fab5eee598551697c297c235c",
			transfers: []string{
				"native 0x9df428a91ff0f3635c8f0ce752933b9788926804 -> 0x9e669f970ec0f49bb735f20799a7e7c4a1c274e2 11000440000000000 " + eth,
				"fee 0x9df428a91ff0f3635c8f0ce752933b9788926804 -> 0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5 1050000000000000 " + eth,
			},
		}, {
			hash: "0x05287a561f218418892ab053adfb3d919860988b19458c570c5c30f51c146f02",
			transfers: []string{
				"native 0x2a65aca4d5fc5b5c859090a6c34d164135398226 -> 0x743b8aeedc163c0e3a0fe9f3910d146c48e70da8 1530219620000000000 " + eth,
				"fee 0x2a65aca4d5fc5b5c859090a6c34d164135398226 -> 0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5 1050000000000000 " + eth,
			},
		}, {
			hash:      "0x246edb4b351d93c27926f4649bcf6c24366e2a7c7c718dc9158eea20c03bc6ae:rewards",
			transfers: []string{"reward mint -> 0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5 5000000000000000000 " + eth},
		}},
	}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.height), func(t *testing.T) {
			b, err := src.Block(context.Background(), tt.height)
			if err != nil {
				t.Fatal(err)
			}
			if b.Chain != "ethereum" || b.Height != tt.height || b.Hash != tt.hash || b.Parent != tt.parent {
				t.Errorf("block %s %d %s parent %s, want ethereum %d %s parent %s", b.Chain, b.Height, b.Hash, b.Parent, tt.height, tt.hash, tt.parent)
			}
			if !b.Time.Equal(time.Unix(tt.time, 0)) || b.Time.Location() != time.UTC {
				t.Errorf("time %v, want %v UTC", b.Time, time.Unix(tt.time, 0).UTC())
			}
			checkTxs(t, b.Txs, tt.txs)
			// Without the debug API internal transfers are unknown, and the
			// block says so, unless it has no transactions to trace.
			hasTxs := tt.height == 1755635 || tt.height == 483920
			if b.Traced == hasTxs || hasTxs && !errors.Is(b.TraceError, ErrNoDebugAPI) {
				t.Errorf("traced %v (%v), want %v", b.Traced, b.TraceError, !hasTxs)
			}
		})
	}
	// The source remembers what the node lacks: one failed try each.
	if n := node.count("debug_traceBlockByNumber"); n != 1 {
		t.Errorf("debug_traceBlockByNumber asked %d times, want 1", n)
	}
	if n := node.count("eth_getBlockReceipts"); n != 1 {
		t.Errorf("eth_getBlockReceipts asked %d times, want 1", n)
	}
	if src.Tracing() != Unsupported || src.BlockReceipts() != Unsupported {
		t.Errorf("support: tracing %v, block receipts %v", src.Tracing(), src.BlockReceipts())
	}
}

// TestRealFilterLogs checks the token transfers of block 483920 against
// the recorded eth_getFilterLogs, an independent answer of the node.
func TestRealFilterLogs(t *testing.T) {
	raw := rpcFile(t, "eth_getFilterLogs_0x0.json")
	// The filter logs have the shape of receipt logs: decode them as the
	// logs of a receipt.
	rc, err := decodeReceipt([]byte(`{"transactionHash":"0x` + strings.Repeat("0", 64) + `","blockHash":"0x` + strings.Repeat("0", 64) + `","status":"0x1","gasUsed":"0x0","logs":` + string(raw) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range rc.logs {
		if tr, ok := tokenTransfer("ethereum", &rc.logs[i]); ok {
			got = append(got, line(tr))
		}
	}
	want := []string{
		"token 0x1b63142628311395ceafeea5667e7c9026c862ca -> 0xac4df82fe37ea2187bc8c011a23d743b4f39019a 100000 ethereum:0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
		"token 0x9b22a80d5c7b3374a05b446081f97d0a34079e7f -> 0x66f183060253cfbe45beff1e6e7ebbe318c81e56 200000 ethereum:0xf4eced2f682ce333f96f2d8966c613ded8fc95dd",
	}
	if !slices.Equal(got, want) {
		t.Errorf("filter logs:\n got  %v\n want %v", got, want)
	}

	node := newFakeNode(t)
	node.loadShared(t)
	src, err := NewRPC(node.URL, "ethereum", RPCOptions{NoTrace: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Block(context.Background(), 483920)
	if err != nil {
		t.Fatal(err)
	}
	var fromBlock []string
	for _, tx := range b.Txs {
		for _, tr := range tx.Transfers {
			if tr.Kind == chain.Token {
				fromBlock = append(fromBlock, line(tr))
			}
		}
	}
	if !slices.Equal(fromBlock, want) {
		t.Errorf("block 483920 token transfers %v, want the filter logs' %v", fromBlock, want)
	}
	if !errors.Is(b.TraceError, ErrTracingOff) || node.count("debug_traceBlockByNumber") != 0 {
		t.Errorf("NoTrace: trace error %v, %d trace requests", b.TraceError, node.count("debug_traceBlockByNumber"))
	}
}

// TestRealBlocksWithoutReceipts: blocks 47218 and 47219 are recorded
// without their receipts. The source must say which receipt is missing,
// and the blocks themselves must decode to the values they show.
func TestRealBlocksWithoutReceipts(t *testing.T) {
	node := newFakeNode(t)
	node.loadShared(t)
	src, err := NewRPC(node.URL, "ethereum", RPCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.BlockAt(context.Background(), 47218)
	if !errors.Is(err, chain.ErrNotFound) || !strings.Contains(err.Error(), "0x99f1097abd8f33a68f0ed63d60de5f3e7e2a3e0579b90d5f46a4f201c658b46d") {
		t.Errorf("block 47218 without receipts: %v", err)
	}

	tests := []struct {
		file     string
		hash     string
		from, to string
		value    string
		gasPrice string
	}{
		// 110 ETH, the block's first transaction; gas price 0xe7d1f8f7e.
		{"eth_getBlockByNumber_0xb872_true.json", "0x99f1097abd8f33a68f0ed63d60de5f3e7e2a3e0579b90d5f46a4f201c658b46d",
			"0x1406854d149e081ac09cb4ca560da463f3123059", "0xa0e74ae010d51894734c308d612131056bb721ad", "110000000000000000000", "62227241854"},
		{"eth_getBlockByNumber_0xb873_true.json", "0x4bcc1dd0c56c0b767b1ee3cb8bce7df44518f1696205299e34eb53a5e00a863e",
			"0xf9a19aea1193d9b9e4ef2f5b8c9ec8df93a22356", "0x32be343b94f860124dc4fee278fdcbd38c102d88", "1998716170000000000", "61134768794"},
	}
	for _, tt := range tests {
		b, err := decodeBlock(rpcFile(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		i := slices.IndexFunc(b.txs, func(x tx) bool { return x.hash == tt.hash })
		if i < 0 {
			t.Fatalf("%s: no transaction %s", tt.file, tt.hash)
		}
		x := b.txs[i]
		if x.from != tt.from || x.to != tt.to || x.value.String() != tt.value || x.gasPrice.String() != tt.gasPrice {
			t.Errorf("%s: %s -> %s %s at %s, want %s -> %s %s at %s", tt.hash, x.from, x.to, x.value, x.gasPrice, tt.from, tt.to, tt.value, tt.gasPrice)
		}
	}
}

// internals returns the internal transfers of a trace's transaction, as
// lines.
func internals(tr *trace) []string {
	var out []chain.Transfer
	if tr.root != nil && tr.root.err == "" {
		for i := range tr.root.calls {
			out = internal(&tr.root.calls[i], eth, out)
		}
	}
	return lines(out)
}

// TestRealTraces reads the recorded geth callTracer traces of mainnet
// blocks 1, 1,000,000 (a CALLCODE subcall), 1,000,690 (a contract
// creation), 1,000,895 (a call that ran out of gas) and 1,011,973 (a
// SELFDESTRUCT).
func TestRealTraces(t *testing.T) {
	load := func(name string) []trace {
		t.Helper()
		ts, err := decodeTraces(rpcFile(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return ts
	}

	if ts := load("debug_traceBlockByNumber_0x1_tracer_calltracer.json"); len(ts) != 0 {
		t.Errorf("block 1: %d traces, want none", len(ts))
	}

	// Block 1,000,000: the first transaction sends 0x56bc75e2d63100000 =
	// 100 ETH to 0xc083..., whose code passes it on with CALLCODE: the
	// callee's code runs in the caller's context, so the 100 ETH stay
	// with 0xc083... and there is no internal transfer. The second
	// transaction is a plain payment without subcalls.
	ts := load("debug_traceBlockByNumber_0xf4240_tracer_calltracer.json")
	if len(ts) != 2 {
		t.Fatalf("block 1000000: %d traces, want 2", len(ts))
	}
	top := ts[0].root
	if top.typ != "CALL" || top.value.String() != "100000000000000000000" || len(top.calls) != 1 ||
		top.calls[0].typ != "CALLCODE" || top.calls[0].value.String() != "100000000000000000000" {
		t.Errorf("block 1000000 tx 0: unexpected trace %+v", top)
	}
	if got := internals(&ts[0]); len(got) != 0 {
		t.Errorf("block 1000000 tx 0: internal transfers %v, want none (CALLCODE)", got)
	}
	if ts[1].root.value.String() != "437194980000000000" || len(ts[1].root.calls) != 0 {
		t.Errorf("block 1000000 tx 1: %+v", ts[1].root)
	}

	// Block 1,000,690: the second transaction creates contract
	// 0xa7e3cf95... without value: the creation is the transaction
	// itself, not an internal transfer.
	ts = load("debug_traceBlockByNumber_0xf44f2_tracer_calltracer.json")
	if c := ts[1].root; c.typ != "CREATE" || c.from != "0xacdee28d8ca76187883831a37f551a5904cdf191" ||
		c.to != "0xa7e3cf952ea8d9438a26ee346c295f1ada328ae1" || c.value.Sign() != 0 {
		t.Errorf("block 1000690 tx 1: %+v", c)
	}
	if got := internals(&ts[1]); len(got) != 0 {
		t.Errorf("block 1000690: internal transfers %v, want none", got)
	}
	if ts[0].root.value.String() != "64655529900000002048" {
		t.Errorf("block 1000690 tx 0: value %s", ts[0].root.value)
	}

	// Block 1,000,895: the first transaction (1 ETH to 0x627d...) ran out
	// of gas. Before Byzantium its receipt has no status: the trace's
	// top-level error says it failed, so its value did not move.
	ts = load("debug_traceBlockByNumber_0xf45bf_tracer_calltracer.json")
	preByz := &receipt{status: -1, gasUsed: 21000}
	if failed, unknown := outcome(&tx{gas: 21000}, preByz, ts[0].root); !failed || unknown || ts[0].root.err != "out of gas" {
		t.Errorf("block 1000895 tx 0: failed=%v unknown=%v err=%q, want failed by %q", failed, unknown, ts[0].root.err, "out of gas")
	}
	if failed, unknown := outcome(&tx{gas: 21000}, preByz, ts[1].root); failed || unknown {
		t.Errorf("block 1000895 tx 1: failed=%v unknown=%v, want success", failed, unknown)
	}
	// Without the trace, the same receipt (all gas used, no logs) leaves
	// the outcome unknown.
	if failed, unknown := outcome(&tx{gas: 21000}, preByz, nil); failed || !unknown {
		t.Errorf("no trace: failed=%v unknown=%v, want unknown", failed, unknown)
	}

	// Block 1,011,973: 0x474faa... self-destructs. The callTracer of the
	// time wrote the SELFDESTRUCT frame without beneficiary or value, so
	// no transfer can be derived: it is reported as a gap in the trace,
	// not guessed.
	ts = load("debug_traceBlockByNumber_0xf7105_tracer_calltracer.json")
	sd := ts[0].root.calls[0]
	if sd.typ != "SELFDESTRUCT" || sd.value != nil || sd.to != "" {
		t.Errorf("block 1011973: %+v", sd)
	}
	if got := internals(&ts[0]); len(got) != 0 {
		t.Errorf("block 1011973: internal transfers %v, want none", got)
	}
	if gaps := incomplete(ts[0].root); !slices.Equal(gaps, []string{"calls[0] SELFDESTRUCT"}) {
		t.Errorf("block 1011973: gaps %v", gaps)
	}
}

// TestRealTraceInBlock runs the recorded trace of block 1,000,895
// through the whole assembly, in a block built around its two
// transactions with pre-Byzantium receipts: the failed transaction keeps
// its fee and loses its value.
func TestRealTraceInBlock(t *testing.T) {
	ts := rpcFile(t, "debug_traceBlockByNumber_0xf45bf_tracer_calltracer.json")
	bh := "0x" + strings.Repeat("b", 64)
	h1, h2 := "0x"+strings.Repeat("1", 64), "0x"+strings.Repeat("2", 64)
	blockJSON := fmt.Sprintf(`{"number":"0xf45bf","hash":%q,"parentHash":"0x%s","timestamp":"0x1","miner":"0x%s","difficulty":"0x1",
		"transactions":[
		 {"hash":%q,"from":"0xad9253df75b066c67aff5cdd9d6d2b9245444726","to":"0x627da06356442122f08e2203c749978151e55800","nonce":"0x0","value":"0xde0b6b3a7640000","gas":"0x5208","gasPrice":"0x4a817c800"},
		 {"hash":%q,"from":"0x9288fe5be3be048b5c7a68bfd4b9a0746b7e4a00","to":"0xe05ff93a9978bbb48356accc74088f3841fc5d72","nonce":"0x0","value":"0xf43fc2c04ee0000","gas":"0x186a0","gasPrice":"0x4a817c800"}],
		"uncles":[]}`, bh, strings.Repeat("a", 64), strings.Repeat("c", 40), h1, h2)
	receipts := fmt.Sprintf(`[{"transactionHash":%q,"blockHash":%q,"root":"0x%s","gasUsed":"0x5208"},
		{"transactionHash":%q,"blockHash":%q,"root":"0x%s","gasUsed":"0x5208"}]`, h1, bh, strings.Repeat("d", 64), h2, bh, strings.Repeat("e", 64))
	b, err := Assemble("ethereum", Rules{}, BlockData{Block: []byte(blockJSON), Receipts: []byte(receipts), Traces: ts})
	if err != nil {
		t.Fatal(err)
	}
	miner := "0x" + strings.Repeat("c", 40)
	checkTxs(t, b.Txs, []wantTx{{
		hash: h1, failed: true,
		transfers: []string{"fee 0xad9253df75b066c67aff5cdd9d6d2b9245444726 -> " + miner + " 420000000000000 " + eth},
	}, {
		hash: h2,
		transfers: []string{
			"native 0x9288fe5be3be048b5c7a68bfd4b9a0746b7e4a00 -> 0xe05ff93a9978bbb48356accc74088f3841fc5d72 1100000000000000000 " + eth,
			"fee 0x9288fe5be3be048b5c7a68bfd4b9a0746b7e4a00 -> " + miner + " 420000000000000 " + eth,
		},
	}})
	if !b.Traced || b.TraceError != nil {
		t.Errorf("traced %v (%v), want true", b.Traced, b.TraceError)
	}
}

// TestMainnetRewards checks the schedule's edges: Byzantium, Constantinople
// and the merge.
func TestMainnetRewards(t *testing.T) {
	r := MainnetRules()
	for _, tt := range []struct {
		height int64
		want   string
	}{
		{0, "none"}, {1, "5000000000000000000"}, {4_369_999, "5000000000000000000"},
		{4_370_000, "3000000000000000000"}, {7_279_999, "3000000000000000000"},
		{7_280_000, "2000000000000000000"}, {15_537_393, "2000000000000000000"},
		{15_537_394, "none"}, {20_000_000, "none"},
	} {
		got := "none"
		if w := r.reward(tt.height); w != nil {
			got = w.String()
		}
		if got != tt.want {
			t.Errorf("reward at %d: %s, want %s", tt.height, got, tt.want)
		}
	}
	if RulesFor("ethereum-classic").reward(100) != nil {
		t.Error("ethereum-classic has built-in rewards")
	}
	if err := (Rules{Rewards: []RewardEra{{From: 5}, {From: 5}, {From: 7, Reward: big.NewInt(-1)}}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "does not follow") || !strings.Contains(err.Error(), "negative reward") {
		t.Errorf("Validate: %v", err)
	}
}

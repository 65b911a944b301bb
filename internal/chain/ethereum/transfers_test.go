package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

func h32(c string) string { return "0x" + strings.Repeat(c, 64) }
func a20(c string) string { return "0x" + strings.Repeat(c, 40) }
func q(n int64) string    { return hexInt(n) }

// word returns a 32-byte ABI word holding an address (topics) or n.
func wordAddr(a string) string { return "0x" + strings.Repeat("0", 24) + a[2:] }
func wordInt(n int64) string   { return fmt.Sprintf("0x%064x", n) }

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type obj = map[string]any

// TestAssembleLondon covers a post-London, post-Shanghai, post-Cancun
// block: burn and tip, an implied gas price, a failed transaction with
// value, a contract creation, token and NFT logs (and logs that are not
// transfers), nested internal calls with reverted and value-less frames,
// a blob fee, and withdrawals.
func TestAssembleLondon(t *testing.T) {
	var (
		bh, miner           = h32("b"), a20("f")
		A, B, C, D, E, L, W = a20("a"), a20("1"), a20("c"), a20("d"), a20("e"), a20("2"), a20("3")
		X                   = a20("9") // the created contract
		tok                 = a20("7")
		t1, t2, t3, t4      = h32("1"), h32("2"), h32("3"), h32("4")
		gwei10, gwei12      = int64(10_000_000_000), int64(12_000_000_000)
		transferOf          = func(from, to string, extra ...string) []string {
			return append([]string{TransferTopic, wordAddr(from), wordAddr(to)}, extra...)
		}
		blockJSON, rcpts, ts json.RawMessage
	)
	blockJSON = mustJSON(t, obj{
		"number": q(20_000_000), "hash": bh, "parentHash": h32("a"), "timestamp": q(1_700_000_000),
		"miner": miner, "difficulty": "0x0", "baseFeePerGas": q(gwei10), "uncles": []string{},
		"withdrawals": []obj{
			{"index": "0x0", "validatorIndex": "0x1", "address": W, "amount": q(3)},
			{"index": "0x1", "validatorIndex": "0x2", "address": W, "amount": "0x0"},
		},
		"transactions": []obj{
			{"hash": t1, "from": A, "to": B, "nonce": "0x0", "value": "0x1", "gas": q(21000), "gasPrice": q(gwei12), "type": "0x2",
				"maxFeePerGas": q(20_000_000_000), "maxPriorityFeePerGas": q(2_000_000_000)},
			{"hash": t2, "from": A, "to": C, "nonce": "0x1", "value": q(5), "gas": q(50000), "type": "0x2",
				"maxFeePerGas": q(11_000_000_000), "maxPriorityFeePerGas": q(3_000_000_000)},
			{"hash": t3, "from": A, "to": nil, "nonce": "0x2", "value": "0x2", "gas": q(900000), "gasPrice": q(gwei10)},
			{"hash": t4, "from": B, "to": C, "nonce": "0x0", "value": "0x0", "gas": q(21000), "gasPrice": q(gwei10), "type": "0x3"},
		},
	})
	rcpts = mustJSON(t, []obj{
		{"transactionHash": t1, "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "effectiveGasPrice": q(gwei12), "logs": []obj{}},
		// No effectiveGasPrice (an older node): min(11 gwei, 10 + 3 gwei).
		{"transactionHash": t2, "blockHash": bh, "status": "0x0", "gasUsed": q(30000), "logs": []obj{
			{"address": tok, "topics": transferOf(A, C), "data": wordInt(1)},
		}},
		{"transactionHash": t3, "blockHash": bh, "status": "0x1", "gasUsed": q(500000), "effectiveGasPrice": q(gwei10), "contractAddress": X, "logs": []obj{
			{"address": tok, "topics": transferOf(X, D), "data": wordInt(0)},                  // zero-value ERC-20: kept
			{"address": tok, "topics": transferOf(a20("0"), D, wordInt(42)), "data": "0x"},    // ERC-721 mint of #42
			{"address": tok, "topics": transferOf(X, D), "data": wordInt(1) + wordInt(2)[2:]}, // 64 bytes: not ERC-20
			{"address": tok, "topics": transferOf(X, D), "data": wordInt(9), "removed": true}, // removed: ignored
			{"address": tok, "topics": []string{TransferTopic, "0x" + strings.Repeat("f", 64), wordAddr(D)}, "data": wordInt(9)},
			{"address": tok, "topics": []string{h32("e"), wordAddr(X), wordAddr(D)}, "data": wordInt(9)}, // another event
		}},
		{"transactionHash": t4, "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "effectiveGasPrice": q(gwei10),
			"blobGasUsed": q(131072), "blobGasPrice": q(3), "logs": []obj{}},
	})
	ts = mustJSON(t, []obj{
		{"txHash": t1, "result": obj{"type": "CALL", "from": A, "to": B, "value": "0x1"}},
		{"txHash": t2, "result": obj{"type": "CALL", "from": A, "to": C, "value": q(5), "error": "execution reverted",
			"calls": []obj{{"type": "CALL", "from": C, "to": D, "value": q(5)}}}},
		{"txHash": t3, "result": obj{"type": "CREATE", "from": A, "to": X, "value": "0x2", "calls": []obj{
			{"type": "CALL", "from": X, "to": D, "value": q(7), "calls": []obj{
				{"type": "CALL", "from": D, "to": E, "value": q(1), "error": "execution reverted"},
			}},
			{"type": "DELEGATECALL", "from": X, "to": L, "calls": []obj{
				{"type": "CALL", "from": X, "to": E, "value": q(3)},
				{"type": "STATICCALL", "from": X, "to": C},
			}},
			{"type": "CALLCODE", "from": X, "to": L, "value": q(9)},
			{"type": "CALL", "from": X, "to": C, "value": q(4), "error": "out of gas", "calls": []obj{
				{"type": "CALL", "from": C, "to": E, "value": q(5)},
			}},
			{"type": "CREATE2", "from": X, "to": a20("8"), "value": q(6)},
			{"type": "SELFDESTRUCT", "from": a20("8"), "to": E, "value": q(6)},
			{"type": "CALL", "from": X, "to": C, "value": "0x0"},
		}}},
		{"txHash": t4, "result": obj{"type": "CALL", "from": B, "to": C, "value": "0x0"}},
	})

	b, err := Assemble("ethereum", MainnetRules(), BlockData{Block: blockJSON, Receipts: rcpts, Traces: ts})
	if err != nil {
		t.Fatal(err)
	}
	tokAsset := "ethereum:" + tok
	checkTxs(t, b.Txs, []wantTx{{
		hash: t1,
		transfers: []string{
			"native " + A + " -> " + B + " 1 " + eth,
			"burn " + A + " -> burn 210000000000000 " + eth,        // 21000 × 10 gwei
			"fee " + A + " -> " + miner + " 42000000000000 " + eth, // 21000 × 2 gwei
		},
	}, {
		hash: t2, failed: true,
		transfers: []string{
			"burn " + A + " -> burn 300000000000000 " + eth,        // 30000 × 10 gwei
			"fee " + A + " -> " + miner + " 30000000000000 " + eth, // 30000 × 1 gwei
		},
	}, {
		hash: t3,
		transfers: []string{
			"native " + A + " -> " + X + " 2 " + eth,
			"internal " + X + " -> " + D + " 7 " + eth,
			"internal " + X + " -> " + E + " 3 " + eth,
			"internal " + X + " -> " + a20("8") + " 6 " + eth,
			"internal " + a20("8") + " -> " + E + " 6 " + eth,
			"token " + X + " -> " + D + " 0 " + tokAsset,
			"nft " + a20("0") + " -> " + D + " 1 " + tokAsset + " #42",
			"burn " + A + " -> burn 5000000000000000 " + eth,
		},
	}, {
		hash: t4,
		transfers: []string{
			"burn " + B + " -> burn 210000000000000 " + eth,
			"burn " + B + " -> burn 393216 " + eth, // blob gas 131072 × 3 wei
		},
	}, {
		hash:      bh + ":withdrawals",
		transfers: []string{"withdrawal mint -> " + W + " 3000000000 " + eth},
	}})
	if !b.Traced || b.TraceError != nil {
		t.Errorf("traced %v %v", b.Traced, b.TraceError)
	}

	// Without traces the same block has no internal transfers and says so.
	b, err = Assemble("ethereum", MainnetRules(), BlockData{Block: blockJSON, Receipts: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	if b.Traced || !errors.Is(b.TraceError, ErrNoDebugAPI) {
		t.Errorf("untraced block: traced %v %v", b.Traced, b.TraceError)
	}
	for _, tx := range b.Txs {
		for _, tr := range tx.Transfers {
			if tr.Kind == "internal" {
				t.Errorf("untraced block has internal transfer %s", line(tr))
			}
		}
	}
}

// TestAssembleFrontierCreation: before London the whole fee goes to the
// miner; a creation without contractAddress in its receipt pays the
// address derived from sender and nonce.
func TestAssembleFrontierCreation(t *testing.T) {
	bh, miner := h32("b"), a20("f")
	from := "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"
	blockJSON := mustJSON(t, obj{
		"number": q(100), "hash": bh, "parentHash": h32("a"), "timestamp": q(1), "miner": miner, "difficulty": q(17), "uncles": []string{},
		"transactions": []obj{{"hash": h32("1"), "from": from, "to": nil, "nonce": "0x1", "value": q(1000), "gas": q(100000), "gasPrice": q(3)}},
	})
	rcpts := mustJSON(t, []obj{{"transactionHash": h32("1"), "blockHash": bh, "root": h32("d"), "gasUsed": q(100000), "contractAddress": nil, "logs": []obj{}}})
	b, err := Assemble("ethereum", Rules{}, BlockData{Block: blockJSON, Receipts: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	// All gas used, no logs, no trace: the outcome is unknown, and the
	// value is shown as moved.
	checkTxs(t, b.Txs, []wantTx{{
		hash: h32("1"), failureUnknown: true,
		transfers: []string{
			"native " + from + " -> 0x343c43a37d37dff08ae8c4a11544c718abb4fcf8 1000 " + eth,
			"fee " + from + " -> " + miner + " 300000 " + eth,
		},
	}})
}

func TestCreateAddress(t *testing.T) {
	// The well-known vectors for sender 0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0.
	for nonce, want := range []string{
		"0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d",
		"0x343c43a37d37dff08ae8c4a11544c718abb4fcf8",
		"0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91",
		"0xfffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c",
	} {
		if got := createAddress("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0", uint64(nonce)); got != want {
			t.Errorf("nonce %d: %s, want %s", nonce, got, want)
		}
	}
}

// TestUncleRewards reads a pre-merge block with two uncles through the
// source: the miner gets 3 ETH plus 3/32 ETH per uncle, an uncle one
// block older 7/8 of 3 ETH, one six blocks older 2/8.
func TestUncleRewards(t *testing.T) {
	node := newFakeNode(t)
	node.offer("debug_traceBlockByNumber", false)
	bh, miner, u1, u2 := h32("b"), a20("f"), a20("1"), a20("2")
	uh1, uh2 := h32("1"), h32("2")
	height := int64(5_000_000)
	node.set(mustJSON(t, obj{
		"number": q(height), "hash": bh, "parentHash": h32("a"), "timestamp": q(1), "miner": miner, "difficulty": q(1000),
		"uncles": []string{uh1, uh2}, "transactions": []obj{},
	}), "eth_getBlockByNumber", q(height), true)
	node.set(mustJSON(t, obj{"hash": uh1, "number": q(height - 1), "miner": u1}), "eth_getUncleByBlockNumberAndIndex", q(height), "0x0")
	node.set(mustJSON(t, obj{"hash": uh2, "number": q(height - 6), "miner": u2}), "eth_getUncleByBlockNumberAndIndex", q(height), "0x1")

	src, err := NewRPC(node.URL, "ethereum", RPCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Block(context.Background(), height)
	if err != nil {
		t.Fatal(err)
	}
	checkTxs(t, b.Txs, []wantTx{{
		hash: bh + ":rewards",
		transfers: []string{
			"reward mint -> " + miner + " 3187500000000000000 " + eth,
			"reward mint -> " + u1 + " 2625000000000000000 " + eth,
			"reward mint -> " + u2 + " 750000000000000000 " + eth,
		},
	}})

	// The same block on a chain configured without rewards: no uncles read.
	calls := node.count("eth_getUncleByBlockNumberAndIndex")
	src, err = NewRPC(node.URL, "ethereum", RPCOptions{Rules: &Rules{}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err = src.Block(context.Background(), height); err != nil || len(b.Txs) != 0 {
		t.Fatalf("no rewards: %v, %d txs", err, len(b.Txs))
	}
	if node.count("eth_getUncleByBlockNumberAndIndex") != calls {
		t.Error("uncles read although no reward is paid")
	}

	// An uncle that is not the one the block names.
	node.set(mustJSON(t, obj{"hash": h32("9"), "number": q(height - 1), "miner": u1}), "eth_getUncleByBlockNumberAndIndex", q(height), "0x0")
	src, _ = NewRPC(node.URL, "ethereum", RPCOptions{})
	if _, err := src.Block(context.Background(), height); !errors.Is(err, ErrInconsistent) {
		t.Errorf("wrong uncle: %v", err)
	}
}

// TestAssembleErrors feeds data no node would send, or pieces that do not
// belong together.
func TestAssembleErrors(t *testing.T) {
	bh := h32("b")
	block := func(mod func(b obj, tx obj)) json.RawMessage {
		tx := obj{"hash": h32("1"), "from": a20("a"), "to": a20("b"), "nonce": "0x0", "value": "0x1", "gas": q(21000), "gasPrice": q(5)}
		b := obj{"number": "0x10", "hash": bh, "parentHash": h32("a"), "timestamp": "0x1", "miner": a20("f"), "uncles": []string{}, "transactions": []obj{tx}}
		if mod != nil {
			mod(b, tx)
		}
		return mustJSON(t, b)
	}
	receipts := func(mod func(r obj)) json.RawMessage {
		r := obj{"transactionHash": h32("1"), "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "logs": []obj{}}
		if mod != nil {
			mod(r)
		}
		return mustJSON(t, []obj{r})
	}
	tests := []struct {
		name string
		d    BlockData
		is   error
		says string
	}{
		{"not json", BlockData{Block: []byte("{")}, ErrMalformed, "block"},
		{"null block", BlockData{Block: []byte("null")}, ErrMalformed, "null"},
		{"bad value", BlockData{Block: block(func(_, tx obj) { tx["value"] = "0xzz" }), Receipts: receipts(nil)}, ErrMalformed, "value"},
		{"missing value", BlockData{Block: block(func(_, tx obj) { delete(tx, "value") }), Receipts: receipts(nil)}, ErrMalformed, "value: missing"},
		{"no 0x", BlockData{Block: block(func(_, tx obj) { tx["value"] = "12" }), Receipts: receipts(nil)}, ErrMalformed, "not 0x hex"},
		{"empty quantity", BlockData{Block: block(func(_, tx obj) { tx["value"] = "0x" }), Receipts: receipts(nil)}, ErrMalformed, "no digits"},
		{"over 256 bits", BlockData{Block: block(func(_, tx obj) { tx["value"] = "0x1" + strings.Repeat("0", 64) }), Receipts: receipts(nil)}, ErrMalformed, "256 bits"},
		{"short address", BlockData{Block: block(func(_, tx obj) { tx["to"] = "0x1234" }), Receipts: receipts(nil)}, ErrMalformed, "to"},
		{"hashes only", BlockData{Block: block(func(b, _ obj) { b["transactions"] = []string{h32("1")} })}, ErrMalformed, "full transactions"},
		{"no receipts", BlockData{Block: block(nil)}, ErrMalformed, "receipts"},
		{"too few receipts", BlockData{Block: block(nil), Receipts: []byte("[]")}, ErrMalformed, "1 transactions but 0 receipts"},
		{"bad status", BlockData{Block: block(nil), Receipts: receipts(func(r obj) { r["status"] = "0x2" })}, ErrMalformed, "status"},
		{"no status or root", BlockData{Block: block(nil), Receipts: receipts(func(r obj) { delete(r, "status") })}, ErrMalformed, "neither status nor root"},
		{"odd data", BlockData{Block: block(nil), Receipts: receipts(func(r obj) {
			r["logs"] = []obj{{"address": a20("7"), "topics": []string{}, "data": "0x123"}}
		})}, ErrMalformed, "odd"},
		{"receipt of another tx", BlockData{Block: block(nil), Receipts: receipts(func(r obj) { r["transactionHash"] = h32("2") })}, ErrInconsistent, "receipt 0"},
		{"receipt of another block", BlockData{Block: block(nil), Receipts: receipts(func(r obj) { r["blockHash"] = h32("c") })}, ErrInconsistent, "of block"},
		{"price below base fee", BlockData{Block: block(func(b, _ obj) { b["baseFeePerGas"] = q(6) }), Receipts: receipts(nil)}, ErrMalformed, "below the base fee"},
		{"no gas price", BlockData{Block: block(func(_, tx obj) { delete(tx, "gasPrice") }), Receipts: receipts(nil)}, ErrMalformed, "gas price"},
		{"blob gas without price", BlockData{Block: block(nil), Receipts: receipts(func(r obj) { r["blobGasUsed"] = "0x1" })}, ErrMalformed, "blobGasPrice"},
		{"trace count", BlockData{Block: block(nil), Receipts: receipts(nil), Traces: []byte("[]")}, ErrInconsistent, "call traces"},
		{"trace of another tx", BlockData{Block: block(nil), Receipts: receipts(nil),
			Traces: mustJSON(t, []obj{{"txHash": h32("2"), "result": obj{"type": "CALL"}}})}, ErrInconsistent, "call trace 0"},
		{"trace without type", BlockData{Block: block(nil), Receipts: receipts(nil),
			Traces: mustJSON(t, []obj{{"result": obj{"calls": []obj{{"from": a20("1")}}}}})}, ErrMalformed, "result.type"},
		{"trace without result", BlockData{Block: block(nil), Receipts: receipts(nil), Traces: []byte(`[{}]`)}, ErrMalformed, "neither result nor error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assemble("ethereum", Rules{}, tt.d)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want %v saying %q", err, tt.is, tt.says)
			}
		})
	}
}

// TestTraceErrors: a tracer error for one transaction, or a frame whose
// value the trace does not give, leaves the block partly traced.
func TestTraceErrors(t *testing.T) {
	bh := h32("b")
	txs := []obj{
		{"hash": h32("1"), "from": a20("a"), "to": a20("b"), "nonce": "0x0", "value": "0x1", "gas": q(90000), "gasPrice": q(5)},
		{"hash": h32("2"), "from": a20("a"), "to": a20("c"), "nonce": "0x1", "value": "0x1", "gas": q(90000), "gasPrice": q(5)},
	}
	blockJSON := mustJSON(t, obj{"number": "0x10", "hash": bh, "parentHash": h32("a"), "timestamp": "0x1", "miner": a20("f"), "uncles": []string{}, "transactions": txs})
	rcpts := mustJSON(t, []obj{
		{"transactionHash": h32("1"), "blockHash": bh, "status": "0x1", "gasUsed": q(21000), "logs": []obj{}},
		{"transactionHash": h32("2"), "blockHash": bh, "status": "0x1", "gasUsed": q(30000), "logs": []obj{}},
	})
	ts := mustJSON(t, []obj{
		{"txHash": h32("1"), "error": "execution timeout"},
		{"txHash": h32("2"), "result": obj{"type": "CALL", "from": a20("a"), "to": a20("c"), "value": "0x1", "calls": []obj{
			{"type": "CALL", "from": a20("c"), "to": a20("d"), "value": "0x1"},
			{"type": "SELFDESTRUCT"},
		}}},
	})
	b, err := Assemble("ethereum", Rules{}, BlockData{Block: blockJSON, Receipts: rcpts, Traces: ts})
	if err != nil {
		t.Fatal(err)
	}
	if b.Traced || b.TraceError == nil ||
		!strings.Contains(b.TraceError.Error(), "execution timeout") || !strings.Contains(b.TraceError.Error(), "calls[1] SELFDESTRUCT") {
		t.Errorf("traced %v: %v", b.Traced, b.TraceError)
	}
	// The second transaction's known internal transfer is kept.
	if got := lines(b.Txs[1].Transfers); len(got) != 3 || got[1] != "internal "+a20("c")+" -> "+a20("d")+" 1 "+eth {
		t.Errorf("tx 2: %v", got)
	}
}

func TestRulesReward(t *testing.T) {
	r := Rules{Rewards: []RewardEra{{From: 10, Reward: big.NewInt(8)}, {From: 20, Reward: big.NewInt(0)}, {From: 30, Reward: big.NewInt(4)}}}
	for h, want := range map[int64]int64{0: -1, 9: -1, 10: 8, 19: 8, 20: -1, 29: -1, 30: 4, 1 << 40: 4} {
		got := r.reward(h)
		if want < 0 && got != nil || want >= 0 && (got == nil || got.Int64() != want) {
			t.Errorf("reward(%d) = %v, want %d", h, got, want)
		}
	}
}

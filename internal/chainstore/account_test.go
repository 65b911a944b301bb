package chainstore

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

const usdt = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7"

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

func xfer(from, to, asset string, amount *big.Int, kind chain.TransferKind) chain.Transfer {
	return chain.Transfer{From: from, To: to, Asset: asset, Amount: amount, Kind: kind}
}

func ethBlock(name, parent string, height int64, txs ...chain.Tx) *chain.Block {
	b := &chain.Block{Chain: "ethereum", Height: height, Hash: "0x" + hashOf(name), Time: time.Unix(1_700_000_000+height*12, 0).UTC(), Txs: txs}
	if parent != "" {
		b.Parent = "0x" + hashOf(parent)
	}
	return b
}

func ethTx(name string, ts ...chain.Transfer) chain.Tx {
	return chain.Tx{Hash: "0x" + hashOf(name), Transfers: ts}
}

const (
	alice = "0x00000000000000000000000000000000000a11ce"
	bob   = "0x0000000000000000000000000000000000000b0b"
	carol = "0x00000000000000000000000000000000000ca401"
	miner = "0x000000000000000000000000000000000000f00d"
)

// TestAccountChain applies Ethereum-style blocks (rewards, native value
// above 2^64 wei, fees, burns, a token, a mixed-case address) and a
// reorg, and checks totals, histories, transfers and the graph.
func TestAccountChain(t *testing.T) {
	ctx := context.Background()
	native := chain.NativeAsset("ethereum")
	b0 := ethBlock("e0", "", 0, ethTx("reward0", xfer(chain.RewardSource, alice, "", eth(100), chain.Reward)))
	b1 := ethBlock("e1", "e0", 1,
		// EIP-55 mixed case: filed in lower case.
		ethTx("t1", xfer("0x00000000000000000000000000000000000A11Ce", bob, native, eth(30), chain.Native),
			xfer(alice, miner, native, big.NewInt(21000), chain.Fee), xfer(alice, chain.BurnAddress, native, big.NewInt(5000), chain.Burn)),
		ethTx("t2", xfer(bob, carol, usdt, big.NewInt(1_000_000), chain.Token)))
	b2 := ethBlock("e2", "e1", 2, ethTx("t3", xfer(bob, carol, native, eth(5), chain.Native)))
	b2x := ethBlock("e2x", "e1", 2, ethTx("t3x", xfer(bob, alice, native, eth(7), chain.Native)), ethTx("t4x", xfer(carol, bob, usdt, big.NewInt(400_000), chain.Token)))

	s := MustOpen(t, "", Options{})
	MustApply(t, s, "rpc", b0, b1, b2)

	a, err := s.Address(ctx, "ethereum", "0x00000000000000000000000000000000000A11CE")
	if err != nil {
		t.Fatal(err)
	}
	if a.TxCount != 2 || len(a.Balances) != 1 || a.Balances[0].Asset != native ||
		a.Balances[0].Received.Cmp(eth(100)) != 0 || a.Balances[0].Sent.Cmp(new(big.Int).Add(eth(30), big.NewInt(26000))) != 0 {
		t.Fatalf("alice: %+v %+v", a, a.Balances)
	}
	// Received reads the same total with one point read.
	if recv, err := s.Received(ctx, "ethereum", "0x00000000000000000000000000000000000A11CE"); err != nil || recv.Cmp(eth(100)) != 0 {
		t.Fatalf("alice received %v, %v", recv, err)
	}
	if _, err := s.Received(ctx, "ethereum", "0x00000000000000000000000000000000000b0b0b"); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("an address never seen: %v", err)
	}
	bv, err := s.Address(ctx, "ethereum", bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(bv.Balances) != 2 || bv.TxCount != 3 {
		t.Fatalf("bob: %+v", bv)
	}
	for _, bal := range bv.Balances {
		switch bal.Asset {
		case native:
			if bal.Balance.Cmp(eth(25)) != 0 || bal.TxCount != 2 {
				t.Fatalf("bob ETH %+v", bal)
			}
		case usdt:
			if bal.Balance.Int64() != -1_000_000 || bal.TxCount != 1 {
				t.Fatalf("bob USDT %+v", bal)
			}
		default:
			t.Fatalf("bob asset %s", bal.Asset)
		}
	}
	js, err := json.Marshal(bv)
	if err != nil || !strings.Contains(string(js), `"balance":"25000000000000000000"`) {
		t.Fatalf("json %s %v", js, err)
	}
	v, err := s.Tx(ctx, "ethereum", b1.Txs[0].Hash)
	if err != nil || len(v.Transfers) != 3 || v.Transfers[0].From != alice || v.Transfers[0].Amount.Cmp(eth(30)) != 0 || v.Height != 1 {
		t.Fatalf("tx t1: %+v %v", v, err)
	}

	g := s.Graph("ethereum")
	an, _ := g.AddrNum(alice)
	bn, _ := g.AddrNum(bob)
	n1, _ := g.TxNum(b1.Txs[0].Hash)
	g.RLock()
	first, count := g.Transfers(n1)
	tr := g.Transfer(first)
	if count != 3 || tr.From != an || tr.To != bn || tr.Amount != AmountOverflow || g.TransferAmount(first).Cmp(eth(30)) != 0 ||
		tr.Kind != KindNative || g.Transfer(first+1).Kind != KindFee || g.Transfer(first+1).Amount != 21000 || len(g.OutTransfers(an)) != 3 {
		t.Fatalf("graph transfers: %+v count %d out %v", tr, count, g.OutTransfers(an))
	}
	g.RUnlock()
	sameGraph(t, rebuilt(t, s, "ethereum"), g)

	// Reorg: e2x replaces e2.
	MustApply(t, s, "rpc", b2x)
	clean := MustOpen(t, "", Options{})
	MustApply(t, clean, "rpc", b0, b1, b2x)
	// Both numbered the same assets (the asset table only grows; e2 had
	// none of its own): the dumps match but for e2's stale header.
	sameDump(t, dump(t, s, skipStale), dump(t, clean, nil))
	sameGraph(t, s.Graph("ethereum"), clean.Graph("ethereum"))
	sameGraph(t, rebuilt(t, s, "ethereum"), s.Graph("ethereum"))
	if _, err := s.Tx(ctx, "ethereum", b2.Txs[0].Hash); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("t3 after the reorg: %v", err)
	}
	page, err := s.History(ctx, "ethereum", carol, "", 10)
	if err != nil || len(page.Entries) != 2 || page.Entries[1].Sent.Int64() != 400_000 || page.Entries[1].Asset != usdt {
		t.Fatalf("carol history: %+v %v", page, err)
	}
}

// TestOutputsWithoutKeys files null-data outputs under no address and
// keeps them in the graph with NoAddr.
func TestOutputsWithoutKeys(t *testing.T) {
	ctx := context.Background()
	cb := coinbase("cb-nd", "miner", 50)
	cb.Outputs = append(cb.Outputs, chain.Output{Index: 1, Value: 0, Script: []byte{0x6a, 0x01, 0x02}, Kind: "nulldata"})
	b := synth("nd", "", cb)
	s := MustOpen(t, "", Options{})
	MustApply(t, s, "", b)
	v, err := s.Tx(ctx, "bitcoin", cb.Hash)
	if err != nil || len(v.Outputs) != 2 || v.Outputs[1].Key != "" || v.Outputs[1].Kind != "nulldata" {
		t.Fatalf("%+v %v", v, err)
	}
	g := s.Graph("bitcoin")
	g.RLock()
	defer g.RUnlock()
	if g.Output(1).Addr != NoAddr || g.Input(0) != InputCoinbase {
		t.Fatalf("graph: %+v %d", g.Output(1), g.Input(0))
	}
}

// TestApplyErrors checks what Apply refuses, that a refused block
// changes nothing, and the not-found errors of the reads.
func TestApplyErrors(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "", Options{})
	good := synth("ok", "", coinbase("cb-ok", "a", 50))
	MustApply(t, s, "", good)
	before := dump(t, s, nil)
	for _, tc := range []struct {
		name string
		b    *chain.Block
	}{
		{"nil", nil},
		{"unknown chain", &chain.Block{Chain: "nochain", Hash: hashOf("x")}},
		{"bad hash", &chain.Block{Chain: "bitcoin", Hash: "zz"}},
		{"no hash", &chain.Block{Chain: "bitcoin"}},
		{"bad tx hash", &chain.Block{Chain: "bitcoin", Hash: hashOf("y"), Txs: []chain.Tx{{Hash: "short"}}}},
		{"bad outpoint", synth("bad-in", good.Hash, spendTx("bad-in-tx", "x", 0))},
		{"negative value", synth("neg", good.Hash, chain.Tx{Hash: hashOf("neg-tx"), Outputs: []chain.Output{{Value: -1}}})},
		{"negative amount", ethBlock("neg-eth", "", 0, ethTx("neg-t", xfer(alice, bob, "", big.NewInt(-1), chain.Native)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "bad outpoint" {
				tc.b.Txs[0].Inputs[0].Prev.Tx = "not-hex"
			}
			if err := s.Apply(ctx, tc.b); err == nil {
				t.Fatal("applied")
			}
			sameDump(t, dump(t, s, nil), before)
		})
	}
	for _, tc := range []struct {
		name string
		read func() error
	}{
		{"tx", func() error { _, err := s.Tx(ctx, "bitcoin", hashOf("none")); return err }},
		{"address", func() error { _, err := s.Address(ctx, "bitcoin", "nobody"); return err }},
		{"history", func() error { _, err := s.History(ctx, "bitcoin", "nobody", "", 0); return err }},
		{"block", func() error { _, err := s.Block(ctx, "bitcoin", hashOf("none")); return err }},
		{"height", func() error { _, err := s.BlocksAt(ctx, "bitcoin", 7); return err }},
		{"cursor", func() error { _, err := s.Cursor("bitcoin", "other"); return err }},
		{"graph tx", func() error { _, err := s.Graph("bitcoin").TxNum(hashOf("none")); return err }},
		{"graph output", func() error {
			_, err := s.Graph("bitcoin").OutputNum(chain.Outpoint{Tx: hashOf("none")})
			return err
		}},
	} {
		t.Run("not found/"+tc.name, func(t *testing.T) {
			if err := tc.read(); !errors.Is(err, chain.ErrNotFound) || fault.CodeOf(err) != fault.NotFound {
				t.Fatalf("got %v", err)
			}
		})
	}
	if st, err := s.Status("ethereum"); err != nil || st.Blocks != 0 || len(st.Segments) != 0 {
		t.Fatalf("empty status: %+v %v", st, err)
	}
	if s.Graph("nochain") != nil {
		t.Fatal("graph of an unknown chain")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, good); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := s.Tx(ctx, "bitcoin", good.Txs[0].Hash); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// TestOpen checks the options and that a folder another store holds
// fails at once.
func TestOpen(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{CacheSize: -1, GroupBlocks: -1}); fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("bad options: %v", err)
	}
	dir := t.TempDir()
	s := MustOpen(t, dir, Options{})
	start := time.Now()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("opened twice")
	} else if time.Since(start) > 5*time.Second {
		t.Fatalf("second open waited %v", time.Since(start))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := MustOpen(t, dir, Options{})
	if len(s2.Chains()) != 0 {
		t.Fatal("chains in a new store")
	}
}

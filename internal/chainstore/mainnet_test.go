package chainstore

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

const (
	tx170     = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	coinbase9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
	halFinney = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
	satoshi9  = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
)

// TestMainnet14131 ingests Bitcoin blocks 0 to 14131 (btcd's test data)
// and checks the first person-to-person payment (block 170), every
// address's totals against a ledger computed from the blocks, the graph
// against one rebuilt from the index, and a reopen.
func TestMainnet14131(t *testing.T) {
	ctx := context.Background()
	blocks, _ := mainnet(t)
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	start := time.Now()
	MustApply(t, s, "blk", blocks...)
	since(t, "ingest of 14132 blocks", start)

	st, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 14132 || st.Txs != 14247 || len(st.Segments) != 1 || len(st.Gaps) != 0 ||
		st.Segments[0].Start.Height != 0 || st.Tip.Height != 14131 || st.Tip.Hash != blocks[14131].Hash {
		t.Fatalf("status %+v", st)
	}

	v, err := s.Tx(ctx, "bitcoin", tx170)
	if err != nil {
		t.Fatal(err)
	}
	if v.Height != 170 || len(v.Inputs) != 1 || len(v.Outputs) != 2 || v.Fee == nil || *v.Fee != 0 {
		t.Fatalf("tx 170: %+v", v)
	}
	in := v.Inputs[0]
	if in.PrevTx != coinbase9 || in.PrevIndex != 0 || !in.Known || in.Value != 50e8 || in.Address != satoshi9 {
		t.Fatalf("tx 170 input: %+v", in)
	}
	o0, o1 := v.Outputs[0], v.Outputs[1]
	if o0.Value != 10e8 || o0.Kind != "p2pk" || o0.Address != halFinney || o1.Value != 40e8 || o1.Address != satoshi9 {
		t.Fatalf("tx 170 outputs: %+v %+v", o0, o1)
	}
	cb, err := s.Tx(ctx, "bitcoin", coinbase9)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Height != 9 || !cb.Coinbase || cb.Outputs[0].SpentBy == nil || *cb.Outputs[0].SpentBy != (SpendRef{Tx: tx170, Input: 0}) {
		t.Fatalf("coinbase of block 9: %+v", cb)
	}

	l := newLedger()
	for _, b := range blocks {
		l.apply(b)
	}
	start = time.Now()
	checkLedger(t, s, l)
	since(t, "ledger check of every address", start)
	a, err := s.Address(ctx, "bitcoin", satoshi9)
	if err != nil {
		t.Fatal(err)
	}
	la := l.addrs[satoshi9]
	t.Logf("%s after block 14131: received %s sent %s balance %s txs %d (ledger: %d %d %d)",
		satoshi9, a.Balances[0].Received, a.Balances[0].Sent, a.Balances[0].Balance, a.TxCount, la.received, la.sent, len(la.txs))
	if a.Balances[0].FirstSeen.Height != 9 {
		t.Fatalf("%s first seen %+v", satoshi9, a.Balances[0].FirstSeen)
	}
	page, err := s.History(ctx, "bitcoin", satoshi9, "", 1)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Tx != coinbase9 || page.Next == "" {
		t.Fatalf("history: %+v %v", page, err)
	}
	page, err = s.History(ctx, "bitcoin", satoshi9, page.Next, 1)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Tx != tx170 || page.Entries[0].Sent.Int64() != 50e8 || page.Entries[0].Received.Int64() != 40e8 {
		t.Fatalf("history page 2: %+v %v", page, err)
	}

	g := s.Graph("bitcoin")
	o, err := g.OutputNum(chain.Outpoint{Tx: coinbase9, Index: 0})
	if err != nil {
		t.Fatal(err)
	}
	n170, err := g.TxNum(tx170)
	if err != nil {
		t.Fatal(err)
	}
	hal, err := g.AddrNum(scriptKeyOfOutput(t, s, tx170, 0))
	if err != nil {
		t.Fatal(err)
	}
	g.RLock()
	rec := g.Tx(n170)
	if out := g.Output(o); out.Value != 50e8 || out.SpentBy != n170 || g.Input(rec.FirstIn) != o || rec.Height != 170 ||
		rec.NumIn != 1 || rec.NumOut != 2 || g.Output(rec.FirstOut).Addr != hal || g.TxHash(n170) != tx170 || g.TxOf(o) != mustTxNum(t, g, coinbase9) {
		t.Fatalf("graph: output %+v tx %+v", out, rec)
	}
	size := g.Size()
	g.RUnlock()
	t.Logf("graph of blocks 0-14131: %d txs, %d inputs, %d outputs; %.0f B/tx (+%.0f hash), %.0f B/input, %.0f B/output; %d bytes allocated",
		size.Txs, size.Inputs, size.Outputs, size.BytesPerTx, size.HashBytesPerTx, size.BytesPerIn, size.BytesPerOut, size.AllocatedBytes)

	start = time.Now()
	r := rebuilt(t, s, "bitcoin")
	since(t, "graph rebuild from the index (14247 txs)", start)
	sameGraph(t, r, g)
	before := dump(t, s, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s2.Close() }()
	since(t, "reopen with graph load", start)
	sameGraph(t, s2.Graph("bitcoin"), r)
	sameDump(t, dump(t, s2, nil), before)
	if c, err := s2.Cursor("bitcoin", "blk"); err != nil || c.Height != 14131 || c.Hash != blocks[14131].Hash {
		t.Fatalf("cursor %+v %v", c, err)
	}
}

func scriptKeyOfOutput(t *testing.T, s *Store, tx string, n int) string {
	t.Helper()
	v, err := s.Tx(context.Background(), "bitcoin", tx)
	if err != nil {
		t.Fatal(err)
	}
	return v.Outputs[n].Key
}

func mustTxNum(t *testing.T, g *Graph, h string) uint32 {
	t.Helper()
	n, err := g.TxNum(h)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sharedBlocks returns the shared real blocks: 1 to 255, 277647 and
// 413567 (skipping the test without the shared data).
func sharedBlocks(t *testing.T) (early []*chain.Block, b277647, b413567 *chain.Block) {
	t.Helper()
	early = toBlocks(readFramed(t, sharedtest.Path(t, "bitcoin", "blocks1-255.framed.dat")), -1)
	b277647 = toBlock(readFramed(t, sharedtest.Path(t, "bitcoin", "block277647.framed.dat"))[0], -1)
	raw, err := os.ReadFile(sharedtest.Path(t, "bitcoin", "block413567.raw"))
	if err != nil {
		t.Fatal(err)
	}
	mb := new(wire.MsgBlock)
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	b413567 = toBlock(mb, -1)
	return early, b277647, b413567
}

// TestSharedBlocksSegments indexes the shared real blocks, isolated from
// each other: blocks 1 to 255 on the genesis block, and blocks 277647 and
// 413567 alone (heights from BIP34), as separate segments with gaps.
func TestSharedBlocksSegments(t *testing.T) {
	ctx := context.Background()
	early, b277647, b413567 := sharedBlocks(t)
	if b277647.Height != 277647 || b413567.Height != 413567 {
		t.Fatalf("BIP34 heights %d %d", b277647.Height, b413567.Height)
	}
	genesis := toBlock(chaincfg.MainNetParams.GenesisBlock, -1)
	s := MustOpen(t, "", Options{})
	MustApply(t, s, "files", b413567, genesis)
	MustApply(t, s, "files", early...)
	MustApply(t, s, "files", b277647)

	st, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	wantTxs := uint64(1 + len(b277647.Txs) + len(b413567.Txs))
	for _, b := range early {
		wantTxs += uint64(len(b.Txs))
	}
	if st.Blocks != 258 || st.Txs != wantTxs || len(st.Segments) != 3 {
		t.Fatalf("status: %+v", st)
	}
	want := []struct{ from, to int64 }{{0, 255}, {277647, 277647}, {413567, 413567}}
	for i, w := range want {
		sg := st.Segments[i]
		if sg.Start.Height != w.from || sg.End.Height != w.to {
			t.Fatalf("segment %d: %+v, want %d..%d", i, sg, w.from, w.to)
		}
	}
	if len(st.Gaps) != 2 || st.Gaps[0] != (Gap{256, 277646}) || st.Gaps[1] != (Gap{277648, 413566}) || st.Tip.Height != 413567 {
		t.Fatalf("gaps %+v tip %+v", st.Gaps, st.Tip)
	}
	if st.Segments[1].Parent == "" || st.Segments[0].Parent != "" {
		t.Fatalf("segment parents: %+v", st.Segments)
	}

	// Block 170 connects to block 9 inside the first segment.
	v, err := s.Tx(ctx, "bitcoin", tx170)
	if err != nil || !v.Inputs[0].Known || v.Inputs[0].Address != satoshi9 || v.Height != 170 {
		t.Fatalf("tx 170: %+v %v", v, err)
	}
	// Block 413567's inputs spend outputs the index does not have: bare
	// outpoints, indexed all the same.
	unknown := 0
	for _, tx := range b413567.Txs[1:] {
		v, err := s.Tx(ctx, "bitcoin", tx.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if v.Height != 413567 || len(v.Outputs) != len(tx.Outputs) || v.Fee != nil && !intraBlock(b413567, tx) {
			t.Fatalf("tx %s: %+v", tx.Hash, v)
		}
		for _, in := range v.Inputs {
			if !in.Known {
				unknown++
			}
		}
	}
	g := s.Graph("bitcoin")
	g.RLock()
	graphUnknown := 0
	for i := range g.NumInputs() {
		if g.Input(i) == InputUnknown {
			graphUnknown++
		}
	}
	g.RUnlock()
	if unknown == 0 || graphUnknown < unknown {
		t.Fatalf("unknown inputs: %d in views, %d in the graph", unknown, graphUnknown)
	}
	bv, err := s.BlocksAt(ctx, "bitcoin", 277647)
	if err != nil || len(bv) != 1 || bv[0].Hash != b277647.Hash || bv[0].TxCount != uint32(len(b277647.Txs)) {
		t.Fatalf("block at 277647: %+v %v", bv, err)
	}

	// The graph of block 413567 alone.
	one := MustOpen(t, "", Options{})
	MustApply(t, one, "", b413567)
	og := one.Graph("bitcoin")
	og.RLock()
	size := og.Size()
	og.RUnlock()
	t.Logf("graph of block 413567: %d txs, %d inputs, %d outputs; %.0f B/tx (+%.0f hash), %.0f B/input, %.0f B/output",
		size.Txs, size.Inputs, size.Outputs, size.BytesPerTx, size.HashBytesPerTx, size.BytesPerIn, size.BytesPerOut)
}

// intraBlock reports whether every input of tx spends an output of b.
func intraBlock(b *chain.Block, tx chain.Tx) bool {
	ids := map[string]bool{}
	for _, t := range b.Txs {
		ids[t.Hash] = true
	}
	for _, in := range tx.Inputs {
		if !ids[in.Prev.Tx] {
			return false
		}
	}
	return true
}

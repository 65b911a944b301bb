package chainstore

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzDecodeRecords feeds arbitrary bytes to every decoder of the records
// the index reads from disk: none may panic, and a record that decodes
// must encode back to the same bytes.
func FuzzDecodeRecords(f *testing.F) {
	h := hash32{1, 2, 3}
	seeds := [][]byte{
		(&stateRec{Model: 1, NextTx: 7, NextOut: 9, Blocks: 3}).encode(),
		(&blockRec{State: blockApplied, Seg: 2, Height: 5, Parent: h, Txs: []hash32{h}, Skipped: []uint32{0}, R: ranges{EndTx: 1, EndOut: 2}}).encode(),
		(&blockRec{State: blockStale, Height: -1}).encode(),
		(&segRec{StartHash: h, StartHeight: -1, Tip: h, Blocks: 1}).encode(),
		(&txRec{Num: 3, Block: h, Inputs: []prevOut{{h, 1}}, NOut: 2, OutIdx: []uint32{0, 5}}).encode(modelUTXO),
		(&txRec{Num: 3, Transfers: []xferRec{{From: "a", To: "b", Amount: amountBig(new(big.Int).Lsh(big.NewInt(1), 70)), Kind: "native", HasToken: true, TokenID: []byte{7}}}}).encode(modelAccount),
		(&outRec{Num: 1, Value: 5e9, Kind: "p2pk", Key: "script:ab", Address: "1A", Script: []byte{1}, Spent: true, SpentTx: h}).encode(),
		(&addrRec{Num: 4, Txs: 2}).encode(),
		(&balRec{Received: amountU(10), Sent: amountU(3), Txs: 2, First: seen{1, 2, 3}, Last: seen{4, -1, 6}}).encode(),
		(&histRec{Tx: h, Height: 1, Received: amountU(1), Credits: 1}).encode(),
		(&cursorRec{Height: 9, Hash: h}).encode(),
		(&graphRow{Hash: h, Height: 3, FirstIn: 1, FirstOut: 2, Ins: []uint64{0, 1, 7}, Outs: []rowOut{{5, 1}}}).encode(modelUTXO),
		(&graphRow{Hash: h, Height: removedRowHeight, Xfers: []rowXfer{{1, 2, 0, 3, amountU(9)}}}).encode(modelAccount),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		roundTrip := func(name string, enc func() []byte, err error) {
			if err != nil {
				return
			}
			if got := enc(); !bytes.Equal(got, p) {
				t.Fatalf("%s: %x decodes and encodes to %x", name, p, got)
			}
		}
		st, err := decodeState(p)
		roundTrip("state", st.encode, err)
		br, err := decodeBlock(p)
		roundTrip("block", br.encode, err)
		sg, err := decodeSeg(p)
		roundTrip("segment", sg.encode, err)
		for _, m := range []byte{modelUTXO, modelAccount} {
			tx, err := decodeTx(m, p)
			roundTrip("tx", func() []byte { return tx.encode(m) }, err)
			row, err := decodeGraphRow(m, p)
			roundTrip("graph row", func() []byte { return row.encode(m) }, err)
		}
		o, err := decodeOut(p)
		roundTrip("output", o.encode, err)
		a, err := decodeAddr(p)
		roundTrip("address", a.encode, err)
		b, err := decodeBal(p)
		roundTrip("totals", b.encode, err)
		hr, err := decodeHist(p)
		roundTrip("history", hr.encode, err)
		c, err := decodeCursor(p)
		roundTrip("cursor", c.encode, err)
	})
}

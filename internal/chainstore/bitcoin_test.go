package chainstore

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// TestBitcoinDecoderAgrees checks that the test's own decoding (what the
// other tests apply) gives the blocks internal/chain/bitcoin gives, for
// blocks 0 to 14131 and block 413567, and applies the package's blocks.
func TestBitcoinDecoderAgrees(t *testing.T) {
	decode := func(t *testing.T, raw []byte, height int64, mine *chain.Block) *chain.Block {
		t.Helper()
		b, err := bitcoin.DecodeBlock(bitcoin.Mainnet, raw)
		if err != nil {
			t.Fatal(err)
		}
		if height >= 0 {
			b.Height = height
		}
		b.Time = b.Time.UTC()
		m := *mine
		m.Time = m.Time.UTC()
		if !reflect.DeepEqual(&m, b) {
			t.Fatalf("block %s decodes differently:\n mine %+v\ntheirs %+v", b.Hash, m.Txs[0], b.Txs[0])
		}
		return b
	}
	t.Run("0-14131", func(t *testing.T) {
		mine, _ := mainnet(t)
		var theirs []*chain.Block
		for i, raw := range rawFrames(t, btcdtest.Testdata(t, "blk_0_to_14131.dat")) {
			theirs = append(theirs, decode(t, raw, int64(i), mine[i]))
		}
		s := MustOpen(t, "", Options{NoSync: true})
		MustApply(t, s, "bitcoin", theirs...)
		v, err := s.Tx(context.Background(), "bitcoin", tx170)
		if err != nil || v.Inputs[0].Address != satoshi9 || v.Outputs[0].Address != halFinney {
			t.Fatalf("tx 170: %+v %v", v, err)
		}
	})
	t.Run("413567", func(t *testing.T) {
		raw, err := os.ReadFile(sharedtest.Path(t, "bitcoin", "block413567.raw"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, mine := sharedBlocks(t)
		s := MustOpen(t, "", Options{NoSync: true})
		MustApply(t, s, "bitcoin", decode(t, raw, -1, mine))
	})
}

package bench

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// BenchmarkChainIngest ingests block files into a new chain index on disk,
// as `cointrail ingest bitcoin --blocks` does (every batch synced), and in
// the same run decodes the same files with wire.MsgBlock.Deserialize
// alone: the rate at which this machine can read the blocks at all. It
// reports both rates and decode-ratio, the ingest rate over the decode
// rate (0.5: ingest at half the speed of a bare decode).
//
// Two sets: mainnet blocks 0 to 14131 (btcd's test data; small blocks, one
// transaction each for the most part) and the real blocks 277647 and
// 413567 of the shared data (213 and 1,557 transactions, as blocks have
// been for a decade).
func BenchmarkChainIngest(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files func(testing.TB) []string
	}{
		{"mainnet-0-14131", func(tb testing.TB) []string {
			return []string{btcdtest.Testdata(tb, "blk_0_to_14131.dat")}
		}},
		{"blocks-277647-413567", func(tb testing.TB) []string {
			return []string{
				sharedtest.Path(tb, "bitcoin", "block277647.framed.dat"),
				sharedtest.Path(tb, "bitcoin", "block413567.raw"),
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			files := bc.files(b)
			var decode, apply time.Duration
			var blocks, txs int
			for range b.N {
				d, nb, nt := decodeFiles(b, files)
				decode += d
				blocks, txs = nb, nt

				dir := b.TempDir()
				st, err := chainstore.Open(dir, chainstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := ingest.FromFiles(context.Background(), st, bitcoin.Mainnet, files, ingest.Options{}); err != nil {
					b.Fatal(err)
				}
				apply += time.Since(start)
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(blocks)*n/apply.Seconds(), "blocks/s")
			b.ReportMetric(float64(txs)*n/apply.Seconds(), "tx/s")
			b.ReportMetric(float64(txs)*n/decode.Seconds(), "decode-tx/s")
			b.ReportMetric(decode.Seconds()/apply.Seconds(), "decode-ratio")
		})
	}
}

// decodeFiles reads the block files and deserializes every block with
// btcd's wire and nothing else, and returns the time it took and the blocks
// and transactions it found.
func decodeFiles(tb testing.TB, files []string) (time.Duration, int, int) {
	tb.Helper()
	start := time.Now()
	blocks, txs := 0, 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		err = bitcoin.ReadBlocks(f, bitcoin.Mainnet, func(raw []byte, _ int64) error {
			var mb wire.MsgBlock
			if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
				return err
			}
			blocks++
			txs += len(mb.Transactions)
			return nil
		})
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
	return time.Since(start), blocks, txs
}

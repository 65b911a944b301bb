package chainstore

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// decodeAll deserializes raw blocks as btcd does, the bare decode rate
// that ingest is measured against.
func decodeAll(b testing.TB, raws [][]byte) time.Duration {
	start := time.Now()
	for _, raw := range raws {
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkDecodeOnly is the bare wire.MsgBlock.Deserialize rate of blocks
// 0 to 14131.
func BenchmarkDecodeOnly(b *testing.B) {
	raws := rawFrames(b, btcdtest.Testdata(b, "blk_0_to_14131.dat"))
	b.ResetTimer()
	for range b.N {
		decodeAll(b, raws)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(len(raws))/sec, "blocks/s")
	b.ReportMetric(14247/sec, "tx/s")
}

// BenchmarkApply applies blocks 0 to 14131 (already in the chain model)
// to a new store on disk, synced: in groups (ApplyFrom, as an initial
// ingest does; the default groups, and all in one batch) and one block
// per batch (Apply, as following a node does). It reports the rate and, as decode-ratio, the apply rate over
// the bare decode rate measured in the same run (0.5: ingest at half the
// decode rate).
func BenchmarkApply(b *testing.B) {
	blocks, _ := mainnet(b)
	raws := rawFrames(b, btcdtest.Testdata(b, "blk_0_to_14131.dat"))
	txs := 0
	for _, bl := range blocks {
		txs += len(bl.Txs)
	}
	for _, bc := range []struct {
		name  string
		opts  Options
		apply func(s *Store) error
	}{
		{"grouped", Options{}, func(s *Store) error { return s.ApplyFrom(context.Background(), "bench", blocks...) }},
		// One batch for all: Pebble takes a batch this large as a
		// flushable batch, without inserting it into the memtable.
		{"one-batch", Options{GroupBlocks: 1 << 20, GroupTxs: 1 << 30}, func(s *Store) error {
			return s.ApplyFrom(context.Background(), "bench", blocks...)
		}},
		{"per-block", Options{}, func(s *Store) error {
			for _, bl := range blocks {
				if err := s.Apply(context.Background(), bl); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var decode, apply time.Duration
			for range b.N {
				decode += decodeAll(b, raws)
				dir, err := os.MkdirTemp("", "chainstore-bench")
				if err != nil {
					b.Fatal(err)
				}
				s, err := Open(dir, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := bc.apply(s); err != nil {
					b.Fatal(err)
				}
				apply += time.Since(start)
				b.StopTimer()
				_ = s.Close()
				_ = os.RemoveAll(dir)
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(len(blocks))*n/apply.Seconds(), "blocks/s")
			b.ReportMetric(float64(txs)*n/apply.Seconds(), "tx/s")
			b.ReportMetric(float64(len(blocks))*n/decode.Seconds(), "decode-blocks/s")
			b.ReportMetric(decode.Seconds()/apply.Seconds(), "decode-ratio")
		})
	}
}

// BenchmarkGraphSweep sweeps the graph of blocks 0 to 14131 as a tracer
// does: for every transaction, the value of each input through the output
// it spends, and each output's spender. It reports ns per record and the
// graph's bytes per transaction, input and output.
func BenchmarkGraphSweep(b *testing.B) {
	blocks, _ := mainnet(b)
	s := MustOpen(b, "", Options{NoSync: true})
	MustApply(b, s, "", blocks...)
	g := s.Graph("bitcoin")
	g.RLock()
	defer g.RUnlock()
	size := g.Size()
	b.ResetTimer()
	var sum, spent uint64
	for range b.N {
		for n := range g.NumTx() {
			r := g.Tx(n)
			for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
				if o := g.Input(i); o < InputUnknown {
					sum += g.Output(o).Value
				}
			}
			for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
				if g.Output(o).SpentBy != NoTx {
					spent++
				}
			}
		}
	}
	b.StopTimer()
	if sum == 0 || spent == 0 {
		b.Fatal("sweep found nothing")
	}
	records := float64(size.Txs + size.Inputs + size.Outputs)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/records, "ns/record")
	b.ReportMetric(size.BytesPerTx, "B/tx")
	b.ReportMetric(size.BytesPerIn, "B/input")
	b.ReportMetric(size.BytesPerOut, "B/output")
	b.ReportMetric(size.HashBytesPerTx, "hashB/tx")
}

// BenchmarkBlock413567 applies real block 413567 (1,557 transactions,
// 4,887 inputs, 3,581 outputs; shared data) to a new store, synced, and
// reports the rate against its bare decode, and the graph's bytes per
// record.
func BenchmarkBlock413567(b *testing.B) {
	raw, err := os.ReadFile(sharedtest.Path(b, "bitcoin", "block413567.raw"))
	if err != nil {
		b.Fatal(err)
	}
	mb := new(wire.MsgBlock)
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		b.Fatal(err)
	}
	blk := toBlock(mb, -1)
	var size GraphSize
	var decode, apply time.Duration
	for range b.N {
		decode += decodeAll(b, [][]byte{raw})
		dir := b.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.Apply(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
		apply += time.Since(start)
		g := s.Graph("bitcoin")
		g.RLock()
		size = g.Size()
		g.RUnlock()
		_ = s.Close()
	}
	b.ReportMetric(float64(len(blk.Txs))*float64(b.N)/apply.Seconds(), "tx/s")
	b.ReportMetric(decode.Seconds()/apply.Seconds(), "decode-ratio")
	b.ReportMetric(size.BytesPerTx, "B/tx")
	b.ReportMetric(size.BytesPerIn, "B/input")
	b.ReportMetric(size.BytesPerOut, "B/output")
}

package heuristic_test

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/cointrail/cointrail/internal/heuristic"
)

// interesting are the values the fuzzer picks by a byte below 128: the
// detectors' thresholds and their neighbours, so that short inputs reach
// the shapes.
var interesting = []uint64{
	0, 1, heuristic.JoinMarketDust, heuristic.JoinMarketDust + 1, heuristic.Wasabi20MinOutput - 1, heuristic.Wasabi20MinOutput,
	heuristic.WhirlpoolPool100k, heuristic.WhirlpoolPool100k + 5_000, heuristic.WhirlpoolFee100k,
	heuristic.WhirlpoolPool1M, heuristic.WhirlpoolPool1M + 5_000, heuristic.WhirlpoolFee1M,
	heuristic.WhirlpoolPool5M, heuristic.WhirlpoolPool5M + 5_000, heuristic.WhirlpoolFee5M,
	heuristic.WhirlpoolPool50M, heuristic.WhirlpoolPool50M + 5_000, heuristic.WhirlpoolFee50M,
	heuristic.WasabiDenomination, heuristic.WasabiDenomination - heuristic.WasabiTolerance, heuristic.WasabiDenomination + heuristic.WasabiTolerance,
	2 * heuristic.WasabiDenomination, 4 * heuristic.WasabiDenomination, 1_048_576, 531_441, 2_000_000,
	1_234_567, 9e8, 1e8, math.MaxUint64, math.MaxUint64 / 2, math.MaxUint64 / 10,
}

// fuzzReader reads a transaction's parts from fuzz bytes; past the end it
// reads zeros.
type fuzzReader []byte

func (r *fuzzReader) byte() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

// value reads a byte: below 128 it picks an interesting value, else 8
// bytes follow.
func (r *fuzzReader) value() uint64 {
	if b := r.byte(); b < 128 {
		return interesting[int(b)%len(interesting)]
	}
	var buf [8]byte
	for i := range buf {
		buf[i] = r.byte()
	}
	return binary.BigEndian.Uint64(buf[:])
}

// script reads a byte: 0 is "" (unknown or null data), else one of 255
// scripts.
func (r *fuzzReader) script() string {
	if b := r.byte(); b != 0 {
		return string(rune('A' + int(b)))
	}
	return ""
}

// fuzzTx builds a transaction: the input and output counts, then per input
// flags (bit 0: exchange), script, value; per output flags (bit 0: null
// data), script, value.
func fuzzTx(data []byte) *heuristic.Tx {
	r := fuzzReader(data)
	tx := &heuristic.Tx{Inputs: make([]heuristic.Input, r.byte()), Outputs: make([]heuristic.Output, r.byte())}
	for i := range tx.Inputs {
		flags := r.byte()
		tx.Inputs[i] = heuristic.Input{Exchange: flags&1 != 0, Script: r.script(), Value: r.value()}
	}
	for i := range tx.Outputs {
		flags := r.byte()
		o := heuristic.Output{NullData: flags&1 != 0, Script: r.script(), Value: r.value()}
		if o.NullData {
			o.Script = ""
		}
		tx.Outputs[i] = o
	}
	return tx
}

// encodeTx is fuzzTx's inverse for seeds (up to 255 inputs, outputs and
// distinct scripts).
func encodeTx(tx *heuristic.Tx) []byte {
	scripts := map[string]byte{"": 0}
	script := func(s string) byte {
		b, ok := scripts[s]
		if !ok {
			b = byte(len(scripts))
			scripts[s] = b
		}
		return b
	}
	value := func(out []byte, v uint64) []byte {
		return binary.BigEndian.AppendUint64(append(out, 128), v)
	}
	out := []byte{byte(len(tx.Inputs)), byte(len(tx.Outputs))}
	for _, in := range tx.Inputs {
		var flags byte
		if in.Exchange {
			flags = 1
		}
		out = value(append(out, flags, script(in.Script)), in.Value)
	}
	for _, o := range tx.Outputs {
		var flags byte
		if o.NullData {
			flags = 1
		}
		out = value(append(out, flags, script(o.Script)), o.Value)
	}
	return out
}

func FuzzClassify(f *testing.F) {
	for _, tx := range []*heuristic.Tx{
		wasabi10(), wasabi11(heuristic.WasabiDenomination), wasabi20(), whirlpool(heuristic.WhirlpoolPool1M, 5, 2),
		tx0(3), joinMarket(), stonewallish(20_000_000),
		{Inputs: ins(1, 1e8), Outputs: outs(9e7, 1e7)},
		{Inputs: ins(5, 1e6), Outputs: outs(4_900_000, 50_000)},
	} {
		f.Add(encodeTx(tx))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0, 1, 200, 0, 1, 0, 2, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		tx := fuzzTx(data)
		ks := heuristic.Classify(tx)
		k, ok := heuristic.CoinJoin(tx)
		if ok != heuristic.IsCoinJoin(k) {
			t.Fatalf("CoinJoin = %q, %v", k, ok)
		}
		for i, kk := range ks {
			if heuristic.IsCoinJoin(kk) && (i != 0 || kk != k) {
				t.Fatalf("Classify = %q, CoinJoin = %q", ks, k)
			}
			if kk == heuristic.PeelChain || slices.Index(ks, kk) != i {
				t.Fatalf("Classify = %q", ks)
			}
		}
		if ok && (len(ks) == 0 || ks[0] != k) {
			t.Fatalf("Classify = %q, CoinJoin = %q", ks, k)
		}
		if ok && slices.ContainsFunc(tx.Inputs, func(in heuristic.Input) bool { return in.Exchange }) {
			t.Fatalf("CoinJoin %q despite an exchange input", k)
		}
		if change, ok := heuristic.PeelStep(tx); ok && (change < 0 || change >= len(tx.Outputs) || tx.Outputs[change].NullData) {
			t.Fatalf("PeelStep = %d of %d outputs", change, len(tx.Outputs))
		}
	})
}

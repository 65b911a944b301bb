package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/simulate"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// testTxs keeps scenarios small enough for quick tests: about 60 blocks of
// 30 transactions after the hundred coinbase-only ones.
const testTxs = 2000

// MustGenerate writes the scenario of seed with n transactions into a
// fresh folder and returns the folder and the summary.
func MustGenerate(tb testing.TB, seed int64, n int) (string, *simulate.Summary) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "scenario")
	s, err := simulate.Generate(context.Background(), dir, simulate.Options{Seed: seed, Txs: n})
	if err != nil {
		tb.Fatal(err)
	}
	return dir, s
}

// MustReadTruth decodes truth.json.
func MustReadTruth(tb testing.TB, dir string) *simulate.Truth {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, simulate.TruthFile))
	if err != nil {
		tb.Fatal(err)
	}
	var t simulate.Truth
	if err := json.Unmarshal(data, &t); err != nil {
		tb.Fatal(err)
	}
	return &t
}

// MustReadBlocks decodes blocks.dat with the repository's reader.
func MustReadBlocks(tb testing.TB, dir string) []*wire.MsgBlock {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, simulate.BlocksFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var blocks []*wire.MsgBlock
	err = bitcoin.ReadBlocks(f, bitcoin.Regtest, func(raw []byte, offset int64) error {
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			return err
		}
		blocks = append(blocks, &mb)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return blocks
}

func TestGenerateDeterministic(t *testing.T) {
	a, _ := MustGenerate(t, 7, 1000)
	files := []string{simulate.BlocksFile, simulate.TagPackFile, simulate.IncidentFile, simulate.TruthFile}
	cases := []struct {
		name string
		seed int64
		same bool
	}{
		{"same seed", 7, true},
		{"other seed", 8, false},
		{"negative seed", -7, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := MustGenerate(t, c.seed, 1000)
			for _, f := range files {
				x, err := os.ReadFile(filepath.Join(a, f))
				if err != nil {
					t.Fatal(err)
				}
				y, err := os.ReadFile(filepath.Join(b, f))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(x, y) != c.same {
					t.Errorf("%s: equal %v, want %v", f, bytes.Equal(x, y), c.same)
				}
			}
		})
	}
}

// TestBlocksValid checks every block as btcd's context-free rules do
// (proof of work, merkle root, sizes, coinbase), the witness commitment,
// BIP34 heights, links and times, and every transaction against the
// outputs before it: no double spend, coinbases matured, fees in range,
// inputs shaped like real spends of their outputs.
func TestBlocksValid(t *testing.T) {
	dir, sum := MustGenerate(t, 1, testTxs)
	blocks := MustReadBlocks(t, dir)
	params := bitcoin.Regtest.Params()
	if len(blocks) != sum.Blocks || blocks[0].BlockHash() != *params.GenesisHash {
		t.Fatalf("%d blocks (summary %d), first %s", len(blocks), sum.Blocks, blocks[0].BlockHash())
	}
	type prev struct {
		out      *wire.TxOut
		height   int
		coinbase bool
	}
	utxos := map[wire.OutPoint]prev{}
	kinds := map[txscript.ScriptClass]int{}
	txs := 0
	start := blocks[1].Header.Timestamp
	for h, mb := range blocks {
		blk := btcutil.NewBlock(mb)
		if err := blockchain.CheckBlockSanity(blk, params.PowLimit, blockchain.NewMedianTime()); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		if err := blockchain.ValidateWitnessCommitment(blk); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		store := blockchain.BuildMerkleTreeStore(blk.Transactions(), false)
		if *store[len(store)-1] != mb.Header.MerkleRoot {
			t.Fatalf("block %d: merkle root", h)
		}
		if w := blockchain.GetBlockWeight(blk); w > blockchain.MaxBlockWeight {
			t.Fatalf("block %d weighs %d", h, w)
		}
		if h > 0 {
			if mb.Header.PrevBlock != blocks[h-1].BlockHash() {
				t.Fatalf("block %d does not follow block %d", h, h-1)
			}
			if got, ok := bitcoin.BIP34Height(mb); !ok || got != int64(h) {
				t.Fatalf("block %d: BIP34 height %d, %v", h, got, ok)
			}
			if want := start.Add(time.Duration(h-1) * 10 * time.Minute); !mb.Header.Timestamp.Equal(want) {
				t.Fatalf("block %d at %v, want %v", h, mb.Header.Timestamp, want)
			}
		}
		var fees int64
		for i, tx := range mb.Transactions {
			txs++
			id := tx.TxHash()
			if i > 0 {
				var in, out int64
				for _, ti := range tx.TxIn {
					p, ok := utxos[ti.PreviousOutPoint]
					if !ok {
						t.Fatalf("block %d tx %s spends %v, which is not unspent", h, id, ti.PreviousOutPoint)
					}
					if p.coinbase && h-p.height < 100 {
						t.Fatalf("block %d tx %s spends a coinbase of block %d", h, id, p.height)
					}
					checkInput(t, ti, p.out.PkScript)
					delete(utxos, ti.PreviousOutPoint)
					in += p.out.Value
				}
				for _, o := range tx.TxOut {
					out += o.Value
				}
				if fee := in - out; fee < 200 || fee > 10_000 {
					t.Errorf("block %d tx %s pays a fee of %d sat", h, id, fee)
				}
				fees += in - out
			}
			for k, o := range tx.TxOut {
				kinds[txscript.GetScriptClass(o.PkScript)]++
				if o.Value > 0 {
					utxos[wire.OutPoint{Hash: id, Index: uint32(k)}] = prev{o, h, i == 0}
				}
			}
		}
		if h > 0 {
			if got, want := mb.Transactions[0].TxOut[0].Value, blockchain.CalcBlockSubsidy(int32(h), params)+fees; got != want {
				t.Errorf("block %d: coinbase %d, want subsidy and fees %d", h, got, want)
			}
		}
	}
	if txs != testTxs || sum.Txs != testTxs {
		t.Errorf("%d transactions (summary %d), want %d", txs, sum.Txs, testTxs)
	}
	total := kinds[txscript.WitnessV0PubKeyHashTy] + kinds[txscript.PubKeyHashTy] + kinds[txscript.ScriptHashTy] + kinds[txscript.WitnessV1TaprootTy]
	if kinds[txscript.WitnessV0PubKeyHashTy]*2 < total || kinds[txscript.PubKeyHashTy] == 0 || kinds[txscript.ScriptHashTy] == 0 || kinds[txscript.WitnessV1TaprootTy] == 0 {
		t.Errorf("output kinds %v: want mostly P2WPKH and some P2PKH, P2SH, P2TR", kinds)
	}
}

// checkInput checks that an input looks like a real spend of script: a
// 71 or 72 byte DER-shaped signature with the key the output commits to
// (64 bytes for a Taproot key path).
func checkInput(t *testing.T, in *wire.TxIn, script []byte) {
	t.Helper()
	der := func(sig []byte) bool {
		return (len(sig) == 71 || len(sig) == 72) && sig[0] == 0x30 && int(sig[1]) == len(sig)-3 && sig[len(sig)-1] == byte(txscript.SigHashAll)
	}
	switch cls := txscript.GetScriptClass(script); cls {
	case txscript.WitnessV0PubKeyHashTy:
		if len(in.Witness) != 2 || !der(in.Witness[0]) || len(in.Witness[1]) != 33 || !bytes.Equal(btcutil.Hash160(in.Witness[1]), script[2:]) || len(in.SignatureScript) != 0 {
			t.Fatalf("P2WPKH input %v: witness %x", in.PreviousOutPoint, in.Witness)
		}
	case txscript.ScriptHashTy:
		redeem := in.SignatureScript[1:]
		if len(in.Witness) != 2 || !der(in.Witness[0]) || !bytes.Equal(btcutil.Hash160(redeem), script[2:22]) || !bytes.Equal(btcutil.Hash160(in.Witness[1]), redeem[2:]) {
			t.Fatalf("P2SH-P2WPKH input %v", in.PreviousOutPoint)
		}
	case txscript.PubKeyHashTy:
		pushes, err := txscript.PushedData(in.SignatureScript)
		if err != nil || len(pushes) != 2 || !der(pushes[0]) || !bytes.Equal(btcutil.Hash160(pushes[1]), script[3:23]) || len(in.Witness) != 0 {
			t.Fatalf("P2PKH input %v: %x", in.PreviousOutPoint, in.SignatureScript)
		}
	case txscript.WitnessV1TaprootTy:
		if len(in.Witness) != 1 || len(in.Witness[0]) != 64 {
			t.Fatalf("P2TR input %v", in.PreviousOutPoint)
		}
	default:
		t.Fatalf("input %v spends a %v output", in.PreviousOutPoint, cls)
	}
}

// scenario is an ingested scenario.
type scenario struct {
	dir   string
	sum   *simulate.Summary
	truth *simulate.Truth
	st    *chainstore.Store
	// labels maps the TagPack's addresses to their exchange.
	labels map[string]string
}

// MustIngest generates a scenario and ingests it through the repository's
// own path, as "cointrail ingest bitcoin --network regtest" does.
func MustIngest(tb testing.TB, seed int64, n int) *scenario {
	tb.Helper()
	dir, sum := MustGenerate(tb, seed, n)
	st, err := chainstore.Open(tb.TempDir(), chainstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if err := ingest.FromFiles(context.Background(), st, bitcoin.Regtest, []string{filepath.Join(dir, simulate.BlocksFile)}, ingest.Options{}); err != nil {
		tb.Fatal(err)
	}
	return &scenario{dir: dir, sum: sum, truth: MustReadTruth(tb, dir), st: st, labels: mustLabels(tb, dir, tagpack.Options{})}
}

// mustLabels parses the TagPack and returns its labels by address.
func mustLabels(tb testing.TB, dir string, opts tagpack.Options) map[string]string {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, simulate.TagPackFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	res, err := tagpack.Parse(f, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if len(res.Skipped) > 0 {
		tb.Fatalf("skipped tags: %v", res.Skipped)
	}
	values := map[string]string{}
	names := map[string]string{}
	for _, o := range res.Objects {
		switch o.Type {
		case stix.TypeCryptocurrencyWallet:
			if c := o.String("chain"); c != "bitcoin-regtest" {
				tb.Fatalf("wallet %s on chain %q", o.String("value"), c)
			}
			values[o.ID] = o.String("value")
		case "identity":
			names[o.ID] = o.String("name")
		}
	}
	labels := map[string]string{}
	for _, o := range res.Objects {
		if l, ok := o.WalletLabel(); ok {
			if l.Category != "exchange" {
				tb.Fatalf("label category %q", l.Category)
			}
			labels[values[o.String("source_ref")]] = names[o.String("target_ref")]
		}
	}
	if len(labels) != res.Tags {
		tb.Fatalf("%d labels of %d tags", len(labels), res.Tags)
	}
	return labels
}

func (s *scenario) tx(tb testing.TB, h string) *chainstore.TxView {
	tb.Helper()
	v, err := s.st.Tx(context.Background(), "bitcoin-regtest", h)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (s *scenario) controlled() map[string]simulate.Outpoint {
	m := map[string]simulate.Outpoint{}
	for _, o := range s.truth.Controlled {
		m[o.String()] = o
	}
	return m
}

// TestIngest reads the blocks into the chain index and checks its counts
// and the truth against it: every output the thief controlled, with what
// spends it, and the balances of its addresses.
func TestIngest(t *testing.T) {
	s := MustIngest(t, 3, testTxs)
	st, err := s.st.Status("bitcoin-regtest")
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != uint64(s.sum.Blocks) || st.Txs != testTxs || len(st.Segments) != 1 || st.Segments[0].Start.Height != 0 || st.Tip.Height != int64(s.sum.Blocks-1) || len(st.Gaps) != 0 {
		t.Fatalf("status: %+v", st)
	}
	ctx := context.Background()
	var unspent simulate.Sat
	for _, o := range s.truth.Controlled {
		v := s.tx(t, o.Tx)
		out := v.Outputs[o.Index]
		if out.Value != int64(o.Value) || out.Address != o.Address {
			t.Fatalf("%v: index has %d sat to %s, truth %d to %s", o, out.Value, out.Address, o.Value, o.Address)
		}
		switch {
		case o.SpentBy == "" && out.SpentBy != nil, o.SpentBy != "" && (out.SpentBy == nil || out.SpentBy.Tx != o.SpentBy):
			t.Fatalf("%v: spent by %+v in the index, %q in the truth", o, out.SpentBy, o.SpentBy)
		}
		// The thief never reuses an address: its balance is the output.
		a, err := s.st.Address(ctx, "bitcoin-regtest", o.Address)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if o.SpentBy == "" {
			want = int64(o.Value)
			unspent += o.Value
		}
		if len(a.Balances) != 1 || a.Balances[0].Balance.Cmp(big.NewInt(want)) != 0 || a.Balances[0].Received.Cmp(big.NewInt(int64(o.Value))) != 0 {
			t.Fatalf("%s: balances %+v, want %d of %d received", o.Address, a.Balances, want, o.Value)
		}
	}
	if unspent != s.truth.Unspent {
		t.Errorf("unspent %d in the index, %d in the truth", unspent, s.truth.Unspent)
	}
	// The thief's deposit addresses at exchanges A and B receive its
	// deposits and nothing else.
	byAddr := map[string]int64{}
	for _, e := range s.truth.Exchanges {
		for _, d := range e.Deposits {
			byAddr[d.Address] += int64(d.Value)
			if s.labels[d.Address] != e.Name {
				t.Errorf("deposit address %s is labelled %q, want %q", d.Address, s.labels[d.Address], e.Name)
			}
		}
	}
	for addr, want := range byAddr {
		a, err := s.st.Address(ctx, "bitcoin-regtest", addr)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balances[0].Received.Cmp(big.NewInt(want)) != 0 {
			t.Errorf("%s received %v, want %d", addr, a.Balances[0].Received, want)
		}
	}
}

// TestConservation checks that the loot balances, in the truth and on the
// chain: what the theft took equals what the exchanges received, the fees
// the thief paid, what the CoinJoin's coordinator took and what the thief
// still holds, to the satoshi.
func TestConservation(t *testing.T) {
	for _, seed := range []int64{3, 4} {
		s := MustIngest(t, seed, testTxs)
		tr := s.truth
		var received simulate.Sat
		for _, e := range tr.Exchanges {
			received += e.Received
		}
		if tr.Drained != tr.TheftFees+tr.Stolen || tr.Stolen != received+tr.FeesPaid+tr.Elsewhere+tr.Unspent || tr.Stolen != simulate.Sat(s.sum.Stolen) {
			t.Fatalf("truth does not balance: %+v", tr)
		}
		// The same from the index: every transaction spending the thief's
		// outputs, split into what stays with it, what reaches an
		// exchange, and the rest.
		held := s.controlled()
		var seeds simulate.Sat
		for _, sd := range tr.Seeds {
			seeds += sd.Value
		}
		var drained, theftOut int64
		for _, h := range tr.TheftTxs {
			v := s.tx(t, h)
			for _, in := range v.Inputs {
				drained += in.Value
				if s.labels[in.Address] != tr.Victim {
					t.Errorf("theft input from %s, not the victim's", in.Address)
				}
			}
			for _, o := range v.Outputs {
				theftOut += o.Value
			}
		}
		if simulate.Sat(drained) != tr.Drained || simulate.Sat(theftOut) != seeds || seeds != tr.Stolen {
			t.Errorf("seed %d: index drained %d to %d; truth %d to %d", seed, drained, theftOut, tr.Drained, tr.Stolen)
		}
		spenders := map[string]bool{}
		for _, o := range tr.Controlled {
			if o.SpentBy != "" {
				spenders[o.SpentBy] = true
			}
		}
		perExchange := map[string]int64{}
		var leaked int64 // thief inputs less thief outputs less exchange deposits
		for h := range spenders {
			v := s.tx(t, h)
			var in, kept, paid int64
			for _, i := range v.Inputs {
				if _, ok := held[i.PrevTx+":"+itoa(i.PrevIndex)]; ok {
					in += i.Value
				}
			}
			for _, o := range v.Outputs {
				switch _, ok := held[h+":"+itoa(o.Index)]; {
				case ok:
					kept += o.Value
				case h != tr.Shapes.CoinJoin && s.labels[o.Address] != "":
					perExchange[s.labels[o.Address]] += o.Value
					paid += o.Value
				case h != tr.Shapes.CoinJoin:
					t.Errorf("%s pays %d to %s, neither the thief nor an exchange", h, o.Value, o.Address)
				}
			}
			leaked += in - kept - paid
		}
		if simulate.Sat(leaked) != tr.FeesPaid+tr.Elsewhere {
			t.Errorf("seed %d: the index shows %d sat in fees and coordinator fees, the truth %d + %d", seed, leaked, tr.FeesPaid, tr.Elsewhere)
		}
		for _, e := range tr.Exchanges {
			if simulate.Sat(perExchange[e.Name]) != e.Received {
				t.Errorf("seed %d: %s received %d in the index, %d in the truth", seed, e.Name, perExchange[e.Name], e.Received)
			}
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// TestShapes finds each laundering pattern in the index with the shape
// DESIGN section 6 gives its detector.
func TestShapes(t *testing.T) {
	s := MustIngest(t, 5, testTxs)
	tr := s.truth
	held := s.controlled()
	seeds := map[string]bool{}
	for _, sd := range tr.Seeds {
		seeds[sd.String()] = true
	}
	t.Run("peel chains", func(t *testing.T) {
		if len(tr.Shapes.PeelChains) < 3 {
			t.Fatalf("%d peel chains", len(tr.Shapes.PeelChains))
		}
		for c, chain := range tr.Shapes.PeelChains {
			if len(chain) < 5 || len(chain) > 20 {
				t.Errorf("chain %d has %d steps", c, len(chain))
			}
			for i, h := range chain {
				v := s.tx(t, h)
				if len(v.Inputs) != 1 || len(v.Outputs) != 2 {
					t.Fatalf("chain %d step %d: %d inputs, %d outputs", c, i, len(v.Inputs), len(v.Outputs))
				}
				if i == 0 && !seeds[v.Inputs[0].PrevTx+":"+itoa(v.Inputs[0].PrevIndex)] {
					t.Errorf("chain %d does not start at a seed", c)
				}
				small, large := v.Outputs[0], v.Outputs[1]
				if small.Value > large.Value {
					small, large = large, small
				}
				if small.Value*10 > small.Value+large.Value {
					t.Errorf("chain %d step %d peels %d of %d", c, i, small.Value, small.Value+large.Value)
				}
				if i+1 < len(chain) {
					if large.SpentBy == nil || large.SpentBy.Tx != chain[i+1] {
						t.Errorf("chain %d step %d: the larger output does not feed the next step", c, i)
					}
				}
			}
		}
	})
	t.Run("coinjoin", func(t *testing.T) {
		v := s.tx(t, tr.Shapes.CoinJoin)
		addrs := map[string]int{}
		thief := 0
		for _, in := range v.Inputs {
			addrs[in.Address]++
			if _, ok := held[in.PrevTx+":"+itoa(in.PrevIndex)]; ok {
				thief++
			}
		}
		if len(v.Inputs) < 10 || len(addrs) != len(v.Inputs) || thief == 0 || thief == len(v.Inputs) {
			t.Fatalf("%d inputs from %d addresses, %d of the thief", len(v.Inputs), len(addrs), thief)
		}
		counts := map[int64]int{}
		for _, o := range v.Outputs {
			counts[o.Value]++
		}
		var mode int64
		for val, n := range counts {
			if n > counts[mode] || (n == counts[mode] && val > mode) {
				mode = val
			}
		}
		n := counts[mode]
		if simulate.Sat(mode) != tr.Shapes.Denomination || mode < 9_500_000 || mode > 10_500_000 || n < 3 || n < (len(v.Outputs)-1)/2 {
			t.Errorf("most frequent output %d sat, %d of %d outputs", mode, n, len(v.Outputs))
		}
	})
	t.Run("fan-out", func(t *testing.T) {
		v := s.tx(t, tr.Shapes.FanOut)
		if len(v.Inputs) != 1 || len(v.Outputs) < 20 {
			t.Fatalf("%d inputs, %d outputs", len(v.Inputs), len(v.Outputs))
		}
		for _, o := range v.Outputs {
			if _, ok := held[tr.Shapes.FanOut+":"+itoa(o.Index)]; !ok {
				t.Errorf("fan-out output %d is not the thief's", o.Index)
			}
		}
	})
	t.Run("exchanges", func(t *testing.T) {
		got := map[string]simulate.Sat{}
		for _, e := range tr.Exchanges {
			got[e.Name] = e.Received
			if e.Received > 0 && !e.Labelled {
				t.Errorf("the loot reached %s, which the TagPack does not label", e.Name)
			}
		}
		if got["Exchange A"] == 0 || got["Exchange B"] == 0 || got[tr.Victim] != 0 {
			t.Errorf("received: %v", got)
		}
	})
}

// TestImport imports the TagPack and the STIX bundle through the
// repository's importers into an intel service, as "cointrail import
// tagpack" and "cointrail import stix" do.
func TestImport(t *testing.T) {
	dir, sum := MustGenerate(t, 9, 1000)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cointrail.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	org, err := svc.CreateOrg(ctx, access.Viewer{Org: op.ID, Role: access.Admin}, "fiu", "")
	if err != nil {
		t.Fatal(err)
	}
	v := access.Viewer{Org: org.ID, Role: access.Contributor}

	// The TagPack: without --chain its network files it on bitcoin-regtest,
	// with a note that the ticker is not one cointrail knows; with --chain
	// bitcoin-regtest, without.
	data, err := os.ReadFile(filepath.Join(dir, simulate.TagPackFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		chain string
		notes int
	}{{"", 1}, {"bitcoin-regtest", 0}} {
		res, err := tagpack.Parse(bytes.NewReader(data), tagpack.Options{Chain: c.chain})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Notes) != c.notes || len(res.Skipped) != 0 || res.Tags < 100 {
			t.Errorf("--chain %q: %d tags, notes %v, skipped %v", c.chain, res.Tags, res.Notes, res.Skipped)
		}
		rep, err := svc.Submit(ctx, v, res.Objects, intel.SubmitOptions{SkipSameContent: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.chain == "" && rep.Added != len(res.Objects) {
			t.Errorf("first import added %d of %d objects", rep.Added, len(res.Objects))
		}
		if c.chain != "" && rep.Added != 0 {
			t.Errorf("the same pack with --chain added %d objects", rep.Added)
		}
	}

	// The STIX bundle.
	raw, err := os.ReadFile(filepath.Join(dir, simulate.IncidentFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := stix.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	val := stix.Validator{Address: address.Canonical}
	for _, o := range b.Objects {
		if err := val.Validate(o); err != nil {
			t.Errorf("invalid: %v", err)
		}
	}
	if _, err := svc.Submit(ctx, v, b.Objects, intel.SubmitOptions{}); err != nil {
		t.Fatalf("%v: %v", err, fault.DetailsOf(err))
	}
	incs, err := svc.Incidents(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	tr := sum.Truth
	if len(incs) != 1 {
		t.Fatalf("%d incidents", len(incs))
	}
	inc := incs[0]
	if inc.ID != tr.Incident || inc.Name != "Theft from "+tr.Victim || inc.Date != stix.FormatTime(tr.TheftTime) ||
		len(inc.Losses) != 1 || inc.Losses[0].Asset != "bitcoin-regtest:BTC" || inc.Losses[0].Amount != big.NewInt(int64(tr.Drained)).String() ||
		len(inc.Victims) != 1 || inc.Victims[0].Name != tr.Victim || len(inc.Actors) != 1 || inc.Actors[0].Name != tr.Actor {
		t.Errorf("incident: %+v", inc)
	}
	var want, got []string
	for _, sd := range tr.Seeds {
		want = append(want, sd.Address)
	}
	for _, w := range inc.Wallets {
		if w.Role != "theft-destination" || w.Chain != "bitcoin-regtest" {
			t.Errorf("wallet %+v", w)
		}
		got = append(got, w.Value)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(slices.Compact(want), got) {
		t.Errorf("theft-destination wallets %v, want the seeds' %v", got, want)
	}
	flags, err := svc.Flags(ctx, v, intel.FlagQuery{Chain: "bitcoin-regtest"})
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != len(got) || flags[0].Flags[0].Category != "theft-destination" || flags[0].Flags[0].Incident != tr.Incident {
		t.Errorf("flags: %+v", flags)
	}
}

func TestGenerateErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		out  string
		txs  int
		want string
	}{
		{"too few", filepath.Join(t.TempDir(), "a"), simulate.MinTxs - 1, "too few"},
		{"negative", filepath.Join(t.TempDir(), "b"), -10, "too few"},
		{"a file", file, 1000, "is a file"},
		{"not empty", full, 1000, "not empty"},
		{"no folder", "", 1000, "no output folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := simulate.Generate(context.Background(), c.out, simulate.Options{Txs: c.txs})
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want an invalid error saying %q", err, c.want)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		out := filepath.Join(t.TempDir(), "c")
		_, err := simulate.Generate(ctx, out, simulate.Options{Txs: 1000, Progress: func(done, total int) {
			if done > 500 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("files left behind: %v", entries)
		}
	})
}

func TestProgress(t *testing.T) {
	var calls, last int
	_, err := simulate.Generate(context.Background(), filepath.Join(t.TempDir(), "p"), simulate.Options{Txs: 600, Progress: func(done, total int) {
		if done < last || total != 600 {
			t.Fatalf("progress %d/%d after %d", done, total, last)
		}
		last = done
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if last != 600 || calls < 101 {
		t.Errorf("%d calls, last %d", calls, last)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := simulate.Generate(context.Background(), filepath.Join(b.TempDir(), "s"), simulate.Options{Seed: 1, Txs: 100_000}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100_000, "txs/op")
}

package bitcoin_test

import (
	"bytes"
	"compress/bzip2"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// readFile reads every block of a block file, decoding each, and checks
// what holds for every real block: the proof of work, canonical
// addresses, and that the offsets fn reports point at the block.
func readFile(tb testing.TB, path string, net bitcoin.Network) []*chain.Block {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".bz2") {
		r = bzip2.NewReader(f)
	}
	var blocks []*chain.Block
	err = bitcoin.ReadBlocks(r, net, func(raw []byte, offset int64) error {
		b, err := bitcoin.DecodeBlock(net, raw)
		if err != nil {
			return err
		}
		checkPoW(tb, raw, b.Hash)
		checkAddresses(tb, net, b)
		blocks = append(blocks, b)
		return nil
	})
	if err != nil {
		tb.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return blocks
}

// checkPoW checks that a block's hash meets the target its header claims:
// a mainnet block that does cannot have been altered.
func checkPoW(tb testing.TB, raw []byte, hash string) {
	tb.Helper()
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		tb.Fatal(err)
	}
	mant := int64(h.Bits & 0x007fffff)
	exp := uint(h.Bits >> 24)
	target := big.NewInt(mant)
	if exp <= 3 {
		target.Rsh(target, 8*(3-exp))
	} else {
		target.Lsh(target, 8*(exp-3))
	}
	bh := h.BlockHash()
	if bh.String() != hash {
		tb.Fatalf("hash %s, header hashes to %s", hash, bh)
	}
	if hashNum := new(big.Int).SetBytes(reverse(bh[:])); hashNum.Cmp(target) > 0 {
		tb.Errorf("block %s does not meet its target %064x", hash, target)
	}
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// checkAddresses checks that every address is in canonical form and that
// keys follow the rule: the address, or the script key.
func checkAddresses(tb testing.TB, net bitcoin.Network, b *chain.Block) {
	tb.Helper()
	for _, tx := range b.Txs {
		for _, o := range tx.Outputs {
			switch o.Kind {
			case "nulldata":
				if o.Address != "" || o.Key != "" {
					tb.Errorf("%s:%d nulldata with address %q key %q", tx.Hash, o.Index, o.Address, o.Key)
				}
			case "multisig", "nonstandard":
				if k := bitcoin.ScriptKey(o.Script); o.Address != k || o.Key != k {
					tb.Errorf("%s:%d %s: address %q key %q, want the script key", tx.Hash, o.Index, o.Kind, o.Address, o.Key)
				}
			default:
				if c, err := address.Canonical(net.Chain(), o.Address); err != nil || c != o.Address {
					tb.Errorf("%s:%d %s address %q: canonical %q, %v", tx.Hash, o.Index, o.Kind, o.Address, c, err)
				}
				want := o.Address
				if o.Kind == "p2pk" {
					want = bitcoin.ScriptKey(o.Script)
				}
				if o.Key != want {
					tb.Errorf("%s:%d %s key %q, want %q", tx.Hash, o.Index, o.Kind, o.Key, want)
				}
			}
		}
	}
}

// TestSharedBlocks decodes every block of the shared data's real mainnet
// blocks.
func TestSharedBlocks(t *testing.T) {
	tests := []struct {
		file   string
		blocks int
		// first block's facts
		hash, merkle string
		txs          int
		height       int64 // BIP34 height, -1 for none
		time         string
	}{
		{
			file: "block413567.raw", blocks: 1,
			hash:   "0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069",
			merkle: "64a50c649fc816baaa2effda230c39cacf1504e4e616a2863685b72aaa7dce05", // as Bitcoin Core's bench asserts
			txs:    1557, height: 413567, time: "2016-05-26T23:58:43Z",
		},
		{
			file: "block277647.framed.dat", blocks: 1,
			hash:   "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8",
			merkle: "36ac31298eb05c23be1f775d635104705e4560c6532b95c158023c6dc9af06c3",
			txs:    213, height: 277647, time: "2013-12-30T01:31:42Z",
		},
		{
			file: "blocks1-255.framed.dat", blocks: 255,
			hash:   "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048",
			merkle: "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098",
			txs:    1, height: -1, time: "2009-01-09T02:54:25Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := sharedtest.Path(t, "bitcoin", tt.file)
			blocks := readFile(t, path, bitcoin.Mainnet)
			if len(blocks) != tt.blocks {
				t.Fatalf("%d blocks, want %d", len(blocks), tt.blocks)
			}
			b := blocks[0]
			if b.Hash != tt.hash || len(b.Txs) != tt.txs || b.Height != tt.height || b.Time.Format(time.RFC3339) != tt.time || b.Chain != "bitcoin" {
				t.Errorf("block: hash %s, %d txs, height %d, time %s, chain %s; want %s, %d, %d, %s",
					b.Hash, len(b.Txs), b.Height, b.Time.Format(time.RFC3339), b.Chain, tt.hash, tt.txs, tt.height, tt.time)
			}
			raw := firstRaw(t, path)
			var h wire.BlockHeader
			if err := h.Deserialize(bytes.NewReader(raw)); err != nil || h.MerkleRoot.String() != tt.merkle {
				t.Errorf("merkle root %s (%v), want %s", h.MerkleRoot, err, tt.merkle)
			}
			if !b.Txs[0].Coinbase || len(b.Txs[0].Inputs) != 1 || b.Txs[0].Inputs[0].Prev != (chain.Outpoint{}) {
				t.Errorf("first tx is not a coinbase without a spent outpoint: %+v", b.Txs[0].Inputs)
			}
			for i, tx := range b.Txs[1:] {
				if tx.Coinbase {
					t.Errorf("tx %d marked coinbase", i+1)
				}
			}
			checkChain(t, blocks)
		})
	}
}

// checkChain checks that each block's parent is the block before it.
func checkChain(t *testing.T, blocks []*chain.Block) {
	t.Helper()
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Parent != blocks[i-1].Hash {
			t.Fatalf("block %d (%s): parent %s, want %s", i, blocks[i].Hash, blocks[i].Parent, blocks[i-1].Hash)
		}
	}
}

// firstRaw returns the first block of a file, as ReadBlocks gives it.
func firstRaw(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var first []byte
	stop := errors.New("stop")
	err = bitcoin.ReadBlocks(f, bitcoin.Mainnet, func(raw []byte, _ int64) error {
		first = raw
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
	return first
}

// TestBlock413567ScriptTally classifies every input and output script of
// block 413567 and compares the counts with those Bitcoin Core's
// CheckBlockBench asserts for the same block (src/bench/checkblock.cpp,
// TallyScriptTypes over Solver): OP_RETURN 3, P2PKH 2841, P2SH 737,
// other 4887.
func TestBlock413567ScriptTally(t *testing.T) {
	raw, err := os.ReadFile(sharedtest.Path(t, "bitcoin", "block413567.raw"))
	if err != nil {
		t.Fatal(err)
	}
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	tally := map[string]int{}
	for _, tx := range mb.Transactions {
		for _, in := range tx.TxIn {
			kind, _, _ := bitcoin.Classify(&chaincfg.MainNetParams, in.SignatureScript)
			tally[kind]++
		}
		for _, out := range tx.TxOut {
			kind, _, _ := bitcoin.Classify(&chaincfg.MainNetParams, out.PkScript)
			tally[kind]++
		}
	}
	want := map[string]int{"nulldata": 3, "p2pkh": 2841, "p2sh": 737, "nonstandard": 4887}
	if len(tally) != len(want) {
		t.Errorf("tally %v, want %v", tally, want)
	}
	for k, n := range want {
		if tally[k] != n {
			t.Errorf("%s: %d, want %d (tally %v)", k, tally[k], n, tally)
		}
	}
}

// TestBtcdBlocks0To14131 reads btcd's blk_0_to_14131.dat: mainnet blocks 0
// to 14131 in blk framing, then zeros, as Bitcoin Core pre-allocates blk
// files.
func TestBtcdBlocks0To14131(t *testing.T) {
	path := btcdtest.Testdata(t, "blk_0_to_14131.dat")
	blocks := readFile(t, path, bitcoin.Mainnet)
	if len(blocks) != 14132 {
		t.Fatalf("%d blocks, want 14132", len(blocks))
	}
	if blocks[0].Hash != chaincfg.MainNetParams.GenesisHash.String() || blocks[0].Parent != "" {
		t.Errorf("block 0: %s parent %q, want the genesis block", blocks[0].Hash, blocks[0].Parent)
	}
	checkChain(t, blocks)

	// The file ends in zeros: where the blocks end and how many.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := 0
	if err := bitcoin.ReadBlocks(bytes.NewReader(data), bitcoin.Mainnet, func(raw []byte, off int64) error {
		end = int(off) + len(raw)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	zeros := data[end:]
	if len(zeros) < 13_000_000 || strings.Trim(string(zeros), "\x00") != "" {
		t.Errorf("after the last block at %d: %d bytes, not all zero", end, len(zeros))
	}
	t.Logf("14,132 blocks in %d bytes, then %d zero bytes", end, len(zeros))

	byHeight := func(h int) *chain.Block {
		b := blocks[h]
		b.Height = int64(h) // the index knows the height; these v1 blocks do not say it
		return b
	}
	for h, b := range blocks {
		if b.Height != -1 && b.Height != int64(h) {
			t.Fatalf("block %d: BIP34 height %d from a version 1 block", h, b.Height)
		}
	}

	t.Run("block 9 coinbase", func(t *testing.T) {
		b := byHeight(9)
		if b.Hash != "000000008d9dc510f23c2657fc4f67bea30078cc05a90eb89e84cc475c080805" {
			t.Errorf("block 9 hash %s", b.Hash)
		}
		cb := b.Txs[0]
		if !cb.Coinbase || len(cb.Outputs) != 1 {
			t.Fatalf("coinbase %+v", cb)
		}
		o := cb.Outputs[0]
		if o.Value != 50*100_000_000 || o.Kind != "p2pk" || o.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
			t.Errorf("block 9 coinbase output: %d %s %s", o.Value, o.Kind, o.Address)
		}
		if o.Key != bitcoin.ScriptKey(o.Script) {
			t.Errorf("P2PK key %s, want the script key", o.Key)
		}
	})
	t.Run("block 170 first payment", func(t *testing.T) {
		b := byHeight(170)
		if b.Hash != "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee" || len(b.Txs) != 2 {
			t.Fatalf("block 170: %s with %d txs", b.Hash, len(b.Txs))
		}
		tx := b.Txs[1]
		if tx.Hash != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" || tx.Coinbase {
			t.Fatalf("tx %s coinbase %v", tx.Hash, tx.Coinbase)
		}
		wantPrev := chain.Outpoint{Tx: "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9", Index: 0}
		if len(tx.Inputs) != 1 || tx.Inputs[0].Prev != wantPrev {
			t.Errorf("inputs %+v, want one spending %v", tx.Inputs, wantPrev)
		}
		want := []struct {
			value int64
			addr  string
		}{
			{10 * 100_000_000, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"}, // Hal Finney
			{40 * 100_000_000, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}, // change back to Satoshi
		}
		if len(tx.Outputs) != len(want) {
			t.Fatalf("%d outputs", len(tx.Outputs))
		}
		for i, w := range want {
			o := tx.Outputs[i]
			if o.Index != uint32(i) || o.Value != w.value || o.Kind != "p2pk" || o.Address != w.addr {
				t.Errorf("output %d: %d %d %s %s, want %d p2pk %s", i, o.Index, o.Value, o.Kind, o.Address, w.value, w.addr)
			}
		}
		// The spent output is block 9's coinbase.
		if b9 := byHeight(9); b9.Txs[0].Hash != wantPrev.Tx {
			t.Errorf("block 9 coinbase %s, block 170 spends %s", b9.Txs[0].Hash, wantPrev.Tx)
		}
	})
	t.Run("same as shared blocks 1-255", func(t *testing.T) {
		shared := readFile(t, sharedtest.Path(t, "bitcoin", "blocks1-255.framed.dat"), bitcoin.Mainnet)
		for i, b := range shared {
			if got := blocks[i+1]; got.Hash != b.Hash || len(got.Txs) != len(b.Txs) {
				t.Fatalf("height %d: shared %s, btcd %s", i+1, b.Hash, got.Hash)
			}
		}
	})
}

// TestBtcdReorgFiles decodes btcd's reorg test chain: genesis, 1 to 4, and
// the side chain 3A, 4A, 5A forking after block 2.
func TestBtcdReorgFiles(t *testing.T) {
	main := readFile(t, btcdtest.Testdata(t, "blk_0_to_4.dat.bz2"), bitcoin.Mainnet)
	if len(main) != 5 || main[0].Hash != chaincfg.MainNetParams.GenesisHash.String() {
		t.Fatalf("blk_0_to_4: %d blocks", len(main))
	}
	checkChain(t, main)
	parent := main[2].Hash
	for _, tt := range []struct {
		file, hash string
		txs        int
	}{
		// 3A's hash is the one btcd's TestHaveBlock looks for.
		{"blk_3A.dat.bz2", "00000000474284d20067a4d33f6a02284e6ef70764a3a26d6a5b9df52ef663dd", 3},
		{"blk_4A.dat.bz2", "00000000551dc04c148242d1f648802577df8cf7d4e1b469211016280204a2bf", 1},
		{"blk_5A.dat.bz2", "00000000195f85184e77c18914bd0febd11278d950f5e4731a38f71ed79f044e", 2},
	} {
		side := readFile(t, btcdtest.Testdata(t, tt.file), bitcoin.Mainnet)
		if len(side) != 1 || side[0].Hash != tt.hash || side[0].Parent != parent || len(side[0].Txs) != tt.txs {
			t.Errorf("%s: %d blocks, first %+v; want %s on %s with %d txs", tt.file, len(side), side[0].Hash, tt.hash, parent, tt.txs)
		}
		parent = side[0].Hash
	}
}

// TestDecodeBlockRefusesBadMerkleRoot changes one byte of a transaction
// of a real block: the block must be refused, naming its hash.
func TestDecodeBlockRefusesBadMerkleRoot(t *testing.T) {
	raw := firstRaw(t, sharedtest.Path(t, "bitcoin", "block277647.framed.dat"))
	bad := bytes.Clone(raw)
	bad[len(bad)-10] ^= 0x01 // inside the last transaction
	_, err := bitcoin.DecodeBlock(bitcoin.Mainnet, bad)
	if !errors.Is(err, bitcoin.ErrMerkleRoot) || !strings.Contains(err.Error(), "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8") {
		t.Errorf("DecodeBlock(altered) = %v, want a merkle error naming the block", err)
	}
	if _, err := bitcoin.DecodeBlock(bitcoin.Mainnet, raw[:len(raw)-1]); !errors.Is(err, bitcoin.ErrTruncated) {
		t.Errorf("DecodeBlock(truncated) = %v, want ErrTruncated", err)
	}
	if _, err := bitcoin.DecodeBlock(bitcoin.Mainnet, append(bytes.Clone(raw), 0)); err == nil {
		t.Error("DecodeBlock(block + 1 byte) succeeded")
	}
	if _, err := bitcoin.DecodeBlock(0, raw); err == nil {
		t.Error("DecodeBlock(invalid network) succeeded")
	}
}

// TestDecodeBlockMutatedMerkleTree duplicates the last transactions of a
// block: the merkle root stays the same (CVE-2012-2459), the block must
// still be refused.
func TestDecodeBlockMutatedMerkleTree(t *testing.T) {
	var mb wire.MsgBlock
	raw := firstRaw(t, sharedtest.Path(t, "bitcoin", "block277647.framed.dat")) // 213 transactions: odd
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	mb.Transactions = append(mb.Transactions, mb.Transactions[len(mb.Transactions)-1])
	var buf bytes.Buffer
	if err := mb.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := bitcoin.DecodeBlock(bitcoin.Mainnet, buf.Bytes()); !errors.Is(err, bitcoin.ErrMerkleRoot) {
		t.Errorf("DecodeBlock(mutated) = %v, want ErrMerkleRoot", err)
	}
}

// TestBIP34Height covers the encodings of the height in the coinbase.
func TestBIP34Height(t *testing.T) {
	tests := []struct {
		name    string
		version int32
		script  string // hex
		want    int64
		ok      bool
	}{
		{"version 1", 1, "03ff4f06", 0, false},
		{"OP_0", 2, "00", 0, true},
		{"OP_1", 0x20000000, "51", 1, true},
		{"OP_16", 0x20000000, "60", 16, true},
		{"one byte", 2, "0111", 17, true},
		{"sign byte", 2, "028000", 128, true},
		{"block 413567", 4, "037f4f06", 413567, true},
		{"non-minimal", 2, "03110000", 0, false},
		{"negative", 2, "0181", 0, false},
		{"too large", 2, "04ffffff7f", 0, false},
		{"short push", 2, "03ff", 0, false},
		{"not a push", 2, "76a9", 0, false},
		{"empty", 2, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, _ := hex.DecodeString(tt.script)
			mb := &wire.MsgBlock{Header: wire.BlockHeader{Version: tt.version}}
			tx := wire.NewMsgTx(1)
			tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), script, nil))
			mb.AddTransaction(tx)
			got, ok := bitcoin.BIP34Height(mb)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BIP34Height = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestClassify covers every output kind with scripts whose addresses are
// known from elsewhere (BIP 173, BIP 350 test vectors and mainnet).
func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		net    bitcoin.Network
		script string
		kind   string
		addr   string // "" with kind nulldata; "key" for the script key
	}{
		{"p2pkh", bitcoin.Mainnet, "76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac", "p2pkh", "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"},
		{"p2sh", bitcoin.Mainnet, "a914e9c3dd0c07aac76179ebc76a6c78d4d67c6c160a87", "p2sh", "3P14159f73E4gFr7JterCCQh9QjiTjiZrG"},
		// BIP 173 test vectors.
		{"p2wpkh", bitcoin.Mainnet, "0014751e76e8199196d454941c45d1b3a323f1433bd6", "p2wpkh", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"p2wsh testnet", bitcoin.Testnet, "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", "p2wsh", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"},
		// BIP 350 test vector.
		{"p2tr", bitcoin.Mainnet, "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", "p2tr", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
		{"p2pkh regtest", bitcoin.Regtest, "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", "p2pkh", "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r"},
		{"p2wpkh regtest", bitcoin.Regtest, "0014751e76e8199196d454941c45d1b3a323f1433bd6", "p2wpkh", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"},
		{"p2wpkh simnet", bitcoin.Simnet, "0014751e76e8199196d454941c45d1b3a323f1433bd6", "p2wpkh", "sb1qw508d6qejxtdg4y5r3zarvary0c5xw7krxe8se"},
		// The genesis coinbase: P2PK shown with its P2PKH address.
		{"p2pk", bitcoin.Mainnet, "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac", "p2pk", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"multisig 1-of-2", bitcoin.Mainnet, "51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179821025cbdf0646e5db4eaa398f365f2ea7a0e3d419b7e0330e39ce92bddedcac4f9bc52ae", "multisig", "key"},
		{"op_return", bitcoin.Mainnet, "6a09636f696e747261696c", "nulldata", ""},
		{"bare op_return", bitcoin.Mainnet, "6a", "nulldata", ""},
		{"op_return two pushes", bitcoin.Mainnet, "6a0101020202", "nulldata", ""},
		{"op_return then opcode", bitcoin.Mainnet, "6a0101ac", "nonstandard", "key"},
		{"witness v2", bitcoin.Mainnet, "5210751e76e8199196d454941c45d1b3a323", "nonstandard", "key"},
		{"empty", bitcoin.Mainnet, "", "nonstandard", "key"},
		{"op_true", bitcoin.Mainnet, "51", "nonstandard", "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, err := hex.DecodeString(tt.script)
			if err != nil {
				t.Fatal(err)
			}
			kind, addr, key := bitcoin.Classify(tt.net.Params(), script)
			wantAddr, wantKey := tt.addr, tt.addr
			switch {
			case tt.addr == "key":
				wantAddr, wantKey = bitcoin.ScriptKey(script), bitcoin.ScriptKey(script)
			case tt.kind == "p2pk":
				wantKey = bitcoin.ScriptKey(script)
			}
			if kind != tt.kind || addr != wantAddr || key != wantKey {
				t.Errorf("Classify = %s %q %q, want %s %q %q", kind, addr, key, tt.kind, wantAddr, wantKey)
			}
			if kind != "nulldata" && !strings.HasPrefix(addr, "script:") {
				if c, err := address.Canonical(tt.net.Chain(), addr); err != nil || c != addr {
					t.Errorf("address %q: canonical %q, %v", addr, c, err)
				}
			}
			if strings.HasPrefix(wantKey, "script:") && len(wantKey) != len("script:")+64 {
				t.Errorf("script key %q", wantKey)
			}
		})
	}
}

// TestNetworks checks names, chain ids, magics and parameters.
func TestNetworks(t *testing.T) {
	tests := []struct {
		names []string
		net   bitcoin.Network
		chain string
		magic string // as on disk
	}{
		{[]string{"mainnet", "main", "bitcoin", "MainNet"}, bitcoin.Mainnet, "bitcoin", "f9beb4d9"},
		{[]string{"testnet", "testnet3", "bitcoin-testnet"}, bitcoin.Testnet, "bitcoin-testnet", "0b110907"},
		{[]string{"regtest", "bitcoin-regtest"}, bitcoin.Regtest, "bitcoin-regtest", "fabfb5da"},
		{[]string{"simnet", "bitcoin-simnet"}, bitcoin.Simnet, "bitcoin-simnet", "161c1412"},
	}
	for _, tt := range tests {
		for _, name := range tt.names {
			n, err := bitcoin.ParseNetwork(name)
			if err != nil || n != tt.net {
				t.Errorf("ParseNetwork(%q) = %v, %v; want %v", name, n, err, tt.net)
			}
		}
		if tt.net.Chain() != tt.chain {
			t.Errorf("%v.Chain() = %q", tt.net, tt.net.Chain())
		}
		if _, ok := chain.Lookup(tt.net.Chain()); !ok {
			t.Errorf("chain %q unknown to package chain", tt.net.Chain())
		}
		var m [4]byte
		m[0], m[1], m[2], m[3] = byte(tt.net.Magic()), byte(tt.net.Magic()>>8), byte(tt.net.Magic()>>16), byte(tt.net.Magic()>>24)
		if hex.EncodeToString(m[:]) != tt.magic {
			t.Errorf("%v magic on disk %x, want %s", tt.net, m, tt.magic)
		}
		if tt.net.Params() == nil || tt.net.Params().Net != tt.net.Magic() {
			t.Errorf("%v params", tt.net)
		}
	}
	for _, bad := range []string{"", "signet", "litecoin", "testnet4"} {
		if _, err := bitcoin.ParseNetwork(bad); err == nil {
			t.Errorf("ParseNetwork(%q) succeeded", bad)
		}
	}
	if len(bitcoin.Networks()) != 4 {
		t.Errorf("Networks() = %v", bitcoin.Networks())
	}
}

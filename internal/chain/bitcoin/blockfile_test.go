package bitcoin_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
)

// genesis returns the serialized genesis block of params.
func genesis(tb testing.TB, params *chaincfg.Params) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := params.GenesisBlock.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// frame wraps a block in blk*.dat framing with magic.
func frame(magic wire.BitcoinNet, block []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(magic))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(block)))
	return append(out, block...)
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type read struct {
	raw    []byte
	offset int64
}

func readAll(data []byte, net bitcoin.Network) ([]read, error) {
	var got []read
	err := bitcoin.ReadBlocks(bytes.NewReader(data), net, func(raw []byte, off int64) error {
		got = append(got, read{raw, off})
		return nil
	})
	return got, err
}

func TestReadBlocks(t *testing.T) {
	main := genesis(t, &chaincfg.MainNetParams)
	test := genesis(t, &chaincfg.TestNet3Params)
	reg := genesis(t, &chaincfg.RegressionNetParams)
	sim := genesis(t, &chaincfg.SimNetParams)
	mainMagic := bitcoin.Mainnet.Magic()
	n := int64(len(main))
	tests := []struct {
		name    string
		net     bitcoin.Network
		data    []byte
		offsets []int64 // of the blocks read
		err     string  // substring of the error; "" for none
		trunc   bool    // the error wraps ErrTruncated
	}{
		{name: "empty", net: bitcoin.Mainnet, data: nil},
		{name: "one frame", net: bitcoin.Mainnet, data: frame(mainMagic, main), offsets: []int64{8}},
		{name: "two frames", net: bitcoin.Mainnet, data: join(frame(mainMagic, main), frame(mainMagic, main)), offsets: []int64{8, 16 + n}},
		{name: "testnet", net: bitcoin.Testnet, data: frame(bitcoin.Testnet.Magic(), test), offsets: []int64{8}},
		{name: "regtest", net: bitcoin.Regtest, data: frame(bitcoin.Regtest.Magic(), reg), offsets: []int64{8}},
		{name: "simnet", net: bitcoin.Simnet, data: frame(bitcoin.Simnet.Magic(), sim), offsets: []int64{8}},
		{name: "zeros end the file", net: bitcoin.Mainnet, data: join(frame(mainMagic, main), make([]byte, 4096), []byte("garbage after the zeros")), offsets: []int64{8}},
		{name: "only zeros", net: bitcoin.Mainnet, data: make([]byte, 100)},
		{name: "short zero tail", net: bitcoin.Mainnet, data: join(frame(mainMagic, main), []byte{0, 0}), offsets: []int64{8}},
		{name: "zero magic with a length", net: bitcoin.Mainnet, data: join(frame(mainMagic, main), frame(0, main)), offsets: []int64{8}},
		{
			name: "another network's magic", net: bitcoin.Mainnet,
			data:    join(frame(mainMagic, main), frame(bitcoin.Testnet.Magic(), test)),
			offsets: []int64{8},
			err:     "frame at offset 293 has magic 0b110907 (testnet), want f9beb4d9 (mainnet)",
		},
		{
			name: "first frame of another network", net: bitcoin.Regtest,
			data: frame(mainMagic, main),
			err:  "frame at offset 0 has magic f9beb4d9 (mainnet), want fabfb5da (regtest)",
		},
		{
			name: "garbage magic", net: bitcoin.Mainnet,
			data:    join(frame(mainMagic, main), []byte{0xde, 0xad, 0xbe, 0xef, 1, 0, 0, 0}),
			offsets: []int64{8},
			err:     "frame at offset 293 has magic deadbeef",
		},
		{
			name: "truncated header", net: bitcoin.Mainnet,
			data:    join(frame(mainMagic, main), []byte{0xf9, 0xbe, 0xb4, 0xd9, 0x1d}),
			offsets: []int64{8},
			err:     "frame header at offset 293 cut after 5 of 8 bytes", trunc: true,
		},
		{
			name: "truncated magic", net: bitcoin.Mainnet,
			data:    join(frame(mainMagic, main), []byte{0xf9, 0xbe}),
			offsets: []int64{8},
			err:     "frame header at offset 293 cut after 2 of 8 bytes", trunc: true,
		},
		{
			name: "truncated block", net: bitcoin.Mainnet,
			data:    join(frame(mainMagic, main), frame(mainMagic, main)[:100]),
			offsets: []int64{8},
			err:     "block at offset 301 cut after 92 of its 285 bytes", trunc: true,
		},
		{
			name: "length too large", net: bitcoin.Mainnet,
			data: join(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(mainMagic)), 4_000_001), main),
			err:  "frame at offset 0 has a block length of 4000001 bytes",
		},
		{
			name: "length too small", net: bitcoin.Mainnet,
			data: join(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(mainMagic)), 4), main),
			err:  "block length of 4 bytes",
		},
		{name: "unframed", net: bitcoin.Mainnet, data: main, offsets: []int64{0}},
		{name: "unframed twice", net: bitcoin.Mainnet, data: join(main, main), offsets: []int64{0, n}},
		{
			name: "unframed truncated", net: bitcoin.Mainnet,
			data:    join(main, main[:200]),
			offsets: []int64{0},
			err:     "unframed block at offset 285 cut after 200 bytes", trunc: true,
		},
		{name: "unframed short", net: bitcoin.Mainnet, data: []byte{1, 0}, err: "unframed block at offset 0", trunc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.data, tt.net)
			if tt.err == "" && err != nil {
				t.Fatalf("ReadBlocks: %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("ReadBlocks error %v, want one containing %q", err, tt.err)
			}
			if tt.trunc != errors.Is(err, bitcoin.ErrTruncated) {
				t.Errorf("error %v: wraps ErrTruncated = %v, want %v", err, !tt.trunc, tt.trunc)
			}
			var offsets []int64
			for _, r := range got {
				offsets = append(offsets, r.offset)
				if !bytes.Equal(tt.data[r.offset:r.offset+int64(len(r.raw))], r.raw) {
					t.Errorf("block at %d: bytes differ from the file", r.offset)
				}
				if _, err := bitcoin.DecodeBlock(tt.net, r.raw); err != nil {
					t.Errorf("block at %d: %v", r.offset, err)
				}
			}
			if len(offsets) != len(tt.offsets) || (len(offsets) > 0 && !equalInts(offsets, tt.offsets)) {
				t.Errorf("offsets %v, want %v", offsets, tt.offsets)
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadBlocksCallbackError(t *testing.T) {
	main := genesis(t, &chaincfg.MainNetParams)
	data := join(frame(bitcoin.Mainnet.Magic(), main), frame(bitcoin.Mainnet.Magic(), main))
	stop := errors.New("stop here")
	calls := 0
	err := bitcoin.ReadBlocks(bytes.NewReader(data), bitcoin.Mainnet, func([]byte, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 || !strings.Contains(err.Error(), "offset 8") {
		t.Errorf("ReadBlocks = %v after %d calls, want the callback's error after 1, with the offset", err, calls)
	}
	if err := bitcoin.ReadBlocks(bytes.NewReader(data), 0, func([]byte, int64) error { return nil }); err == nil {
		t.Error("ReadBlocks with an invalid network succeeded")
	}
}

func TestIsFramed(t *testing.T) {
	main := genesis(t, &chaincfg.MainNetParams)
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"mainnet", frame(bitcoin.Mainnet.Magic(), main), true},
		{"testnet", frame(bitcoin.Testnet.Magic(), main), true},
		{"regtest", frame(bitcoin.Regtest.Magic(), main), true},
		{"simnet", frame(bitcoin.Simnet.Magic(), main), true},
		{"zeros", make([]byte, 8), true},
		{"unframed block", main, false},
		{"short", []byte{0xf9, 0xbe, 0xb4}, false},
		{"garbage", []byte("hello world"), false},
	}
	for _, tt := range tests {
		if got := bitcoin.IsFramed(tt.head); got != tt.want {
			t.Errorf("%s: IsFramed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzReadBlocks feeds arbitrary bytes as a block file: no panic, and
// every block handed to the callback is the bytes at its offset, in
// increasing order.
func FuzzReadBlocks(f *testing.F) {
	main := genesis(f, &chaincfg.MainNetParams)
	magic := bitcoin.Mainnet.Magic()
	f.Add(frame(magic, main))
	f.Add(join(frame(magic, main), frame(magic, main), make([]byte, 16)))
	f.Add(main)
	f.Add(join(main, main))
	f.Add(frame(bitcoin.Testnet.Magic(), main))
	f.Add(frame(magic, main)[:100])
	f.Add([]byte{0xf9, 0xbe, 0xb4, 0xd9, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Add(make([]byte, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := int64(-1)
		_ = bitcoin.ReadBlocks(bytes.NewReader(data), bitcoin.Mainnet, func(raw []byte, off int64) error {
			if off <= last || off < 0 || off+int64(len(raw)) > int64(len(data)) {
				t.Fatalf("block at offset %d (%d bytes) after %d, in %d bytes", off, len(raw), last, len(data))
			}
			if !bytes.Equal(data[off:off+int64(len(raw))], raw) {
				t.Fatalf("block at offset %d differs from the input", off)
			}
			last = off
			_, _ = bitcoin.DecodeBlock(bitcoin.Mainnet, raw)
			return nil
		})
	})
}

// FuzzDecodeBlock decodes arbitrary bytes: no panic, and a block that
// decodes has transactions whose txids hash, by a plain reference
// implementation of the merkle tree, to the root in its header.
func FuzzDecodeBlock(f *testing.F) {
	for _, p := range []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.RegressionNetParams, &chaincfg.SimNetParams} {
		f.Add(genesis(f, p))
	}
	// A block with three transactions and a segwit one.
	mb := *chaincfg.MainNetParams.GenesisBlock
	tx := mb.Transactions[0].Copy()
	tx.TxIn[0].Witness = wire.TxWitness{[]byte{1, 2, 3}}
	tx.TxIn[0].PreviousOutPoint.Index = 1
	mb.Transactions = []*wire.MsgTx{mb.Transactions[0], tx, tx.Copy()}
	mb.Transactions[2].LockTime = 7
	mb.Header.MerkleRoot = refMerkle([]chainhash.Hash{mb.Transactions[0].TxHash(), tx.TxHash(), mb.Transactions[2].TxHash()})
	var buf bytes.Buffer
	if err := mb.Serialize(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:150])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := bitcoin.DecodeBlock(bitcoin.Mainnet, raw)
		if err != nil {
			return
		}
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatalf("decoded a block wire cannot read: %v", err)
		}
		ids := make([]chainhash.Hash, len(mb.Transactions))
		for i, tx := range mb.Transactions {
			ids[i] = tx.TxHash()
			if b.Txs[i].Hash != ids[i].String() {
				t.Fatalf("tx %d hash %s, want %s", i, b.Txs[i].Hash, ids[i])
			}
		}
		if len(ids) == 0 || refMerkle(ids) != mb.Header.MerkleRoot {
			t.Fatalf("decoded block %s whose merkle root does not match", b.Hash)
		}
		if b.Hash != mb.BlockHash().String() || len(b.Txs) != len(mb.Transactions) {
			t.Fatalf("decoded %s with %d txs", b.Hash, len(b.Txs))
		}
	})
}

// refMerkle is the merkle root by its definition, recursively: pairs of
// hashes, the last one paired with itself when a level is odd.
func refMerkle(ids []chainhash.Hash) chainhash.Hash {
	if len(ids) == 1 {
		return ids[0]
	}
	var next []chainhash.Hash
	for i := 0; i < len(ids); i += 2 {
		j := min(i+1, len(ids)-1)
		next = append(next, chainhash.DoubleHashH(append(append([]byte{}, ids[i][:]...), ids[j][:]...)))
	}
	return refMerkle(next)
}

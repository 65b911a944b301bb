package simulate

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain/bitcoin"
)

// Script kinds of the addresses.
const (
	kindP2WPKH uint8 = iota
	kindP2SH         // P2SH-wrapped P2WPKH, as exchanges' "3..." (regtest "2...") addresses
	kindP2PKH
	kindP2TR
)

// addr numbers an address of the scenario; 0 is none.
type addr uint32

// keyring holds every address: its kind, public key and the 20-byte hash
// its script commits to. About 54 bytes each.
type keyring struct {
	gen   *keyGen
	kinds []uint8
	pubs  [][33]byte
	progs [][20]byte // hash160 of the key (P2PKH, P2WPKH) or of the redeem script (P2SH)
}

func newKeyring(seed int64) *keyring {
	return &keyring{
		gen:   newKeyGen(seedFor(seed, "keys")),
		kinds: []uint8{0}, pubs: [][33]byte{{}}, progs: [][20]byte{{}},
	}
}

// add makes a new address of kind.
func (r *keyring) add(kind uint8) addr {
	pub := r.gen.pub()
	h := hash160(pub[:])
	if kind == kindP2SH {
		redeem := append([]byte{txscript.OP_0, txscript.OP_DATA_20}, h[:]...)
		h = hash160(redeem)
	}
	r.kinds = append(r.kinds, kind)
	r.pubs = append(r.pubs, pub)
	r.progs = append(r.progs, h)
	return addr(len(r.kinds) - 1)
}

// script returns the output script paying a.
func (r *keyring) script(a addr) []byte {
	p := r.progs[a][:]
	switch r.kinds[a] {
	case kindP2SH:
		s := append(make([]byte, 0, 23), txscript.OP_HASH160, txscript.OP_DATA_20)
		return append(append(s, p...), txscript.OP_EQUAL)
	case kindP2PKH:
		s := append(make([]byte, 0, 25), txscript.OP_DUP, txscript.OP_HASH160, txscript.OP_DATA_20)
		return append(append(s, p...), txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG)
	case kindP2TR:
		// The key's x coordinate stands for the tweaked output key.
		return append(append(make([]byte, 0, 34), txscript.OP_1, txscript.OP_DATA_32), r.pubs[a][1:]...)
	}
	return append(append(make([]byte, 0, 22), txscript.OP_0, txscript.OP_DATA_20), p...)
}

// address returns a's address as the chain index shows it.
func (r *keyring) address(a addr) string {
	_, s, _ := bitcoin.Classify(&chaincfg.RegressionNetParams, r.script(a))
	return s
}

// utxo is an output someone of the scenario can spend.
type utxo struct {
	op  wire.OutPoint
	val int64
	a   addr
}

// The sequence numbers inputs carry: wallets signal replace-by-fee,
// exchanges and the coinbase do not.
const (
	seqRBF   = wire.MaxTxInSequenceNum - 2
	seqFinal = wire.MaxTxInSequenceNum
)

// chainWriter assembles blocks and writes them in blk*.dat framing.
type chainWriter struct {
	w      *bufio.Writer
	keys   *keyring
	rng    *rand.Rand // signatures and coinbase extra nonces
	params *chaincfg.Params
	start  time.Time // the time of block 1

	height int32 // of the block being built (or the last written)
	prev   chainhash.Hash
	// The block being built, without its coinbase.
	txs    []*wire.MsgTx
	txids  []chainhash.Hash
	fees   int64
	weight int

	blocks int
	buf    bytes.Buffer
}

// maxBlockWeight bounds a block below consensus's 4,000,000 weight units,
// leaving room for the coinbase.
const maxBlockWeight = 3_900_000

// sig returns a DER-shaped ECDSA signature with SIGHASH_ALL: random r and
// low s, 71 or 72 bytes like real ones. It signs nothing.
func (c *chainWriter) sig() []byte {
	var r, s [32]byte
	c.fill(r[:])
	c.fill(s[:])
	r[0] |= 0x01 // a non-zero first byte keeps the encoding minimal
	s[0] = s[0]&0x7f | 0x01
	rlen := 32
	if r[0]&0x80 != 0 {
		rlen = 33
	}
	out := make([]byte, 0, 72)
	out = append(out, 0x30, byte(4+rlen+32), 0x02, byte(rlen))
	if rlen == 33 {
		out = append(out, 0)
	}
	out = append(out, r[:]...)
	out = append(out, 0x02, 32)
	out = append(out, s[:]...)
	return append(out, byte(txscript.SigHashAll))
}

func (c *chainWriter) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := c.rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// input spends u with the witness or signature script its kind takes.
func (c *chainWriter) input(u utxo, seq uint32) *wire.TxIn {
	in := &wire.TxIn{PreviousOutPoint: u.op, Sequence: seq}
	pub := c.keys.pubs[u.a][:]
	switch c.keys.kinds[u.a] {
	case kindP2WPKH:
		in.Witness = wire.TxWitness{c.sig(), pub}
	case kindP2SH:
		h := hash160(pub)
		in.SignatureScript = append([]byte{0x16, txscript.OP_0, txscript.OP_DATA_20}, h[:]...)
		in.Witness = wire.TxWitness{c.sig(), pub}
	case kindP2PKH:
		s := c.sig()
		script := make([]byte, 0, 2+len(s)+len(pub))
		script = append(append(script, byte(len(s))), s...)
		in.SignatureScript = append(append(script, byte(len(pub))), pub...)
	case kindP2TR:
		schnorr := make([]byte, 64) // key-path spend, SIGHASH_DEFAULT
		c.fill(schnorr)
		in.Witness = wire.TxWitness{schnorr}
	}
	return in
}

// output pays val to a.
func (c *chainWriter) output(a addr, val int64) *wire.TxOut {
	return &wire.TxOut{Value: val, PkScript: c.keys.script(a)}
}

// vsize returns a transaction's weight and virtual size.
func vsize(tx *wire.MsgTx) (weight, vsize int) {
	weight = tx.SerializeSizeStripped()*(blockchain.WitnessScaleFactor-1) + tx.SerializeSize()
	return weight, (weight + 3) / 4
}

// add puts a finished transaction into the block being built and returns
// its txid.
func (c *chainWriter) add(tx *wire.MsgTx, fee int64, weight int) chainhash.Hash {
	h := tx.TxHash()
	c.txs = append(c.txs, tx)
	c.txids = append(c.txids, h)
	c.fees += fee
	c.weight += weight
	return h
}

// full reports whether the block being built has no room for a
// transaction of weight more.
func (c *chainWriter) full(more int) bool { return c.weight+more > maxBlockWeight }

// writeGenesis writes regtest's genesis block.
func (c *chainWriter) writeGenesis() error {
	g := c.params.GenesisBlock
	c.height = 0
	c.prev = g.BlockHash()
	return c.frame(g)
}

// blockTime is the timestamp of the block at height h >= 1: ten minutes
// after the one before.
func (c *chainWriter) blockTime(h int32) time.Time {
	return c.start.Add(time.Duration(h-1) * 10 * time.Minute)
}

// finish writes the block at height c.height+1 with the transactions added
// since the last one, its coinbase paying subsidy and fees to payee, and
// returns the coinbase's txid and value.
func (c *chainWriter) finish(payee addr) (chainhash.Hash, int64, error) {
	c.height++
	h := c.height
	// BIP34: the height first; then an extra nonce and a tag, as pools do.
	var extra [8]byte
	c.fill(extra[:])
	sigScript, err := txscript.NewScriptBuilder().AddInt64(int64(h)).AddData(extra[:]).AddData([]byte("/cointrail-simulate/")).Script()
	if err != nil {
		return chainhash.Hash{}, 0, fmt.Errorf("coinbase script: %w", err)
	}
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  sigScript,
		Sequence:         seqFinal,
	})
	cb.AddTxOut(c.output(payee, blockchain.CalcBlockSubsidy(h, c.params)+c.fees))
	if len(c.txs) > 0 {
		// BIP141: commit to the witness merkle root (the coinbase's wtxid
		// counts as zero) with a zero witness nonce.
		wtxids := make([]chainhash.Hash, 1, len(c.txs)+1)
		for _, tx := range c.txs {
			wtxids = append(wtxids, tx.WitnessHash())
		}
		var nonce [blockchain.CoinbaseWitnessDataLen]byte
		cb.TxIn[0].Witness = wire.TxWitness{nonce[:]}
		var pre [64]byte
		root := merkleRoot(wtxids)
		copy(pre[:32], root[:])
		copy(pre[32:], nonce[:])
		commitment := append(append([]byte(nil), blockchain.WitnessMagicBytes...), chainhash.DoubleHashB(pre[:])...)
		cb.AddTxOut(&wire.TxOut{Value: 0, PkScript: commitment})
	}
	cbid := cb.TxHash()
	txids := append([]chainhash.Hash{cbid}, c.txids...)
	blk := &wire.MsgBlock{
		Header: wire.BlockHeader{
			Version:    0x20000000, // BIP9 version bits, none signalled
			PrevBlock:  c.prev,
			MerkleRoot: merkleRoot(txids),
			Timestamp:  c.blockTime(h),
			Bits:       c.params.PowLimitBits,
		},
		Transactions: append([]*wire.MsgTx{cb}, c.txs...),
	}
	// Regtest's target passes one hash in two: grinding costs nothing.
	target := blockchain.CompactToBig(blk.Header.Bits)
	for {
		hash := blk.Header.BlockHash()
		if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
			c.prev = hash
			break
		}
		blk.Header.Nonce++
	}
	if err := c.frame(blk); err != nil {
		return chainhash.Hash{}, 0, err
	}
	clear(c.txs)
	c.txs, c.txids, c.fees, c.weight = c.txs[:0], c.txids[:0], 0, 0
	return cbid, cb.TxOut[0].Value, nil
}

// frame writes one block with its blk*.dat frame: the network's magic and
// the block's length, both little-endian.
func (c *chainWriter) frame(b *wire.MsgBlock) error {
	c.buf.Reset()
	if err := b.Serialize(&c.buf); err != nil {
		return fmt.Errorf("serialize block %d: %w", c.height, err)
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(bitcoin.Regtest.Magic()))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(c.buf.Len()))
	if _, err := c.w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write block %d: %w", c.height, err)
	}
	if _, err := io.Copy(c.w, &c.buf); err != nil {
		return fmt.Errorf("write block %d: %w", c.height, err)
	}
	c.blocks++
	return nil
}

// merkleRoot is the Bitcoin merkle root of hashes (an odd hash at the end
// of a level pairs with itself), as blockchain.BuildMerkleTreeStore
// computes it, from hashes already known.
func merkleRoot(hashes []chainhash.Hash) chainhash.Hash {
	level := append([]chainhash.Hash(nil), hashes...)
	var buf [2 * chainhash.HashSize]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		next := level[:len(level)/2]
		for i := range next {
			copy(buf[:chainhash.HashSize], level[2*i][:])
			copy(buf[chainhash.HashSize:], level[2*i+1][:])
			next[i] = chainhash.DoubleHashH(buf[:])
		}
		level = next
	}
	return level[0]
}

// Package bitcoin reads Bitcoin blocks into cointrail's chain-neutral model
// ([chain.Block]): from raw serialized blocks ([DecodeBlock]), from block
// files in Bitcoin Core's blk*.dat framing or unframed ([ReadBlocks]), and
// from a Bitcoin Core-compatible node over JSON-RPC ([RPC], a
// [chain.Source]; Bitcoin Core and btcd speak the same calls, as does
// Litecoin Core, whose blocks would need a Litecoin [Network] of their
// own).
//
// Decoding uses btcd's wire and txscript packages. A block is accepted only
// when its transactions hash to the merkle root in its header, so a
// corrupted copy is refused instead of indexed. Outputs are classified by
// their script (P2PK, P2PKH, P2SH, P2WPKH, P2WSH, P2TR, bare multisig,
// OP_RETURN, non-standard) and carry the canonical address they pay (bech32
// and bech32m in lower case, Base58 as encoded) and the key the chain index
// files them under: the address, or "script:<hex sha256 of the script>" for
// outputs keyed by their script.
//
// Everything in this package is safe for concurrent use.
package bitcoin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// Network is a Bitcoin network. Its zero value is not a network; use one of
// the constants or [ParseNetwork].
type Network int

// The networks cointrail reads.
const (
	Mainnet Network = iota + 1 // chain "bitcoin"
	Testnet                    // testnet3, chain "bitcoin-testnet"
	Regtest                    // chain "bitcoin-regtest"
	Simnet                     // btcd's simulation network, chain "bitcoin-simnet"
)

// networks lists every Network in order, with its names.
var networks = [...]struct {
	net    Network
	name   string
	chain  string
	params *chaincfg.Params
}{
	{Mainnet, "mainnet", "bitcoin", &chaincfg.MainNetParams},
	{Testnet, "testnet", "bitcoin-testnet", &chaincfg.TestNet3Params},
	{Regtest, "regtest", "bitcoin-regtest", &chaincfg.RegressionNetParams},
	{Simnet, "simnet", "bitcoin-simnet", &chaincfg.SimNetParams},
}

// Networks returns every network, mainnet first.
func Networks() []Network { return []Network{Mainnet, Testnet, Regtest, Simnet} }

// ParseNetwork returns the network named name: "mainnet", "testnet"
// (testnet3), "regtest" or "simnet". The chain ids ("bitcoin",
// "bitcoin-testnet", ...) and "main", "testnet3" are accepted too. Case is
// ignored.
func ParseNetwork(name string) (Network, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "main":
		return Mainnet, nil
	case "testnet3", "test":
		return Testnet, nil
	}
	for _, e := range networks {
		if n == e.name || n == e.chain {
			return e.net, nil
		}
	}
	return 0, fault.New(fault.Malformed, "bitcoin: unknown network %q (want mainnet, testnet, regtest or simnet)", name)
}

func (n Network) valid() bool { return n >= Mainnet && n <= Simnet }

// String returns the network's name: "mainnet", "testnet", "regtest",
// "simnet".
func (n Network) String() string {
	if !n.valid() {
		return fmt.Sprintf("Network(%d)", int(n))
	}
	return networks[n-1].name
}

// Chain returns the network's chain id (DESIGN section 3): "bitcoin",
// "bitcoin-testnet", "bitcoin-regtest" or "bitcoin-simnet".
func (n Network) Chain() string {
	if !n.valid() {
		return ""
	}
	return networks[n-1].chain
}

// Params returns btcd's parameters of the network. The caller must not
// modify them. It returns nil for an invalid Network.
func (n Network) Params() *chaincfg.Params {
	if !n.valid() {
		return nil
	}
	return networks[n-1].params
}

// Magic returns the network's message start bytes, which also frame its
// blocks in blk*.dat files (mainnet: f9beb4d9 on disk).
func (n Network) Magic() wire.BitcoinNet {
	if !n.valid() {
		return 0
	}
	return networks[n-1].params.Net
}

// networkOfMagic returns the network whose magic is m.
func networkOfMagic(m wire.BitcoinNet) (Network, bool) {
	for _, e := range networks {
		if e.params.Net == m {
			return e.net, true
		}
	}
	return 0, false
}

// Errors that decoding wraps, for errors.Is. The errors returned are
// *[fault.Error] values with code [fault.Malformed] that carry one of these
// as their cause where it applies.
var (
	// ErrMerkleRoot reports a block whose transactions do not hash to the
	// merkle root in its header (or whose merkle tree is mutated by
	// duplicated transactions).
	ErrMerkleRoot = errors.New("bitcoin: merkle root mismatch")
	// ErrTruncated reports a block or a block-file frame cut short.
	ErrTruncated = errors.New("bitcoin: truncated")
)

// DecodeBlock decodes one serialized block (segwit serialization included)
// of network net into the chain model.
//
// It refuses, with an error naming the block hash, a block whose merkle
// root does not match its transactions, a block without transactions, and
// bytes left over after the block. Transaction hashes are txids (not
// wtxids), displayed byte-reversed as the chain shows them. Height is the
// height the coinbase commits to under BIP34 (see [BIP34Height]) and -1
// when it carries none; a caller that knows the height sets it. Parent is ""
// for a block without a parent (a genesis block).
func DecodeBlock(net Network, raw []byte) (*chain.Block, error) {
	params := net.Params()
	if params == nil {
		return nil, fault.New(fault.Malformed, "bitcoin: decode block: invalid network %v", net)
	}
	var mb wire.MsgBlock
	r := bytes.NewReader(raw)
	if err := mb.Deserialize(r); err != nil {
		return nil, blockError(raw, err)
	}
	hash := mb.Header.BlockHash()
	if r.Len() != 0 {
		return nil, fault.New(fault.Malformed, "bitcoin: block %s: %d bytes after the block's %d", hash, r.Len(), len(raw)-r.Len())
	}
	if len(mb.Transactions) == 0 {
		return nil, fault.New(fault.Malformed, "bitcoin: block %s has no transactions", hash)
	}
	txids := make([]chainhash.Hash, len(mb.Transactions))
	for i, tx := range mb.Transactions {
		txids[i] = tx.TxHash()
	}
	root, mutated := merkleRoot(txids)
	if mutated {
		return nil, fault.Wrap(fault.Malformed, ErrMerkleRoot, "bitcoin: block %s: merkle tree mutated by duplicate transactions", hash)
	}
	if root != mb.Header.MerkleRoot {
		return nil, fault.Wrap(fault.Malformed, ErrMerkleRoot, "bitcoin: block %s: header merkle root %s, its %d transactions hash to %s",
			hash, mb.Header.MerkleRoot, len(txids), root)
	}
	return toBlock(net, &mb, hash, txids), nil
}

// blockError describes a deserialization failure, naming the block hash
// when the header could be read.
func blockError(raw []byte, err error) error {
	what := "bitcoin: block"
	if len(raw) >= wire.MaxBlockHeaderPayload {
		var h wire.BlockHeader
		if h.Deserialize(bytes.NewReader(raw)) == nil {
			what = "bitcoin: block " + h.BlockHash().String()
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fault.Wrap(fault.Malformed, ErrTruncated, "%s: %d bytes end inside the block", what, len(raw))
	}
	return fault.Wrap(fault.Malformed, err, "%s: cannot deserialize", what)
}

// merkleRoot computes the merkle root of txids as Bitcoin does (an odd last
// hash of a level is paired with itself), and reports whether the tree is
// mutated: two identical hashes paired at some level where the second is
// not the padding copy (CVE-2012-2459), which lets a different transaction
// list hash to the same root.
func merkleRoot(txids []chainhash.Hash) (chainhash.Hash, bool) {
	level := append([]chainhash.Hash(nil), txids...)
	mutated := false
	var buf [2 * chainhash.HashSize]byte
	for len(level) > 1 {
		for i := 0; i+1 < len(level); i += 2 {
			if level[i] == level[i+1] {
				mutated = true
			}
		}
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
	return level[0], mutated
}

// toBlock converts a checked wire block into the chain model.
func toBlock(net Network, mb *wire.MsgBlock, hash chainhash.Hash, txids []chainhash.Hash) *chain.Block {
	b := &chain.Block{
		Chain:  net.Chain(),
		Height: -1,
		Hash:   hash.String(),
		Time:   mb.Header.Timestamp.UTC(),
		Txs:    make([]chain.Tx, len(mb.Transactions)),
	}
	if mb.Header.PrevBlock != (chainhash.Hash{}) {
		b.Parent = mb.Header.PrevBlock.String()
	}
	if h, ok := BIP34Height(mb); ok {
		b.Height = h
	}
	// One allocation holds every output script of the block, so that the
	// decoded block does not pin btcd's per-transaction script buffers
	// (which hold the signature scripts too).
	size := 0
	for _, tx := range mb.Transactions {
		for _, out := range tx.TxOut {
			size += len(out.PkScript)
		}
	}
	scripts := make([]byte, 0, size)
	params := net.Params()
	for i, tx := range mb.Transactions {
		b.Txs[i] = convertTx(params, tx, txids[i], i == 0 && isCoinbase(tx), &scripts)
	}
	return b
}

// convertTx converts one transaction, appending its output scripts to
// *scripts and pointing the outputs' Script into it.
func convertTx(params *chaincfg.Params, tx *wire.MsgTx, txid chainhash.Hash, coinbase bool, scripts *[]byte) chain.Tx {
	t := chain.Tx{
		Hash:     txid.String(),
		Coinbase: coinbase,
		Inputs:   make([]chain.Input, len(tx.TxIn)),
		Outputs:  make([]chain.Output, len(tx.TxOut)),
	}
	if !coinbase {
		for j, in := range tx.TxIn {
			t.Inputs[j].Prev = chain.Outpoint{Tx: in.PreviousOutPoint.Hash.String(), Index: in.PreviousOutPoint.Index}
		}
	}
	for j, out := range tx.TxOut {
		n := len(*scripts)
		*scripts = append(*scripts, out.PkScript...)
		script := (*scripts)[n:len(*scripts):len(*scripts)]
		kind, addr, key := Classify(params, script)
		t.Outputs[j] = chain.Output{
			Index:   uint32(j),
			Value:   out.Value,
			Script:  script,
			Kind:    kind,
			Address: addr,
			Key:     key,
		}
	}
	return t
}

// DecodeTx decodes one serialized transaction of network net (segwit
// serialization included), as getrawtransaction returns it, and reports
// its txid. A transaction whose single input spends no output is the
// coinbase. Bytes left over after the transaction are an error.
func DecodeTx(net Network, raw []byte) (chain.Tx, error) {
	params := net.Params()
	if params == nil {
		return chain.Tx{}, fault.New(fault.Malformed, "bitcoin: decode tx: invalid network %v", net)
	}
	var tx wire.MsgTx
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return chain.Tx{}, fault.Wrap(fault.Malformed, ErrTruncated, "bitcoin: tx: %d bytes end inside the transaction", len(raw))
		}
		return chain.Tx{}, fault.Wrap(fault.Malformed, err, "bitcoin: tx: cannot deserialize")
	}
	txid := tx.TxHash()
	if r.Len() != 0 {
		return chain.Tx{}, fault.New(fault.Malformed, "bitcoin: tx %s: %d bytes after the transaction", txid, r.Len())
	}
	scripts := make([]byte, 0, len(raw))
	return convertTx(params, &tx, txid, isCoinbase(&tx), &scripts), nil
}

// isCoinbase reports whether tx has the coinbase's single input, which
// spends no output (zero hash, index 0xffffffff).
func isCoinbase(tx *wire.MsgTx) bool {
	if len(tx.TxIn) != 1 {
		return false
	}
	p := tx.TxIn[0].PreviousOutPoint
	return p.Index == wire.MaxPrevOutIndex && p.Hash == (chainhash.Hash{})
}

// maxPlausibleHeight bounds the heights [BIP34Height] believes: about
// 190 years of ten-minute blocks. A coinbase that claims more does not
// follow BIP34.
const maxPlausibleHeight = 10_000_000

// BIP34Height returns the height a block's coinbase commits to under BIP34:
// blocks of version 2 and later start the coinbase's signature script with
// a push of their height (a small-integer opcode for heights 0 to 16, as
// Bitcoin Core and btcd write it, else a minimal little-endian script
// number). It reports false for version 1 blocks, for blocks without a
// coinbase, and when the first push is not a plausible height (negative,
// non-minimal, longer than 5 bytes, or above ten million), as in the few
// version 2 blocks mined before BIP34 was enforced that carry other data.
func BIP34Height(block *wire.MsgBlock) (int64, bool) {
	if block == nil || block.Header.Version < 2 || len(block.Transactions) == 0 || !isCoinbase(block.Transactions[0]) {
		return 0, false
	}
	script := block.Transactions[0].TxIn[0].SignatureScript
	if len(script) == 0 {
		return 0, false
	}
	op := script[0]
	switch {
	case op == txscript.OP_0:
		return 0, true
	case op >= txscript.OP_1 && op <= txscript.OP_16:
		return int64(op-txscript.OP_1) + 1, true
	case op >= txscript.OP_DATA_1 && op <= txscript.OP_DATA_5:
	default:
		return 0, false
	}
	n := int(op)
	if len(script) < 1+n {
		return 0, false
	}
	num := script[1 : 1+n]
	// Minimal encoding: the last byte carries magnitude unless it is only
	// there to clear the sign bit of the byte before it.
	if num[n-1]&0x7f == 0 && (n == 1 || num[n-2]&0x80 == 0) {
		return 0, false
	}
	if num[n-1]&0x80 != 0 {
		return 0, false // negative
	}
	var h int64
	for i := n - 1; i >= 0; i-- {
		h = h<<8 | int64(num[i])
	}
	if h > maxPlausibleHeight {
		return 0, false
	}
	return h, true
}

// Output kinds, as [chain.Output].Kind names them.
const (
	KindP2PK        = "p2pk"
	KindP2PKH       = "p2pkh"
	KindP2SH        = "p2sh"
	KindP2WPKH      = "p2wpkh"
	KindP2WSH       = "p2wsh"
	KindP2TR        = "p2tr"
	KindMultisig    = "multisig"
	KindNullData    = "nulldata"
	KindNonStandard = "nonstandard"
)

// ScriptKey returns the key the chain index files an output under when it
// is keyed by its script: "script:" and the hex SHA-256 of the script.
func ScriptKey(script []byte) string {
	sum := sha256.Sum256(script)
	return "script:" + hex.EncodeToString(sum[:])
}

// Classify returns an output script's kind, the canonical address it pays
// on the network of params, and the key the chain index files it under.
//
//   - P2PKH, P2SH, P2WPKH, P2WSH, P2TR: the address (bech32 and bech32m in
//     lower case), which is also the key.
//   - P2PK: keyed by its script; shown with the P2PKH address of its key, as
//     Bitcoin Core and block explorers show it.
//   - bare multisig and non-standard scripts (unknown witness versions
//     included): the script key as both address and key.
//   - OP_RETURN followed by pushes only ("nulldata", provably unspendable):
//     no address and no key.
func Classify(params *chaincfg.Params, script []byte) (kind, addr, key string) {
	switch txscript.GetScriptClass(script) {
	case txscript.PubKeyHashTy:
		return encoded(KindP2PKH, script, func() (btcutil.Address, error) {
			return btcutil.NewAddressPubKeyHash(script[3:23], params)
		})
	case txscript.ScriptHashTy:
		return encoded(KindP2SH, script, func() (btcutil.Address, error) {
			return btcutil.NewAddressScriptHashFromHash(script[2:22], params)
		})
	case txscript.WitnessV0PubKeyHashTy:
		return encoded(KindP2WPKH, script, func() (btcutil.Address, error) {
			return btcutil.NewAddressWitnessPubKeyHash(script[2:22], params)
		})
	case txscript.WitnessV0ScriptHashTy:
		return encoded(KindP2WSH, script, func() (btcutil.Address, error) {
			return btcutil.NewAddressWitnessScriptHash(script[2:34], params)
		})
	case txscript.WitnessV1TaprootTy:
		return encoded(KindP2TR, script, func() (btcutil.Address, error) {
			return btcutil.NewAddressTaproot(script[2:34], params)
		})
	case txscript.PubKeyTy:
		// The key is not parsed: like Bitcoin Core, show the P2PKH address
		// of the pushed bytes even when they are not a point on the curve.
		a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(script[1:len(script)-1]), params)
		if err != nil {
			return KindNonStandard, ScriptKey(script), ScriptKey(script)
		}
		return KindP2PK, a.EncodeAddress(), ScriptKey(script)
	case txscript.MultiSigTy:
		k := ScriptKey(script)
		return KindMultisig, k, k
	case txscript.NullDataTy:
		return KindNullData, "", ""
	}
	// Bitcoin Core counts any OP_RETURN followed by pushes as null data,
	// btcd only a single push of at most 80 bytes.
	if len(script) > 0 && script[0] == txscript.OP_RETURN && txscript.IsPushOnlyScript(script[1:]) {
		return KindNullData, "", ""
	}
	k := ScriptKey(script)
	return KindNonStandard, k, k
}

// encoded returns kind with the encoded address as address and key, or the
// non-standard classification if the address cannot be built.
func encoded(kind string, script []byte, build func() (btcutil.Address, error)) (string, string, string) {
	a, err := build()
	if err != nil {
		k := ScriptKey(script)
		return KindNonStandard, k, k
	}
	s := a.EncodeAddress()
	return kind, s, s
}

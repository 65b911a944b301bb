package ethereum

import (
	"encoding/hex"
	"math/big"

	"golang.org/x/crypto/sha3"
)

// The few pieces of RLP (the Ethereum yellow paper, appendix B) that
// deriving a contract's address needs, and that the tests use to sign
// transactions.

// rlpBytes encodes a byte string.
func rlpBytes(b []byte) []byte {
	if len(b) == 1 && b[0] < 0x80 {
		return []byte{b[0]}
	}
	return append(rlpHeader(0x80, len(b)), b...)
}

// rlpUint encodes an unsigned integer as its minimal big-endian bytes.
func rlpUint(n uint64) []byte {
	return rlpBig(new(big.Int).SetUint64(n))
}

// rlpBig encodes a non-negative integer as its minimal big-endian bytes.
func rlpBig(n *big.Int) []byte {
	return rlpBytes(n.Bytes())
}

// rlpList encodes a list of encoded items.
func rlpList(items ...[]byte) []byte {
	var body []byte
	for _, it := range items {
		body = append(body, it...)
	}
	return append(rlpHeader(0xc0, len(body)), body...)
}

func rlpHeader(base byte, n int) []byte {
	if n < 56 {
		return []byte{base + byte(n)}
	}
	l := new(big.Int).SetInt64(int64(n)).Bytes()
	return append([]byte{base + 55 + byte(len(l))}, l...)
}

// keccak256 is Ethereum's hash (the original Keccak, not SHA3-256).
func keccak256(data ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// createAddress returns the address of the contract that a creation
// transaction from sender with nonce makes: the last 20 bytes of
// keccak256(rlp([sender, nonce])). sender is canonical 0x hex.
func createAddress(sender string, nonce uint64) string {
	from, err := hex.DecodeString(sender[2:])
	if err != nil || len(from) != 20 {
		return ""
	}
	return "0x" + hex.EncodeToString(keccak256(rlpList(rlpBytes(from), rlpUint(nonce)))[12:])
}

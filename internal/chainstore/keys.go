package chainstore

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// Key families, each a byte after the chain's prefix (chain id, 0x00). The
// package comment lists the layout.
const (
	famState   = 'c'
	famBlock   = 'b'
	famHeight  = 'y'
	famSeg     = 's'
	famTx      = 't'
	famOut     = 'o'
	famAddr    = 'k'
	famAddrNum = 'n'
	famBal     = 'a'
	famHist    = 'h'
	famAsset   = 'x'
	famAssetID = 'X'
	famGraph   = 'g'
	famCursor  = 'u'
)

// Store-wide keys start with 0x00, which no chain id does.
var (
	keySchema      = []byte("\x00schema")
	keyChainPrefix = []byte("\x00chain\x00")
)

// keys builds the keys of one chain. Each method returns a new slice.
type keys struct{ prefix []byte }

func newKeys(chainID string) keys {
	return keys{prefix: append([]byte(chainID), 0)}
}

func (k keys) fam(f byte, extra int) []byte {
	b := make([]byte, 0, len(k.prefix)+1+extra)
	b = append(b, k.prefix...)
	return append(b, f)
}

func (k keys) state() []byte { return k.fam(famState, 0) }

func (k keys) block(h hash32) []byte { return append(k.fam(famBlock, 32), h[:]...) }

func (k keys) height(height int64, h hash32) []byte {
	b := binary.BigEndian.AppendUint64(k.fam(famHeight, 40), uint64(height))
	return append(b, h[:]...)
}

func (k keys) heightPrefix(height int64) []byte {
	return binary.BigEndian.AppendUint64(k.fam(famHeight, 8), uint64(height))
}

func (k keys) seg(id uint32) []byte { return binary.BigEndian.AppendUint32(k.fam(famSeg, 4), id) }

func (k keys) tx(h hash32) []byte { return append(k.fam(famTx, 32), h[:]...) }

func (k keys) out(h hash32, idx uint32) []byte {
	return binary.BigEndian.AppendUint32(append(k.fam(famOut, 36), h[:]...), idx)
}

func (k keys) addr(key string) []byte { return append(k.fam(famAddr, len(key)), key...) }

func (k keys) addrNum(n uint32) []byte {
	return binary.BigEndian.AppendUint32(k.fam(famAddrNum, 4), n)
}

// addrKeyed appends a length-prefixed address key, so that one key's
// entries never interleave with a longer key's.
func addrKeyed(b []byte, key string) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

func (k keys) bal(key string, asset uint32) []byte {
	return binary.BigEndian.AppendUint32(addrKeyed(k.fam(famBal, len(key)+8), key), asset)
}

func (k keys) balPrefix(key string) []byte { return addrKeyed(k.fam(famBal, len(key)+4), key) }

func (k keys) hist(key string, tx, asset uint32) []byte {
	b := binary.BigEndian.AppendUint32(addrKeyed(k.fam(famHist, len(key)+12), key), tx)
	return binary.BigEndian.AppendUint32(b, asset)
}

func (k keys) histPrefix(key string) []byte { return addrKeyed(k.fam(famHist, len(key)+12), key) }

func (k keys) asset(n uint32) []byte {
	return binary.BigEndian.AppendUint32(k.fam(famAsset, 4), n)
}

func (k keys) assetID(id string) []byte { return append(k.fam(famAssetID, len(id)), id...) }

func (k keys) graph(n uint32) []byte {
	return binary.BigEndian.AppendUint32(k.fam(famGraph, 4), n)
}

func (k keys) cursor(source string) []byte { return append(k.fam(famCursor, len(source)), source...) }

// chainKey is the registry key of a chain id.
func chainKey(id string) []byte { return append(append([]byte(nil), keyChainPrefix...), id...) }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// parseHash reads a block or transaction hash as the chain displays it:
// 64 hex digits, with "0x" before them on account chains (accepted on any).
// The empty string and all zeros are the zero hash (no parent).
func parseHash(s string) (hash32, error) {
	var h hash32
	if s == "" {
		return h, nil
	}
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t) != 64 {
		return h, fault.New(fault.Malformed, "hash %q is not 32 bytes of hex", s)
	}
	if _, err := hex.Decode(h[:], []byte(t)); err != nil {
		return h, fault.New(fault.Malformed, "hash %q is not hex", s)
	}
	return h, nil
}

// showHash displays a hash as the chain does.
func showHash(model byte, h hash32) string {
	if model == modelAccount {
		return "0x" + hex.EncodeToString(h[:])
	}
	return hex.EncodeToString(h[:])
}

// canonKey returns the address key the index files an account-chain
// address under: Ethereum-style hex in lower case; an empty address
// (a creation whose contract the source did not name) as "unknown".
func canonKey(model byte, s string) string {
	if model == modelAccount {
		if s == "" {
			return "unknown"
		}
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			return strings.ToLower(s)
		}
	}
	return s
}

func modelOf(id string) (byte, error) {
	info, ok := chain.Lookup(id)
	if !ok {
		return 0, fault.New(fault.Invalid, "unknown chain %q", id)
	}
	if info.Model == chain.Account {
		return modelAccount, nil
	}
	return modelUTXO, nil
}

func notFound(format string, args ...any) error {
	return fault.Wrap(fault.NotFound, chain.ErrNotFound, "no %s in the chain index", fmt.Sprintf(format, args...))
}

// Package address canonicalises cryptocurrency addresses per chain.
//
// cointrail compares addresses and hashes them into deterministic STIX ids,
// so one wallet must have exactly one spelling: otherwise the same address
// flagged by two sources (say OFAC in EIP-55 mixed case and a TagPack in
// lower case) would become two objects, and screening would miss one of
// them. [Canonical] therefore maps every accepted spelling to one form:
// Ethereum-family hex in lower case, bech32 and bech32m in lower case,
// Bitcoin Cash cashaddr in lower case with its "bitcoincash:" prefix, and
// Base58 as written (Base58 is case-sensitive, so there is nothing to fold).
//
// Where a chain's format carries a checksum (Base58Check, bech32/bech32m,
// EIP-55 for mixed-case hex, cashaddr, Ripple's Base58Check), a value that
// fails it is rejected, so that a truncated or mistyped address is reported
// instead of being recorded as a wallet nobody owns. Where the format cannot
// be checked (Monero, NEM, unknown chains; see [Checked]) the value is kept
// as written, trimmed of surrounding white space.
//
// [Display] gives the form shown to people (EIP-55 for Ethereum-family
// chains), and [Ticker] maps currency tickers as outside sources write them
// to cointrail's chain and asset ids.
//
// All functions are pure and safe for concurrent use.
package address

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"golang.org/x/crypto/sha3"

	"github.com/cointrail/cointrail/internal/fault"
)

// format is the address syntax a chain uses.
type format int

const (
	unchecked format = iota // kept as written
	utxo                    // Base58Check, optionally bech32 and cashaddr
	evm                     // 0x + 40 hex digits, EIP-55
	ripple                  // Base58Check over the Ripple alphabet
)

// spec says how addresses on one chain are written.
type spec struct {
	format format
	// versions are the Base58Check version prefixes accepted, each followed
	// by a 20-byte hash and a 4-byte checksum.
	versions [][]byte
	// hrp is the bech32 human-readable part of native segwit addresses, or
	// "" when the chain has none.
	hrp string
	// cashaddr accepts Bitcoin Cash cashaddr besides legacy Base58.
	cashaddr bool
	// shielded keeps Zcash z-addresses (leading 'z') as written, unchecked.
	shielded bool
}

func v(b ...byte) []byte { return b }

// chains is the table of known chain ids. It is never modified.
var chains = map[string]spec{
	"bitcoin":          {format: utxo, versions: [][]byte{v(0x00), v(0x05)}, hrp: "bc"},
	"bitcoin-testnet":  {format: utxo, versions: [][]byte{v(0x6f), v(0xc4)}, hrp: "tb"},
	"bitcoin-regtest":  {format: utxo, versions: [][]byte{v(0x6f), v(0xc4)}, hrp: "bcrt"},
	"bitcoin-simnet":   {format: utxo, versions: [][]byte{v(0x3f), v(0x7b)}, hrp: "sb"},
	"bitcoin-cash":     {format: utxo, versions: [][]byte{v(0x00), v(0x05)}, cashaddr: true},
	"bitcoin-gold":     {format: utxo, versions: [][]byte{v(0x26), v(0x17)}},
	"bitcoin-sv":       {format: utxo, versions: [][]byte{v(0x00), v(0x05)}},
	"litecoin":         {format: utxo, versions: [][]byte{v(0x30), v(0x32), v(0x05)}, hrp: "ltc"},
	"dash":             {format: utxo, versions: [][]byte{v(0x4c), v(0x10)}},
	"zcash":            {format: utxo, versions: [][]byte{v(0x1c, 0xb8), v(0x1c, 0xbd)}, shielded: true},
	"verge":            {format: utxo, versions: [][]byte{v(0x1e), v(0x21)}},
	"tron":             {format: utxo, versions: [][]byte{v(0x41)}},
	"monero":           {format: unchecked},
	"nem":              {format: unchecked},
	"ethereum":         {format: evm},
	"ethereum-classic": {format: evm},
	"arbitrum":         {format: evm},
	"bsc":              {format: evm},
	"ripple":           {format: ripple, versions: [][]byte{v(0x00)}},
}

// segwitHRPs are the bech32 prefixes of all known chains, so that an address
// of another network is reported as such rather than as bad Base58.
var segwitHRPs = []string{"bc", "tb", "bcrt", "sb", "ltc"}

// The problems an error names. Tests match on these words.
const (
	errEmpty    = "empty"
	errChecksum = "bad checksum"
	errChars    = "bad characters"
	errLength   = "wrong length"
	errNetwork  = "wrong network prefix"
	errFormat   = "bad format"
)

// problem formats a description of what is wrong, starting with one of the
// err* words above.
func problem(kind, detail string, args ...any) error {
	if detail == "" {
		return errors.New(kind)
	}
	return errors.New(kind + ": " + fmt.Sprintf(detail, args...))
}

// Canonical returns the canonical form of addr on chain, or an error that
// names the chain, the address and what is wrong (bad checksum, bad
// characters, wrong length, wrong network prefix, empty).
//
// Surrounding white space is trimmed first. Ethereum-family addresses
// (ethereum, ethereum-classic, arbitrum, bsc) become lower-case hex with
// "0x"; bech32/bech32m segwit addresses become lower case; Bitcoin Cash
// cashaddr becomes lower case with the "bitcoincash:" prefix; Base58
// addresses (Bitcoin family legacy, Tron, Ripple) are returned as written.
// Addresses on monero, nem and unknown chains are returned trimmed, without
// checks, as are Zcash shielded addresses (a leading 'z').
//
// Errors are *[fault.Error] values with code [fault.Malformed]. Canonical is
// idempotent: the canonical form of a canonical form is itself.
func Canonical(chain, addr string) (string, error) {
	a := strings.TrimSpace(addr)
	if a == "" {
		return "", fault.New(fault.Malformed, "address: %s address is empty", chain)
	}
	s, ok := chains[strings.ToLower(strings.TrimSpace(chain))]
	if !ok {
		return a, nil
	}
	var (
		out string
		err error
	)
	switch s.format {
	case unchecked:
		return a, nil
	case evm:
		out, err = canonicalHex(a)
	case ripple:
		out, err = a, checkBase58(rippleAlphabet, a, s.versions)
	case utxo:
		out, err = canonicalUTXO(s, a)
	}
	if err != nil {
		return "", fault.New(fault.Malformed, "address: %s address %q: %v", chain, clip(a), err)
	}
	return out, nil
}

// Display returns the form shown to people: EIP-55 mixed case for
// Ethereum-family chains, otherwise the canonical form. It fails where
// [Canonical] fails.
func Display(chain, addr string) (string, error) {
	c, err := Canonical(chain, addr)
	if err != nil {
		return "", err
	}
	if chains[strings.ToLower(strings.TrimSpace(chain))].format == evm {
		return eip55(c[2:]), nil
	}
	return c, nil
}

// Checked reports whether [Canonical] can verify the format of addresses on
// chain: false for monero, nem and unknown chains, whose addresses are kept
// as written.
func Checked(chain string) bool {
	s, ok := chains[strings.ToLower(strings.TrimSpace(chain))]
	return ok && s.format != unchecked
}

// clip shortens very long input for error messages.
func clip(s string) string {
	const limit = 120
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

// canonicalUTXO checks a Bitcoin-family address: bech32 when it starts with a
// known segwit prefix, cashaddr on bitcoin-cash, otherwise Base58Check.
func canonicalUTXO(s spec, a string) (string, error) {
	if s.shielded && a[0] == 'z' {
		return a, nil // Zcash shielded: not checked.
	}
	lower := strings.ToLower(a)
	for _, hrp := range segwitHRPs {
		if strings.HasPrefix(lower, hrp+"1") {
			// Base58 addresses can start with the same letters (a Tron
			// "TB1..." or a simnet "Sb1..."), so a valid one wins.
			if checkBase58(bitcoinAlphabet, a, s.versions) == nil {
				return a, nil
			}
			if s.hrp == "" {
				return "", problem(errNetwork, "%s1 segwit address on a chain without segwit", hrp)
			}
			return canonicalSegwit(s.hrp, a)
		}
	}
	if s.cashaddr && (strings.Contains(a, ":") || strings.ContainsRune("qpQP", rune(a[0]))) {
		return canonicalCashaddr(a)
	}
	return a, checkBase58(bitcoinAlphabet, a, s.versions)
}

// --- Base58Check ---

const (
	bitcoinAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	// rippleAlphabet is the XRP Ledger's Base58 alphabet: the same scheme as
	// Bitcoin's with the digits in another order ('r' is zero).
	rippleAlphabet = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
)

// hashLen is the length of the hash after the version in Base58Check
// addresses: a HASH160 of a key or script (for Tron, the low 20 bytes of a
// Keccak-256).
const hashLen = 20

// checkBase58 verifies that s is Base58Check over alphabet: one of versions,
// a 20-byte hash and the first 4 bytes of the double SHA-256 of the rest.
func checkBase58(alphabet, s string, versions [][]byte) error {
	// Translate to the Bitcoin alphabet position by position, so that one
	// decoder serves both (Base58 digit values are alphabet indices).
	b := []byte(s)
	for i, c := range b {
		j := strings.IndexByte(alphabet, c)
		if j < 0 {
			return problem(errChars, "%q at offset %d is not a Base58 digit", rune(s[i]), i)
		}
		b[i] = bitcoinAlphabet[j]
	}
	raw := base58.Decode(string(b))
	if base58.Encode(raw) != string(b) {
		return problem(errChars, "not a canonical Base58 string")
	}
	want := len(versions[0]) + hashLen + 4
	if len(raw) != want {
		return problem(errLength, "%d bytes decoded, want %d", len(raw), want)
	}
	body, sum := raw[:len(raw)-4], raw[len(raw)-4:]
	if h := doubleSHA256(body); string(h[:4]) != string(sum) {
		return problem(errChecksum, "Base58Check checksum does not match")
	}
	for _, ver := range versions {
		if strings.HasPrefix(string(body), string(ver)) {
			return nil
		}
	}
	return problem(errNetwork, "version 0x%x is not one of this chain's", body[:len(versions[0])])
}

func doubleSHA256(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}

// --- bech32 / bech32m segwit (BIP-173, BIP-350) ---

// canonicalSegwit checks a native segwit address whose prefix must be hrp
// and returns it in lower case.
func canonicalSegwit(hrp, a string) (string, error) {
	got, data, enc, err := bech32.DecodeGeneric(a)
	if err != nil {
		return "", bech32Problem(err)
	}
	if got != hrp {
		return "", problem(errNetwork, "prefix %q, want %q", got, hrp)
	}
	if len(data) == 0 {
		return "", problem(errLength, "no witness version")
	}
	wv := data[0]
	if wv > 16 {
		return "", problem(errFormat, "witness version %d is over 16", wv)
	}
	prog, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return "", problem(errFormat, "bad padding of the witness program")
	}
	if len(prog) < 2 || len(prog) > 40 || wv == 0 && len(prog) != 20 && len(prog) != 32 {
		return "", problem(errLength, "witness version %d program of %d bytes", wv, len(prog))
	}
	if wv == 0 && enc != bech32.Version0 {
		return "", problem(errChecksum, "witness version 0 needs a bech32 checksum, not bech32m")
	}
	if wv > 0 && enc != bech32.VersionM {
		return "", problem(errChecksum, "witness version %d needs a bech32m checksum, not bech32", wv)
	}
	return strings.ToLower(a), nil
}

// bech32Problem names what the bech32 decoder found wrong.
func bech32Problem(err error) error {
	var (
		mixed  bech32.ErrMixedCase
		char   bech32.ErrInvalidCharacter
		nonset bech32.ErrNonCharsetChar
		sep    bech32.ErrInvalidSeparatorIndex
		length bech32.ErrInvalidLength
		badSum bech32.ErrInvalidChecksum
	)
	switch {
	case errors.As(err, &mixed):
		return problem(errChars, "mixed upper and lower case")
	case errors.As(err, &char), errors.As(err, &nonset):
		return problem(errChars, "%v", err)
	case errors.As(err, &sep):
		return problem(errFormat, "%v", err)
	case errors.As(err, &length):
		return problem(errLength, "%v", err)
	case errors.As(err, &badSum):
		return problem(errChecksum, "bech32 checksum does not match")
	}
	return problem(errFormat, "%v", err)
}

// --- Bitcoin Cash cashaddr ---

const (
	cashPrefix = "bitcoincash"
	// bech32Charset maps 5-bit values to characters, in cashaddr as in bech32.
	bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
)

// cashSizes are the hash lengths in bytes selected by the low three bits of
// the cashaddr version byte.
var cashSizes = [8]int{20, 24, 28, 32, 40, 48, 56, 64}

// canonicalCashaddr checks a cashaddr ("bitcoincash:" optional) of type
// P2PKH (q...) or P2SH (p...) and returns it lower case with the prefix.
func canonicalCashaddr(a string) (string, error) {
	if strings.ToLower(a) != a && strings.ToUpper(a) != a {
		return "", problem(errChars, "mixed upper and lower case")
	}
	a = strings.ToLower(a)
	prefix, payload := cashPrefix, a
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		prefix, payload = a[:i], a[i+1:]
	}
	values := make([]byte, len(payload))
	for i := range len(payload) {
		j := strings.IndexByte(bech32Charset, payload[i])
		if j < 0 {
			return "", problem(errChars, "%q at offset %d is not a cashaddr character", rune(payload[i]), i)
		}
		values[i] = byte(j)
	}
	if len(values) < 8+2 {
		return "", problem(errLength, "%d characters after the prefix", len(values))
	}
	if cashPolymod(prefix, values) != 0 {
		return "", problem(errChecksum, "cashaddr checksum does not match")
	}
	if prefix != cashPrefix {
		return "", problem(errNetwork, "prefix %q, want %q", prefix, cashPrefix)
	}
	raw, err := bech32.ConvertBits(values[:len(values)-8], 5, 8, false)
	if err != nil {
		return "", problem(errFormat, "bad padding of the payload")
	}
	ver := raw[0]
	if ver&0x80 != 0 {
		return "", problem(errFormat, "reserved version bit set")
	}
	if typ := ver >> 3; typ > 1 {
		return "", problem(errFormat, "address type %d, want 0 (P2PKH) or 1 (P2SH)", typ)
	}
	if size := cashSizes[ver&7]; len(raw)-1 != size {
		return "", problem(errLength, "hash of %d bytes, version byte says %d", len(raw)-1, size)
	}
	return cashPrefix + ":" + payload, nil
}

// cashPolymod is the cashaddr BCH code over GF(2^5): the low five bits of
// each prefix character, a zero separator, then the payload's 5-bit values
// including the 8 checksum values. It is zero for a valid address.
// (Spec: github.com/bitcoincashorg/bitcoincash.org spec/cashaddr.md.)
func cashPolymod(prefix string, values []byte) uint64 {
	gen := [5]uint64{0x98f2bc8e61, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8, 0x1e4f43e470}
	c := uint64(1)
	step := func(d byte) {
		c0 := c >> 35
		c = (c&0x07ffffffff)<<5 ^ uint64(d)
		for i, g := range gen {
			if c0>>i&1 != 0 {
				c ^= g
			}
		}
	}
	for i := range len(prefix) {
		step(prefix[i] & 0x1f)
	}
	step(0)
	for _, d := range values {
		step(d)
	}
	return c ^ 1
}

// --- Ethereum family ---

// canonicalHex checks "0x" + 40 hex digits, and the EIP-55 checksum when the
// letters are of mixed case, and returns lower case.
func canonicalHex(a string) (string, error) {
	if len(a) < 2 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X') {
		return "", problem(errFormat, "want 0x followed by 40 hex digits")
	}
	h := a[2:]
	var lower, upper bool
	for i := range len(h) {
		switch c := h[i]; {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return "", problem(errChars, "%q at offset %d is not a hex digit", rune(c), i+2)
		}
	}
	if len(h) != 40 {
		return "", problem(errLength, "%d hex digits, want 40", len(h))
	}
	l := strings.ToLower(h)
	if lower && upper && eip55(l) != "0x"+h {
		return "", problem(errChecksum, "EIP-55 mixed case does not match, want %s", eip55(l))
	}
	return "0x" + l, nil
}

// eip55 returns "0x" + hex (40 lower-case digits) with each letter upper
// case where the matching nibble of Keccak-256(hex) is 8 or more (EIP-55).
func eip55(hex string) string {
	k := sha3.NewLegacyKeccak256()
	k.Write([]byte(hex))
	sum := k.Sum(nil)
	out := []byte("0x" + hex)
	for i := range len(hex) {
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0x0f
		}
		if c := hex[i]; c >= 'a' && c <= 'f' && nibble >= 8 {
			out[i+2] = c - 'a' + 'A'
		}
	}
	return string(out)
}

// --- tickers ---

// ticker is where a native currency ticker lives.
type ticker struct{ chain, asset string }

// tickers maps upper-case tickers to their chain and native asset.
var tickers = map[string]ticker{
	"XBT":  {"bitcoin", "bitcoin:BTC"},
	"BTC":  {"bitcoin", "bitcoin:BTC"},
	"ETH":  {"ethereum", "ethereum:ETH"},
	"TRX":  {"tron", "tron:TRX"},
	"LTC":  {"litecoin", "litecoin:LTC"},
	"DASH": {"dash", "dash:DASH"},
	"ZEC":  {"zcash", "zcash:ZEC"},
	"BCH":  {"bitcoin-cash", "bitcoin-cash:BCH"},
	"BTG":  {"bitcoin-gold", "bitcoin-gold:BTG"},
	"BSV":  {"bitcoin-sv", "bitcoin-sv:BSV"},
	"XVG":  {"verge", "verge:XVG"},
	"XMR":  {"monero", "monero:XMR"},
	"ETC":  {"ethereum-classic", "ethereum-classic:ETC"},
	"ARB":  {"arbitrum", "arbitrum:ARB"},
	"BSC":  {"bsc", "bsc:BNB"},
	"XRP":  {"ripple", "ripple:XRP"},
	"XEM":  {"nem", "nem:XEM"},
}

// Ticker maps a currency ticker as outside sources write it (OFAC, GraphSense
// TagPacks, MISP) plus the address to a chain id and an asset id.
//
// Native currencies give "<chain>:<SYMBOL>" (XBT and BTC give bitcoin and
// bitcoin:BTC). Tokens go by the address form: USDT on 0x... is the Ethereum
// token, on T... the Tron token, on 1.../3... Omni on bitcoin
// (bitcoin:omni-31); USDC on 0x... is the Ethereum token. The ticker is
// matched without regard to case. An unknown ticker, or a token on an
// address form not listed, gives the lower-cased ticker as chain,
// "<ticker>:<TICKER>" as asset and known false.
func Ticker(ticker, addr string) (chain, asset string, known bool) {
	t := strings.ToUpper(strings.TrimSpace(ticker))
	if n, ok := tickers[t]; ok {
		return n.chain, n.asset, true
	}
	a := strings.TrimSpace(addr)
	hex := strings.HasPrefix(a, "0x") || strings.HasPrefix(a, "0X")
	switch {
	case t == "USDT" && hex:
		return "ethereum", "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7", true
	case t == "USDT" && strings.HasPrefix(a, "T"):
		return "tron", "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", true
	case t == "USDT" && (strings.HasPrefix(a, "1") || strings.HasPrefix(a, "3")):
		return "bitcoin", "bitcoin:omni-31", true
	case t == "USDC" && hex:
		return "ethereum", "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", true
	}
	l := strings.ToLower(t)
	return l, l + ":" + t, false
}

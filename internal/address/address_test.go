package address

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/sharedtest"
)

// genesis is the address paid by the coinbase of Bitcoin's genesis block.
const genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"

// genesisHash is the HASH160 inside genesis.
var genesisHash = func() []byte {
	raw, _, err := base58.CheckDecode(genesis)
	if err != nil {
		panic(err)
	}
	return raw
}()

type canonCase struct {
	name    string
	chain   string
	in      string
	want    string // canonical form when wantErr is ""
	wantErr string // a word the error must contain
}

func runCanonical(t *testing.T, cases []canonCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical(tc.chain, tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Canonical(%q, %q): %v", tc.chain, tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("Canonical(%q, %q) = %q, want %q", tc.chain, tc.in, got, tc.want)
				}
				return
			}
			MustMalformed(t, err, tc.chain, tc.in, tc.wantErr)
			if got != "" {
				t.Errorf("Canonical(%q, %q) returned %q with its error", tc.chain, tc.in, got)
			}
		})
	}
}

// MustMalformed checks that err is a fault.Malformed error naming the chain,
// the address (when short) and the problem word.
func MustMalformed(tb testing.TB, err error, chain, addr, word string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("Canonical(%q, %q) succeeded, want error %q", chain, addr, word)
	}
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.Malformed {
		tb.Fatalf("error %v is not a fault.Malformed error", err)
	}
	msg := fault.MessageOf(err)
	if !strings.Contains(msg, chain) {
		tb.Errorf("error %q does not name the chain %q", msg, chain)
	}
	if a := strings.TrimSpace(addr); len(a) < 100 && !strings.Contains(msg, a) && a != "" {
		tb.Errorf("error %q does not name the address %q", msg, a)
	}
	if !strings.Contains(msg, word) {
		tb.Errorf("error %q does not say %q", msg, word)
	}
}

func TestCanonicalBase58(t *testing.T) {
	simnet, err := btcutil.NewAddressPubKeyHash(genesisHash, &chaincfg.SimNetParams)
	if err != nil {
		t.Fatal(err)
	}
	simnetP2SH, err := btcutil.NewAddressScriptHashFromHash(genesisHash, &chaincfg.SimNetParams)
	if err != nil {
		t.Fatal(err)
	}
	regtest, err := btcutil.NewAddressPubKeyHash(genesisHash, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	runCanonical(t, []canonCase{
		{"genesis", "bitcoin", genesis, genesis, ""},
		{"genesis trimmed", "bitcoin", " \t" + genesis + "\n", genesis, ""},
		{"chain id case", "Bitcoin", genesis, genesis, ""},
		{"p2sh", "bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", ""},
		{"btcutil p2pkh", "bitcoin", "1MirQ9bwyQcGVJPwKUgapu5ouK2E2Ey4gX", "1MirQ9bwyQcGVJPwKUgapu5ouK2E2Ey4gX", ""},
		{"btcutil p2sh", "bitcoin", "3QJmV3qfvL9SuYo34YihAf3sRCW3qSinyC", "3QJmV3qfvL9SuYo34YihAf3sRCW3qSinyC", ""},
		{"testnet p2pkh", "bitcoin-testnet", "mrX9vMRYLfVy1BnZbc5gZjuyaqH3ZW2ZHz", "mrX9vMRYLfVy1BnZbc5gZjuyaqH3ZW2ZHz", ""},
		{"testnet p2sh", "bitcoin-testnet", "2NBFNJTktNa7GZusGbDbGKRZTxdK9VVez3n", "2NBFNJTktNa7GZusGbDbGKRZTxdK9VVez3n", ""},
		{"regtest p2pkh", "bitcoin-regtest", regtest.EncodeAddress(), regtest.EncodeAddress(), ""},
		{"simnet p2pkh", "bitcoin-simnet", simnet.EncodeAddress(), simnet.EncodeAddress(), ""},
		{"simnet p2sh", "bitcoin-simnet", simnetP2SH.EncodeAddress(), simnetP2SH.EncodeAddress(), ""},
		{"bitcoin-sv", "bitcoin-sv", "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9", "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9", ""},
		{"litecoin L", "litecoin", "LaizKtS5DUhPuP1nTQcc83MS7HwK6vk85z", "LaizKtS5DUhPuP1nTQcc83MS7HwK6vk85z", ""},
		{"dash X", "dash", "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", ""},
		{"zcash t1", "zcash", "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy", "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy", ""},
		{"zcash shielded kept", "zcash", " zs1notchecked ", "zs1notchecked", ""},
		{"verge D", "verge", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", ""},
		{"bitcoin-gold G", "bitcoin-gold", "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS", "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS", ""},
		{"tron USDT contract", "tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", ""},

		{"empty", "bitcoin", "", "", "empty"},
		{"blank", "ethereum", " \t\n", "", "empty"},
		{"last digit changed", "bitcoin", genesis[:33] + "b", "", "bad checksum"},
		{"two digits swapped", "bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivNfa", "", "bad checksum"},
		{"zero digit", "bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na", "", "bad characters"},
		{"inner space", "bitcoin", "1A1zP1eP5QGefi2 DMPTfTL5SLmv7DivfNa", "", "bad characters"},
		{"truncated", "bitcoin", genesis[:20], "", "wrong length"},
		{"extended", "bitcoin", genesis + "1", "", "wrong length"},
		{"mainnet on testnet", "bitcoin-testnet", genesis, "", "wrong network prefix"},
		{"bitcoin on litecoin", "litecoin", genesis, "", "wrong network prefix"},
		{"testnet on bitcoin", "bitcoin", "mrX9vMRYLfVy1BnZbc5gZjuyaqH3ZW2ZHz", "", "wrong network prefix"},
		{"bitcoin on tron", "tron", genesis, "", "wrong network prefix"},
		{"bitcoin on zcash", "zcash", genesis, "", "wrong length"},
		{"zcash last digit changed", "zcash", "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJz", "", "bad checksum"},
		{"cashaddr on bitcoin", "bitcoin", "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2", "", "bad characters"},
		{"segwit on dash", "dash", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "", "wrong network prefix"},
	})
}

// TestBase58LikeSegwit checks Base58 addresses that begin like a segwit
// prefix: Tron's "TB1..." reads as "tb1" and simnet's "Sb1..." as "sb1".
func TestBase58LikeSegwit(t *testing.T) {
	for _, tc := range []struct {
		chain, prefix string
		version       byte
	}{
		{"tron", "tb1", 0x41},
		{"bitcoin-simnet", "sb1", 0x3f},
	} {
		t.Run(tc.chain, func(t *testing.T) {
			a := findBase58(t, tc.version, tc.prefix)
			if got, err := Canonical(tc.chain, a); err != nil || got != a {
				t.Fatalf("Canonical(%q, %q) = %q, %v, want it as written", tc.chain, a, got, err)
			}
			bad := a[:len(a)-1] + string(a[len(a)-1]^1)
			if _, err := Canonical(tc.chain, bad); err == nil {
				t.Fatalf("Canonical(%q, %q) accepted a changed address", tc.chain, bad)
			}
		})
	}
}

// findBase58 returns the first Base58Check address of version over the
// hashes SHA-256(i)[:20], i = 0, 1, ..., whose lower case starts with prefix.
func findBase58(tb testing.TB, version byte, prefix string) string {
	tb.Helper()
	for i := range 1_000_000 {
		h := sha256.Sum256([]byte(strconv.Itoa(i)))
		if a := base58.CheckEncode(h[:20], version); strings.HasPrefix(strings.ToLower(a), prefix) {
			return a
		}
	}
	tb.Fatalf("no address of version %#x starts with %q", version, prefix)
	return ""
}

// TestCanonicalSegwit runs the segwit address test vectors of BIP-173 and
// BIP-350.
func TestCanonicalSegwit(t *testing.T) {
	const p2wpkh = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	cases := []canonCase{
		// BIP-350 valid (BIP-173's v0 vectors are among them).
		{"BIP-350 valid v0 upper", "bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", p2wpkh, ""},
		{"BIP-350 valid v0 p2wsh testnet", "bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", ""},
		{"BIP-350 valid v1 40 bytes", "bitcoin", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", ""},
		{"BIP-350 valid v16", "bitcoin", "BC1SW50QGDZ25J", "bc1sw50qgdz25j", ""},
		{"BIP-350 valid v2", "bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", ""},
		{"BIP-350 valid v0 testnet", "bitcoin-testnet", "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", ""},
		{"BIP-350 valid v1 testnet", "bitcoin-testnet", "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", ""},
		{"BIP-350 valid taproot", "bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", ""},
		{"litecoin v0 upper", "litecoin", "LTC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KGMN4N9", "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", ""},

		// BIP-350 invalid.
		{"BIP-350 invalid hrp", "bitcoin-testnet", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "", "bad characters"},
		{"BIP-350 bech32 for v1", "bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "", "bad checksum"},
		{"BIP-350 bech32 for v2 testnet", "bitcoin-testnet", "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "", "bad checksum"},
		{"BIP-350 bech32 for v16", "bitcoin", "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "", "bad checksum"},
		{"BIP-350 bech32m for v0", "bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "", "bad checksum"},
		{"BIP-350 bech32m for v0 testnet", "bitcoin-testnet", "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "", "bad checksum"},
		{"BIP-350 bad checksum character", "bitcoin", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "", "bad characters"},
		{"BIP-350 witness version 17", "bitcoin", "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "", "witness version 17"},
		{"BIP-350 program 1 byte", "bitcoin", "bc1pw5dgrnzv", "", "wrong length"},
		{"BIP-350 program 41 bytes", "bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "", "wrong length"},
		{"BIP-350 v0 program 16 bytes", "bitcoin", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "", "wrong length"},
		{"BIP-350 mixed case", "bitcoin-testnet", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "", "mixed"},
		{"BIP-350 over 4 padding bits", "bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "", "padding"},
		{"BIP-350 non-zero padding", "bitcoin-testnet", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "", "padding"},
		{"BIP-350 empty data", "bitcoin", "bc1gmk9yu", "", "wrong length"},

		// BIP-173 invalid.
		{"BIP-173 invalid hrp", "bitcoin-testnet", "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "", "bad characters"},
		{"BIP-173 invalid checksum", "bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "", "bad checksum"},
		{"BIP-173 witness version 17", "bitcoin", "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "", "witness version 17"},
		{"BIP-173 program 1 byte", "bitcoin", "bc1rw5uspcuh", "", "wrong length"},
		{"BIP-173 program 41 bytes", "bitcoin", "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90", "", "wrong length"},
		{"BIP-173 mixed case", "bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "", "mixed"},
		{"BIP-173 over 4 padding bits", "bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "", "padding"},
		{"BIP-173 non-zero padding", "bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "", "padding"},
		// BIP-173's own valid v1+ vectors carry bech32 checksums, which
		// BIP-350 made invalid.
		{"BIP-173 v1 now invalid", "bitcoin", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", "", "bad checksum"},
		{"BIP-173 v16 now invalid", "bitcoin", "BC1SW50QA3JX3S", "", "bad checksum"},
		{"BIP-173 v2 now invalid", "bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "", "bad checksum"},

		// Networks.
		{"mainnet on testnet", "bitcoin-testnet", p2wpkh, "", "wrong network prefix"},
		{"testnet on bitcoin", "bitcoin", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "", "wrong network prefix"},
		{"bitcoin on litecoin", "litecoin", p2wpkh, "", "wrong network prefix"},
		{"litecoin on bitcoin", "bitcoin", "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", "", "wrong network prefix"},
		{"mainnet on regtest", "bitcoin-regtest", p2wpkh, "", "wrong network prefix"},
	}
	// Regtest and simnet, encoded by btcutil as the reference.
	for _, net := range []struct {
		chain  string
		params *chaincfg.Params
	}{{"bitcoin-regtest", &chaincfg.RegressionNetParams}, {"bitcoin-simnet", &chaincfg.SimNetParams}} {
		a, err := btcutil.NewAddressWitnessPubKeyHash(genesisHash, net.params)
		if err != nil {
			t.Fatal(err)
		}
		s := a.EncodeAddress()
		cases = append(cases,
			canonCase{net.chain + " v0", net.chain, s, s, ""},
			canonCase{net.chain + " v0 upper", net.chain, strings.ToUpper(s), s, ""},
			canonCase{net.chain + " on bitcoin", "bitcoin", s, "", "wrong network prefix"},
		)
	}
	runCanonical(t, cases)
}

// cashaddrSpec are the test vectors of the cashaddr specification: a hash and
// its P2PKH address with the bitcoincash prefix, and the same hash as P2SH
// with the prefixes bchtest and pref and as type 15 with prefix "prefix".
var cashaddrSpec = []struct {
	hash                       string
	mainnet, test, pref, typ15 string
}{
	{"F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9",
		"bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2",
		"bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t",
		"pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5",
		"prefix:0r6m7j9njldwwzlg9v7v53unlr4jkmx6ey3qnjwsrf"},
	{"7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA",
		"bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0",
		"bchtest:p9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2u94tsynr",
		"pref:p9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2khlwwk5v",
		"prefix:09adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2p29kc2lp"},
	{"3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B",
		"bitcoincash:qgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcw59jxxuz",
		"bchtest:pgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcvs7md7wt",
		"pref:pgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcrsr6gzkn",
		"prefix:0gagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkc5djw8s9g"},
	{"3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060",
		"bitcoincash:qvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq5nlegake",
		"bchtest:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq7fqng6m6",
		"pref:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq4k9m7qf9",
		"prefix:0vch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxqsh6jgp6w"},
	{"C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB",
		"bitcoincash:qnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv39gr3uvz",
		"bchtest:pnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklvmgm6ynej",
		"pref:pnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv0vx5z0w3",
		"prefix:0nq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklvwsvctzqy"},
	{"E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C",
		"bitcoincash:qh3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqex2w82sl",
		"bchtest:ph3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqnzf7mt6x",
		"pref:ph3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqjntdfcwg",
		"prefix:0h3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqakcssnmn"},
	{"D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041",
		"bitcoincash:qmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqscw8jd03f",
		"bchtest:pmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqs6kgdsg2g",
		"pref:pmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqsammyqffl",
		"prefix:0mvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqsgjrqpnw8"},
	{"D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B",
		"bitcoincash:qlg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mtky5sv5w",
		"bchtest:plg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mc773cwez",
		"pref:plg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mg7pj3lh8",
		"prefix:0lg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96ms92w6845"},
}

// cashaddrAliases are the spec's legacy addresses and their cashaddr forms.
var cashaddrAliases = []struct{ legacy, cashaddr string }{
	{"1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
	{"1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR", "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy"},
	{"16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb", "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r"},
	{"3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq"},
	{"3LDsS579y7sruadqu11beEJoTjdFiFCdX4", "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e"},
	{"31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw", "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37"},
}

func TestCanonicalCashaddr(t *testing.T) {
	const bch = "bitcoin-cash"
	var cases []canonCase
	for _, v := range cashaddrSpec {
		n := len(v.hash) / 2
		bare := strings.TrimPrefix(v.mainnet, "bitcoincash:")
		cases = append(cases,
			canonCase{"spec mainnet " + strconv.Itoa(n), bch, v.mainnet, v.mainnet, ""},
			canonCase{"spec mainnet upper " + strconv.Itoa(n), bch, strings.ToUpper(v.mainnet), v.mainnet, ""},
			canonCase{"spec mainnet no prefix " + strconv.Itoa(n), bch, bare, v.mainnet, ""},
			canonCase{"spec bchtest " + strconv.Itoa(n), bch, v.test, "", "wrong network prefix"},
			canonCase{"spec pref " + strconv.Itoa(n), bch, v.pref, "", "wrong network prefix"},
			canonCase{"spec type 15 " + strconv.Itoa(n), bch, v.typ15, "", "wrong network prefix"},
			canonCase{"spec type 15 on mainnet " + strconv.Itoa(n), bch, "bitcoincash:" + strings.TrimPrefix(v.typ15, "prefix:"), "", "bad checksum"},
			canonCase{"spec mainnet last changed " + strconv.Itoa(n), bch, v.mainnet[:len(v.mainnet)-1] + flip(v.mainnet[len(v.mainnet)-1]), "", "bad checksum"},
		)
	}
	for _, a := range cashaddrAliases {
		cases = append(cases,
			canonCase{"alias legacy kept " + a.legacy, bch, a.legacy, a.legacy, ""},
			canonCase{"alias cashaddr " + a.legacy, bch, a.cashaddr, a.cashaddr, ""},
		)
	}
	cases = append(cases,
		canonCase{"mixed case", bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22Gdx6a", "", "mixed"},
		canonCase{"mixed case prefix", bch, "BitcoinCash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "", "mixed"},
		canonCase{"bad character", bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6b", "", "bad characters"},
		canonCase{"truncated", bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6", "", "bad checksum"},
		canonCase{"short", bch, "bitcoincash:qpm2", "", "wrong length"},
		canonCase{"legacy bad checksum", bch, "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggv", "", "bad checksum"},
		canonCase{"OFAC without prefix", bch, "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq", "bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq", ""},
	)
	runCanonical(t, cases)
}

// TestCashaddrAliases checks that each legacy alias of the spec holds the
// same hash as its cashaddr form, which pins the payload decoding.
func TestCashaddrAliases(t *testing.T) {
	for _, a := range cashaddrAliases {
		t.Run(a.legacy, func(t *testing.T) {
			legacy, _, err := base58.CheckDecode(a.legacy)
			if err != nil {
				t.Fatal(err)
			}
			if got := cashHash(t, a.cashaddr); !bytes.Equal(got, legacy) {
				t.Fatalf("cashaddr hash %x, legacy hash %x", got, legacy)
			}
		})
	}
	for _, v := range cashaddrSpec {
		t.Run(v.mainnet, func(t *testing.T) {
			want, _ := hex.DecodeString(v.hash)
			if got := cashHash(t, v.mainnet); !bytes.Equal(got, want) {
				t.Fatalf("hash %x, want %x", got, want)
			}
		})
	}
}

// cashHash decodes the hash of a valid mainnet cashaddr.
func cashHash(tb testing.TB, a string) []byte {
	tb.Helper()
	payload := strings.TrimPrefix(a, "bitcoincash:")
	values := make([]byte, len(payload))
	for i := range len(payload) {
		values[i] = byte(strings.IndexByte(bech32Charset, payload[i]))
	}
	if cashPolymod("bitcoincash", values) != 0 {
		tb.Fatalf("%s: bad checksum", a)
	}
	raw := convert5to8(tb, values[:len(values)-8])
	return raw[1:]
}

// TestCashPolymod runs the checksum-only vectors of the cashaddr spec, whose
// payloads are not addresses.
func TestCashPolymod(t *testing.T) {
	for _, s := range []string{
		"prefix:x64nx6hz",
		"p:gpf8m4h7",
		"bitcoincash:qpzry9x8gf2tvdw0s3jn54khce6mua7lcw20ayyn",
		"bchtest:testnetaddress4d6njnut",
		"bchreg:555555555555555555555555555555555555555555555udxmlmrz",
	} {
		t.Run(s, func(t *testing.T) {
			i := strings.IndexByte(s, ':')
			prefix, payload := s[:i], s[i+1:]
			values := make([]byte, len(payload))
			for j := range len(payload) {
				values[j] = byte(strings.IndexByte(bech32Charset, payload[j]))
			}
			if got := cashPolymod(prefix, values); got != 0 {
				t.Fatalf("polymod = %#x, want 0", got)
			}
			values[0] ^= 1
			if cashPolymod(prefix, values) == 0 {
				t.Fatal("polymod still 0 after a change")
			}
		})
	}
}

// eip55Vectors are the test vectors of EIP-55: all upper case, all lower
// case, and mixed case.
var eip55Vectors = []string{
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

func TestCanonicalEthereum(t *testing.T) {
	var cases []canonCase
	for _, chain := range []string{"ethereum", "ethereum-classic", "arbitrum", "bsc"} {
		for _, a := range eip55Vectors {
			low := strings.ToLower(a)
			cases = append(cases,
				canonCase{chain + " " + a, chain, a, low, ""},
				canonCase{chain + " lower " + a, chain, low, low, ""},
				canonCase{chain + " upper " + a, chain, "0x" + strings.ToUpper(a[2:]), low, ""},
			)
		}
	}
	cases = append(cases,
		canonCase{"0X prefix", "ethereum", "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", ""},
		canonCase{"one letter case flipped", "ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "", "bad checksum"},
		canonCase{"mixed case wrong", "arbitrum", "0xFb6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "", "bad checksum"},
		canonCase{"39 digits", "ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", "", "wrong length"},
		canonCase{"41 digits", "ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed0", "", "wrong length"},
		canonCase{"no 0x", "ethereum", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "", "0x"},
		canonCase{"not hex", "ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", "", "bad characters"},
		canonCase{"bitcoin on ethereum", "ethereum", genesis, "", "0x"},
	)
	runCanonical(t, cases)
}

func TestCanonicalRipple(t *testing.T) {
	runCanonical(t, []canonCase{
		{"genesis account", "ripple", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", ""},
		{"account zero", "ripple", "rrrrrrrrrrrrrrrrrrrrrhoLvTp", "rrrrrrrrrrrrrrrrrrrrrhoLvTp", ""},
		{"account one", "ripple", "rrrrrrrrrrrrrrrrrrrrBZbvji", "rrrrrrrrrrrrrrrrrrrrBZbvji", ""},
		{"OFAC tagpack", "ripple", " rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66 ", "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66", ""},
		{"last changed", "ripple", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTi", "", "bad checksum"},
		{"zero digit", "ripple", "rHb9CJAWyB4rj91VRWn96DkukG4bwdty0h", "", "bad characters"},
		{"bitcoin on ripple", "ripple", genesis, "", "ripple"},
		{"truncated", "ripple", "rHb9CJAWyB4rj91VRWn", "", "wrong length"},
	})
}

func TestCanonicalUnchecked(t *testing.T) {
	const xmr = "884Bz8UH63aYsjVdkfWfScRYWZGGNbjFL7pztqvWNSrtYT4reFSwyvkCj9KEGUtheHhhMUj87ciTBFyzoesrMJ4L1FvSoxL"
	runCanonical(t, []canonCase{
		{"monero", "monero", xmr, xmr, ""},
		{"monero trimmed", "monero", "\t" + xmr + " ", xmr, ""},
		{"monero OFAC hex kept", "monero", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", ""},
		{"nem", "nem", "NDK2-ANYTHING", "NDK2-ANYTHING", ""},
		{"unknown chain", "dogecoin", " DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L ", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", ""},
		{"unknown chain case kept", "solana", "AbC", "AbC", ""},
		{"monero empty", "monero", " ", "", "empty"},
		{"unknown empty", "dogecoin", "", "", "empty"},
	})
}

func TestDisplay(t *testing.T) {
	for _, chain := range []string{"ethereum", "ethereum-classic", "arbitrum", "bsc"} {
		for _, a := range eip55Vectors {
			t.Run(chain+" "+a, func(t *testing.T) {
				for _, in := range []string{a, strings.ToLower(a), "0x" + strings.ToUpper(a[2:])} {
					got, err := Display(chain, in)
					if err != nil {
						t.Fatalf("Display(%q, %q): %v", chain, in, err)
					}
					if got != a {
						t.Fatalf("Display(%q, %q) = %q, want %q", chain, in, got, a)
					}
				}
			})
		}
	}
	for _, tc := range []struct{ chain, in, want string }{
		{"bitcoin", " " + genesis, genesis},
		{"bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"bitcoin-cash", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
		{"monero", "4AbC", "4AbC"},
		{"unknown", "0xabc", "0xabc"},
	} {
		t.Run(tc.chain+" "+tc.in, func(t *testing.T) {
			got, err := Display(tc.chain, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("Display(%q, %q) = %q, %v, want %q", tc.chain, tc.in, got, err, tc.want)
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		_, err := Display("ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
		MustMalformed(t, err, "ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "bad checksum")
	})
}

func TestChecked(t *testing.T) {
	for _, tc := range []struct {
		chain string
		want  bool
	}{
		{"bitcoin", true}, {"bitcoin-testnet", true}, {"bitcoin-regtest", true},
		{"bitcoin-simnet", true}, {"bitcoin-cash", true}, {"bitcoin-gold", true},
		{"bitcoin-sv", true}, {"litecoin", true}, {"dash", true}, {"zcash", true},
		{"verge", true}, {"ethereum", true}, {"ethereum-classic", true},
		{"arbitrum", true}, {"bsc", true}, {"tron", true}, {"ripple", true},
		{"monero", false}, {"nem", false}, {"dogecoin", false}, {"", false},
	} {
		t.Run(tc.chain, func(t *testing.T) {
			if got := Checked(tc.chain); got != tc.want {
				t.Fatalf("Checked(%q) = %v, want %v", tc.chain, got, tc.want)
			}
		})
	}
}

func TestTicker(t *testing.T) {
	const eth = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
	for _, tc := range []struct {
		ticker, addr, chain, asset string
		known                      bool
	}{
		{"XBT", genesis, "bitcoin", "bitcoin:BTC", true},
		{"BTC", genesis, "bitcoin", "bitcoin:BTC", true},
		{"btc", genesis, "bitcoin", "bitcoin:BTC", true},
		{"ETH", eth, "ethereum", "ethereum:ETH", true},
		{"TRX", "TMStbg5fgb4uTV7fK1gEYF9hKAzP3siPsG", "tron", "tron:TRX", true},
		{"LTC", "", "litecoin", "litecoin:LTC", true},
		{"DASH", "", "dash", "dash:DASH", true},
		{"ZEC", "", "zcash", "zcash:ZEC", true},
		{"BCH", "", "bitcoin-cash", "bitcoin-cash:BCH", true},
		{"BTG", "", "bitcoin-gold", "bitcoin-gold:BTG", true},
		{"BSV", "", "bitcoin-sv", "bitcoin-sv:BSV", true},
		{"XVG", "", "verge", "verge:XVG", true},
		{"XMR", "", "monero", "monero:XMR", true},
		{"ETC", "", "ethereum-classic", "ethereum-classic:ETC", true},
		{"ARB", "", "arbitrum", "arbitrum:ARB", true},
		{"BSC", "", "bsc", "bsc:BNB", true},
		{"XRP", "", "ripple", "ripple:XRP", true},
		{"XEM", "", "nem", "nem:XEM", true},
		{"USDT", eth, "ethereum", "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7", true},
		{"usdt", " TX5GV4DyfxNB3rPkzZJhmqZ1efVmL4rEqG", "tron", "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", true},
		{"USDT", "3E6ZCKRrsdPc35chA9Eftp1h3DLW18NFNV", "bitcoin", "bitcoin:omni-31", true},
		{"USDT", genesis, "bitcoin", "bitcoin:omni-31", true},
		{"USDC", eth, "ethereum", "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", true},
		{"USDT", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "usdt", "usdt:USDT", false},
		{"USDC", "TX5GV4DyfxNB3rPkzZJhmqZ1efVmL4rEqG", "usdc", "usdc:USDC", false},
		{"Doge", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", "doge", "doge:DOGE", false},
	} {
		t.Run(tc.ticker+" "+tc.addr, func(t *testing.T) {
			chain, asset, known := Ticker(tc.ticker, tc.addr)
			if chain != tc.chain || asset != tc.asset || known != tc.known {
				t.Fatalf("Ticker(%q, %q) = %q, %q, %v, want %q, %q, %v",
					tc.ticker, tc.addr, chain, asset, known, tc.chain, tc.asset, tc.known)
			}
		})
	}
	// The token contracts named by Ticker are themselves canonical.
	for _, tok := range []string{"ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7", "ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"} {
		chain, contract, _ := strings.Cut(tok, ":")
		if got, err := Canonical(chain, contract); err != nil || got != contract {
			t.Errorf("token contract %s: Canonical = %q, %v", tok, got, err)
		}
	}
}

// readOFAC reads one of the derived OFAC files: ent_num, sdn_name,
// sdn_type, program, currency, address.
func readOFAC(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	want := []string{"ent_num", "sdn_name", "sdn_type", "program", "currency", "address"}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(want, ",") {
		tb.Fatalf("%s: header %v, want %v", path, rows[0], want)
	}
	return rows[1:]
}

// mislabelled are addresses that OFAC's SDN list of 2024-05-03 (and the
// GraphSense ofac.yaml TagPack copied from it) files under the wrong ticker,
// with the chain they are valid on. "XBT TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"
// (WANG Mingming, ent_num 45404) is a Tron address (Base58Check version
// 0x41, checksum good), not a Bitcoin one, so Canonical must refuse it on
// bitcoin: an importer reports it rather than recording a bitcoin wallet
// that cannot exist.
var mislabelled = map[string]string{
	"TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq": "tron",
}

// mustMislabelled checks that a mislabelled address failed on chain as
// belonging to another network and is valid on the chain it belongs to.
func mustMislabelled(tb testing.TB, chain, addr, real string, err error) {
	tb.Helper()
	MustMalformed(tb, err, chain, addr, "wrong network prefix")
	if got, err := Canonical(real, addr); err != nil || got != addr {
		tb.Fatalf("mislabelled %q on %s: %q, %v", addr, real, got, err)
	}
}

func TestOFACExpectedAddresses(t *testing.T) {
	rows := readOFAC(t, sharedtest.Path(t, "ofac", "expected_addresses_2024-05-03.csv"))
	if len(rows) != 288 {
		t.Fatalf("%d rows, want 288", len(rows))
	}
	for i, r := range rows {
		cur, addr := r[4], r[5]
		t.Run(strconv.Itoa(i+2)+" "+cur+" "+addr, func(t *testing.T) {
			chain, asset, known := Ticker(cur, addr)
			if !known {
				t.Fatalf("ticker %q unknown (chain %q, asset %q)", cur, chain, asset)
			}
			got, err := Canonical(chain, addr)
			if real, ok := mislabelled[addr]; ok {
				mustMislabelled(t, chain, addr, real, err)
				return
			}
			if err != nil {
				t.Fatalf("entity %s %s: %v", r[0], r[1], err)
			}
			switch {
			case chain == "monero":
				if got != addr {
					t.Fatalf("monero %q became %q, want it kept", addr, got)
				}
				if Checked(chain) {
					t.Fatal("monero is Checked")
				}
			case chains[chain].format == evm:
				if got != strings.ToLower(addr) {
					t.Fatalf("Canonical = %q, want lower case", got)
				}
				// A mixed-case address OFAC lists passed EIP-55, so
				// Display gives it back as listed.
				if d, err := Display(chain, addr); err != nil || (addr != got && d != addr) {
					t.Fatalf("Display = %q, %v, want %q", d, err, addr)
				}
			case chain == "bitcoin-cash" && !strings.HasPrefix(addr, "1") && !strings.HasPrefix(addr, "3"):
				if got != "bitcoincash:"+strings.ToLower(strings.TrimPrefix(addr, "bitcoincash:")) {
					t.Fatalf("Canonical = %q, want the bitcoincash: form", got)
				}
			case strings.HasPrefix(strings.ToLower(addr), "bc1") || strings.HasPrefix(strings.ToLower(addr), "ltc1"):
				if got != strings.ToLower(addr) {
					t.Fatalf("Canonical = %q, want lower case", got)
				}
			default:
				if got != addr {
					t.Fatalf("Canonical = %q, want as written", got)
				}
			}
			if again, err := Canonical(chain, got); err != nil || again != got {
				t.Fatalf("Canonical not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestOFACTruncatedFragments(t *testing.T) {
	rows := readOFAC(t, sharedtest.Path(t, "ofac", "truncated_fragments_2024-05-03.csv"))
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
	for i, r := range rows {
		cur, addr := r[4], r[5]
		t.Run(strconv.Itoa(i+2)+" "+cur+" "+addr, func(t *testing.T) {
			chain, _, known := Ticker(cur, addr)
			if !known {
				t.Fatalf("ticker %q unknown", cur)
			}
			got, err := Canonical(chain, addr)
			if chain == "monero" {
				if err != nil || got != addr {
					t.Fatalf("monero fragment: %q, %v, want it kept", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("fragment %q of %s accepted as %q", addr, r[1], got)
			}
			MustMalformed(t, err, chain, addr, "")
		})
	}
}

// tagpackTag is one address of a GraphSense TagPack with its currency.
type tagpackTag struct {
	file, line, address, currency string
}

// readTagPacks scans TagPack YAML files line by line: a top-level
// "currency:" is the pack's default; "- address:" starts a tag whose own
// indented "currency:" overrides it.
func readTagPacks(tb testing.TB, files []string) []tagpackTag {
	tb.Helper()
	var tags []tagpackTag
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		var (
			packCurrency string
			fileTags     []tagpackTag
			tagCurrency  = map[int]string{}
		)
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			value := func(key string) string {
				return strings.Trim(strings.TrimSpace(strings.TrimPrefix(trimmed, key)), `'"`)
			}
			switch {
			case strings.HasPrefix(line, "currency:"):
				packCurrency = value("currency:")
			case strings.HasPrefix(line, "- address:"):
				fileTags = append(fileTags, tagpackTag{file: filepath.Base(path), line: strconv.Itoa(n), address: value("- address:")})
			case strings.HasPrefix(line, "  currency:") && len(fileTags) > 0:
				tagCurrency[len(fileTags)-1] = value("currency:")
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
		for i := range fileTags {
			fileTags[i].currency = packCurrency
			if c, ok := tagCurrency[i]; ok {
				fileTags[i].currency = c
			}
		}
		tags = append(tags, fileTags...)
	}
	return tags
}

// TestTagPacks checks every address of the GraphSense TagPacks: above all
// their BTC and ETH tags, and the few of other currencies.
func TestTagPacks(t *testing.T) {
	tags := readTagPacks(t, sharedtest.Glob(t, "tagpacks/*.yaml"))
	count := map[string]int{}
	for _, tag := range tags {
		count[tag.currency]++
		t.Run(tag.file+":"+tag.line+" "+tag.currency, func(t *testing.T) {
			chain, _, known := Ticker(tag.currency, tag.address)
			if !known {
				t.Fatalf("ticker %q unknown", tag.currency)
			}
			_, err := Canonical(chain, tag.address)
			if real, ok := mislabelled[tag.address]; ok {
				mustMislabelled(t, chain, tag.address, real, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if count["BTC"] < 100 || count["ETH"] < 100 {
		t.Fatalf("found %d BTC and %d ETH tags, want at least 100 of each", count["BTC"], count["ETH"])
	}
}

// FuzzCanonical checks that Canonical never panics, that a canonical form is
// its own canonical form, and, on bitcoin, that it agrees with btcutil's
// address decoder.
func FuzzCanonical(f *testing.F) {
	f.Add("bitcoin", genesis)
	f.Add("bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
	f.Add("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")
	f.Add("bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7")
	f.Add("litecoin", "LTC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KGMN4N9")
	f.Add("bitcoin-cash", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a")
	f.Add("bitcoin-cash", "BITCOINCASH:QR6M7J9NJLDWWZLG9V7V53UNLR4JKMX6EYLEP8EKG2")
	f.Add("bitcoin-cash", "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu")
	f.Add("ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	f.Add("bsc", "0X52908400098527886E0F7030069857D2E4169EE7")
	f.Add("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	f.Add("ripple", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh")
	f.Add("zcash", "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy")
	f.Add("zcash", "zs1x")
	f.Add("dash", "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2")
	f.Add("monero", " 884Bz8UH63aYsjVdkfWfScRYWZGGNbjFL7pztqvWNSrtYT4reFSwyvkCj9KEGUtheHhhMUj87ciTBFyzoesrMJ4L1FvSoxL\n")
	f.Add("dogecoin", "\u00a0x\u00a0")
	f.Add("bitcoin", "1Gq")
	f.Fuzz(func(t *testing.T, chain, addr string) {
		got, err := Canonical(chain, addr)
		if err != nil {
			return
		}
		again, err := Canonical(chain, got)
		if err != nil {
			t.Fatalf("Canonical(%q, %q) = %q, which fails: %v", chain, addr, got, err)
		}
		if again != got {
			t.Fatalf("Canonical(%q, %q) = %q, but Canonical of that = %q", chain, addr, got, again)
		}
		if _, err := Display(chain, addr); err != nil {
			t.Fatalf("Display fails where Canonical succeeds: %v", err)
		}
		if chain == "bitcoin" {
			checkBtcutil(t, got)
		}
	})
}

// checkBtcutil compares an address Canonical accepted on bitcoin with
// btcutil's decoder, which accepts a subset: it refuses segwit versions
// other than 0 and 1, and version 1 programs other than 32 bytes.
func checkBtcutil(t *testing.T, canon string) {
	t.Helper()
	a, err := btcutil.DecodeAddress(canon, &chaincfg.MainNetParams)
	if err != nil {
		var ver btcutil.UnsupportedWitnessVerError
		var plen btcutil.UnsupportedWitnessProgLenError
		if errors.As(err, &ver) || errors.As(err, &plen) {
			return
		}
		t.Fatalf("Canonical accepts %q, btcutil refuses it: %v", canon, err)
	}
	if a.EncodeAddress() != canon {
		t.Fatalf("Canonical gives %q, btcutil %q", canon, a.EncodeAddress())
	}
}

// flip returns a different bech32 character than c.
func flip(c byte) string {
	i := strings.IndexByte(bech32Charset, c)
	return string(bech32Charset[(i+1)%len(bech32Charset)])
}

func convert5to8(tb testing.TB, values []byte) []byte {
	tb.Helper()
	var (
		acc  uint
		bits uint
		out  []byte
	)
	for _, v := range values {
		acc = acc<<5 | uint(v)
		bits += 5
		for bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		tb.Fatalf("bad padding")
	}
	return out
}

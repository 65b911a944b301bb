package misp

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// decimals is the number of decimal places of each asset's base unit:
// a satoshi is 10^-8 BTC, a wei 10^-18 ETH, a piconero 10^-12 XMR. Assets
// not listed here get no amounts in transactions: their values stay in the
// MISP object only.
var decimals = map[string]int{
	"bitcoin:BTC":          8,
	"bitcoin:omni-31":      8,
	"litecoin:LTC":         8,
	"dash:DASH":            8,
	"zcash:ZEC":            8,
	"bitcoin-cash:BCH":     8,
	"bitcoin-gold:BTG":     8,
	"bitcoin-sv:BSV":       8,
	"verge:XVG":            6,
	"monero:XMR":           12,
	"ethereum:ETH":         18,
	"ethereum-classic:ETC": 18,
	"arbitrum:ARB":         18,
	"bsc:BNB":              18,
	"tron:TRX":             6,
	"ripple:XRP":           6,
	"nem:XEM":              6,
	"ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7": 6, // USDT
	"ethereum:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": 6, // USDC
	"tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t":             6, // USDT
}

// accountChains are the chains that keep balances per account; their
// transactions list transfers. The other known chains spend outputs
// (UTXO) and list inputs and outputs.
var accountChains = map[string]bool{
	"ethereum": true, "ethereum-classic": true, "arbitrum": true, "bsc": true,
	"tron": true, "ripple": true, "nem": true,
}

var decimalRE = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?$`)

// baseUnits converts a decimal amount as MISP writes it ("0.5", "-1.25")
// to an integer number of base units with places decimal places, exactly:
// "0.5" BTC is 50000000 satoshi. It reports whether the amount is negative
// (MISP writes what an address sent as a negative value). An amount with
// more precision than the base unit ("0.000000001" BTC) is an error.
func baseUnits(s string, places int) (amount *big.Int, negative bool, err error) {
	m := decimalRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[2] == "" && m[3] == "") {
		return nil, false, fmt.Errorf("%q is not a decimal amount", clip(s))
	}
	frac := strings.TrimRight(m[3], "0")
	if len(frac) > places {
		return nil, false, fmt.Errorf("%q has more decimal places than the base unit (%d)", clip(s), places)
	}
	digits := m[2] + frac + strings.Repeat("0", places-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, false, fmt.Errorf("%q is not a decimal amount", clip(s))
	}
	return n, m[1] == "-" && n.Sign() != 0, nil
}

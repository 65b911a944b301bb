package web

import (
	"fmt"
	"html/template"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/report"
	"github.com/cointrail/cointrail/internal/trace"
)

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"usd":       usd,
	"amount":    amount,
	"short":     short,
	"day":       day,
	"date":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"tlpClass":  tlpClass,
	"tlpLabel":  func(t string) string { return "TLP:" + strings.ToUpper(strings.TrimPrefix(strings.ToUpper(t), "TLP:")) },
	"pathq":     url.PathEscape,
	"join":      strings.Join,
	"deref":     func(p *int) int { return *p },
	"add":       func(a, b int) int { return a + b },
	"levelText": func(l string) string { return strings.ToUpper(l) },
}

// usd formats a decimal string of US dollars with thousands separators:
// "530000000.00" is "US$530,000,000.00"; "" is "unknown".
func usd(s string) string {
	if s == "" {
		return "unknown"
	}
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		return "−US$" + report.Grouped(rest)
	}
	return "US$" + report.Grouped(s)
}

// amount formats an amount in base units of asset ("bitcoin:BTC", or a
// chain id for its native coin) in the asset's whole units, exactly:
// 150000000 sat is "1.5 BTC". An asset the node does not know keeps its
// base units.
func amount(base any, asset string) string {
	var s string
	switch b := base.(type) {
	case string:
		s = b
	case trace.Amount:
		if b.Int == nil {
			return "0"
		}
		s = b.String()
	case *big.Int:
		s = b.String()
	case fmt.Stringer:
		s = b.String()
	default:
		s = fmt.Sprint(b)
	}
	if s == "" {
		return "unknown"
	}
	chainID, symbol, _ := strings.Cut(asset, ":")
	info, ok := chain.Lookup(chainID)
	if !ok || (symbol != "" && symbol != info.Symbol) {
		return report.Grouped(s) + " " + asset
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return s + " " + info.Symbol
	}
	return decimalOf(n, info.Decimals) + " " + info.Symbol
}

// decimalOf writes n / 10^decimals without trailing zeros.
func decimalOf(n *big.Int, decimals int) string {
	neg := n.Sign() < 0
	digits := new(big.Int).Abs(n).String()
	if decimals > 0 {
		if len(digits) <= decimals {
			digits = strings.Repeat("0", decimals-len(digits)+1) + digits
		}
		whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
		digits = report.Grouped(whole)
		if frac != "" {
			digits += "." + frac
		}
	} else {
		digits = report.Grouped(digits)
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// day is the date part of an RFC 3339 timestamp: incidents are dated to
// the day their sources give.
func day(ts string) string {
	if len(ts) >= 10 && ts[4] == '-' && ts[7] == '-' {
		return ts[:10]
	}
	return ts
}

// short cuts a long hash or address to its ends, for tables; the full
// value stays in the link and the title.
func short(s string) string {
	if len(s) <= 20 {
		return s
	}
	return s[:10] + "…" + s[len(s)-6:]
}

// tlpClass is the CSS class of a TLP marking's badge.
func tlpClass(tlp string) string {
	t := strings.ToLower(strings.TrimPrefix(strings.ToUpper(tlp), "TLP:"))
	t = strings.ReplaceAll(t, "+", "-")
	return "tlp tlp-" + t
}

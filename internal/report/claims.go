package report

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// Claim sets a figure the UN Panel of Experts published (S/2019/171) side by
// side with what the node holds of the same.
type Claim struct {
	// Claim is the Panel's finding, in its words.
	Claim string `json:"claim"`
	// PanelUSD is the Panel's figure; PanelIncidents the least number of
	// incidents it counts (0: it names none).
	PanelUSD       string `json:"panel_usd"`
	PanelIncidents int    `json:"panel_incidents"`
	// Node is the same figure computed over the incidents given.
	Node Row `json:"node"`
	// Holds says whether the node's figure reaches the Panel's (and its
	// count of incidents the Panel's count). It need not: the Panel counts
	// thefts in foreign currency, and the node only what it holds.
	Holds bool `json:"holds"`
}

// asia lists the countries (ISO 3166-1 alpha-2) the Panel's "exchanges in
// Asia" may be in.
var asia = []string{
	"AF", "AM", "AZ", "BD", "BH", "BN", "BT", "CN", "GE", "HK", "ID", "IL", "IN", "IQ", "IR", "JO", "JP", "KG", "KH",
	"KP", "KR", "KW", "KZ", "LA", "LB", "LK", "MM", "MN", "MO", "MV", "MY", "NP", "OM", "PH", "PK", "PS", "QA", "SA",
	"SG", "SY", "TH", "TJ", "TL", "TM", "TR", "TW", "UZ", "VN", "YE", "AE",
}

// PanelClaims compares the Panel's three figures with incs, the incidents a
// viewer may see: over US$670 million in all; at least five attacks on
// exchanges in Asia between January 2017 and September 2018 taking US$571
// million (victims located in Asia, incidents dated 2017-01-01 to
// 2018-09-30); and over US$530 million from Coincheck.
func PanelClaims(incs []intel.Incident) []Claim {
	pick := func(keep func(*intel.Incident) bool) Row {
		var sel []intel.Incident
		for i := range incs {
			if keep(&incs[i]) {
				sel = append(sel, incs[i])
			}
		}
		return Build(sel, Query{}).Total
	}
	inAsia := func(inc *intel.Incident) bool {
		return slices.ContainsFunc(inc.Victims, func(p intel.Party) bool { return slices.Contains(asia, p.Country) })
	}
	claims := []Claim{
		{
			Claim:    "The Democratic People's Republic of Korea amassed over US$670 million in foreign currency and cryptocurrency through cyber theft.",
			PanelUSD: "670000000.00",
			Node:     pick(func(*intel.Incident) bool { return true }),
		},
		{
			Claim:          "At least five successful attacks on cryptocurrency exchanges in Asia between January 2017 and September 2018 took US$571 million.",
			PanelUSD:       "571000000.00",
			PanelIncidents: 5,
			Node: pick(func(inc *intel.Incident) bool {
				return inAsia(inc) && inDates(inc.Date, "2017-01-01", "2018-09-30")
			}),
		},
		{
			Claim:    "Coincheck lost over US$530 million in January 2018.",
			PanelUSD: "530000000.00",
			Node: pick(func(inc *intel.Incident) bool {
				return slices.ContainsFunc(inc.Victims, func(p intel.Party) bool { return p.Name == "Coincheck" })
			}),
		},
	}
	for i := range claims {
		c := &claims[i]
		panel, _ := stix.ParseUSD(c.PanelUSD)
		node, _ := new(big.Rat).SetString(c.Node.LossUSD)
		c.Holds = node.Cmp(panel) >= 0 && c.Node.Incidents >= c.PanelIncidents
	}
	return claims
}

// PanelText writes the Panel's figure: "US$571,000,000.00 in at least 5
// incidents".
func (c *Claim) PanelText() string {
	s := "US$" + Grouped(c.PanelUSD)
	if c.PanelIncidents > 0 {
		s += fmt.Sprintf(" in at least %d incidents", c.PanelIncidents)
	}
	return s
}

// Verdict says whether the claim holds, else by how much the node falls
// short: "holds", "short by US$100,000,000.00", "short by 2 incidents". The
// difference is exact.
func (c *Claim) Verdict() string {
	if c.Holds {
		return "holds"
	}
	var short []string
	panel, err := stix.ParseUSD(c.PanelUSD)
	node, ok := new(big.Rat).SetString(c.Node.LossUSD)
	if err == nil && ok {
		if d := new(big.Rat).Sub(panel, node); d.Sign() > 0 {
			short = append(short, "US$"+Grouped(d.FloatString(2)))
		}
	}
	switch d := c.PanelIncidents - c.Node.Incidents; {
	case d == 1:
		short = append(short, "1 incident")
	case d > 1:
		short = append(short, fmt.Sprintf("%d incidents", d))
	}
	if len(short) == 0 {
		return "does not hold"
	}
	return "short by " + strings.Join(short, " and ")
}

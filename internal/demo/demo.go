// Package demo loads a node with the facts of the UN Security Council Panel
// of Experts' final report on the Democratic People's Republic of Korea
// (S/2019/171, 5 March 2019: the Panel established pursuant to resolution
// 1874 (2009)) about North Korea's cyber thefts of cryptocurrency, written as
// STIX 2.1 objects under mixed TLP markings and owned by two demo
// organisations, so that what each of them sees can be compared.
//
// The content is embedded as one STIX bundle per organisation:
//
//   - data/fiu.json, owned by [FIU], a national financial intelligence unit:
//     the report (TLP:CLEAR), the Lazarus Group threat actor and its
//     attribution to the Reconnaissance General Bureau (CLEAR), six
//     incidents with their victims, attributions and losses, two notes, the
//     Marine Chain scheme and three Bitcoin addresses OFAC listed on
//     2 March 2020 (TLP:GREEN), and two TLP:AMBER objects: a note shared
//     with the exchange and an opinion the FIU keeps to itself;
//   - data/exchange.json, owned by [Exchange], an exchange's compliance
//     team: an indicator for an address on its deposit block list (AMBER,
//     the exchange only) and an opinion on one attribution (GREEN).
//
// Conventions the data follows:
//
//   - Organisation identity ids are minted when the demo runs, so the files
//     name the two organisations by fixed placeholder ids that [Load]
//     replaces textually before parsing. Every other id is fixed; wallet ids
//     are the deterministic ids STIX 2.1 defines for observables.
//   - An incident's "occurred" (or, for incidents without recorded losses,
//     "first_seen") gives the date the sources report, at 00:00 UTC; no time
//     of day is asserted. Where a source gives only the month, the first of
//     the month stands for it and the description says so.
//   - A loss whose assets are not known but whose value in US dollars is
//     reported has the asset "unknown:USD" and a "usd" value only: the
//     incident extension requires an asset of the form <chain>:<symbol>,
//     and "unknown" is no chain id, so such an entry is never mistaken for
//     an amount of a real asset.
//   - Where the public record gives no figure, none is given: an incident
//     without a known loss has no losses extension.
package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// The names of the demo organisations.
const (
	// FIU is a national financial intelligence unit: it records incidents,
	// attributions and the report.
	FIU = "fiu"
	// Exchange is an exchange's compliance team.
	Exchange = "exchange"
)

// The placeholder identity ids the data files use for the demo
// organisations; [Load] replaces them with the ids the node mints.
const (
	fiuPlaceholder      = "identity--00000000-0000-4000-8000-000000000f10"
	exchangePlaceholder = "identity--00000000-0000-4000-8000-0000000e0c10"
)

//go:embed data/*.json
var data embed.FS

// orgNames lists the organisations in the order Load creates and loads them.
var orgNames = []string{FIU, Exchange}

// Load creates the two demo organisations, acting as operator (an admin of
// the node's operator organisation), and submits each organisation's bundle
// as that organisation with the contributor role. It returns the
// organisations created, [FIU] first. Loading twice into the same store is
// an error: the organisations exist already.
func Load(ctx context.Context, svc *intel.Service, operator access.Viewer) ([]access.Org, error) {
	orgs := make([]access.Org, 0, len(orgNames))
	for _, name := range orgNames {
		org, err := svc.CreateOrg(ctx, operator, name, "")
		if err != nil {
			return orgs, fmt.Errorf("demo organisation %s: %w", name, err)
		}
		orgs = append(orgs, org)
	}
	bundles, err := bundles(orgs[0].ID, orgs[1].ID)
	if err != nil {
		return orgs, err
	}
	for i, org := range orgs {
		v := access.Viewer{Org: org.ID, Role: access.Contributor}
		if _, err := svc.Submit(ctx, v, bundles[i].Objects, intel.SubmitOptions{}); err != nil {
			return orgs, fmt.Errorf("submit the %s bundle: %w", org.Name, err)
		}
	}
	return orgs, nil
}

// bundles returns the FIU's and the exchange's bundles, with the
// placeholders replaced by the given identity ids.
func bundles(fiuID, exchangeID string) ([]*stix.Bundle, error) {
	r := bytesReplacer{fiuPlaceholder: fiuID, exchangePlaceholder: exchangeID}
	out := make([]*stix.Bundle, 0, len(orgNames))
	for _, name := range orgNames {
		raw, err := data.ReadFile("data/" + name + ".json")
		if err != nil {
			return nil, fmt.Errorf("demo data: %w", err)
		}
		b, err := stix.ParseBundle(r.replace(raw))
		if err != nil {
			return nil, fmt.Errorf("demo data %s.json: %w", name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

type bytesReplacer map[string]string

func (r bytesReplacer) replace(b []byte) []byte {
	for old, repl := range r {
		b = bytes.ReplaceAll(b, []byte(old), []byte(repl))
	}
	return b
}

// Package bench holds cointrail's end-to-end benchmarks: bundles submitted
// and objects paged through the REST API over real HTTP, on the SQLite and
// the PostgreSQL store (bench_test.go, run by run.sh), and the corpus of
// realistic STIX objects they use.
//
// The benchmarks run only with -bench; plain `go test ./...` runs the
// corpus checks alone.
package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/cointrail/cointrail/internal/stix"
)

// CaseSize is the number of objects in one case of a [Corpus]: an incident,
// three wallets, an indicator per wallet and a related-to relationship per
// wallet.
const CaseSize = 10

// CorpusVersion changes whenever the objects a Corpus generates change, so
// that cached databases filled by an older version are not reused.
const CorpusVersion = 1

// Corpus generates the benchmark objects: cases of [CaseSize] objects about
// one cryptocurrency theft, written as the STIX a contributing organisation
// submits (cointrail's wallet, incident, role and sharing extensions,
// TLP 2.0 markings). Every object is a pure function of the corpus and its
// case number, so a filled database can be checked and resumed.
//
// Cases cycle through markings in sixes: three TLP:GREEN, one TLP:AMBER
// shared with Recipient, two TLP:AMBER not shared (shared too with
// ShareAll). Recipient therefore sees two thirds of the cases (all of them
// with ShareAll). A Corpus is a value, safe for concurrent use.
type Corpus struct {
	// Seed distinguishes corpora: every random-looking id and address is
	// derived from it and the case number.
	Seed string
	// Owner is the identity id of the organisation that submits the
	// objects (their created_by_ref).
	Owner string
	// Recipient is the identity id of the organisation the shared
	// TLP:AMBER cases name in the sharing extension.
	Recipient string
	// ShareAll shares every TLP:AMBER case with Recipient, who then sees
	// every case (the sync benchmark, where the pulling peer's
	// organisation is the recipient). Default: two thirds, as [CaseTLP].
	ShareAll bool
}

// CaseTLP returns the marking of case k and whether it is shared with the
// corpus's Recipient.
func CaseTLP(k int) (tlp stix.TLP, shared bool) {
	switch k % 6 {
	case 0, 1, 2:
		return stix.TLPGreen, false
	case 3:
		return stix.TLPAmber, true
	}
	return stix.TLPAmber, false
}

// VisibleCases returns how many of the cases [0, n) the Recipient sees
// (without ShareAll).
func VisibleCases(n int) int {
	return n/6*4 + min(n%6, 4)
}

// Bundle returns a STIX bundle holding cases [first, first+n), n*CaseSize
// objects.
func (c Corpus) Bundle(first, n int) []byte {
	out := make([]byte, 0, n*CaseSize*800)
	out = fmt.Appendf(out, `{"type":"bundle","id":"bundle--%s","objects":[`, c.uuid("bundle", first, 0))
	for k := first; k < first+n; k++ {
		for i, o := range c.Case(k) {
			if k > first || i > 0 {
				out = append(out, ',')
			}
			out = append(out, o...)
		}
	}
	return append(out, "]}"...)
}

// Envelope returns a TAXII 2.1 envelope, as a client posts to a
// collection's objects, holding cases [first, first+n), n*CaseSize objects.
func (c Corpus) Envelope(first, n int) []byte {
	out := make([]byte, 0, n*CaseSize*800)
	out = append(out, `{"objects":[`...)
	for k := first; k < first+n; k++ {
		for i, o := range c.Case(k) {
			if k > first || i > 0 {
				out = append(out, ',')
			}
			out = append(out, o...)
		}
	}
	return append(out, "]}"...)
}

// IncidentID returns the id of the incident of case k.
func (c Corpus) IncidentID(k int) string {
	return "incident--" + c.uuid("incident", k, 0)
}

// chains the wallets of a case are on, with their native assets and the
// decimals of their base units.
var chains = []struct {
	chain, symbol string
	decimals      int
}{
	{"bitcoin", "BTC", 8},
	{"ethereum", "ETH", 18},
	{"tron", "TRX", 6},
}

var roles = []string{"theft-destination", "laundering", "cash-out"}

// epoch is the creation time of case 0; case k is created k minutes later.
var epoch = time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC)

// Case returns the JSON of the CaseSize objects of case k: the incident,
// then for each wallet the wallet, its indicator and its relationship to
// the incident.
func (c Corpus) Case(k int) [][]byte {
	tlp, shared := CaseTLP(k)
	if c.ShareAll && tlp == stix.TLPAmber {
		shared = true
	}
	created := stix.FormatTime(epoch.Add(time.Duration(k) * time.Minute))
	occurred := stix.FormatTime(epoch.Add(time.Duration(k)*time.Minute - 36*time.Hour))
	markings := []string{tlp.ID()}
	// extensions returns the object's extensions with the sharing
	// extension added to shared cases.
	extensions := func(exts map[string]any) map[string]any {
		if exts == nil {
			exts = map[string]any{}
		}
		if shared {
			exts[stix.SharingExtensionID] = map[string]any{
				"extension_type": "property-extension",
				"recipients":     []string{c.Recipient},
			}
		}
		if len(exts) == 0 {
			return nil
		}
		return exts
	}
	venue := fmt.Sprintf("exchange-%04d", k%9973)
	disclosure := map[string]any{
		"source_name": venue + " incident disclosure",
		"url":         fmt.Sprintf("https://status.%s.example/incidents/%d", venue, k),
	}
	incidentID := c.IncidentID(k)

	type wallet struct{ id, chain, value string }
	wallets := make([]wallet, len(chains))
	losses := make([]map[string]string, len(chains))
	for i, ch := range chains {
		value := c.address(ch.chain, k, i)
		w := stix.New(stix.TypeCryptocurrencyWallet, "")
		if err := w.Set("chain", ch.chain); err != nil {
			panic(err)
		}
		if err := w.Set("value", value); err != nil {
			panic(err)
		}
		id, ok, err := stix.DeterministicID(w)
		if err != nil || !ok {
			panic(fmt.Sprintf("deterministic id of wallet %s: %v", value, err))
		}
		wallets[i] = wallet{id, ch.chain, value}
		units := c.number("amount", k, i)%5000 + 1
		losses[i] = map[string]string{
			"asset":  ch.chain + ":" + ch.symbol,
			"amount": fmt.Sprintf("%d%0*d", units, ch.decimals-2, 0),
			"usd":    fmt.Sprintf("%d.%02d", units*(c.number("usd", k, i)%900+100), k%100),
			"source": disclosure["source_name"].(string),
		}
	}

	out := make([][]byte, 0, CaseSize)
	out = append(out, mustJSON(map[string]any{
		"type":           "incident",
		"spec_version":   "2.1",
		"id":             incidentID,
		"created":        created,
		"modified":       created,
		"created_by_ref": c.Owner,
		"name":           fmt.Sprintf("Theft from the hot wallets of %s (case %d)", venue, k),
		"description": fmt.Sprintf("Attackers obtained the signing keys of %s's hot wallets and drained them "+
			"on Bitcoin, Ethereum and Tron; the stolen funds went to the addresses below and were split further.", venue),
		"confidence":          70 + k%30,
		"labels":              []string{"theft", "exchange-hack"},
		"external_references": []any{disclosure},
		"extensions": extensions(map[string]any{
			stix.IncidentExtensionID: map[string]any{
				"extension_type": "property-extension",
				"losses":         losses,
				"occurred":       occurred,
			},
		}),
		"object_marking_refs": markings,
	}))
	for i, w := range wallets {
		out = append(out, mustJSON(map[string]any{
			"type":         stix.TypeCryptocurrencyWallet,
			"spec_version": "2.1",
			"id":           w.id,
			"chain":        w.chain,
			"value":        w.value,
			"extensions": extensions(map[string]any{
				stix.WalletExtensionID: map[string]any{"extension_type": "new-sco"},
			}),
			"object_marking_refs": markings,
		}))
		out = append(out, mustJSON(map[string]any{
			"type":           "indicator",
			"spec_version":   "2.1",
			"id":             "indicator--" + c.uuid("indicator", k, i),
			"created":        created,
			"modified":       created,
			"created_by_ref": c.Owner,
			"name":           fmt.Sprintf("%s address %s received funds stolen from %s", chains[i].symbol, w.value, venue),
			"description": fmt.Sprintf("Deposits from this address should be held and reported: it received "+
				"%s %s stolen from %s, traced on chain.", losses[i]["amount"], chains[i].symbol, venue),
			"indicator_types": []string{"malicious-activity", "attribution"},
			"pattern": fmt.Sprintf("[cryptocurrency-wallet:chain = '%s' AND cryptocurrency-wallet:value = '%s']",
				w.chain, w.value),
			"pattern_type":        "stix",
			"valid_from":          created,
			"confidence":          60 + (k+i)%40,
			"external_references": []any{disclosure},
			"extensions":          extensions(nil),
			"object_marking_refs": markings,
		}))
		out = append(out, mustJSON(map[string]any{
			"type":              "relationship",
			"spec_version":      "2.1",
			"id":                "relationship--" + c.uuid("relationship", k, i),
			"created":           created,
			"modified":          created,
			"created_by_ref":    c.Owner,
			"relationship_type": "related-to",
			"description":       fmt.Sprintf("Stolen %s moved from the hot wallet of %s to this address.", chains[i].symbol, venue),
			"source_ref":        w.id,
			"target_ref":        incidentID,
			"start_time":        occurred,
			"confidence":        80,
			"extensions": extensions(map[string]any{
				stix.RoleExtensionID: map[string]any{
					"extension_type": "property-extension",
					"role":           roles[(k+i)%len(roles)],
				},
			}),
			"object_marking_refs": markings,
		}))
	}
	return out
}

// mustJSON encodes v, dropping the nil extensions of unshared objects.
func mustJSON(v map[string]any) []byte {
	if e, ok := v["extensions"].(map[string]any); ok && e == nil {
		delete(v, "extensions")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// digest returns the SHA-256 of the corpus seed, a label and two numbers.
func (c Corpus) digest(label string, k, i int) [32]byte {
	var b []byte
	b = fmt.Appendf(b, "cointrail bench v%d\x00%s\x00%s\x00%d\x00%d", CorpusVersion, c.Seed, label, k, i)
	return sha256.Sum256(b)
}

// uuid returns a version 5 style UUID derived from the corpus, label, k
// and i: stable, distinct, and RFC 4122 in form.
func (c Corpus) uuid(label string, k, i int) string {
	d := c.digest(label, k, i)
	u, err := uuid.FromBytes(d[:16])
	if err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// number returns a non-negative number derived from the corpus.
func (c Corpus) number(label string, k, i int) int {
	d := c.digest(label, k, i)
	return int(binary.BigEndian.Uint32(d[:4]) >> 1)
}

// address returns the canonical form of a valid, unique address on chain.
func (c Corpus) address(chain string, k, i int) string {
	d := c.digest("address", k, i)
	switch chain {
	case "bitcoin":
		return base58Check(0x00, d[:20]) // P2PKH
	case "tron":
		return base58Check(0x41, d[:20])
	default:
		return "0x" + hex.EncodeToString(d[:20])
	}
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Check encodes a version byte and payload as Base58Check, the form
// of Bitcoin legacy and Tron addresses.
func base58Check(version byte, payload []byte) string {
	b := append([]byte{version}, payload...)
	h1 := sha256.Sum256(b)
	h2 := sha256.Sum256(h1[:])
	b = append(b, h2[:4]...)
	n := new(big.Int).SetBytes(b)
	base, mod := big.NewInt(58), new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, x := range b {
		if x != 0 {
			break
		}
		out = append(out, base58Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

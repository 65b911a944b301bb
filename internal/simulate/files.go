package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/stix"
)

// source names the generator in the TagPack and the STIX bundle.
const source = "cointrail simulate"

// truth gathers what the story did, and checks that it balances.
func (g *gen) truth() (*Truth, error) {
	s := g.st
	chainID := bitcoin.Regtest.Chain()
	t := &Truth{
		Seed: g.opts.Seed, Chain: chainID, Asset: chain.NativeAsset(chainID),
		Victim: g.ex[exVictim].name, Actor: ActorName, Incident: incidentID(g.opts),
		TheftHeight: int64(s.theftHeight), TheftTime: g.c.blockTime(s.theftHeight),
		Drained: Sat(s.drained), TheftFees: Sat(s.theftFees),
		FeesPaid: Sat(s.fees), Elsewhere: Sat(s.elsewhere),
		Seeds: []Outpoint{}, Controlled: []Outpoint{},
	}
	for _, id := range s.theftTxs {
		t.TheftTxs = append(t.TheftTxs, id.String())
	}
	for _, u := range s.seeds {
		t.Stolen += Sat(u.val)
		t.Seeds = append(t.Seeds, g.outpoint(u))
	}
	for _, h := range s.held {
		o := g.outpoint(h.u)
		if h.spent {
			o.SpentBy = h.spentBy.String()
		} else {
			t.Unspent += Sat(h.u.val)
		}
		t.Controlled = append(t.Controlled, o)
	}
	received := Sat(0)
	for k, e := range g.ex {
		et := ExchangeTruth{Name: e.name, Labelled: e.labelled, Received: Sat(s.loot[k])}
		for _, u := range s.lootDeps[k] {
			et.Deposits = append(et.Deposits, g.outpoint(u))
		}
		received += et.Received
		t.Exchanges = append(t.Exchanges, et)
	}
	for _, txs := range s.peelTxs {
		var ids []string
		for _, id := range txs {
			ids = append(ids, id.String())
		}
		t.Shapes.PeelChains = append(t.Shapes.PeelChains, ids)
	}
	t.Shapes.PreMix, t.Shapes.CoinJoin, t.Shapes.FanOut = s.premixTx.String(), s.cjTx.String(), s.fanTx.String()
	t.Shapes.Denomination = Sat(s.denom)
	if t.Drained != t.TheftFees+t.Stolen || t.Stolen != received+t.FeesPaid+t.Elsewhere+t.Unspent {
		return nil, fmt.Errorf("simulate: the loot does not balance: drained %d, theft fees %d, stolen %d, received %d, fees %d, elsewhere %d, unspent %d",
			t.Drained, t.TheftFees, t.Stolen, received, t.FeesPaid, t.Elsewhere, t.Unspent)
	}
	return t, nil
}

func (g *gen) outpoint(u utxo) Outpoint {
	return Outpoint{Tx: u.op.Hash.String(), Index: u.op.Index, Address: g.keys.address(u.a), Value: Sat(u.val)}
}

func marshalTruth(t *Truth) ([]byte, error) {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// tagPack writes a GraphSense TagPack of the labelled exchanges' hot
// wallets and deposit addresses. Its network is the chain id, so that
// cointrail files the tags on bitcoin-regtest even without --chain.
func (g *gen) tagPack() ([]byte, error) {
	var b bytes.Buffer
	cmd := fmt.Sprintf("%s --seed %d --txs %d", source, g.opts.Seed, g.opts.Txs)
	fmt.Fprintf(&b, "title: %s\n", strconv.Quote(fmt.Sprintf("cointrail simulation, seed %d", g.opts.Seed)))
	fmt.Fprintf(&b, "creator: %s\n", strconv.Quote(source))
	fmt.Fprintf(&b, "description: %s\n", strconv.Quote("Hot wallets and deposit addresses of the exchanges of a simulated laundering scenario on Bitcoin regtest ("+cmd+")."))
	fmt.Fprintf(&b, "is_public: true\n")
	fmt.Fprintf(&b, "lastmod: %s\n", g.c.blockTime(g.c.height).Format("2006-01-02"))
	fmt.Fprintf(&b, "category: exchange\n")
	fmt.Fprintf(&b, "currency: BTC\n")
	fmt.Fprintf(&b, "network: %s\n", bitcoin.Regtest.Chain())
	fmt.Fprintf(&b, "confidence: ownership\n")
	fmt.Fprintf(&b, "source: %s\n", strconv.Quote(cmd))
	fmt.Fprintf(&b, "tags:\n")
	for _, e := range g.ex {
		if !e.labelled {
			continue
		}
		label := strconv.Quote(e.name)
		for _, list := range [][]addr{e.hot, e.deposits} {
			for _, a := range list {
				fmt.Fprintf(&b, "- address: %s\n  label: %s\n", g.keys.address(a), label)
			}
		}
	}
	return b.Bytes(), nil
}

// incidentID is the id of a scenario's incident.
func incidentID(o Options) string {
	return stix.ImportID("incident", source, strconv.FormatInt(o.Seed, 10), strconv.Itoa(o.Txs))
}

// incident writes the STIX bundle of the theft: the incident with its
// loss, the victim it targets, the actor it is attributed to, and the
// seeds' addresses related to it as theft destinations. Everything is
// TLP:GREEN and dated by the theft block, so the same scenario gives the
// same bundle. The victim and the actor have the same ids in every
// scenario.
func (g *gen) incident(t *Truth) ([]byte, error) {
	chainID := t.Chain
	when := stix.FormatTime(t.TheftTime)
	since := stix.FormatTime(scenarioStart)
	seed := strconv.FormatInt(g.opts.Seed, 10)
	var objs []*stix.Object
	var err error
	sdo := func(typ, id, date string, props map[string]any) *stix.Object {
		o := stix.New(typ, id)
		props["spec_version"] = "2.1"
		props["created"] = date
		props["modified"] = date
		props["object_marking_refs"] = []string{stix.TLPGreenID}
		for k, v := range props {
			if e := o.Set(k, v); e != nil && err == nil {
				err = e
			}
		}
		objs = append(objs, o)
		return o
	}
	victim := sdo("identity", stix.ImportID("identity", source, t.Victim), since, map[string]any{
		"name": t.Victim, "identity_class": "organization", "sectors": []string{"financial-services"},
		"description": "A cryptocurrency exchange of cointrail's simulated scenarios.",
	})
	actor := sdo("threat-actor", stix.ImportID("threat-actor", source, t.Actor), since, map[string]any{
		"name": t.Actor, "threat_actor_types": []string{"nation-state"}, "primary_motivation": "personal-gain",
		"description": "The thief of cointrail's simulated scenarios, laundering like the Lazarus Group: peel chains, CoinJoins, fan-outs, exchange deposits.",
	})
	ref := map[string]any{
		"source_name": source,
		"description": fmt.Sprintf("%s --seed %d --txs %d: the theft in block %d", source, g.opts.Seed, g.opts.Txs, t.TheftHeight),
	}
	inc := sdo("incident", t.Incident, when, map[string]any{
		"name": "Theft from " + t.Victim,
		"description": fmt.Sprintf("Simulated theft of %d sat from the hot wallet of %s in %d transaction(s) at height %d of bitcoin-regtest.",
			int64(t.Drained), t.Victim, len(t.TheftTxs), t.TheftHeight),
		"external_references": []any{ref},
	})
	if e := inc.SetExtension(stix.IncidentExtensionID, "property-extension", map[string]any{
		"occurred": when,
		"losses":   []stix.Loss{{Asset: t.Asset, Amount: strconv.FormatInt(int64(t.Drained), 10), Source: source}},
	}); e != nil {
		return nil, e
	}
	sdo("relationship", stix.ImportID("relationship", source, seed, t.Incident, "targets"), when, map[string]any{
		"relationship_type": "targets", "source_ref": inc.ID, "target_ref": victim.ID,
	})
	sdo("relationship", stix.ImportID("relationship", source, seed, t.Incident, "attributed-to"), when, map[string]any{
		"relationship_type": "attributed-to", "source_ref": inc.ID, "target_ref": actor.ID, "confidence": 85,
	})
	seen := map[string]bool{}
	for _, sd := range t.Seeds {
		if seen[sd.Address] {
			continue
		}
		seen[sd.Address] = true
		w := stix.New(stix.TypeCryptocurrencyWallet, stix.TypeCryptocurrencyWallet+"--00000000-0000-4000-8000-000000000000")
		for k, v := range map[string]any{"chain": chainID, "value": sd.Address} {
			if e := w.Set(k, v); e != nil {
				return nil, e
			}
		}
		id, _, e := stix.DeterministicID(w)
		if e != nil {
			return nil, e
		}
		for k, v := range map[string]any{
			"id": id, "spec_version": "2.1", "object_marking_refs": []string{stix.TLPGreenID},
			"extensions": map[string]any{stix.WalletExtensionID: map[string]string{"extension_type": "new-sco"}},
		} {
			if e := w.Set(k, v); e != nil {
				return nil, e
			}
		}
		objs = append(objs, w)
		rel := sdo("relationship", stix.ImportID("relationship", source, seed, t.Incident, "theft-destination", sd.Address), when, map[string]any{
			"relationship_type": "related-to", "source_ref": w.ID, "target_ref": inc.ID,
			"description": "Received stolen funds in the theft.",
		})
		if e := rel.SetExtension(stix.RoleExtensionID, "property-extension", map[string]any{"role": "theft-destination"}); e != nil {
			return nil, e
		}
	}
	if err != nil {
		return nil, err
	}
	bundle := struct {
		Type    string         `json:"type"`
		ID      string         `json:"id"`
		Objects []*stix.Object `json:"objects"`
	}{"bundle", stix.ImportID("bundle", source, seed, strconv.Itoa(g.opts.Txs)), objs}
	data, err := json.MarshalIndent(bundle, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

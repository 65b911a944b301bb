package alert

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/stix"
)

// TestLive follows a theft through a peel chain to a watched deposit
// address, block by block: nothing before the deposit; then one alert per
// watch it concerns, with the amounts under both models and the path; no
// re-run for a block that does not touch the frontier; a new alert for
// the deposit a reorg puts in another transaction.
func TestLive(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	f.incident(t)
	f.apply(t, f.theft()...)

	// The other organisation labels the change address as its own,
	// TLP:AMBER: only it sees the label.
	const otherID = "identity--00000000-0000-4000-8000-0000000000b1"
	wallet := "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000b2"
	f.submit(t, f.other,
		fmt.Sprintf(`{"type":"identity","id":%q,%s,"name":"Other Exchange","identity_class":"organization","object_marking_refs":[%q]}`, otherID, ts, stix.TLPAmberID),
		fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":%q,"value":%q,"object_marking_refs":[%q]}`, wallet, chainID, f.addr["change"], stix.TLPAmberID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000b3",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","category":"exchange"}}}`, ts, wallet, otherID, stix.TLPAmberID, stix.LabelExtensionID),
	)
	dep, err := f.svc.AddWatch(ctx, f.exchange, Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}})
	if err != nil {
		t.Fatal(err)
	}
	high, err := f.svc.AddWatch(ctx, f.exchange, Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}, Min: "600000"})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := f.svc.AddWatch(ctx, f.other, Watch{Chain: chainID, Label: "other EXCHANGE"})
	if err != nil {
		t.Fatal(err)
	}

	l := NewLive(f.svc, f.chain, LiveOptions{})
	if err := l.init(ctx); err != nil {
		t.Fatal(err)
	}
	step := func() {
		t.Helper()
		if err := l.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if got, _ := f.store.Alerts(ctx, Filter{}); len(got) != 0 {
		t.Fatalf("alerts before the deposit: %+v", got)
	}
	states, err := f.store.LiveStates(ctx)
	if err != nil || len(states) != 1 {
		t.Fatalf("live states: %+v, %v", states, err)
	}
	want := []string{h("peel1") + ":1", h("peel2") + ":0", h("peel2") + ":1"}
	if st := states[0]; st.Incident != incidentID || !slices.Equal(st.Frontier, want) || st.Tainted["fifo"] != "900000" || st.Unspent["haircut"] != "898000" {
		t.Errorf("live state: %+v, want frontier %v", st, want)
	}

	f.apply(t, f.deposit("b4"))
	step()
	ex, _ := f.svc.Alerts(ctx, f.exchange, Filter{})
	if len(ex) != 1 {
		t.Fatalf("exchange's alerts: %+v", ex)
	}
	a := ex[0]
	if a.Watch != dep.ID || a.Incident != incidentID || a.IncidentName != "Theft from Exchange V" || len(a.Actors) != 1 || a.Actors[0].Name != "Lazarus Group" ||
		a.Amounts != (Amounts{FIFO: "500000", Haircut: "350000"}) || a.Address != f.addr["deposit"] || a.Tx != h("depositb4") ||
		a.Block != h("b4") || a.BlockHeight != 4 || a.Hops != 3 || a.State != StateNew || a.Asset != "bitcoin-regtest:BTC" ||
		!slices.Equal(a.Path, []string{h("theft"), h("peel1"), h("peel2"), h("depositb4")}) ||
		!slices.Equal(a.Via, []string{f.addr["thief"], f.addr["a1"], f.addr["a2"]}) || a.Delivery != nil {
		t.Errorf("exchange's alert: %+v", a)
	}
	oth, _ := f.svc.Alerts(ctx, f.other, Filter{})
	if len(oth) != 1 || oth[0].Watch != lab.ID || oth[0].Amounts != (Amounts{FIFO: "200000", Haircut: "349300"}) || oth[0].Address != f.addr["change"] {
		t.Errorf("other's alerts: %+v", oth)
	}
	for _, x := range append(ex, oth...) {
		if x.Watch == high.ID {
			t.Errorf("the watch with min 600000 raised %+v", x)
		}
	}

	// The sighting: the exchange's, of the indicator, TLP:AMBER.
	if err := f.svc.recordSightings(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := f.intel.Get(ctx, f.exchange, a.Sighting)
	if err != nil {
		t.Fatal(err)
	}
	sg, _ := rec.Object()
	if sg.String("sighting_of_ref") != indicator || !slices.Equal(sg.Strings("where_sighted_refs"), []string{f.exchange.Org}) ||
		sg.TLP() != stix.TLPAmber || rec.Owner != f.exchange.Org || len(sg.Strings("observed_data_refs")) != 1 {
		b, _ := sg.MarshalJSON()
		t.Errorf("sighting: %s", b)
	}
	if _, err := f.intel.Get(ctx, f.other, a.Sighting); err == nil {
		t.Error("another organisation sees the exchange's sighting")
	}
	if p, _ := f.store.pendingSightings(ctx, 0, 10); len(p) != 0 {
		t.Errorf("sightings pending: %d", len(p))
	}

	// Again: nothing new. A block that touches no frontier runs nothing.
	step()
	runs := l.runs
	f.apply(t, block(5, "b5", "b4", chain.Tx{Hash: h("cb5"), Coinbase: true, Outputs: []chain.Output{out(f.addr["elsewhere"], 50, 0)}},
		chain.Tx{Hash: h("unrelated"), Inputs: []chain.Input{spend(h("cb1"), 0)}, Outputs: []chain.Output{out(f.addr["elsewhere"], 40, 0)}}))
	step()
	if l.runs != runs {
		t.Errorf("an unrelated block re-ran %d traces", l.runs-runs)
	}
	if got, _ := f.store.Alerts(ctx, Filter{}); len(got) != 2 {
		t.Errorf("alerts: %d, want 2", len(got))
	}

	// A reorg replaces block 4 with a deposit in another transaction.
	f.apply(t, f.deposit("b4r"))
	step()
	ex, _ = f.svc.Alerts(ctx, f.exchange, Filter{})
	if len(ex) != 2 || ex[1].Tx != h("depositb4r") || ex[1].Block != h("b4r") || ex[1].Amounts.FIFO != "500000" {
		t.Errorf("after the reorg: %+v", ex)
	}

	// Acknowledged alerts leave the "new" filter.
	if _, err := f.svc.Ack(ctx, f.exchange, ex[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Ack(ctx, f.other, ex[1].ID); err == nil {
		t.Error("another organisation acknowledged the exchange's alert")
	}
	fresh, _ := f.svc.Alerts(ctx, f.exchange, Filter{State: StateNew})
	acked, _ := f.svc.Alerts(ctx, f.exchange, Filter{State: StateAcknowledged})
	if len(fresh) != 1 || fresh[0].ID != ex[1].ID || len(acked) != 1 || acked[0].Acknowledged == nil {
		t.Errorf("new %+v, acknowledged %+v", fresh, acked)
	}
}

// TestLiveVisibility: an organisation that may not see an incident gets
// no alert for it, until it may.
func TestLiveVisibility(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	f.apply(t, f.theft()...)
	f.apply(t, f.deposit("b4"))
	// The operator's incident, TLP:AMBER: the exchange does not see it.
	wallet := "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000c3"
	inc := "incident--00000000-0000-4000-8000-0000000000c1"
	f.submit(t, f.op,
		fmt.Sprintf(`{"type":"incident","id":%q,%s,"name":"Quiet theft","object_marking_refs":[%q]}`, inc, ts, stix.TLPAmberID),
		fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":%q,"value":%q,"object_marking_refs":[%q]}`, wallet, chainID, f.addr["thief"], stix.TLPAmberID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000c4",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}}`, ts, wallet, inc, stix.TLPAmberID, stix.RoleExtensionID),
	)
	if _, err := f.svc.AddWatch(ctx, f.exchange, Watch{Chain: chainID, Addresses: []string{f.addr["deposit"]}}); err != nil {
		t.Fatal(err)
	}
	l := NewLive(f.svc, f.chain, LiveOptions{})
	if err := l.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.step(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Alerts(ctx, Filter{}); len(got) != 0 {
		t.Fatalf("alerts for an incident the exchange may not see: %+v", got)
	}
	// The operator shares the incident with the exchange.
	f.submit(t, f.op, fmt.Sprintf(`{"type":"incident","id":%q,"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-27T00:00:00.000Z","name":"Quiet theft","object_marking_refs":[%q]}`, inc, stix.TLPGreenID))
	if changed, err := l.reread(ctx); !changed || err != nil {
		t.Fatalf("reread: %v %v", changed, err)
	}
	if err := l.step(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.Alerts(ctx, Filter{}); len(got) != 1 || got[0].Incident != inc || got[0].Amounts.FIFO != "500000" {
		t.Fatalf("alerts once shared: %+v", got)
	}
}

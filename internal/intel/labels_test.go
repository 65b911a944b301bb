package intel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// TestLabels checks the wallet-label projection: the label extension on a
// related-to relationship from a wallet to an identity, as each viewer may
// see it.
func TestLabels(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	const (
		exch    = "identity--00000000-0000-4000-8000-0000000000b1"
		wallet1 = "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000b2"
		wallet2 = "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000b3"
	)
	label := func(i int, w, marking, category string, conf int) *stix.Object {
		return obj(t, `{"type":"relationship","id":"relationship--00000000-0000-4000-8000-%012d",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"confidence":%d,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","category":%q,"source":"https://example.org/tags"}}}`,
			i, ts, w, exch, conf, marking, stix.LabelExtensionID, category)
	}
	n.submit(t, n.a,
		obj(t, `{"type":"identity","id":%q,%s,"name":"Exchange A","identity_class":"organization","object_marking_refs":[%q]}`, exch, ts, stix.TLPGreenID),
		obj(t, `{"type":"cryptocurrency-wallet","id":%q,"chain":"bitcoin","value":"1BoatSLRHtKNngkdXEeobR76b53LETtpyT","object_marking_refs":[%q]}`, wallet1, stix.TLPGreenID),
		obj(t, `{"type":"cryptocurrency-wallet","id":%q,"chain":"ethereum","value":"0x098B716B8Aaf21512996dC57EB0615e2383E2f96","object_marking_refs":[%q]}`, wallet2, stix.TLPGreenID),
		label(1, wallet1, stix.TLPGreenID, "exchange", 90),
		label(2, wallet2, stix.TLPAmberID, "exchange", 60),
		// A related-to without the extension is no label.
		obj(t, `{"type":"relationship","id":"relationship--00000000-0000-4000-8000-000000000003",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]}`, ts, wallet1, exch, stix.TLPGreenID),
	)
	for _, tc := range []struct {
		name string
		q    intel.FlagQuery
		as   string
		want []string
	}{
		{"owner, all", intel.FlagQuery{}, "a", []string{"bitcoin 1BoatSLRHtKNngkdXEeobR76b53LETtpyT exchange 90", "ethereum 0x098b716b8aaf21512996dc57eb0615e2383e2f96 exchange 60"}},
		{"owner, one chain", intel.FlagQuery{Chain: "ethereum"}, "a", []string{"ethereum 0x098b716b8aaf21512996dc57eb0615e2383e2f96 exchange 60"}},
		{"owner, by address in another case", intel.FlagQuery{Chain: "ethereum", Address: "0x098B716B8AAF21512996DC57EB0615E2383E2F96"}, "a", []string{"ethereum 0x098b716b8aaf21512996dc57eb0615e2383e2f96 exchange 60"}},
		{"other organisation: not the AMBER label", intel.FlagQuery{}, "b", []string{"bitcoin 1BoatSLRHtKNngkdXEeobR76b53LETtpyT exchange 90"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := n.a
			if tc.as == "b" {
				v = n.b
			}
			ls, err := n.svc.Labels(ctx, v, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ls {
				got = append(got, fmt.Sprintf("%s %s %s %d", l.Chain, l.Address, l.Category, *l.Confidence))
				if l.Entity != "Exchange A" || l.EntityID != exch || l.Source != "https://example.org/tags" || l.Owner != n.a.Org {
					t.Errorf("label %+v", l)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("labels %v, want %v", got, tc.want)
			}
		})
	}
}

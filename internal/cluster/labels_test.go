package cluster_test

import (
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/trace"
)

func TestDerivedConfidence(t *testing.T) {
	for _, tc := range []struct {
		in   *int
		want *int
	}{
		{conf(90), conf(45)},
		{conf(81), conf(40)},
		{conf(1), conf(0)},
		{conf(0), conf(0)},
		{nil, nil},
	} {
		got := cluster.DerivedConfidence(tc.in)
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("DerivedConfidence(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestClusterLabels labels one address of each of mergeChain's clusters
// {a, b, c, d} and {e, f}: the others get the label, halved, with a note.
func TestClusterLabels(t *testing.T) {
	b := mergeChain(t)
	c := cluster.New(b.graph())
	MustUpdate(t, c)
	labels := map[string]trace.Label{
		"c": {Entity: "Exchange A", Category: "exchange", Confidence: conf(80), Source: "tagpack"},
		"d": {Entity: "Someone", Category: "user", Confidence: conf(30)},
		"e": {Entity: "Mixer M", Category: "mixing_service"},
		"h": {Entity: "Shop", Category: "merchant", Confidence: conf(60)},
		// An address the index has never seen: left out.
		"nowhere": {Entity: "Ghost", Category: "exchange", Confidence: conf(100)},
	}
	l, err := cluster.NewLabeler(c, labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr      string
		ok        bool
		entity    string
		via       string
		carrier   string
		conf      *int
		conflicts int
		note      string
	}{
		{"c", true, "Exchange A", cluster.ViaOwn, "c", conf(80), 0, ""},
		{"a", true, "Exchange A", cluster.ViaCluster, "c", conf(40), 1, "via cluster of 4 addresses, label on c; 1 other labelled address of the cluster names another entity"},
		{"d", true, "Someone", cluster.ViaOwn, "d", conf(30), 0, ""},
		{"f", true, "Mixer M", cluster.ViaCluster, "e", nil, 0, "via cluster of 2 addresses, label on e"},
		{"h", true, "Shop", cluster.ViaOwn, "h", conf(60), 0, ""},
		// g is alone; i is an output address only.
		{"g", false, "", "", "", nil, 0, ""},
		{"i", false, "", "", "", nil, 0, ""},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			got, ok := l.LabelOf(b.addr(tc.addr))
			if ok != tc.ok {
				t.Fatalf("LabelOf = %+v, %v", got, ok)
			}
			if !ok {
				return
			}
			if got.Entity != tc.entity || got.Via != tc.via || got.Carrier != tc.carrier || got.Conflicts != tc.conflicts || got.Note != tc.note {
				t.Errorf("LabelOf = %+v", got)
			}
			if (got.Confidence == nil) != (tc.conf == nil) || (got.Confidence != nil && *got.Confidence != *tc.conf) {
				t.Errorf("confidence %v, want %v", got.Confidence, tc.conf)
			}
			if tc.via == cluster.ViaCluster && got.ClusterSize != c.Size(b.addr(tc.addr)) {
				t.Errorf("cluster size %d", got.ClusterSize)
			}
		})
	}
	// The carrier's label is not changed by deriving from it.
	if lab, _ := l.LabelOf(b.addr("c")); *lab.Confidence != 80 || *labels["c"].Confidence != 80 {
		t.Errorf("the carrier's confidence changed: %v", *lab.Confidence)
	}
	// Many labels and a small cluster take the other path through the
	// cluster (its members rather than the labels): the same answer.
	many := map[string]trace.Label{"c": labels["c"]}
	for _, k := range []string{"h", "i", "j", "k", "l", "m", "n", "g"} {
		many[k] = trace.Label{Entity: "Other " + k, Category: "user", Confidence: conf(10)}
	}
	lm, err := cluster.NewLabeler(c, many)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := lm.LabelOf(b.addr("b")); !ok || got.Carrier != "c" || !strings.HasPrefix(got.Note, "via cluster of 4 addresses") || got.Conflicts != 0 {
		t.Errorf("through the members: %+v", got)
	}
}

package intel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cointrail/cointrail/internal/stix"
)

// TestProjectVictimTypes: a victim's types are its entity types, else its
// sectors, else none.
func TestProjectVictimTypes(t *testing.T) {
	n := mustNode(t)
	const inc = "incident--00000000-0000-4000-8000-0000000000b1"
	victims := []struct {
		id, extra string
		want      []string
	}{
		// Entity types win over sectors, lower-cased, each once.
		{"identity--00000000-0000-4000-8000-0000000000b2", `,"x_cointrail_entity_types":["Exchange","wallet provider","exchange"],"sectors":["financial-services"]`, []string{"exchange", "wallet provider"}},
		{"identity--00000000-0000-4000-8000-0000000000b3", `,"sectors":["financial-services","technology"]`, []string{"financial-services", "technology"}},
		{"identity--00000000-0000-4000-8000-0000000000b4", ``, nil},
	}
	objs := []*stix.Object{
		obj(t, `{"type":"incident","id":%q,%s,"name":"Theft","object_marking_refs":[%q]}`, inc, ts, stix.TLPGreenID),
	}
	for i, v := range victims {
		objs = append(objs,
			obj(t, `{"type":"identity","id":%q,%s,"name":"Victim %d","identity_class":"organization","object_marking_refs":[%q]%s}`, v.id, ts, i, stix.TLPGreenID, v.extra),
			obj(t, `{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000c%d",%s,"relationship_type":"targets","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]}`, i, ts, inc, v.id, stix.TLPGreenID))
	}
	n.submit(t, n.a, objs...)
	incs, err := n.svc.Incidents(context.Background(), n.b)
	if err != nil || len(incs) != 1 || len(incs[0].Victims) != len(victims) {
		t.Fatalf("Incidents = %+v, %v", incs, err)
	}
	for i, v := range victims {
		if got := incs[0].Victims[i]; got.ID != v.id || fmt.Sprint(got.Types) != fmt.Sprint(v.want) {
			t.Errorf("victim %s: types %q, want %q", got.ID, got.Types, v.want)
		}
	}
}

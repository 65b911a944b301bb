package httpapi_test

import (
	"context"
	"testing"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// FuzzSubmitBundle feeds arbitrary bodies to bundle submission on a real
// store: a body is either refused with a coded error and nothing stored, or
// stored whole, every object readable back with its canonical JSON.
func FuzzSubmitBundle(f *testing.F) {
	f.Add([]byte(bundle(campaign(1, stix.TLPGreenID))))
	f.Add([]byte(bundle(campaign(1, stix.TLPGreenID), campaign(1, stix.TLPGreenID))))
	f.Add([]byte(bundle(campaign(2, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"))))
	f.Add([]byte(`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-000000000001","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-25T00:00:00.000Z","name":"x"}`))
	f.Add([]byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5","chain":"bitcoin","value":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]}`))
	f.Add([]byte(`{"type":"bundle"`))
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		f.Fatal(err)
	}
	v := access.Viewer{Org: op.ID, Role: access.Contributor}
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := httpapi.ParseObjects(body)
		if err != nil {
			if fault.CodeOf(err) != fault.Malformed {
				t.Fatalf("parse error without the malformed code: %v", err)
			}
			return
		}
		before, err := st.LastAdded(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Submit(ctx, v, objs, intel.SubmitOptions{})
		if err != nil {
			switch fault.CodeOf(err) {
			case fault.Invalid, fault.Forbidden, fault.Conflict:
			default:
				t.Fatalf("submit failed without a caller's code: %v", err)
			}
			if after, _ := st.LastAdded(ctx); after != before {
				t.Fatalf("a refused bundle stored something")
			}
			return
		}
		for i, o := range res.Objects {
			if o.Status != intel.Added && o.Status != intel.Unchanged {
				t.Fatalf("object %d status %q", i, o.Status)
			}
			if _, err := svc.Get(ctx, v, o.ID); err != nil {
				t.Fatalf("stored object %s not readable: %v", o.ID, err)
			}
		}
	})
}

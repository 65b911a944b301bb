package intel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// node is a service on a real SQLite store with an operator and two member
// organisations, a and b.
type node struct {
	svc      *intel.Service
	store    intel.Store
	operator access.Viewer
	a, b     access.Viewer
	anon     access.Viewer
}

func mustNode(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intel.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{store: st, svc: svc, operator: access.Viewer{Org: op.ID, Role: access.Admin}}
	for _, p := range []struct {
		name string
		v    *access.Viewer
	}{{"alpha", &n.a}, {"bravo", &n.b}} {
		org, err := n.svc.CreateOrg(ctx, n.operator, p.name, "")
		if err != nil {
			t.Fatal(err)
		}
		*p.v = access.Viewer{Org: org.ID, Role: access.Contributor}
	}
	return n
}

func obj(t *testing.T, format string, args ...any) *stix.Object {
	t.Helper()
	o, err := stix.Parse([]byte(fmt.Sprintf(format, args...)))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const ts = `"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z"`

func campaign(t *testing.T, id, name, marking string, extra string) *stix.Object {
	t.Helper()
	m := ""
	if marking != "" {
		m = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
	}
	return obj(t, `{"type":"campaign","id":%q,%s,"name":%q%s%s}`, id, ts, name, m, extra)
}

func (n *node) submit(t *testing.T, v access.Viewer, objs ...*stix.Object) *intel.SubmitResult {
	t.Helper()
	res, err := n.svc.Submit(context.Background(), v, objs, intel.SubmitOptions{})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return res
}

func (n *node) visible(t *testing.T, v access.Viewer, id string) bool {
	t.Helper()
	_, err := n.svc.Get(context.Background(), v, id)
	switch {
	case err == nil:
		return true
	case fault.CodeOf(err) == fault.NotFound:
		return false
	}
	t.Fatalf("get %s: %v", id, err)
	return false
}

func wantCode(t *testing.T, err error, code fault.Code, mention string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", code)
	}
	if got := fault.CodeOf(err); got != code {
		t.Fatalf("code = %s, want %s (%v)", got, code, err)
	}
	if mention != "" && !strings.Contains(err.Error(), mention) {
		t.Fatalf("error %q does not mention %q", err, mention)
	}
}

const (
	c1 = "campaign--00000000-0000-4000-8000-000000000001"
	c2 = "campaign--00000000-0000-4000-8000-000000000002"
	c3 = "campaign--00000000-0000-4000-8000-000000000003"
)

// TestSubmitAllOrNothing: one bad object refuses the whole bundle, every
// bad object is named, and nothing is stored.
func TestSubmitAllOrNothing(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	good := campaign(t, c1, "good", stix.TLPGreenID, "")
	bad := obj(t, `{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000009",%s,"pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`, ts)
	wrongRef := campaign(t, c2, "x", "", `,"created_by_ref":"campaign--00000000-0000-4000-8000-000000000001"`)
	res, err := n.svc.Submit(ctx, n.a, []*stix.Object{good, bad, wrongRef}, intel.SubmitOptions{})
	wantCode(t, err, fault.Invalid, `"pattern"`)
	details := fault.DetailsOf(err)
	if len(details) != 2 || details[0].Index != 1 || details[1].Index != 2 || details[1].ID != c2 {
		t.Errorf("details = %+v", details)
	}
	if res.Failed != 2 || res.Added != 0 {
		t.Errorf("result = %+v", res)
	}
	if n.visible(t, n.a, c1) {
		t.Error("the valid object of a refused bundle was stored")
	}
	// Partial mode (TAXII) stores the good one and names the others.
	res, err = n.svc.Submit(ctx, n.a, []*stix.Object{good, bad, wrongRef}, intel.SubmitOptions{Partial: true})
	if err != nil || res.Added != 1 || res.Failed != 2 || res.Objects[1].Status != intel.Failed {
		t.Fatalf("partial: %+v, %v", res, err)
	}
	if !n.visible(t, n.a, c1) {
		t.Error("partial submission did not store the valid object")
	}
}

func TestSubmitRefusals(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	reader := access.Viewer{Org: n.a.Org, Role: access.Reader}
	tests := []struct {
		name    string
		v       access.Viewer
		objs    []*stix.Object
		code    fault.Code
		mention string
	}{
		{"reader writes", reader, []*stix.Object{campaign(t, c1, "x", "", "")}, fault.Forbidden, "reader"},
		{"anonymous writes", n.anon, []*stix.Object{campaign(t, c1, "x", "", "")}, fault.Unauthorized, ""},
		{"forgery", n.a, []*stix.Object{campaign(t, c1, "x", "", fmt.Sprintf(`,"created_by_ref":%q`, n.b.Org))}, fault.Forbidden, "forgery"},
		{"duplicate id", n.a, []*stix.Object{campaign(t, c1, "x", "", ""), campaign(t, c1, "x", "", "")}, fault.Invalid, "duplicate"},
		{"unknown marking", n.a, []*stix.Object{campaign(t, c1, "x", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec", "")}, fault.Invalid, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"},
		{"wrong reference type", n.a, []*stix.Object{obj(t, `{"type":"relationship","id":"relationship--00000000-0000-4000-8000-000000000001",%s,"relationship_type":"uses","source_ref":%q,"target_ref":%q}`, ts, c1, stix.TLPRedID)}, fault.Invalid, "target_ref"},
		{"unknown recipient", n.a, []*stix.Object{campaign(t, c1, "x", stix.TLPAmberID, fmt.Sprintf(`,"extensions":{%q:{"extension_type":"property-extension","recipients":["identity--00000000-0000-4000-8000-0000000000ff"]}}`, stix.SharingExtensionID))}, fault.Invalid, "recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := n.store.LastAdded(ctx)
			_, err := n.svc.Submit(ctx, tt.v, tt.objs, intel.SubmitOptions{})
			wantCode(t, err, tt.code, tt.mention)
			if after, _ := n.store.LastAdded(ctx); after != before {
				t.Error("a refused submission stored something")
			}
		})
	}
	// A forgery and an invalid object together: forbidden wins.
	_, err := n.svc.Submit(ctx, n.a, []*stix.Object{
		campaign(t, c1, "x", "", fmt.Sprintf(`,"created_by_ref":%q`, n.b.Org)),
		obj(t, `{"type":"campaign","id":%q,"spec_version":"2.1","name":"no dates"}`, c2),
	}, intel.SubmitOptions{})
	wantCode(t, err, fault.Forbidden, "forgery")
	// created_by_ref naming the submitter itself, or an outside identity, is fine.
	n.submit(t, n.a, campaign(t, c1, "x", "", fmt.Sprintf(`,"created_by_ref":%q`, n.a.Org)),
		campaign(t, c2, "y", "", `,"created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"`))
}

func TestVersionsAndRevocation(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	v1 := campaign(t, c1, "Operation One", stix.TLPGreenID, "")
	n.submit(t, n.a, v1)
	v2 := v1.Clone()
	v2.Set("modified", "2018-02-01T00:00:00.000Z")
	v2.Set("name", "Operation One, revised")
	if res := n.submit(t, n.a, v2); res.Added != 1 {
		t.Fatalf("v2: %+v", res)
	}
	// Same version again, byte for byte: unchanged.
	if res := n.submit(t, n.a, v1.Clone()); res.Unchanged != 1 || res.Added != 0 {
		t.Errorf("resubmit: %+v", res)
	}
	// Same version, other content: conflict.
	v1b := v1.Clone()
	v1b.Set("name", "tampered")
	_, err := n.svc.Submit(ctx, n.a, []*stix.Object{v1b}, intel.SubmitOptions{})
	wantCode(t, err, fault.Conflict, "different content")
	// Another organisation may not version it.
	v3 := v2.Clone()
	v3.Set("modified", "2018-03-01T00:00:00.000Z")
	_, err = n.svc.Submit(ctx, n.b, []*stix.Object{v3}, intel.SubmitOptions{})
	wantCode(t, err, fault.Forbidden, "provenance names") // Submit stamped v2 with a's provenance
	v3.Delete("extensions")
	_, err = n.svc.Submit(ctx, n.b, []*stix.Object{v3}, intel.SubmitOptions{})
	wantCode(t, err, fault.Forbidden, "owned by another")

	cur, err := n.svc.Get(ctx, n.b, c1)
	if err != nil || !strings.Contains(string(cur.Data), "revised") {
		t.Fatalf("Get = %s, %v", cur.Data, err)
	}
	vs, err := n.svc.Versions(ctx, n.b, c1)
	if err != nil || len(vs) != 2 {
		t.Fatalf("Versions = %d, %v", len(vs), err)
	}
	// An older version arriving late does not become current.
	v0 := v1.Clone()
	v0.Set("modified", "2018-01-25T12:00:00.000Z")
	v0.Set("created", "2018-01-25T00:00:00.000Z")
	v0.Set("name", "older")
	n.submit(t, n.a, v0)
	if cur, _ := n.svc.Get(ctx, n.a, c1); !strings.Contains(string(cur.Data), "revised") {
		t.Errorf("an older version became current: %s", cur.Data)
	}

	if _, err := n.svc.Revoke(ctx, n.b, c1); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("revoke by another organisation: %v", err)
	}
	rev, err := n.svc.Revoke(ctx, n.a, c1)
	if err != nil || !rev.Revoked {
		t.Fatalf("Revoke = %+v, %v", rev, err)
	}
	page, _ := n.svc.List(ctx, n.a, intel.ListQuery{Types: []string{"campaign"}})
	if len(page.Records) != 0 {
		t.Errorf("a revoked object is listed by default")
	}
	page, _ = n.svc.List(ctx, n.a, intel.ListQuery{Types: []string{"campaign"}, IncludeRevoked: true})
	if len(page.Records) != 1 {
		t.Errorf("include_revoked lists %d", len(page.Records))
	}
	v9 := v2.Clone()
	v9.Set("modified", "2030-01-01T00:00:00.000Z")
	_, err = n.svc.Submit(ctx, n.a, []*stix.Object{v9}, intel.SubmitOptions{})
	wantCode(t, err, fault.Conflict, "revoked")
}

func sharing(t *testing.T, recipients ...string) string {
	t.Helper()
	q := make([]string, len(recipients))
	for i, r := range recipients {
		q[i] = fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf(`,"extensions":{%q:{"extension_type":"property-extension","recipients":[%s]}}`, stix.SharingExtensionID, strings.Join(q, ","))
}

func TestVisibility(t *testing.T) {
	n := mustNode(t)
	ids := map[string]string{
		"clear":         "campaign--00000000-0000-4000-8000-0000000000c1",
		"green":         "campaign--00000000-0000-4000-8000-0000000000c2",
		"amber":         "campaign--00000000-0000-4000-8000-0000000000c3",
		"amber-shared":  "campaign--00000000-0000-4000-8000-0000000000c4",
		"red-shared":    "campaign--00000000-0000-4000-8000-0000000000c5",
		"unmarked":      "campaign--00000000-0000-4000-8000-0000000000c6",
		"strict-shared": "campaign--00000000-0000-4000-8000-0000000000c7",
	}
	n.submit(t, n.a,
		campaign(t, ids["clear"], "c", stix.TLPClearID, ""),
		campaign(t, ids["green"], "g", stix.TLPGreenID, ""),
		campaign(t, ids["amber"], "a", stix.TLPAmberID, ""),
		campaign(t, ids["amber-shared"], "as", stix.TLPAmberID, sharing(t, n.b.Org)),
		campaign(t, ids["red-shared"], "rs", stix.TLP1RedID, sharing(t, n.b.Org)),
		campaign(t, ids["unmarked"], "u", "", ""),
		campaign(t, ids["strict-shared"], "ss", stix.OpenCTIAmberStrictID, sharing(t, n.b.Org)),
	)
	want := map[string][3]bool{ // a, b, anonymous
		"clear":         {true, true, true},
		"green":         {true, true, false},
		"amber":         {true, false, false},
		"amber-shared":  {true, true, false},
		"red-shared":    {true, true, false},
		"unmarked":      {true, false, false},
		"strict-shared": {true, true, false},
	}
	for name, w := range want {
		for i, v := range []access.Viewer{n.a, n.b, n.anon} {
			if got := n.visible(t, v, ids[name]); got != w[i] {
				t.Errorf("%s seen by viewer %d = %v, want %v", name, i, got, w[i])
			}
		}
	}
	// The listing agrees with Get for each viewer.
	for i, v := range []access.Viewer{n.a, n.b, n.anon} {
		page, err := n.svc.List(context.Background(), v, intel.ListQuery{Types: []string{"campaign"}})
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, w := range want {
			if w[i] {
				count++
			}
		}
		if len(page.Records) != count {
			t.Errorf("viewer %d lists %d campaigns, want %d", i, len(page.Records), count)
		}
	}
	// TLP 1.0 and OpenCTI ids were stored as TLP 2.0 ones.
	rec, _ := n.svc.Get(context.Background(), n.a, ids["red-shared"])
	if !bytes.Contains(rec.Data, []byte(stix.TLPRedID)) || rec.TLP != stix.TLPRed {
		t.Errorf("red marking not mapped: %s", rec.Data)
	}
}

// TestObservableHoldings: two organisations flag the same wallet, each with
// its own marking; each sees its own holding.
func TestObservableHoldings(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	wallet := func(marking string) *stix.Object {
		o := obj(t, `{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5","chain":"bitcoin","value":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa","object_marking_refs":[%q]}`, marking)
		return o
	}
	n.submit(t, n.a, wallet(stix.TLPAmberID))
	if n.visible(t, n.b, "cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5") {
		t.Fatal("b sees a's AMBER holding")
	}
	n.submit(t, n.b, wallet(stix.TLPGreenID))
	rec, err := n.svc.Get(ctx, n.a, "cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b5")
	if err != nil || rec.Owner != n.a.Org {
		t.Fatalf("a's view: %+v, %v", rec, err)
	}
	page, _ := n.svc.List(ctx, n.a, intel.ListQuery{Types: []string{stix.TypeCryptocurrencyWallet}})
	if len(page.Records) != 1 {
		t.Errorf("a lists the wallet %d times, want once", len(page.Records))
	}
	// A bad checksum is refused with the address named.
	bad := obj(t, `{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--b561d849-43b6-5f0f-ad21-028427a2b0b6","chain":"bitcoin","value":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"}`)
	_, err = n.svc.Submit(ctx, n.a, []*stix.Object{bad}, intel.SubmitOptions{})
	wantCode(t, err, fault.Invalid, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")
}

// TestPagination pages through a mixed-visibility store with small pages:
// every visible object comes exactly once, in date_added order.
func TestPagination(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	var batch []*stix.Object
	visibleToB := map[string]bool{}
	for i := range 250 {
		id := fmt.Sprintf("campaign--00000000-0000-4000-8000-%012d", i+100)
		marking := stix.TLPGreenID
		if i%3 == 0 {
			marking = stix.TLPAmberID
		} else {
			visibleToB[id] = true
		}
		batch = append(batch, campaign(t, id, fmt.Sprintf("Campaign %d", i), marking, ""))
	}
	n.submit(t, n.a, batch...)
	seen := map[string]bool{}
	var last int64
	q := intel.ListQuery{Types: []string{"campaign"}, Limit: 7}
	pages := 0
	for {
		page, err := n.svc.List(ctx, n.b, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Records {
			if seen[r.ID] {
				t.Fatalf("%s listed twice", r.ID)
			}
			if r.DateAdded <= last {
				t.Fatalf("date_added not increasing: %d after %d", r.DateAdded, last)
			}
			last = r.DateAdded
			seen[r.ID] = true
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if len(seen) != len(visibleToB) {
		t.Errorf("b paged through %d campaigns, want %d", len(seen), len(visibleToB))
	}
	for id := range seen {
		if !visibleToB[id] {
			t.Errorf("b saw %s", id)
		}
	}
	if pages < len(visibleToB)/7 {
		t.Errorf("only %d pages", pages)
	}
	// added_after keeps later records only.
	mid := time.UnixMicro(last - 1)
	page, err := n.svc.List(ctx, n.b, intel.ListQuery{Types: []string{"campaign"}, AddedAfter: mid})
	if err != nil || len(page.Records) != 1 {
		t.Errorf("added_after: %d records, %v", len(page.Records), err)
	}
	// Text search: name, any case.
	page, _ = n.svc.List(ctx, n.b, intel.ListQuery{Text: "CAMPAIGN 101"})
	if len(page.Records) != 1 || !strings.Contains(string(page.Records[0].Data), "Campaign 101") {
		t.Errorf("text search found %d", len(page.Records))
	}
	if _, err := n.svc.List(ctx, n.b, intel.ListQuery{Cursor: "garbage!"}); fault.CodeOf(err) != fault.Malformed {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestAudit(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	n.submit(t, n.a, campaign(t, c1, "amber", stix.TLPAmberID, sharing(t, n.b.Org)), campaign(t, c2, "green", stix.TLPGreenID, ""))
	if _, err := n.svc.Get(ctx, n.b, c1); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Get(ctx, n.b, c2); err != nil {
		t.Fatal(err)
	}
	entries, err := n.svc.Audit(ctx, n.operator, intel.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var submits, readsAmber, readsGreen int
	for _, e := range entries {
		switch {
		case e.Action == "submit" && e.Org == n.a.Org:
			submits++
		case e.Action == "read" && e.Object == c1 && e.Org == n.b.Org:
			readsAmber++
		case e.Action == "read" && e.Object == c2:
			readsGreen++
		}
	}
	if submits != 2 || readsAmber != 1 || readsGreen != 0 {
		t.Errorf("submits %d, amber reads %d, green reads %d; want 2, 1, 0", submits, readsAmber, readsGreen)
	}
	if _, err := n.svc.Audit(ctx, n.a, intel.AuditQuery{}); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("a contributor read the audit log: %v", err)
	}
}

func TestDefaultTLP(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	_, err := n.svc.Submit(ctx, n.a, []*stix.Object{campaign(t, c1, "x", "", ""), campaign(t, c2, "y", stix.TLPClearID, "")}, intel.SubmitOptions{DefaultTLP: stix.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := n.svc.Get(ctx, n.a, c1)
	r2, _ := n.svc.Get(ctx, n.a, c2)
	if r1.TLP != stix.TLPRed || r2.TLP != stix.TLPClear {
		t.Errorf("TLPs = %v, %v; want red (applied), clear (kept)", r1.TLP, r2.TLP)
	}
}

// TestSharedBundles stores every official example bundle and reads every
// object back with the canonical JSON it went in with.
func TestSharedBundles(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	for _, path := range sharedtest.Glob(t, "stix/*.json") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) == "interop-objectmarking-test.json" {
			o, _ := stix.Parse(data)
			_, err := n.svc.Submit(ctx, n.a, []*stix.Object{o}, intel.SubmitOptions{})
			wantCode(t, err, fault.Invalid, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec")
			continue
		}
		b, err := stix.ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]byte{}
		for _, o := range b.Objects {
			c, _ := o.Canonical()
			want[o.ID] = c
		}
		if _, err := n.svc.Submit(ctx, n.a, b.Objects, intel.SubmitOptions{}); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		for id, c := range want {
			rec, err := n.svc.Get(ctx, n.a, id)
			if err != nil {
				t.Fatalf("%s: get %s: %v", filepath.Base(path), id, err)
			}
			if got := withoutProvenance(t, rec, n.a.Org); !bytes.Equal(got, c) {
				t.Errorf("%s: %s changed:\n got %s\nwant %s", filepath.Base(path), id, got, c)
			}
		}
	}
}

func TestProjections(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	const (
		inc    = "incident--00000000-0000-4000-8000-0000000000a1"
		actor  = "threat-actor--00000000-0000-4000-8000-0000000000a2"
		victim = "identity--00000000-0000-4000-8000-0000000000a3"
		loc    = "location--00000000-0000-4000-8000-0000000000a4"
		wallet = "cryptocurrency-wallet--cd4967a9-0067-5446-990f-32b0de26fa4a"
	)
	rel := func(i int, typ, src, dst, extra string) *stix.Object {
		return obj(t, `{"type":"relationship","id":"relationship--00000000-0000-4000-8000-%012d",%s,"relationship_type":%q,"source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]%s}`, i, ts, typ, src, dst, stix.TLPGreenID, extra)
	}
	n.submit(t, n.a,
		obj(t, `{"type":"incident","id":%q,%s,"name":"Exchange theft","labels":["wallet hack"],"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","occurred":"2018-01-26T00:00:00.000Z","losses":[{"asset":"nem:XEM","amount":"523000000000000","usd":"530000000.00","source":"UN"},{"asset":"bitcoin:BTC","amount":"100000000","usd":"0.50","source":"x"}]}}}`, inc, ts, stix.TLPGreenID, stix.IncidentExtensionID),
		obj(t, `{"type":"threat-actor","id":%q,%s,"name":"Lazarus Group","aliases":["APT38"],"object_marking_refs":[%q]}`, actor, ts, stix.TLPClearID),
		obj(t, `{"type":"identity","id":%q,%s,"name":"Coincheck","identity_class":"organization","object_marking_refs":[%q]}`, victim, ts, stix.TLPGreenID),
		obj(t, `{"type":"location","id":%q,%s,"country":"JP","object_marking_refs":[%q]}`, loc, ts, stix.TLPGreenID),
		obj(t, `{"type":"cryptocurrency-wallet","id":%q,"chain":"ethereum","value":"0x098b716b8aaf21512996dc57eb0615e2383e2f96","object_marking_refs":[%q]}`, wallet, stix.TLPGreenID),
		rel(1, "attributed-to", inc, actor, `,"confidence":70`),
		rel(2, "targets", inc, victim, ""),
		rel(3, "located-at", victim, loc, ""),
		rel(4, "related-to", wallet, inc, fmt.Sprintf(`,"extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}`, stix.RoleExtensionID)),
		obj(t, `{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000a5",%s,"pattern":"[cryptocurrency-wallet:value = '0x098B716B8Aaf21512996dC57EB0615e2383E2f96' AND cryptocurrency-wallet:chain = 'ethereum']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","indicator_types":["malicious-activity"],"object_marking_refs":[%q]}`, ts, stix.TLPAmberID),
	)
	incs, err := n.svc.Incidents(ctx, n.b)
	if err != nil || len(incs) != 1 {
		t.Fatalf("Incidents = %+v, %v", incs, err)
	}
	got := incs[0]
	if got.LossUSD != "530000000.50" || got.Date != "2018-01-26T00:00:00.000Z" || len(got.Actors) != 1 || got.Actors[0].Name != "Lazarus Group" ||
		*got.Actors[0].Confidence != 70 || len(got.Victims) != 1 || got.Victims[0].Country != "JP" || len(got.Wallets) != 1 {
		t.Errorf("incident = %+v", got)
	}
	if !slices.Equal(got.Labels, []string{"wallet hack"}) {
		t.Errorf("labels = %q, want [wallet hack]", got.Labels)
	}
	if js, _ := json.Marshal(got); strings.Contains(string(js), "wallet hack") {
		t.Errorf("labels leak into the incident's JSON: %s", js)
	}
	flags, err := n.svc.Flags(ctx, n.a, intel.FlagQuery{Chain: "ethereum", Address: "0x098B716B8AAF21512996DC57EB0615E2383E2F96"})
	if err != nil || len(flags) != 1 || len(flags[0].Flags) != 2 {
		t.Fatalf("a's flags = %+v, %v", flags, err)
	}
	// b does not see a's AMBER indicator: one flag only.
	flags, _ = n.svc.Flags(ctx, n.b, intel.FlagQuery{})
	if len(flags) != 1 || len(flags[0].Flags) != 1 || flags[0].Flags[0].Category != "theft-destination" {
		t.Errorf("b's flags = %+v", flags)
	}
}

func TestOrgsAndTokens(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	if _, err := n.svc.CreateOrg(ctx, n.operator, "alpha", ""); fault.CodeOf(err) != fault.Conflict {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := n.svc.CreateOrg(ctx, n.a, "charlie", ""); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("a contributor created an organisation: %v", err)
	}
	remote, err := n.svc.CreateOrg(ctx, n.operator, "peer-org", "identity--7d1b5e3f-2b1c-4a4e-9b7a-3f0c2d1e4a5b")
	if err != nil || remote.Local || remote.ID != "identity--7d1b5e3f-2b1c-4a4e-9b7a-3f0c2d1e4a5b" {
		t.Fatalf("register: %+v, %v", remote, err)
	}
	tok, secret, err := n.svc.CreateToken(ctx, n.operator, n.a.Org, access.Reader, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v, err := n.svc.Authenticate(ctx, secret)
	if err != nil || v.Org != n.a.Org || v.Role != access.Reader || v.TokenID != tok.ID {
		t.Fatalf("Authenticate = %+v, %v", v, err)
	}
	// An admin of a member organisation manages its own tokens only.
	aAdmin := access.Viewer{Org: n.a.Org, Role: access.Admin}
	if _, _, err := n.svc.CreateToken(ctx, aAdmin, n.b.Org, access.Admin, 0); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("a's admin made a token for b: %v", err)
	}
	if _, err := n.svc.RevokeToken(ctx, aAdmin, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Authenticate(ctx, secret); fault.CodeOf(err) != fault.Unauthorized {
		t.Errorf("revoked token still works: %v", err)
	}
}

// TestImportHelpers: a source re-imported with a later date adds nothing
// that did not change, and what it no longer lists is revoked.
func TestImportHelpers(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	const source = "identity--6a2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	entry := func(id, name, modified string) *stix.Object {
		return obj(t, `{"type":"campaign","id":%q,"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":%q,"name":%q,"created_by_ref":%q,"object_marking_refs":[%q]}`,
			id, modified, name, source, stix.TLPClearID)
	}
	first := []*stix.Object{entry(c1, "one", "2024-05-03T00:00:00.000Z"), entry(c2, "two", "2024-05-03T00:00:00.000Z")}
	if _, err := n.svc.Submit(ctx, n.a, first, intel.SubmitOptions{SkipSameContent: true}); err != nil {
		t.Fatal(err)
	}
	// The next list: one unchanged, one changed, one new; c2 gone.
	next := []*stix.Object{entry(c1, "one", "2024-06-01T00:00:00.000Z"), entry(c3, "three", "2024-06-01T00:00:00.000Z")}
	res, err := n.svc.Submit(ctx, n.a, next, intel.SubmitOptions{SkipSameContent: true})
	if err != nil || res.Unchanged != 1 || res.Added != 1 {
		t.Fatalf("second list: %+v, %v", res, err)
	}
	revoked, err := n.svc.RevokeMissing(ctx, n.a, source, map[string]bool{c1: true, c3: true})
	if err != nil || len(revoked) != 1 || revoked[0] != c2 {
		t.Fatalf("RevokeMissing = %v, %v", revoked, err)
	}
	if rec, _ := n.svc.Get(ctx, n.a, c2); !rec.Revoked {
		t.Error("c2 not revoked")
	}
	// Nothing else to revoke the second time; b's objects are never touched.
	if again, err := n.svc.RevokeMissing(ctx, n.a, source, map[string]bool{c1: true, c3: true}); err != nil || len(again) != 0 {
		t.Errorf("second RevokeMissing = %v, %v", again, err)
	}
	if vs, _ := n.svc.Versions(ctx, n.a, c1); len(vs) != 1 {
		t.Errorf("unchanged entry got %d versions", len(vs))
	}
}

// withoutProvenance returns the canonical JSON of a stored object without
// the provenance extension the node adds, after checking that it names
// owner.
func withoutProvenance(t *testing.T, rec *intel.Record, owner string) []byte {
	t.Helper()
	o, err := rec.Object()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := o.Provenance(); got != owner {
		t.Errorf("%s: provenance owner %q, want %q", rec.ID, got, owner)
	}
	var exts map[string]json.RawMessage
	o.Decode("extensions", &exts)
	delete(exts, stix.ProvenanceExtensionID)
	if len(exts) == 0 {
		o.Delete("extensions")
	} else {
		o.Set("extensions", exts)
	}
	c, err := o.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportSharedFacts: two organisations import the same public source;
// the second keeps the first's identical objects instead of failing.
func TestImportSharedFacts(t *testing.T) {
	n := mustNode(t)
	ctx := context.Background()
	const source = "identity--6a2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	src := func() *stix.Object {
		return obj(t, `{"type":"identity","id":%q,"spec_version":"2.1","created":"2024-05-03T00:00:00.000Z","modified":"2024-05-03T00:00:00.000Z","name":"OFAC","object_marking_refs":[%q]}`, source, stix.TLPClearID)
	}
	if _, err := n.svc.Submit(ctx, n.a, []*stix.Object{src()}, intel.SubmitOptions{SkipSameContent: true}); err != nil {
		t.Fatal(err)
	}
	res, err := n.svc.Submit(ctx, n.b, []*stix.Object{src()}, intel.SubmitOptions{SkipSameContent: true})
	if err != nil || res.Unchanged != 1 {
		t.Fatalf("b's import of the same identity: %+v, %v", res, err)
	}
	// Without the importer's option, it is another organisation's object.
	if _, err := n.svc.Submit(ctx, n.b, []*stix.Object{src()}, intel.SubmitOptions{}); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("plain submit: %v", err)
	}
	// Different content is still refused.
	other := src()
	other.Set("name", "not OFAC")
	other.Set("modified", "2024-06-01T00:00:00.000Z")
	if _, err := n.svc.Submit(ctx, n.b, []*stix.Object{other}, intel.SubmitOptions{SkipSameContent: true}); fault.CodeOf(err) != fault.Forbidden {
		t.Errorf("different content: %v", err)
	}
}

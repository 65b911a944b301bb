package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// model is the intel.Store object and state rules in a few lines of
// memory: what every store must agree with.
type model struct {
	recs []intel.Record // DateAdded order
	// last is the last DateAdded handed out: deleting records does not
	// take it back.
	last  int64
	state map[string]string
}

func (m *model) clone() *model {
	return &model{recs: slices.Clone(m.recs), last: m.last, state: maps.Clone(m.state)}
}

// lastAdded is Store.LastAdded: the greatest DateAdded stored.
func (m *model) lastAdded() int64 {
	if len(m.recs) == 0 {
		return 0
	}
	return m.recs[len(m.recs)-1].DateAdded
}

// delete applies Tx.Delete's rules.
func (m *model) delete(id, owner string, versions []string) int {
	var keep []intel.Record
	n := 0
	for _, r := range m.recs {
		if r.ID == id && r.Owner == owner && (len(versions) == 0 || slices.Contains(versions, r.Version)) {
			n++
			continue
		}
		keep = append(keep, r)
	}
	m.recs = keep
	// Latest anew on what remains of id: the greatest Version, each
	// owner's last holding.
	greatest, last := "", map[string]int64{}
	for _, r := range m.recs {
		if r.ID == id && r.Version != "" {
			greatest = max(greatest, r.Version)
		} else if r.ID == id {
			last[r.Owner] = r.DateAdded
		}
	}
	for i := range m.recs {
		if r := &m.recs[i]; r.ID == id {
			r.Latest = r.Version != "" && r.Version == greatest || r.Version == "" && r.DateAdded == last[r.Owner]
		}
	}
	return n
}

// setState applies Tx.SetState's rules.
func (m *model) setState(key, value string) {
	if m.state == nil {
		m.state = map[string]string{}
	}
	if value == "" {
		delete(m.state, key)
	} else {
		m.state[key] = value
	}
}

// states is Store.States.
func (m *model) states(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m.state {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// insert applies Tx.Insert's rules at clock now (µs).
func (m *model) insert(r *intel.Record, now int64) error {
	latest := true
	if r.Version != "" {
		for _, o := range m.recs {
			if o.ID != r.ID || o.Version == "" {
				continue
			}
			if o.Version == r.Version {
				return fault.New(fault.Conflict, "duplicate %s %s", r.ID, r.Version)
			}
			if o.Version > r.Version {
				latest = false
			}
		}
	}
	if latest {
		for i := range m.recs {
			o := &m.recs[i]
			if o.ID == r.ID && (r.Version != "" && o.Version != "" || r.Version == "" && o.Version == "" && o.Owner == r.Owner) {
				o.Latest = false
			}
		}
	}
	m.last = max(now, m.last+1)
	r.DateAdded, r.Latest = m.last, latest
	c := *r
	c.Recipients = slices.Clone(r.Recipients)
	if len(c.Recipients) == 0 {
		c.Recipients = nil
	}
	c.Data = slices.Clone(r.Data)
	m.recs = append(m.recs, c)
	return nil
}

func (m *model) versions(id string) []intel.Record {
	var out []intel.Record
	for _, r := range m.recs {
		if r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// query applies intel.Query's filters, VisibleTo as the pre-filter the
// stores implement.
func (m *model) query(q intel.Query) []intel.Record {
	var out []intel.Record
	for _, r := range m.recs {
		switch {
		case len(q.Types) > 0 && !slices.Contains(q.Types, r.Type),
			len(q.IDs) > 0 && !slices.Contains(q.IDs, r.ID),
			r.DateAdded <= q.After,
			q.Before != 0 && r.DateAdded >= q.Before,
			!strings.Contains(r.Text, q.Text),
			q.Latest && !r.Latest,
			q.ExcludeRevoked && r.Revoked,
			q.VisibleTo != nil && !preVisible(*q.VisibleTo, r):
			continue
		}
		out = append(out, r)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out
}

// preVisible is the VisibleTo pre-filter of intel.Query.
func preVisible(v access.Viewer, r intel.Record) bool {
	if r.TLP == stix.TLPClear {
		return true
	}
	if v.Anonymous() {
		return false
	}
	return r.TLP == stix.TLPGreen || r.Owner == v.Org || slices.Contains(r.Recipients, v.Org)
}

// Seed returns the seed of the random operations test: $COINTRAIL_STORE_SEED
// if set, else a fixed one, so that every store replays the same operations.
func Seed(tb testing.TB) uint64 {
	tb.Helper()
	if s := os.Getenv("COINTRAIL_STORE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("COINTRAIL_STORE_SEED: %v", err)
		}
		return n
	}
	return 20240329
}

// errAbort is what a random Update's fn returns to roll back.
var errAbort = errors.New("storetest: abort")

// testRandom replays a seeded sequence of Updates (inserts, conflicts,
// deletes, state writes, rollbacks) and reads against the store and the
// model, which must give identical results.
func testRandom(t *testing.T, f Factory) {
	ctx := context.Background()
	seed := Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	clock := NewClock(epoch)
	st, reopen := MustOpen(t, f, Config{Now: clock.Now})
	m := &model{}

	ids := []string{
		"indicator--eeeeeeee-0000-4000-8000-000000000001",
		"indicator--eeeeeeee-0000-4000-8000-000000000002",
		"threat-actor--eeeeeeee-0000-4000-8000-000000000003",
		"incident--eeeeeeee-0000-4000-8000-000000000004",
		"relationship--eeeeeeee-0000-4000-8000-000000000005",
		"cryptocurrency-wallet--eeeeeeee-0000-5000-8000-000000000006",
		"cryptocurrency-wallet--eeeeeeee-0000-5000-8000-000000000007",
		"marking-definition--eeeeeeee-0000-4000-8000-000000000008",
	}
	unversioned := func(id string) bool {
		return strings.HasPrefix(id, "cryptocurrency-wallet--") || strings.HasPrefix(id, "marking-definition--")
	}
	owners := []string{orgA, orgB, orgC}
	stateKeys := []string{"peer/alpha", "peer/bravo", "peers", "cursor/pull/alpha/c1", "cursor/pull/alpha/c2",
		"cursor/pull/alphabet/c1", "a_b", "a%b", "aXb", "x\uffff", "x\U0010FFFF", "x\U0010FFFFy"}
	statePrefixes := []string{"", "peer", "peer/", "cursor/pull/alpha/", "cursor/pull/alpha", "cursor/",
		"a_", "a%", "x", "x\uffff", "x\U0010FFFF", "zzz"}
	words := []string{"lazarus", "apt38", "bluenoroff", "ronin", "harmony", "100%", "x_y", "北朝鮮", "bc1q"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	randomRecord := func() *intel.Record {
		id := pick(ids)
		ver := ""
		if !unversioned(id) {
			ver = version(rng.IntN(12))
		}
		r := newRecord(id, ver, pick(owners), stix.TLP(rng.IntN(6)))
		for range rng.IntN(3) {
			r.Recipients = append(r.Recipients, pick(owners))
		}
		r.Local = rng.IntN(4) != 0
		r.Revoked = rng.IntN(8) == 0
		r.Text = pick(words) + " " + pick(words)
		r.Data = fmt.Appendf(nil, `{"id":%q,"n":%d,"s":"%s ☠"}`, id, rng.Int64(), r.Text)
		return r
	}
	randomVersions := func() []string {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return []string{}
		case 2:
			return []string{"", version(rng.IntN(12))}
		}
		var vs []string
		for range 1 + rng.IntN(3) {
			vs = append(vs, version(rng.IntN(12)))
		}
		return vs
	}
	randomQuery := func() intel.Query {
		var q intel.Query
		if rng.IntN(3) == 0 {
			for range 1 + rng.IntN(2) {
				typ, _, _ := strings.Cut(pick(ids), "--")
				q.Types = append(q.Types, typ)
			}
		}
		if rng.IntN(4) == 0 {
			for range 1 + rng.IntN(3) {
				q.IDs = append(q.IDs, pick(ids))
			}
		}
		if len(m.recs) > 0 && rng.IntN(3) == 0 {
			lo := m.recs[0].DateAdded
			q.After = lo - 5 + rng.Int64N(m.last-lo+10)
		}
		if len(m.recs) > 0 && rng.IntN(4) == 0 {
			lo := m.recs[0].DateAdded
			q.Before = lo - 5 + rng.Int64N(m.last-lo+10)
		}
		if rng.IntN(4) == 0 {
			q.Text = pick(words)
			if rng.IntN(2) == 0 {
				q.Text = q.Text[:1+rng.IntN(len(q.Text))]
				if !utf8Valid(q.Text) {
					q.Text = "x"
				}
			}
		}
		q.Latest = rng.IntN(2) == 0
		q.ExcludeRevoked = rng.IntN(3) == 0
		switch rng.IntN(4) {
		case 0:
			q.VisibleTo = &access.Viewer{}
		case 1:
			q.VisibleTo = &access.Viewer{Org: pick(append(owners, orgD)), Role: access.Reader}
		}
		if rng.IntN(2) == 0 {
			q.Limit = 1 + rng.IntN(10)
		}
		return q
	}

	const ops = 400
	deleted := 0 // records deleted, committed or not
	for op := range ops {
		switch k := rng.IntN(10); {
		case k < 5: // an Update
			switch rng.IntN(4) {
			case 0:
				clock.Add(-time.Duration(rng.IntN(1000)) * time.Microsecond)
			case 1:
				clock.Add(time.Duration(rng.IntN(1000)) * time.Microsecond)
			}
			now := clock.Now().UnixMicro()
			n := 1 + rng.IntN(6)
			var recs []*intel.Record
			for range n {
				recs = append(recs, randomRecord())
			}
			onConflictAbort := rng.IntN(2) == 0
			abort := rng.IntN(6) == 0
			// Reads inside the transaction, before some inserts.
			readBefore := make([]string, len(recs))
			for i := range recs {
				if rng.IntN(2) == 0 {
					readBefore[i] = pick(ids)
				}
			}
			next := m.clone()
			var wantErrs []error
			// Deletes and state writes before some inserts.
			type deletion struct {
				id, owner string
				versions  []string
			}
			deleteBefore := make([]*deletion, len(recs))
			setBefore := make([][2]string, len(recs))
			for i := range recs {
				if rng.IntN(8) == 0 {
					deleteBefore[i] = &deletion{pick(ids), pick(owners), randomVersions()}
				}
				if rng.IntN(4) == 0 {
					value := ""
					if rng.IntN(3) != 0 {
						value = fmt.Sprintf("value %d ☠", rng.IntN(100))
					}
					setBefore[i] = [2]string{pick(stateKeys), value}
				}
			}
			var failure error // a difference found inside fn
			err := st.Update(ctx, func(tx intel.Tx) error {
				for i, r := range recs {
					if d := deleteBefore[i]; d != nil {
						n, err := tx.Delete(ctx, d.id, d.owner, d.versions)
						if err != nil {
							failure = fmt.Errorf("Tx.Delete(%s, %s, %q) before insert %d: %w", d.id, d.owner, d.versions, i, err)
							return failure
						}
						if want := next.delete(d.id, d.owner, d.versions); n != want {
							failure = fmt.Errorf("Tx.Delete(%s, %s, %q) before insert %d = %d, model %d", d.id, d.owner, d.versions, i, n, want)
							return failure
						}
						deleted += n
					}
					if kv := setBefore[i]; kv[0] != "" {
						if err := tx.SetState(ctx, kv[0], kv[1]); err != nil {
							failure = fmt.Errorf("Tx.SetState(%q, %q) before insert %d: %w", kv[0], kv[1], i, err)
							return failure
						}
						next.setState(kv[0], kv[1])
					}
					if id := readBefore[i]; id != "" {
						got, err := tx.Versions(ctx, id)
						if err != nil {
							return err
						}
						if d := diffRecords(got, next.versions(id)); d != "" {
							failure = fmt.Errorf("Tx.Versions(%s) before insert %d differs from the model:%s", id, i, d)
							return failure
						}
					}
					got, want := *r, *r
					err := tx.Insert(ctx, &got)
					wantErr := next.insert(&want, now)
					wantErrs = append(wantErrs, wantErr)
					if fault.CodeOf(err) != fault.CodeOf(wantErr) {
						failure = fmt.Errorf("insert %d (%s): error %v, model says %v", i, describe(*r), err, wantErr)
						return failure
					}
					if err != nil {
						if fault.CodeOf(err) != fault.Conflict || onConflictAbort {
							return err
						}
						continue
					}
					if !sameRecord(got, want) {
						failure = fmt.Errorf("insert %d: Insert left\n  %s\nmodel\n  %s", i, describe(got), describe(want))
						return failure
					}
				}
				if abort {
					return errAbort
				}
				return nil
			})
			if failure != nil {
				t.Fatalf("op %d: %v", op, failure)
			}
			failed := false
			for _, e := range wantErrs {
				failed = failed || e != nil
			}
			committed := !abort && !(failed && onConflictAbort)
			if committed != (err == nil) {
				t.Fatalf("op %d: Update returned %v, want committed=%v", op, err, committed)
			}
			if committed {
				m = next
			}
		case k < 8:
			q := randomQuery()
			got := mustQuery(t, st, q)
			if d := diffRecords(got, m.query(q)); d != "" {
				t.Fatalf("op %d: Query(%s) differs from the model:%s", op, describeQuery(q), d)
			}
		case k < 9:
			id := pick(ids)
			if d := diffRecords(mustVersions(t, st, id), m.versions(id)); d != "" {
				t.Fatalf("op %d: Versions(%s) differs from the model:%s", op, id, d)
			}
		default:
			last, err := st.LastAdded(ctx)
			if err != nil || last != m.lastAdded() {
				t.Fatalf("op %d: LastAdded = %d, %v; model %d", op, last, err, m.lastAdded())
			}
			prefix := pick(statePrefixes)
			states, err := st.States(ctx, prefix)
			if err != nil || !maps.Equal(states, m.states(prefix)) {
				t.Fatalf("op %d: States(%q) = %q, %v; model %q", op, prefix, states, err, m.states(prefix))
			}
			key := pick(stateKeys)
			v, ok, err := st.State(ctx, key)
			if wantV, wantOK := m.state[key]; err != nil || v != wantV || ok != wantOK {
				t.Fatalf("op %d: State(%q) = %q, %v, %v; model %q, %v", op, key, v, ok, err, wantV, wantOK)
			}
			if rng.IntN(8) == 0 {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				st = reopen()
			}
		}
	}
	if d := diffRecords(mustQuery(t, st, intel.Query{}), m.recs); d != "" {
		t.Fatalf("final contents differ from the model:%s", d)
	}
	if states, err := st.States(ctx, ""); err != nil || !maps.Equal(states, m.states("")) {
		t.Fatalf("final state %q, %v; model %q", states, err, m.states(""))
	}
	t.Logf("seed %d: %d records (%d deleted in Updates, committed or not), %d state keys", seed, len(m.recs), deleted, len(m.state))
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func describeQuery(q intel.Query) string {
	var parts []string
	if len(q.Types) > 0 {
		parts = append(parts, fmt.Sprintf("types=%v", q.Types))
	}
	if len(q.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("ids=%v", q.IDs))
	}
	if q.After != 0 {
		parts = append(parts, fmt.Sprintf("after=%d", q.After))
	}
	if q.Before != 0 {
		parts = append(parts, fmt.Sprintf("before=%d", q.Before))
	}
	if q.Text != "" {
		parts = append(parts, fmt.Sprintf("text=%q", q.Text))
	}
	if q.Latest {
		parts = append(parts, "latest")
	}
	if q.ExcludeRevoked {
		parts = append(parts, "exclude-revoked")
	}
	if q.VisibleTo != nil {
		parts = append(parts, fmt.Sprintf("visible-to=%q", q.VisibleTo.Org))
	}
	if q.Limit > 0 {
		parts = append(parts, fmt.Sprintf("limit=%d", q.Limit))
	}
	return strings.Join(parts, " ")
}

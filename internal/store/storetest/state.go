package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// testState: SetState stores, replaces and (with the empty value) deletes
// a key; State reads one key; States reads every key that begins with a
// prefix, byte for byte: LIKE's wildcards and the highest code points are
// ordinary characters. The empty key is fault.Invalid. Values survive
// reopening.
func testState(t *testing.T, f Factory) {
	ctx := context.Background()
	st, reopen := MustOpen(t, f, Config{})
	initial := map[string]string{
		"peer/alpha":                 `{"url":"https://alpha.example","collections":["c1"]}`,
		"peer/bravo":                 `{"url":"https://bravo.example"}`,
		"peers":                      "not under peer/",
		"cursor/pull/alpha/c1":       "1711713600123456",
		"cursor/pull/alphabet/c1":    "17",
		"a_b":                        "underscore",
		"aXb":                        "what an unescaped _ matches",
		"a%b":                        "percent",
		"a%%":                        "percents",
		"peer/\uffff":                "U+FFFF",
		"peer/\U0010FFFF":            "the last code point",
		"peer/\U0010FFFF\U0010FFFFx": "after two last code points",
		"Peer/alpha":                 "upper case",
		"x/non-ascii value":          "라자루스 ☠ \"quoted\" \\ back\nline",
	}
	if err := st.Update(ctx, func(tx intel.Tx) error {
		for k, v := range initial {
			if err := tx.SetState(ctx, k, v); err != nil {
				return fmt.Errorf("SetState(%q): %w", k, err)
			}
		}
		if err := tx.SetState(ctx, "", "v"); fault.CodeOf(err) != fault.Invalid {
			return fmt.Errorf("SetState of the empty key: %v, want invalid", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(initial)
	set := func(kv ...string) {
		t.Helper()
		if err := st.Update(ctx, func(tx intel.Tx) error {
			for i := 0; i < len(kv); i += 2 {
				if err := tx.SetState(ctx, kv[i], kv[i+1]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(want, kv[i])
			} else {
				want[kv[i]] = kv[i+1]
			}
		}
	}
	check := func(t *testing.T, st intel.Store) {
		t.Helper()
		for k, v := range want {
			if got, ok, err := st.State(ctx, k); err != nil || !ok || got != v {
				t.Errorf("State(%q) = %q, %v, %v; want %q", k, got, ok, err, v)
			}
		}
		for _, k := range []string{"missing", "peer", "peer/", "a_", "peer/alpha/"} {
			if got, ok, err := st.State(ctx, k); err != nil || ok || got != "" {
				t.Errorf("State(%q) = %q, %v, %v; want none", k, got, ok, err)
			}
		}
		for _, prefix := range []string{
			"", "peer", "peer/", "Peer", "peer/a", "peer/alpha", "peer/alpha/", "cursor/pull/alpha/",
			"cursor/pull/alpha", "a_", "a%", "a%%", "a", "peer/\uffff", "peer/\U0010FFFF",
			"peer/\U0010FFFF\U0010FFFF", "x/", "zzz", "\U0010FFFF",
		} {
			wantPrefix := map[string]string{}
			for k, v := range want {
				if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
					wantPrefix[k] = v
				}
			}
			got, err := st.States(ctx, prefix)
			if err != nil || !maps.Equal(got, wantPrefix) {
				t.Errorf("States(%q) = %q, %v; want %q", prefix, got, err, wantPrefix)
			}
		}
	}
	check(t, st)
	set("peer/alpha", `{"url":"https://alpha.example/v2"}`, "peer/bravo", "", "missing", "", "new/key", "1")
	check(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("reopened", func(t *testing.T) { check(t, reopen()) })
}

// testStateRollback: state written in a transaction is visible to the
// Store's reads only once it commits, and a rolled back Update keeps none
// of it, nor the records it inserted; replaced and deleted keys keep their
// values.
func testStateRollback(t *testing.T, f Factory) {
	ctx := context.Background()
	st, _ := MustOpen(t, f, Config{})
	const id = "indicator--15151515-0000-4000-8000-000000000001"
	if err := st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.SetState(ctx, "cursor/pull/alpha/c1", "100"); err != nil {
			return err
		}
		return tx.SetState(ctx, "peer/alpha", "on")
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cursor/pull/alpha/c1": "100", "peer/alpha": "on"}
	boom := errors.New("boom")
	var inside error
	err := st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.Insert(ctx, newRecord(id, version(1), orgA, stix.TLPGreen)); err != nil {
			return err
		}
		for k, v := range map[string]string{"cursor/pull/alpha/c1": "200", "peer/alpha": "", "peer/bravo": "on"} {
			if err := tx.SetState(ctx, k, v); err != nil {
				return err
			}
		}
		// Another reader does not see the transaction's writes.
		got, err := st.States(ctx, "")
		if err != nil {
			return err
		}
		if !maps.Equal(got, want) {
			inside = fmt.Errorf("States read during the Update = %q, want the committed %q", got, want)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if inside != nil {
		t.Error(inside)
	}
	if got, err := st.States(ctx, ""); err != nil || !maps.Equal(got, want) {
		t.Errorf("States after a rollback = %q, %v; want %q", got, err, want)
	}
	if got := mustVersions(t, st, id); len(got) != 0 {
		t.Errorf("records of the rolled back Update are visible: %v", got)
	}

	// Committed, the same writes are visible together with the records.
	err = st.Update(ctx, func(tx intel.Tx) error {
		if err := tx.Insert(ctx, newRecord(id, version(1), orgA, stix.TLPGreen)); err != nil {
			return err
		}
		return tx.SetState(ctx, "cursor/pull/alpha/c1", "200")
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := st.State(ctx, "cursor/pull/alpha/c1"); err != nil || !ok || v != "200" {
		t.Errorf("State after the commit = %q, %v, %v; want 200", v, ok, err)
	}
	if got := mustVersions(t, st, id); len(got) != 1 {
		t.Errorf("records after the commit: %d, want 1", len(got))
	}
}

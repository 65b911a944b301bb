package main

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/simulate"
	"github.com/cointrail/cointrail/internal/trace"
)

// scenario generates a laundering scenario and loads it into a new node
// the way a user would: ingest the blocks, import the TagPack and the
// incident. It returns the data folder and the ground truth.
func scenario(t *testing.T, txs int) (string, *simulate.Truth) {
	t.Helper()
	sim := filepath.Join(t.TempDir(), "scenario")
	mustRun(t, "simulate", "--out", sim, "--seed", "7", "--txs", strconv.Itoa(txs))
	dir := initData(t)
	mustRun(t, "ingest", "bitcoin", "--data", dir, "--network", "regtest", "--blocks", filepath.Join(sim, simulate.BlocksFile))
	mustRun(t, "import", "tagpack", filepath.Join(sim, simulate.TagPackFile), "--chain", "bitcoin-regtest", "--data", dir)
	mustRun(t, "import", "stix", filepath.Join(sim, simulate.IncidentFile), "--org", "operator", "--data", dir)
	data, err := os.ReadFile(filepath.Join(sim, simulate.TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	var truth simulate.Truth
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	return dir, &truth
}

// TestTraceScenario traces a simulated theft from its incident under
// every model, through the command line, and compares each with the
// ground truth: the JSON contract, the conservation of every satoshi, and
// how close each model comes (logged as the README's table;
// COINTRAIL_ACCURACY_TXS sets the scenario's size).
func TestTraceScenario(t *testing.T) {
	txs := 3000
	if s := os.Getenv("COINTRAIL_ACCURACY_TXS"); s != "" {
		txs, _ = strconv.Atoi(s)
	}
	dir, truth := scenario(t, txs)

	var accs []*simulate.Accuracy
	for _, m := range trace.Models {
		out := mustRun(t, "trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident,
			"--model", string(m), "--max-hops", "200", "--dust", "0", "--max-edges", "10000000", "--json")
		// The contract: endpoints with address, entity, category, amount
		// as a decimal string, hops; stops apart.
		var raw struct {
			Endpoints []map[string]any `json:"endpoints"`
			Stops     []map[string]any `json:"stops"`
		}
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw.Endpoints) == 0 {
			t.Fatalf("%s: no endpoint", m)
		}
		for _, e := range raw.Endpoints {
			amount, _ := e["amount"].(string)
			if _, ok := new(big.Int).SetString(amount, 10); !ok || e["address"] == "" || e["category"] != "exchange" || e["entity"] == "" || e["hops"] == nil {
				t.Errorf("%s: endpoint %v", m, e)
			}
		}
		var res trace.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if m != trace.Poison {
			if res.Tainted.Int64() != int64(truth.Stolen) {
				t.Errorf("%s: tainted %v, stolen %d", m, res.Tainted, truth.Stolen)
			}
			sum := new(big.Int).Set(res.Fees.Int)
			for _, e := range res.Endpoints {
				sum.Add(sum, e.Amount.Int)
			}
			for _, s := range res.StopTotals {
				sum.Add(sum, s.Amount.Int)
			}
			if sum.Cmp(res.Tainted.Int) != 0 {
				t.Errorf("%s: %v accounted of %v tainted", m, sum, res.Tainted)
			}
		}
		acc, err := simulate.Evaluate(truth, &res)
		if err != nil {
			t.Fatal(err)
		}
		accs = append(accs, acc)
		for _, x := range acc.Exchanges {
			if x.True > 0 && x.Traced == 0 {
				t.Errorf("%s: nothing traced to %s, which received %d", m, x.Name, x.True)
			}
		}
		if acc.Recall < 0.5 {
			t.Errorf("%s: recall %.3f", m, acc.Recall)
		}
	}
	t.Logf("%d transactions, seed 7, stolen %d sat:\n%s", txs, truth.Stolen, simulate.Table(accs))

	// The annotations name the peel chains and the CoinJoin the loot took.
	out := mustRun(t, "trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident, "--json", "--max-hops", "200")
	var res trace.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, a := range res.Annotations {
		for _, k := range a.Kinds {
			kinds[a.Tx] = k
		}
	}
	if truth.Shapes.CoinJoin != "" && !strings.HasPrefix(kinds[truth.Shapes.CoinJoin], "coinjoin-") {
		t.Errorf("the CoinJoin %s is annotated %q", truth.Shapes.CoinJoin, kinds[truth.Shapes.CoinJoin])
	}
	peels := 0
	for _, chain := range truth.Shapes.PeelChains {
		for _, tx := range chain {
			if kinds[tx] == "peel-chain" {
				peels++
			}
		}
	}
	if len(truth.Shapes.PeelChains) > 0 && peels == 0 {
		t.Errorf("no peel of %d chains annotated", len(truth.Shapes.PeelChains))
	}

	// A seed output, the text output, and the trace as STIX, which the
	// node takes back.
	text := mustRun(t, "trace", "--data", dir, "--chain", "bitcoin-regtest", "--from", truth.Seeds[0].String())
	if !strings.Contains(text, "ENDPOINT") || !strings.Contains(text, "fifo trace on bitcoin-regtest") {
		t.Errorf("text output: %s", text)
	}
	bundle := mustRun(t, "trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident, "--stix", "--tlp", "green", "--max-hops", "200")
	r := run(t, nil, bundle, "import", "stix", "-", "--org", "operator", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "imported") {
		t.Errorf("import the trace's STIX: %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Screening a deposit address of an exchange the loot reached.
	for _, x := range truth.Exchanges {
		if !x.Labelled || len(x.Deposits) == 0 {
			continue
		}
		out := mustRun(t, "screen", "--data", dir, "--chain", "bitcoin-regtest", x.Deposits[0].Address, "--json")
		var sr struct {
			Level    string
			Score    int
			Indirect []struct{ Incident string }
		}
		if err := json.Unmarshal([]byte(out), &sr); err != nil {
			t.Fatal(err)
		}
		if sr.Level == "none" || len(sr.Indirect) == 0 || sr.Indirect[0].Incident != truth.Incident {
			t.Errorf("screening deposit %s of %s: %s", x.Deposits[0].Address, x.Name, out)
		}
		break
	}

	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest"}, "one of --from"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--from", truth.Seeds[0].String(), "--incident", truth.Incident}, "one of --from"},
		{[]string{"trace", "--data", dir, "--incident", truth.Incident}, "--chain"},
		{[]string{"trace", "--data", dir, "--chain", "moon", "--incident", truth.Incident}, "moon"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident, "--model", "fofo"}, "fofo"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident, "--dust", "-5"}, "--dust"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", truth.Incident, "--max-hops", "-1"}, "--max-hops"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--from", "nope:x"}, "nope:x"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--from", strings.Repeat("ab", 32) + ":0"}, "not in the chain index"},
		{[]string{"trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", "incident--00000000-0000-4000-8000-000000000009"}, "no incident"},
		{[]string{"screen", "--data", dir, "--chain", "bitcoin-regtest", "bcrt1qnotanaddress"}, "bcrt1qnotanaddress"},
		{[]string{"screen", "--data", dir, "bcrt1qnotanaddress"}, "--chain"},
	} {
		wantUsage(t, run(t, nil, "", tc.args...), tc.mention)
	}
}

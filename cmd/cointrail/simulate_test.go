package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/simulate"
)

// TestSimulate writes a scenario and loads it into a node with the
// commands its help gives: ingest, import tagpack, import stix.
func TestSimulate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scenario")
	text := mustRun(t, "simulate", "--out", out, "--seed", "3", "--txs", "1000")
	for _, want := range []string{"blocks: ", "transactions: 1000\n", "stolen: ", " BTC)\n", "wrote " + filepath.Join(out, "blocks.dat") + "\n", "wrote " + filepath.Join(out, "truth.json") + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("output %q lacks %q", text, want)
		}
	}
	var sum struct {
		Blocks int      `json:"blocks"`
		Txs    int      `json:"txs"`
		Stolen string   `json:"stolen"`
		Files  []string `json:"files"`
	}
	again := filepath.Join(t.TempDir(), "again")
	decodeJSON(t, mustRun(t, "simulate", "--out", again, "--seed", "3", "--txs", "1000", "--json"), &sum)
	if sum.Txs != 1000 || sum.Blocks < 101 || sum.Stolen == "" || len(sum.Files) != 4 {
		t.Errorf("summary: %+v", sum)
	}
	for _, f := range []string{"blocks.dat", "tagpack.yaml", "incident.json", "truth.json"} {
		a, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(again, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between two runs of the same seed", f)
		}
	}

	dir := MustInit(t)
	ingested := mustRun(t, "ingest", "bitcoin", "--network", "regtest", "--blocks", filepath.Join(out, "blocks.dat"), "--data", dir)
	if !strings.Contains(ingested, "bitcoin-regtest") || !strings.Contains(ingested, "1000 transactions") {
		t.Errorf("ingest: %q", ingested)
	}
	wantLine(t, mustRun(t, "import", "tagpack", filepath.Join(out, "tagpack.yaml"), "--chain", "bitcoin-regtest", "--data", dir), "objects added")
	wantLine(t, mustRun(t, "import", "stix", filepath.Join(out, "incident.json"), "--org", "alpha", "--data", dir), "objects added")
	truth := filepath.Join(out, "truth.json")
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var tr simulate.Truth
	decodeJSON(t, string(data), &tr)
	var addr struct {
		Balances []struct {
			Received string `json:"received"`
		} `json:"balances"`
	}
	decodeJSON(t, mustRun(t, "chain", "address", "bitcoin-regtest", tr.Seeds[0].Address, "--data", dir, "--json"), &addr)
	if len(addr.Balances) != 1 || addr.Balances[0].Received != tr.Seeds[0].Value.String() {
		t.Errorf("seed address %s: %+v, want %d received", tr.Seeds[0].Address, addr, tr.Seeds[0].Value)
	}
	objs := MustExport(t, dir, "alpha")
	if countType(objs, "incident") != 1 || objs[tr.Incident] == nil {
		t.Errorf("alpha does not see the incident %s", tr.Incident)
	}
}

func TestSimulateBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := func() string { return filepath.Join(t.TempDir(), "out") }
	cases := []struct {
		name    string
		args    []string
		mention string
	}{
		{"no out", []string{"--txs", "1000"}, "--out"},
		{"too few", []string{"--out", fresh(), "--txs", "499"}, "at least 500"},
		{"zero", []string{"--out", fresh(), "--txs", "0"}, "--txs 0"},
		{"negative", []string{"--out", fresh(), "--txs", "-5"}, "--txs -5"},
		{"not a number", []string{"--out", fresh(), "--txs", "many"}, "--txs"},
		{"out is a file", []string{"--out", file}, "is a file"},
		{"out not empty", []string{"--out", full}, "not an empty folder"},
		{"argument", []string{"--out", fresh(), "extra"}, "extra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantUsage(t, run(t, nil, "", append([]string{"simulate"}, c.args...)...), c.mention)
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/formats/incidents"
	"github.com/cointrail/cointrail/internal/formats/ofac"
	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// MustInit makes a node in a fresh data folder, with the operator "ops"
// and a second organisation "alpha", and returns the folder.
func MustInit(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", dir, "--org", "ops")
	mustRun(t, "org", "create", "alpha", "--data", dir)
	return dir
}

// MustExport returns the objects org may see, by id, through export stix.
func MustExport(t *testing.T, dir, org string) map[string]*stix.Object {
	t.Helper()
	out := mustRun(t, "export", "stix", "--data", dir, "--as", org)
	var b struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("export is not a bundle: %v", err)
	}
	objs := map[string]*stix.Object{}
	for _, raw := range b.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		objs[o.ID] = o
	}
	return objs
}

func countType(objs map[string]*stix.Object, typ string) int {
	n := 0
	for _, o := range objs {
		if o.Type == typ {
			n++
		}
	}
	return n
}

func wantLine(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
}

func TestImportOFAC(t *testing.T) {
	dir := MustInit(t)
	file := sharedtest.Path(t, "ofac", "sdn_2024-05-03_excerpt.csv")
	r := run(t, nil, "", "import", "ofac", file, "--data", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantLine(t, r.stdout, "imported "+file+": 915 objects added, 0 unchanged, 6 values skipped (see above)\n")
	if n := strings.Count(r.stderr, ": skipped line "); n != 6 {
		t.Errorf("%d skipped lines on stderr:\n%s", n, r.stderr)
	}
	for _, frag := range []string{`"1Gq"`, `"1B64QRxf"`, `"3"`, `"1B11Ezqg3AXj"`, `"3F6bbvS1krsc1qR8FsbTDfYQyvkMm"`, `"1N6XqS"`} {
		wantLine(t, r.stderr, frag)
	}

	// Everyone sees the list: 288 listings flag 283 wallets (five addresses
	// are listed twice: under ETH and USDT, or by two entries).
	for _, org := range []string{"ops", "alpha"} {
		objs := MustExport(t, dir, org)
		flagged := map[string]bool{}
		for _, o := range objs {
			if o.Type == "indicator" && o.CreatedByRef() == ofac.IdentityID {
				flagged[o.String("pattern")] = true
			}
		}
		wallets := 0
		for _, o := range objs {
			if o.Type == stix.TypeCryptocurrencyWallet {
				wallets++
				if !flagged[ofac.Pattern(o.String("chain"), o.String("value"))] {
					t.Errorf("%s: wallet %s not flagged", org, o.String("value"))
				}
			}
		}
		if wallets != 283 || countType(objs, "indicator") != 288 || countType(objs, "relationship") != 288 {
			t.Errorf("%s sees %d wallets, %d indicators, %d relationships; want 283, 288, 288", org, wallets, countType(objs, "indicator"), countType(objs, "relationship"))
		}
	}

	// The same list again changes nothing.
	out := mustRun(t, "import", "ofac", file, "--data", dir, "--json")
	var rep ImportReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Added != 0 || rep.Unchanged != 915 || len(rep.Revoked) != 0 || len(rep.Skipped) != 6 {
		t.Errorf("second import: %s (%v)", out, err)
	}

	wantUsage(t, run(t, nil, "", "import", "ofac", file, "--data", dir, "--tlp", "amber"), "TLP:CLEAR")
	wantUsage(t, run(t, nil, "", "import", "ofac", file, "--data", dir, "--date", "May 3"), "--date")
	wantUsage(t, run(t, nil, "", "import", "ofac", filepath.Join(dir, "missing.csv"), "--data", dir), "missing.csv")
}

// writeList writes the rows of the shared excerpt, less those of the
// ent_nums in drop, to dir/name.
func writeList(t *testing.T, dir, name string, drop ...string) string {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Path(t, "ofac", "sdn_2024-05-03_excerpt.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	dropped := 0
	for _, line := range bytes.SplitAfter(data, []byte("\r\n")) {
		ent, _, _ := bytes.Cut(line, []byte(","))
		if slices.Contains(drop, string(ent)) {
			dropped++
			continue
		}
		out.Write(line)
	}
	if dropped != len(drop) {
		t.Fatalf("dropped %d rows of %v", dropped, drop)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportOFACLaterList(t *testing.T) {
	dir := MustInit(t)
	// The first list lacks GHORBANIYAN (26138); the later one has him but
	// no longer KHORASHADIZADEH (26137). Each has one address.
	first := writeList(t, t.TempDir(), "sdn_2024-05-03.csv", "26138")
	later := writeList(t, t.TempDir(), "sdn_2024-06-07.csv", "26137")
	out := mustRun(t, "import", "ofac", first, "--data", dir)
	wantLine(t, out, ": 911 objects added, 0 unchanged, 6 values skipped")

	// The later list adds 26138's identity, wallet, relationship and
	// indicator, and revokes 26137's identity, relationship and indicator
	// (a wallet is an observable: it has no versions to revoke).
	out = mustRun(t, "import", "ofac", later, "--data", dir)
	wantLine(t, out, ": 4 objects added, 907 unchanged, 3 revoked, 6 values skipped")

	objs := MustExport(t, dir, "alpha")
	gone, added := ofac.EntryID("26137", false), ofac.EntryID("26138", false)
	if objs[gone] != nil || objs[added] == nil {
		t.Errorf("after the later list: 26137 present %v, 26138 present %v", objs[gone] != nil, objs[added] != nil)
	}
	if o := objs[added]; o != nil && (o.String("created") != "2024-06-07T00:00:00.000Z") {
		t.Errorf("26138 created %s", o.String("created"))
	}
	// What both lists name keeps the first list's version.
	if o := objs[ofac.EntryID("27307", true)]; o == nil || o.String("created") != "2024-05-03T00:00:00.000Z" || o.String("modified") != "2024-05-03T00:00:00.000Z" {
		t.Errorf("LAZARUS GROUP after the later list: %v", o)
	}
	for _, o := range objs {
		if o.Type == "indicator" && strings.Contains(o.String("pattern"), "149w62rY42aZBox8fGcmqNsXUzSStKeq8C") {
			t.Errorf("indicator of 26137's address still current: %s", o.ID)
		}
	}

	// The later list once more: nothing to add or revoke.
	wantLine(t, mustRun(t, "import", "ofac", later, "--data", dir), ": 0 objects added, 911 unchanged, 6 values skipped")
}

func TestImportOFACMalformed(t *testing.T) {
	dir := MustInit(t)
	before := len(MustExport(t, dir, "ops"))
	bad := writeList(t, t.TempDir(), "sdn_2024-05-03.csv")
	data, _ := os.ReadFile(bad)
	data = bytes.Replace(data, []byte("173,\"ANGLO-CARIBBEAN CO., LTD.\",-0- ,"), []byte("173,\"ANGLO-CARIBBEAN CO., LTD.\","), 1)
	os.WriteFile(bad, data, 0o644)
	wantUsage(t, run(t, nil, "", "import", "ofac", bad, "--data", dir), "sdn_2024-05-03.csv: line 2: 11 columns, want 12")
	if after := len(MustExport(t, dir, "ops")); after != before {
		t.Errorf("a malformed list stored %d objects", after-before)
	}
}

func TestImportTagPacks(t *testing.T) {
	dir := MustInit(t)
	files := sharedtest.Glob(t, "tagpacks/*.yaml")
	wallets := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tagpack.Parse(bytes.NewReader(data), tagpack.Options{LastMod: fileDate(f)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			if o.Type == stix.TypeCryptocurrencyWallet {
				wallets[o.ID] = true
			}
		}
	}
	args := append([]string{"import", "tagpack"}, files...)
	r := run(t, nil, "", append(args, "--data", dir)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, "imported "); n != len(files) {
		t.Errorf("%d report lines for %d files:\n%s", n, len(files), r.stdout)
	}
	wantLine(t, r.stdout, "ofac.yaml: ")
	wantLine(t, r.stderr, `skipped line 1069: "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"`)
	wantLine(t, r.stderr, `tornado_cash.yaml: skipped line 51:`)

	// The packs are TLP:AMBER: the owner sees every wallet, another
	// organisation none.
	if n := countType(MustExport(t, dir, "ops"), stix.TypeCryptocurrencyWallet); n != len(wallets) || n < 2000 {
		t.Errorf("ops sees %d wallets, want %d", n, len(wallets))
	}
	if n := countType(MustExport(t, dir, "alpha"), stix.TypeCryptocurrencyWallet); n != 0 {
		t.Errorf("alpha sees %d wallets of AMBER packs", n)
	}
	r = run(t, nil, "", append(args, "--data", dir)...)
	if r.code != 0 || strings.Count(r.stdout, ": 0 objects added,") != len(files) {
		t.Errorf("second import: exit %d\n%s", r.code, r.stdout)
	}

	// Export the Lazarus group label and read it back.
	out := mustRun(t, "export", "tagpack", "--data", dir, "--as", "ops", "--label", "lazarus GROUP")
	res, err := tagpack.Parse(strings.NewReader(out), tagpack.Options{})
	if err != nil {
		t.Fatalf("exported pack: %v\n%s", err, out)
	}
	n := 0
	for _, o := range res.Objects {
		if o.Type == stix.TypeCryptocurrencyWallet {
			n++
		}
	}
	if n != 27 || res.Creator != "GraphSense Core Team" {
		t.Errorf("exported %d Lazarus group wallets by %q, want 27 (lazarus.yaml and lazarus2.yaml)", n, res.Creator)
	}
	wantUsage(t, run(t, nil, "", "export", "tagpack", "--data", dir, "--as", "ops", "--label", "nobody"), "nobody")
	wantUsage(t, run(t, nil, "", "export", "tagpack", "--data", dir), "--as")
	wantUsage(t, run(t, nil, "", "import", "tagpack", files[0], "--data", dir, "--tlp", "purple"), "purple")
	wantUsage(t, run(t, nil, "", "import", "tagpack", files[0], "--data", dir, "--chain", "BTC"), "--chain")
}

func TestImportTagPackOptions(t *testing.T) {
	dir := MustInit(t)
	pack := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pack, []byte("title: t\ncreator: c\nlastmod: 2024-01-02\nlabel: l\ncategory: exchange\nis_public: true\ntags:\n- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'\n  currency: ETH\n"), 0o644)
	private := filepath.Join(t.TempDir(), "q.yaml")
	os.WriteFile(private, []byte("title: t\ncreator: c\nlabel: m\ncategory: exchange\ntags:\n- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'\n  currency: ETH\n"), 0o644)
	mustRun(t, "import", "tagpack", pack, "--data", dir, "--chain", "bsc")
	mustRun(t, "import", "tagpack", private, "--data", dir, "--tlp", "green")
	objs := MustExport(t, dir, "alpha")
	chains := map[string]int{}
	for _, o := range objs {
		if o.Type == stix.TypeCryptocurrencyWallet {
			chains[o.String("chain")]++
		}
	}
	if chains["bsc"] != 1 || chains["ethereum"] != 1 {
		t.Errorf("alpha sees wallets on %v, want one on bsc (public, --chain) and one on ethereum (--tlp green)", chains)
	}
}

func TestImportTagPackMalformed(t *testing.T) {
	dir := MustInit(t)
	before := len(MustExport(t, dir, "ops"))
	good := sharedtest.Path(t, "tagpacks", "lazarus.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("title: t\ncreator: c\nlastmod: 2024-01-02\ncurrency: BTC\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n"), 0o644)
	// The good pack comes first: every file is read before any is stored.
	wantUsage(t, run(t, nil, "", "import", "tagpack", good, bad, "--data", dir), "bad.yaml: line 6: tag 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa has no label")
	os.WriteFile(bad, []byte("title: t\ntags: [\n"), 0o644)
	wantUsage(t, run(t, nil, "", "import", "tagpack", bad, "--data", dir), "bad.yaml: line ")
	if after := len(MustExport(t, dir, "ops")); after != before {
		t.Errorf("a malformed pack stored %d objects", after-before)
	}
}

func TestImportIncidents(t *testing.T) {
	dir := MustInit(t)
	file := sharedtest.Path(t, "incidents", "dn-institute-incidents.csv")
	out := mustRun(t, "import", "incidents-csv", file, "--data", dir)
	wantLine(t, out, " objects added, 0 unchanged\n")
	objs := MustExport(t, dir, "alpha") // TLP:CLEAR: everyone sees them
	if n := countType(objs, "incident"); n != 124 {
		t.Errorf("export holds %d incidents, want 124", n)
	}
	lazarus := 0
	for _, o := range objs {
		if o.Type == "relationship" && o.String("relationship_type") == "attributed-to" && o.String("target_ref") == incidents.LazarusID {
			lazarus++
		}
	}
	if lazarus != 7 {
		t.Errorf("%d incidents attributed to Lazarus Group, want 7", lazarus)
	}
	wantLine(t, mustRun(t, "import", "incidents-csv", file, "--data", dir), ": 0 objects added, ")

	// --tlp green: another file, seen by members only.
	green := filepath.Join(t.TempDir(), "green.csv")
	os.WriteFile(green, []byte("date,title,targets,entity_types,attack_types,tags,loss_usd,source\n2024-02-01,Private case,Someone,Exchange,Phishing,,1000,internal\n"), 0o644)
	mustRun(t, "import", "incidents-csv", green, "--data", dir, "--tlp", "green", "--org", "alpha")
	if n := countType(MustExport(t, dir, "ops"), "incident"); n != 125 {
		t.Errorf("ops sees %d incidents, want 125", n)
	}

	before := len(MustExport(t, dir, "ops"))
	bad := filepath.Join(t.TempDir(), "bad.csv")
	for i, text := range []string{
		"date,title,targets,entity_types,attack_types,tags,loss_usd,source\n2024-01-01,a,b,c,d,e,1,s\n2024-13-01,a,b,c,d,e,1,s\n",
		"date,title,loss\n",
	} {
		os.WriteFile(bad, []byte(text), 0o644)
		want := []string{"bad.csv: line 3: date \"2024-13-01\"", "bad.csv: line 1: header"}[i]
		wantUsage(t, run(t, nil, "", "import", "incidents-csv", bad, "--data", dir), want)
	}
	if after := len(MustExport(t, dir, "ops")); after != before {
		t.Errorf("a malformed file stored %d objects", after-before)
	}
	wantUsage(t, run(t, nil, "", "import", "incidents-csv", "--data", dir), "arg")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
)

// runMISP runs the command line in-process as Run does, with the MISP
// commands added to "import" and "export" where the command tree does not
// have them yet.
func runMISP(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, LookupEnv: func(string) (string, bool) { return "", false }}
	root := m.rootCommand()
	for _, c := range root.Commands() {
		var add []*cobra.Command
		switch c.Name() {
		case "import":
			add = []*cobra.Command{m.importMISPCommand(), m.importMISPGalaxyCommand()}
		case "export":
			add = []*cobra.Command{m.exportMISPCommand()}
		}
		for _, a := range add {
			if !slices.ContainsFunc(c.Commands(), func(x *cobra.Command) bool { return x.Name() == a.Name() }) {
				wrapArgs(a)
				c.AddCommand(a)
			}
		}
	}
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := exitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(&errb, "cointrail: %s\n", oneLine(errorText(err)))
		code = exitCode(err)
	}
	return result{code, out.String(), errb.String()}
}

func mustMISP(t *testing.T, args ...string) string {
	t.Helper()
	r := runMISP(t, "", args...)
	if r.code != 0 {
		t.Fatalf("cointrail %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// mispEvent is the test event of internal/formats/misp: a Lazarus Group
// theft, shared with a sharing group of "Example FIU", "Example Exchange"
// and "Partner CERT".
var mispEvent = filepath.Join("..", "..", "internal", "formats", "misp", "testdata", "lazarus-theft.json")

// mispNode makes a node with the organisations the test event's sharing
// group names (but Partner CERT), under the identity ids given, or new
// ones.
func mispNode(t *testing.T, fiu, exchange string) (dir, fiuID, exchangeID string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	mustMISP(t, "init", "--data", dir, "--org", "ops")
	create := func(name, id string) string {
		args := []string{"org", "create", name, "--data", dir}
		if id != "" {
			args = append(args, "--id", id)
		}
		return strings.TrimSpace(mustMISP(t, args...))
	}
	return dir, create("Example FIU", fiu), create("Example Exchange", exchange)
}

// stixObjects returns what "export stix" gives org, by id, without the
// provenance each node records (the owner on the node that imported).
func stixObjects(t *testing.T, dir, org string) map[string]*stix.Object {
	t.Helper()
	b, err := stix.ParseBundle([]byte(mustMISP(t, "export", "stix", "--data", dir, "--as", org)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*stix.Object{}
	for _, o := range b.Objects {
		var exts map[string]json.RawMessage
		if ok, _ := o.Decode("extensions", &exts); ok {
			delete(exts, stix.ProvenanceExtensionID)
			if len(exts) == 0 {
				o.Delete("extensions")
			} else if err := o.Set("extensions", exts); err != nil {
				t.Fatal(err)
			}
		}
		out[o.ID] = o
	}
	return out
}

var reportLine = regexp.MustCompile(`(?m)^imported .*: (\d+) objects added, (\d+) unchanged`)

// wantImported checks an import's summary line.
func wantImported(t *testing.T, out string, added, unchanged int) {
	t.Helper()
	m := reportLine.FindStringSubmatch(out)
	if m == nil || m[1] != fmt.Sprint(added) || m[2] != fmt.Sprint(unchanged) {
		t.Errorf("import printed %q, want %d added and %d unchanged", out, added, unchanged)
	}
}

func TestMISPImportExportBetweenNodes(t *testing.T) {
	a, fiu, exchange := mispNode(t, "", "")
	galaxy := sharedtest.Path(t, "misp", "galaxy", "threat-actor-dprk.json")

	// The galaxy: 3 threat-actors, located at KP; again, nothing changes.
	wantImported(t, mustMISP(t, "import", "misp-galaxy", galaxy, "--data", a), 7, 0)
	wantImported(t, mustMISP(t, "import", "misp-galaxy", galaxy, "--data", a), 0, 7)

	// The event: its Lazarus Group is the galaxy's, of an older release (a
	// new, older version), located at the same place (unchanged); values
	// that fail their checksum are reported.
	r := runMISP(t, "", "import", "misp", mispEvent, "--data", a)
	if r.code != 0 {
		t.Fatalf("import misp: exit %d: %s", r.code, r.stderr)
	}
	wantImported(t, r.stdout, 23, 2)
	for _, s := range []string{"bad checksum", `"Partner CERT"`, "deleted in MISP", "mitre-attack-pattern"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not report %s:\n%s", s, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "5 values skipped") {
		t.Errorf("stdout %q", r.stdout)
	}
	var rep ImportReport
	if err := json.Unmarshal([]byte(mustMISP(t, "import", "misp", mispEvent, "--data", a, "--json")), &rep); err != nil || rep.Added != 0 || rep.Unchanged != 25 {
		t.Errorf("importing twice: %+v (%v), want 0 added, 25 unchanged", rep, err)
	}

	objsA := stixObjects(t, a, "ops")
	lazarus := objsA[stix.ImportID("threat-actor", "misp-galaxy", "68391641-859f-4a9a-9a1e-3e5cf71ec376")]
	if lazarus == nil || len(lazarus.Strings("aliases")) != 40 {
		t.Fatalf("the node's Lazarus Group is not the galaxy's latest release: %v", lazarus)
	}

	// Each organisation sees what the markings give it: the exchange, a
	// recipient, sees the event but not the FIU's own lead (distribution 0).
	forExchange := mustMISP(t, "export", "misp", "--data", a, "--as", "Example Exchange")
	if !strings.Contains(forExchange, "31n4M2feHR3GZqLJ75r4XBVF6cWy9wfaU4") || strings.Contains(forExchange, "XkuMQxCzar4aDG4r6BrssxvXGhN1DA6kCL") {
		t.Errorf("the exchange's export:\n%s", forExchange)
	}

	// Export to MISP, import into a new node that knows the same
	// organisations: it holds the same objects.
	export := mustMISP(t, "export", "misp", "--data", a, "--as", "ops")
	if !strings.HasPrefix(export, `{"response":[`) || strings.Count(export, `{"Event":`) != 1 {
		t.Fatalf("export misp wrote:\n%s", export)
	}
	file := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(file, []byte(export), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _, _ := mispNode(t, fiu, exchange)
	r = runMISP(t, "", "import", "misp", file, "--data", b)
	if r.code != 0 {
		t.Fatalf("import of the export: exit %d: %s", r.code, r.stderr)
	}
	wantImported(t, r.stdout, 25, 0)
	objsB := stixObjects(t, b, "ops")
	same := 0
	for id, o := range objsB {
		if o.Type == "identity" {
			continue // the organisations, made on each node
		}
		want := objsA[id]
		if want == nil {
			t.Errorf("node b holds %s, node a does not", id)
			continue
		}
		ca, _ := want.Canonical()
		cb, _ := o.Canonical()
		if !bytes.Equal(ca, cb) {
			t.Errorf("%s differs:\na %s\nb %s", id, ca, cb)
		}
		same++
	}
	if same < 25 {
		t.Errorf("only %d objects compared", same)
	}
	if again := mustMISP(t, "export", "misp", "--data", b, "--as", "ops"); again != export {
		t.Errorf("the second node exports other events:\n%s\n%s", export, again)
	}
}

func TestMISPMalformed(t *testing.T) {
	dir, _, _ := mispNode(t, "", "")
	before := len(stixObjects(t, dir, "ops"))
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","timestamp":"1700000000"}}`), 0o644)
	notJSON := filepath.Join(t.TempDir(), "notjson.json")
	os.WriteFile(notJSON, []byte(`{"Event": {`), 0o644)
	precise := filepath.Join(t.TempDir(), "precise.json")
	os.WriteFile(precise, []byte(`{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","Object":[{"uuid":"11111111-2222-4333-8444-000000000002","name":"btc-transaction","Attribute":[
		{"uuid":"11111111-2222-4333-8444-000000000101","object_relation":"transaction-number","type":"text","value":"ab"},
		{"uuid":"11111111-2222-4333-8444-000000000102","object_relation":"value_BTC","type":"float","value":"0.123456789"}]}]}}`), 0o644)

	wantUsage(t, runMISP(t, "", "import", "misp", bad, "--data", dir), "bad.json: misp: event 11111111-2222-4333-8444-555555555555 has no info")
	// A good file before a bad one is not stored either.
	wantUsage(t, runMISP(t, "", "import", "misp", mispEvent, notJSON, "--data", dir), "notjson.json: misp: not JSON")
	wantUsage(t, runMISP(t, "", "import", "misp", precise, "--data", dir), "more decimal places than the base unit")
	wantUsage(t, runMISP(t, "{}", "import", "misp", "-", "--data", dir), "not a MISP event")
	wantUsage(t, runMISP(t, "", "import", "misp", filepath.Join(dir, "missing.json"), "--data", dir), "missing.json")
	wantUsage(t, runMISP(t, "", "import", "misp", mispEvent, "--data", dir, "--tlp", "purple"), "purple")
	wantUsage(t, runMISP(t, "", "import", "misp", "--data", dir), "arg")
	wantUsage(t, runMISP(t, "", "import", "misp-galaxy", bad, "--data", dir), `no "values" list`)
	wantUsage(t, runMISP(t, `{"type":"tool","values":[]}`, "import", "misp-galaxy", "-", "--data", dir), `type "tool"`)
	wantUsage(t, runMISP(t, "", "export", "misp", "--data", dir), "--as")
	if after := len(stixObjects(t, dir, "ops")); after != before {
		t.Errorf("malformed imports stored %d objects", after-before)
	}
}

func TestMISPGalaxyTLP(t *testing.T) {
	dir, _, _ := mispNode(t, "", "")
	galaxy := sharedtest.Path(t, "misp", "galaxy", "threat-actor-dprk.json")
	wantImported(t, mustMISP(t, "import", "misp-galaxy", galaxy, "--data", dir, "--tlp", "green"), 7, 0)
	for _, o := range stixObjects(t, dir, "ops") {
		want := stix.TLPGreen
		switch o.Type {
		case "location":
			want = stix.TLPClear
		case "threat-actor", "relationship":
		default:
			continue
		}
		if o.TLP() != want {
			t.Errorf("%s is %s, want %s", o.ID, o.TLP().Label(), want.Label())
		}
	}
}

func TestMISPFeedDirectory(t *testing.T) {
	dir, _, _ := mispNode(t, "", "")
	feed := t.TempDir()
	data, err := os.ReadFile(mispEvent)
	if err != nil {
		t.Fatal(err)
	}
	const uuid = "5f1c2a3e-8b4d-4c6e-9a7f-1b2c3d4e5f60"
	os.WriteFile(filepath.Join(feed, uuid+".json"), data, 0o644)
	os.WriteFile(filepath.Join(feed, "manifest.json"), []byte(`{"`+uuid+`":{"info":"Lazarus Group theft","timestamp":"1717372800"}}`), 0o644)
	out := mustMISP(t, "import", "misp", feed, "--data", dir)
	wantImported(t, out, 25, 0)
	if !strings.Contains(out, uuid+".json") {
		t.Errorf("import printed %q", out)
	}
	os.WriteFile(filepath.Join(feed, "manifest.json"), []byte(`{"`+uuid+`":{},"11111111-2222-4333-8444-555555555555":{}}`), 0o644)
	wantUsage(t, runMISP(t, "", "import", "misp", feed, "--data", dir), "11111111-2222-4333-8444-555555555555.json")
}

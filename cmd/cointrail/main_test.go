package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/sharedtest"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the cointrail command line in-process.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb, lookup)
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, "", args...)
	if r.code != 0 {
		t.Fatalf("cointrail %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// wantUsage checks a bad-usage exit: code 2 and exactly one line on stderr.
func wantUsage(t *testing.T, r result, mention string) {
	t.Helper()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (stderr %q)", r.code, r.stderr)
	}
	if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") + 1; lines != 1 || !strings.HasPrefix(r.stderr, "cointrail: ") {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	if r.stdout != "" && !strings.HasPrefix(r.stdout, "imported") {
		t.Errorf("stdout not empty on failure: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, mention) {
		t.Errorf("stderr %q does not mention %q", r.stderr, mention)
	}
}

var (
	identityRE = regexp.MustCompile(`^identity--[0-9a-f-]{36}\n$`)
	tokenRE    = regexp.MustCompile(`^ct_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$`)
)

func TestCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if out := mustRun(t, "init", "--data", dir, "--org", "ops"); !identityRE.MatchString(out) {
		t.Fatalf("init printed %q", out)
	}
	wantUsage(t, run(t, nil, "", "init", "--data", dir), "already")

	alpha := mustRun(t, "org", "create", "alpha", "--data", dir)
	if !identityRE.MatchString(alpha) {
		t.Fatalf("org create printed %q", alpha)
	}
	mustRun(t, "org", "create", "bravo", "--data", dir)
	peer := mustRun(t, "org", "create", "peer", "--data", dir, "--id", "identity--7d1b5e3f-2b1c-4a4e-9b7a-3f0c2d1e4a5b")
	if peer != "identity--7d1b5e3f-2b1c-4a4e-9b7a-3f0c2d1e4a5b\n" {
		t.Errorf("registered %q", peer)
	}
	wantUsage(t, run(t, nil, "", "org", "create", "alpha", "--data", dir), "alpha")
	wantUsage(t, run(t, nil, "", "org", "create", "x", "--data", dir, "--id", "campaign--7d1b5e3f-2b1c-4a4e-9b7a-3f0c2d1e4a5b"), "identity")
	list := mustRun(t, "org", "list", "--data", dir)
	for _, want := range []string{"alpha", "bravo", "peer", "ops", "(operator)"} {
		if !strings.Contains(list, want) {
			t.Errorf("org list lacks %q:\n%s", want, list)
		}
	}

	tok := mustRun(t, "token", "create", "--org", "alpha", "--role", "contributor", "--data", dir, "--expires", "30d")
	if !tokenRE.MatchString(tok) {
		t.Fatalf("token create printed %q", tok)
	}
	wantUsage(t, run(t, nil, "", "token", "create", "--org", "alpha", "--role", "king", "--data", dir), "role")
	wantUsage(t, run(t, nil, "", "token", "create", "--org", "nobody", "--role", "reader", "--data", dir), "nobody")
	wantUsage(t, run(t, nil, "", "token", "create", "--org", "alpha", "--role", "reader", "--data", dir, "--expires", "soon"), "expires")
	toks := mustRun(t, "token", "list", "--org", "alpha", "--data", dir)
	id := tok[3:15]
	if !strings.Contains(toks, id) || strings.Contains(toks, tok[16:40]) {
		t.Errorf("token list:\n%s", toks)
	}
	if out := mustRun(t, "token", "revoke", id, "--data", dir); !strings.Contains(out, id) {
		t.Errorf("revoke printed %q", out)
	}
	if toks := mustRun(t, "token", "list", "--org", "alpha", "--data", dir); !strings.Contains(toks, "revoked") {
		t.Errorf("revoked token not shown as revoked:\n%s", toks)
	}
	wantUsage(t, run(t, nil, "", "token", "revoke", "000000000000", "--data", dir), "000000000000")

	// Import the official examples, with and without a default marking.
	apt1 := sharedtest.Path(t, "stix", "apt1.json")
	out := mustRun(t, "import", "stix", apt1, "--data", dir, "--org", "alpha", "--tlp", "amber")
	if !strings.Contains(out, "76 objects added") {
		t.Errorf("import printed %q", out)
	}
	if out := mustRun(t, "import", "stix", apt1, "--data", dir, "--org", "alpha", "--tlp", "amber"); !strings.Contains(out, "0 objects added, 76 unchanged") {
		t.Errorf("second import printed %q", out)
	}
	poison := sharedtest.Path(t, "stix", "poisonivy.json")
	mustRun(t, "import", "stix", poison, "--data", dir, "--org", "bravo", "--tlp", "green")
	interop := sharedtest.Path(t, "stix", "interop-objectmarking-test.json")
	wantUsage(t, run(t, nil, "", "import", "stix", interop, "--data", dir, "--org", "alpha"), "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec")
	wantUsage(t, run(t, nil, "", "import", "stix", apt1, "--data", dir, "--org", "alpha", "--tlp", "purple"), "purple")
	wantUsage(t, run(t, nil, "", "import", "stix", filepath.Join(dir, "missing.json"), "--data", dir, "--org", "alpha"), "missing.json")
	wantUsage(t, run(t, nil, "{not json", "import", "stix", "-", "--data", dir, "--org", "alpha"), "not JSON")

	// Export: each organisation sees its own AMBER objects and GREEN ones.
	count := func(as string) (int, map[string]bool) {
		out := mustRun(t, "export", "stix", "--data", dir, "--as", as)
		var b struct {
			Type    string            `json:"type"`
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal([]byte(out), &b); err != nil || b.Type != "bundle" {
			t.Fatalf("export is not a bundle: %v", err)
		}
		ids := map[string]bool{}
		for _, o := range b.Objects {
			var h struct{ ID string }
			json.Unmarshal(o, &h)
			ids[h.ID] = true
		}
		return len(b.Objects), ids
	}
	na, idsA := count("alpha")
	nb, idsB := count("bravo")
	const aptReport = "report--e33ffe07-2f4c-48d8-b0af-ee2619d765cf"
	if !idsA[aptReport] || idsB[aptReport] {
		t.Errorf("alpha's AMBER report: alpha sees %v, bravo sees %v", idsA[aptReport], idsB[aptReport])
	}
	if na <= 76 || nb <= 155 {
		t.Errorf("export sizes alpha %d, bravo %d", na, nb)
	}
	wantUsage(t, run(t, nil, "", "export", "stix", "--data", dir), "--as")

	// Flags come from the environment too.
	env := map[string]string{"COINTRAIL_DATA": dir}
	if r := run(t, env, "", "org", "list"); r.code != 0 || !strings.Contains(r.stdout, "alpha") {
		t.Errorf("COINTRAIL_DATA not used: %+v", r)
	}
	wantUsage(t, run(t, map[string]string{"COINTRAIL_LISTEN": "x", "COINTRAIL_RATE": "fast"}, "", "serve", "--data", dir), "COINTRAIL_RATE")

	wantUsage(t, run(t, nil, "", "org", "list", "--data", filepath.Join(dir, "nowhere")), "init")
	wantUsage(t, run(t, nil, "", "frobnicate"), "frobnicate")
	wantUsage(t, run(t, nil, "", "org", "create", "--data", dir), "arg")
	wantUsage(t, run(t, nil, "", "org", "list", "--data", dir, "--bogus"), "bogus")
	if out := mustRun(t, "version"); !strings.HasPrefix(out, "cointrail ") {
		t.Errorf("version printed %q", out)
	}
}

// TestServe runs the serve command on a free port and talks to it.
func TestServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", dir)
	mustRun(t, "org", "create", "alpha", "--data", dir)
	tok := strings.TrimSpace(mustRun(t, "token", "create", "--org", "alpha", "--role", "contributor", "--data", dir))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-format", "json"}, strings.NewReader(""), io.Discard, pw, func(string) (string, bool) { return "", false })
		pw.Close()
	}()
	var url string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" {
			url = rec.URL
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatal("serve did not report its URL")
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/objects", strings.NewReader(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"campaign","id":"campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc","spec_version":"2.1","created":"2014-09-09T19:58:39.609Z","modified":"2014-09-09T19:58:39.609Z","name":"Operation Omega"}]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/stix+json;version=2.1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("post: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// A CLI command works on the folder while the node runs.
	if out := mustRun(t, "export", "stix", "--data", dir, "--as", "alpha"); !strings.Contains(out, "Operation Omega") {
		t.Error("export while serving lacks the posted object")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after the stop signal", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestDemoNoServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out := mustRun(t, "demo", "--data", dir, "--no-serve")
	for _, want := range []string{"fiu", "exchange", "operator"} {
		if !regexp.MustCompile(`(?m)^` + want + `\s+\w+\s+ct_`).MatchString(out) {
			t.Errorf("demo output lacks a token for %s:\n%s", want, out)
		}
	}
	exchange := mustRun(t, "export", "stix", "--data", dir, "--as", "exchange")
	fiu := mustRun(t, "export", "stix", "--data", dir, "--as", "fiu")
	if exchange == fiu {
		t.Error("the two demo organisations see the same objects")
	}
	if !strings.Contains(fiu, "Coincheck") || !strings.Contains(fiu, "Lazarus Group") {
		t.Error("demo export lacks the Coincheck incident or the actor")
	}
	// The simulated theft is loaded and traced to the exchanges.
	m := regexp.MustCompile(`traced \(fifo, \d+ transactions\): \d+ sat to Exchange [AB]`).FindString(out)
	inc := regexp.MustCompile(`--incident (incident--[0-9a-f-]+)`).FindStringSubmatch(out)
	if m == "" || inc == nil {
		t.Fatalf("demo output lacks the traced theft:\n%s", out)
	}
	tr := mustRun(t, "trace", "--data", dir, "--chain", "bitcoin-regtest", "--incident", inc[1], "--json")
	if !strings.Contains(tr, `"category": "exchange"`) {
		t.Errorf("the demo's trace reaches no exchange: %s", tr)
	}
	fmt.Fprint(io.Discard, os.Args)
}

// TestDemoAlerts serves the demo's data folder: the live trace of its
// simulated theft raises the exchange's alerts for the loot that reached
// Exchange A.
func TestDemoAlerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out := mustRun(t, "demo", "--data", dir, "--no-serve")
	token := regexp.MustCompile(`(?m)^exchange\s+\w+\s+(ct_\S+)`).FindStringSubmatch(out)
	inc := regexp.MustCompile(`--incident (incident--[0-9a-f-]+)`).FindStringSubmatch(out)
	if token == nil || inc == nil {
		t.Fatalf("demo output: %s", out)
	}
	url, stop := startServe(t, dir)
	defer stop()
	var alerts struct {
		Alerts []struct {
			Incident string            `json:"incident"`
			Address  string            `json:"address"`
			Amounts  map[string]string `json:"amounts"`
			Path     []string          `json:"path"`
		} `json:"alerts"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(alerts.Alerts) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, url+"/api/v1/alerts", token[1], &alerts)
	}
	if len(alerts.Alerts) == 0 {
		t.Fatal("no alert within a minute")
	}
	a := alerts.Alerts[0]
	if a.Incident != inc[1] || a.Amounts["fifo"] == "" || len(a.Path) < 2 {
		t.Errorf("alert %+v", a)
	}
}

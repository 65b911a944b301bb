package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the cointrail command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cointrail-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cointrail")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is a `cointrail serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	addr string
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// freeAddr returns a loopback address with a free port, so a node can be
// restarted on the address its peers know.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dir, addr string) *server {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--data", dir, "--listen", addr, "--log-format", "json",
		"--sync-interval", "300ms", "--sync-backoff-max", "2s", "--rate", "-1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, dir: dir, addr: addr, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.mu.Lock()
			s.logs.Write(line)
			s.logs.WriteByte('\n')
			s.mu.Unlock()
			var rec struct{ Msg, URL string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "serving" {
				urlc <- rec.URL
			}
		}
	}()
	select {
	case s.url = <-urlc:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("node %s did not start:\n%s", dir, s.logs)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
}

func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
}

// post submits a bundle to a node's REST API.
func post(t *testing.T, url, token string, objs []string) {
	t.Helper()
	body := `{"type":"bundle","id":"` + stix.NewID("bundle") + `","objects":[` + strings.Join(objs, ",") + `]}`
	req, _ := http.NewRequest("POST", url+"/api/v1/objects", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 201 {
		data, _ := io.ReadAll(res.Body)
		t.Fatalf("post: %d %s", res.StatusCode, data)
	}
}

func obj(id, name, marking string, recipients ...string) string {
	ext := ""
	if len(recipients) > 0 {
		q, _ := json.Marshal(recipients)
		ext = fmt.Sprintf(`,"extensions":{%q:{"extension_type":"property-extension","recipients":%s}}`, stix.SharingExtensionID, q)
	}
	return fmt.Sprintf(`{"type":"campaign","id":%q,"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":%q,"object_marking_refs":[%q]%s}`, id, name, marking, ext)
}

// visible returns the ids an organisation of a node may see.
func visible(t *testing.T, dir, org string) map[string]bool {
	t.Helper()
	out := mustRun(t, "export", "stix", "--data", dir, "--as", org)
	var b struct{ Objects []struct{ ID string } }
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range b.Objects {
		ids[o.ID] = true
	}
	return ids
}

func eventually(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestThreeNodes runs three nodes as separate processes on loopback. A
// shares CLEAR, GREEN, AMBER (for B's organisation) and RED (for C's); B
// and C pull from A, C also from B. Each organisation then sees exactly
// what the rules give it. B is killed with SIGKILL in the middle of a large
// pull and restarted: nothing is lost, nothing stored twice. A fake peer's
// tampered page changes nothing.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	base := t.TempDir()
	dirA, dirB, dirC := filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "c")
	idA := strings.TrimSpace(mustRun(t, "init", "--data", dirA, "--org", "alpha"))
	idB := strings.TrimSpace(mustRun(t, "init", "--data", dirB, "--org", "bravo"))
	idC := strings.TrimSpace(mustRun(t, "init", "--data", dirC, "--org", "charlie"))
	// Each node registers the organisations it issues tokens to, under
	// their own ids.
	mustRun(t, "org", "create", "bravo", "--id", idB, "--data", dirA)
	mustRun(t, "org", "create", "charlie", "--id", idC, "--data", dirA)
	mustRun(t, "org", "create", "charlie", "--id", idC, "--data", dirB)
	tokAB := strings.TrimSpace(mustRun(t, "token", "create", "--org", "bravo", "--role", "sync", "--data", dirA))
	tokAC := strings.TrimSpace(mustRun(t, "token", "create", "--org", "charlie", "--role", "sync", "--data", dirA))
	tokBC := strings.TrimSpace(mustRun(t, "token", "create", "--org", "charlie", "--role", "sync", "--data", dirB))
	tokA := strings.TrimSpace(mustRun(t, "token", "create", "--org", "alpha", "--role", "contributor", "--data", dirA))
	keyA := strings.TrimSpace(mustRun(t, "node", "key", "--data", dirA))
	keyB := strings.TrimSpace(mustRun(t, "node", "key", "--data", dirB))

	addrB := freeAddr(t)
	a := startServer(t, dirA, "127.0.0.1:0")
	b := startServer(t, dirB, addrB)
	startServer(t, dirC, "127.0.0.1:0")

	mustRun(t, "peer", "add", "a", "--url", a.url, "--token", tokAB, "--key", keyA, "--data", dirB)
	mustRun(t, "peer", "add", "a", "--url", a.url+"/taxii2/", "--token", tokAC, "--key", keyA, "--data", dirC)
	mustRun(t, "peer", "add", "b", "--url", b.url, "--token", tokBC, "--key", keyB, "--data", dirC)
	wantUsage(t, run(t, nil, "", "peer", "add", "x", "--url", a.url, "--token", tokAB, "--key", keyB, "--data", dirB), "does not list the key")

	const (
		clear = "campaign--00000000-0000-4000-8000-0000000000c1"
		green = "campaign--00000000-0000-4000-8000-0000000000c2"
		amber = "campaign--00000000-0000-4000-8000-0000000000c3"
		red   = "campaign--00000000-0000-4000-8000-0000000000c4"
	)
	post(t, a.url, tokA, []string{
		obj(clear, "clear", stix.TLPClearID),
		obj(green, "green", stix.TLPGreenID),
		obj(amber, "amber for bravo", stix.TLPAmberID, idB),
		obj(red, "red for charlie", stix.TLPRedID, idC),
	})
	want := map[string]map[string]bool{ // node dir -> org -> object -> seen
		dirB: {clear: true, green: true, amber: true, red: false},
		dirC: {clear: true, green: true, amber: false, red: true},
	}
	orgOf := map[string]string{dirB: "bravo", dirC: "charlie"}
	for dir, w := range want {
		eventually(t, "the objects to reach "+orgOf[dir], 60*time.Second, func() bool {
			got := visible(t, dir, orgOf[dir])
			for id, seen := range w {
				if got[id] != seen {
					return false
				}
			}
			return true
		})
	}
	// What never arrives: nothing of AMBER reaches C (B does not re-serve
	// it, A does not serve it to C), RED never reaches B.
	time.Sleep(time.Second)
	if got := visible(t, dirC, "charlie"); got[amber] {
		t.Error("C holds the AMBER object meant for B")
	}
	if got := visible(t, dirB, "bravo"); got[red] {
		t.Error("B holds the RED object meant for C")
	}
	// Provenance survives re-sharing: C's copy carries A's owner and signature.
	out := mustRun(t, "export", "stix", "--data", dirC, "--as", "charlie")
	var bundle struct{ Objects []json.RawMessage }
	json.Unmarshal([]byte(out), &bundle)
	for _, raw := range bundle.Objects {
		o, _ := stix.Parse(raw)
		if o.ID == green {
			if owner, sig := o.Provenance(); owner != idA || sig == nil || sig.Key == "" {
				t.Errorf("C's copy of the GREEN object: owner %s, signature %+v", owner, sig)
			}
		}
	}

	// B's metrics count what it pulled from A, and its lag.
	mres, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	for _, m := range []string{`cointrail_federation_objects_total{direction="pull",outcome="added",peer="a"}`, `cointrail_federation_lag_seconds{peer="a"}`, `cointrail_federation_up{peer="a"} 1`} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("B's metrics lack %s", m)
		}
	}
	if list := mustRun(t, "peer", "list", "--data", dirB); !strings.Contains(list, "a ") || strings.Contains(list, tokAB) {
		t.Errorf("peer list:\n%s", list)
	}

	// A rotates its key: peers bind the new key from A's document, under
	// the old one, and take A's new objects.
	a.stop()
	mustRun(t, "node", "key", "rotate", "--data", dirA)
	a = startServer(t, dirA, strings.TrimPrefix(a.url, "http://"))
	const rotated = "campaign--00000000-0000-4000-8000-0000000000c5"
	post(t, a.url, tokA, []string{obj(rotated, "signed with the new key", stix.TLPGreenID)})
	eventually(t, "the object signed with A's new key to reach B", 60*time.Second, func() bool {
		return visible(t, dirB, "bravo")[rotated]
	})

	// A large pull, interrupted by SIGKILL.
	const large = 12000
	for i := 0; i < large; i += 1000 {
		var batch []string
		for j := i; j < i+1000; j++ {
			batch = append(batch, obj(fmt.Sprintf("campaign--00000000-0000-4000-9000-%012d", j), fmt.Sprintf("bulk %d", j), stix.TLPGreenID))
		}
		post(t, a.url, tokA, batch)
	}
	countB := func() int {
		st, err := sqlite.Open(context.Background(), filepath.Join(dirB, node.DBFile), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		recs, err := st.Query(context.Background(), intel.Query{Types: []string{"campaign"}, Text: "bulk "})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	var before int
	eventually(t, "B to start the large pull", 60*time.Second, func() bool {
		before = countB()
		return before > 0
	})
	if before >= large {
		t.Logf("B pulled everything before the kill (%d); the restart still must not duplicate", before)
	}
	b.kill(t)
	t.Logf("killed B after %d of %d objects", before, large)
	startServer(t, dirB, addrB)
	eventually(t, "B to finish the large pull", 120*time.Second, func() bool { return countB() >= large })
	time.Sleep(time.Second)
	if n := countB(); n != large {
		t.Errorf("B holds %d bulk records, want %d (each once)", n, large)
	}

	// A fake peer serves a tampered copy of A's object, an object signed by
	// a key that is not its owner's, and an unsigned one.
	fakePub, fakePriv, _ := ed25519.GenerateKey(rand.Reader)
	fakeOrg := stix.NewID("identity")
	fake := fakePeer(t, fakePub, fakePriv, fakeOrg, bundle.Objects, green)
	mustRun(t, "org", "create", "fakeorg", "--id", fakeOrg, "--data", dirC)
	mustRun(t, "peer", "add", "fake", "--url", fake.URL, "--token", "any", "--key", node.EncodePublic(fakePub), "--data", dirC)
	res := mustRun(t, "peer", "sync", "fake", "--data", dirC)
	if !strings.Contains(res, "0 pulled") || !strings.Contains(res, "3 rejected") {
		t.Errorf("sync with the fake peer: %s", res)
	}
	st, _ := sqlite.Open(context.Background(), filepath.Join(dirC, node.DBFile), sqlite.Options{})
	defer st.Close()
	for _, id := range []string{green, "campaign--00000000-0000-4000-8000-0000000000f1", "campaign--00000000-0000-4000-8000-0000000000f2"} {
		vs, _ := st.Versions(context.Background(), id)
		for _, r := range vs {
			if strings.Contains(string(r.Data), "tampered") || strings.Contains(string(r.Data), "wrong key") || strings.Contains(string(r.Data), "unsigned") {
				t.Errorf("the fake peer's page stored %s: %s", id, r.Data)
			}
		}
		if id == green && len(vs) != 1 {
			t.Errorf("C holds %d versions of the GREEN object, want 1", len(vs))
		}
	}
	if got := mustRun(t, "export", "stix", "--data", dirC, "--as", "charlie"); strings.Contains(got, "tampered") {
		t.Error("C serves the tampered object")
	}
}

// fakePeer serves a node document signed by its own key and one TAXII page
// of bad objects: a tampered copy of the object with id tamper (taken from
// objs, with its original signature), an object of its own organisation
// signed by another key, and an unsigned one.
func fakePeer(t *testing.T, pub ed25519.PublicKey, priv ed25519.PrivateKey, org string, objs []json.RawMessage, tamper string) *httptest.Server {
	t.Helper()
	var page []json.RawMessage
	for _, raw := range objs {
		o, _ := stix.Parse(raw)
		if o.ID == tamper {
			o.Set("name", "tampered")
			data, _ := o.MarshalJSON()
			page = append(page, data)
		}
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	wrongKey := obj("campaign--00000000-0000-4000-8000-0000000000f1", "wrong key", stix.TLPGreenID)
	o, _ := stix.Parse([]byte(wrongKey))
	o.SetExtension(stix.ProvenanceExtensionID, "property-extension", map[string]any{"owner": org})
	c, _ := o.Canonical()
	o.SetExtension(stix.ProvenanceExtensionID, "property-extension", map[string]any{"owner": org,
		"signature": stix.Signature{Alg: "ed25519", Key: node.KeyID(pub), Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(otherPriv, c))}})
	data, _ := o.MarshalJSON()
	page = append(page, data, json.RawMessage(obj("campaign--00000000-0000-4000-8000-0000000000f2", "unsigned", stix.TLPGreenID)))

	identity := fmt.Sprintf(`{"type":"identity","id":%q,"spec_version":"2.1","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"fake"}`, org)
	doc := map[string]any{"type": "cointrail-node", "issued": "2026-01-01T00:00:00.000Z",
		"keys": []node.PublicKey{{ID: node.KeyID(pub), Public: pub}}, "organisations": []json.RawMessage{json.RawMessage(identity)}}
	unsigned, _ := json.Marshal(doc)
	canon, _ := stix.Canonicalize(unsigned)
	doc["signature"] = stix.Signature{Alg: "ed25519", Key: node.KeyID(pub), Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, canon))}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		switch {
		case r.URL.Path == "/api/v1/node":
			json.NewEncoder(w).Encode(doc)
		case r.URL.Path == "/taxii2/":
			fmt.Fprintf(w, `{"title":"fake","api_roots":[%q]}`, srv.URL+"/taxii/")
		case r.URL.Path == "/taxii/collections/":
			fmt.Fprint(w, `{"collections":[{"id":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","title":"fake","can_read":true,"can_write":false,"media_types":["application/stix+json;version=2.1"]}]}`)
		case strings.HasSuffix(r.URL.Path, "/objects/"):
			w.Header().Set("X-TAXII-Date-Added-First", "2026-01-01T00:00:00.000000Z")
			w.Header().Set("X-TAXII-Date-Added-Last", "2026-01-01T00:00:00.000002Z")
			if r.URL.Query().Get("added_after") == "2026-01-01T00:00:00.000002Z" {
				fmt.Fprint(w, `{"more":false}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"more": false, "objects": page})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPush: a node that cannot be reached (P) pushes to one that can (Q),
// which knows P from its signed document alone. Q receives what its
// organisation may see, with P's owner and signature.
func TestPush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node process")
	}
	base := t.TempDir()
	dirP, dirQ := filepath.Join(base, "p"), filepath.Join(base, "q")
	idP := strings.TrimSpace(mustRun(t, "init", "--data", dirP, "--org", "papa"))
	idQ := strings.TrimSpace(mustRun(t, "init", "--data", dirQ, "--org", "quebec"))
	mustRun(t, "org", "create", "papa", "--id", idP, "--data", dirQ)
	mustRun(t, "org", "create", "quebec", "--id", idQ, "--data", dirP)
	tokQP := strings.TrimSpace(mustRun(t, "token", "create", "--org", "papa", "--role", "sync", "--data", dirQ))
	docFile := filepath.Join(base, "p.json")
	if err := os.WriteFile(docFile, []byte(mustRun(t, "node", "document", "--data", dirP)), 0o600); err != nil {
		t.Fatal(err)
	}
	keyP := strings.TrimSpace(mustRun(t, "node", "key", "--data", dirP))
	keyQ := strings.TrimSpace(mustRun(t, "node", "key", "--data", dirQ))
	mustRun(t, "peer", "add", "p", "--document", docFile, "--key", keyP, "--data", dirQ)
	q := startServer(t, dirQ, "127.0.0.1:0")
	mustRun(t, "peer", "add", "q", "--url", q.url, "--token", tokQP, "--key", keyQ, "--push", "--push-collection", "f834b955-44a0-464d-be32-75464ffbeefa", "--data", dirP)

	const (
		green   = "campaign--00000000-0000-4000-8000-0000000000d1"
		forQ    = "campaign--00000000-0000-4000-8000-0000000000d2"
		private = "campaign--00000000-0000-4000-8000-0000000000d3"
	)
	bundle := filepath.Join(base, "b.json")
	os.WriteFile(bundle, []byte(`{"type":"bundle","id":"bundle--00000000-0000-4000-8000-0000000000d0","objects":[`+
		obj(green, "green from papa", stix.TLPGreenID)+","+obj(forQ, "amber for quebec", stix.TLPAmberID, idQ)+","+obj(private, "papa's own", stix.TLPAmberID)+`]}`), 0o600)
	mustRun(t, "import", "stix", bundle, "--data", dirP, "--org", "papa")
	out := mustRun(t, "peer", "sync", "q", "--data", dirP)
	if !strings.Contains(out, "3 pushed, 0 rejected") { // papa's identity, the green object, the amber one for quebec
		t.Errorf("push: %s", out)
	}
	got := visible(t, dirQ, "quebec")
	if !got[green] || !got[forQ] || got[private] {
		t.Errorf("quebec sees green %v, amber for it %v, papa's own %v", got[green], got[forQ], got[private])
	}
	// Pushing again sends nothing new.
	if out := mustRun(t, "peer", "sync", "q", "--data", dirP); !strings.Contains(out, "0 pushed, 0 rejected") {
		t.Errorf("second push: %s", out)
	}
	export := mustRun(t, "export", "stix", "--data", dirQ, "--as", "quebec")
	if !strings.Contains(export, idP) {
		t.Error("Q's copy lost P's provenance")
	}
}

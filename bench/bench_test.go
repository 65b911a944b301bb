package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/postgres"
	"github.com/cointrail/cointrail/internal/store/sqlite"
	"github.com/cointrail/cointrail/internal/taxii"
)

const (
	// postgresEnv names the admin URL of a PostgreSQL server the
	// benchmarks may create databases on.
	postgresEnv = "COINTRAIL_TEST_POSTGRES"
	// largeEnv, set to 1, enables the read benchmark on a million objects.
	largeEnv = "COINTRAIL_BENCH_LARGE"

	// bundleCases is the number of cases per bundle: 1,000 objects.
	bundleCases = 100
	// pageSize is the limit the read benchmark pages with.
	pageSize = 1000
)

// BenchmarkIngest posts bundles of 1,000 new objects to POST
// /api/v1/objects, one after another, into a store that starts empty, and
// reports objects/s and the request bytes per bundle.
func BenchmarkIngest(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			n := startNode(b, be.open(b, ""), nil)
			c := Corpus{Seed: "ingest-" + randomHex(), Owner: n.owner, Recipient: n.reader}
			k := 0
			body := c.Bundle(0, bundleCases)
			sent := 0
			for b.Loop() {
				if err := n.post(ctx, body, bundleCases*CaseSize); err != nil {
					b.Fatal(err)
				}
				sent += len(body)
				b.StopTimer()
				k += bundleCases
				body = c.Bundle(k, bundleCases)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*bundleCases*CaseSize)/b.Elapsed().Seconds(), "objects/s")
			b.ReportMetric(float64(sent)/float64(b.N), "bytes/op")
		})
	}
}

// BenchmarkRead pages through GET /api/v1/objects?limit=1000, following
// "next" to the end, with N objects stored, as an organisation that sees
// two thirds of them (TLP:GREEN and the TLP:AMBER cases shared with it, not
// another organisation's other TLP:AMBER ones). It reports the objects
// served per second. The stores are filled once and kept (see
// [backend.open]); the 1M size runs only with COINTRAIL_BENCH_LARGE=1.
func BenchmarkRead(b *testing.B) {
	sizes := []struct {
		name  string
		total int
	}{
		{"10k", 10_000},
		{"1M", 1_000_000},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, size := range sizes {
				b.Run(size.name, func(b *testing.B) {
					if size.total > 100_000 && os.Getenv(largeEnv) != "1" {
						b.Skipf("set %s=1 to read %s objects (filling the store takes minutes)", largeEnv, size.name)
					}
					benchRead(b, be, size.name, size.total)
				})
			}
		})
	}
}

func benchRead(b *testing.B, be backend, sizeName string, total int) {
	ctx := context.Background()
	n := filledNode(b, be, "read_"+sizeName, "read-"+sizeName, total, nil)

	want := VisibleCases(total/CaseSize) * CaseSize
	served, pages := 0, 0
	for b.Loop() {
		got, p, err := n.readAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// Besides the corpus the reader sees the built-in objects and the
		// organisations' identities.
		if got < want || got > want+100 {
			b.Fatalf("read %d objects, want %d and the few built-in ones", got, want)
		}
		served += got
		pages += p
	}
	b.ReportMetric(float64(served)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
}

// filledNode returns a node on the cached store of dataset holding the
// first total objects of the corpus with seed, filling what it lacks
// through intel.Service.Submit (signed with signer, if set).
func filledNode(b *testing.B, be backend, dataset, seed string, total int, signer intel.Signer) *node {
	ctx := context.Background()
	st := be.open(b, dataset)
	probe := Corpus{Seed: seed}
	if done := storedBatches(ctx, b, st, probe, total); done == 0 {
		if last, err := st.LastAdded(ctx); err != nil {
			b.Fatal(err)
		} else if last > 0 {
			// Something else, or a fill cut short before its first batch:
			// start again from an empty store.
			b.Logf("%s %s: the cached store holds no batch of this corpus; refilling", be.name, dataset)
			st = be.reset(b, dataset, st)
		}
	}
	n := startNode(b, st, signer)
	c := Corpus{Seed: seed, Owner: n.owner, Recipient: n.reader}
	fill(ctx, b, be.name+" "+dataset, n, c, total)
	return n
}

// A backend opens stores of one kind.
type backend struct {
	name string
	// open returns a store for dataset, kept across runs under a name
	// derived from it and reused as it is. Dataset "" is a new, empty store
	// removed when the benchmark ends.
	open func(b *testing.B, dataset string) intel.Store
	// reset closes st and returns the dataset's store emptied.
	reset func(b *testing.B, dataset string, st intel.Store) intel.Store
}

var backends = []backend{
	{"sqlite", openSQLite, resetSQLite},
	{"postgres", openPostgres, resetPostgres},
}

// sqlitePath returns the file of a cached SQLite dataset: under the system
// temporary directory, named for the dataset, the schema and the corpus.
func sqlitePath(b *testing.B, dataset string) string {
	if dataset == "" {
		return filepath.Join(b.TempDir(), "ingest.db")
	}
	dir := filepath.Join(os.TempDir(), "cointrail-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, fmt.Sprintf("%s-schema%d-corpus%d.db", dataset, sqlite.SchemaVersion(), CorpusVersion))
}

func openSQLite(b *testing.B, dataset string) intel.Store {
	path := sqlitePath(b, dataset)
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	})
	if dataset != "" {
		b.Logf("sqlite store %s", path)
	}
	return st
}

func resetSQLite(b *testing.B, dataset string, st intel.Store) intel.Store {
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	path := sqlitePath(b, dataset)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.Fatal(err)
		}
	}
	return openSQLite(b, dataset)
}

// postgresAdmin returns $COINTRAIL_TEST_POSTGRES, skipping the benchmark
// when it is unset.
func postgresAdmin(b *testing.B) string {
	admin := os.Getenv(postgresEnv)
	if admin == "" {
		b.Skipf("set %s to a PostgreSQL admin URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL benchmarks", postgresEnv)
	}
	return admin
}

// postgresDatabase makes sure database name exists (dropping it first if
// fresh) and returns its URL.
func postgresDatabase(b *testing.B, name string, fresh bool) string {
	admin := postgresAdmin(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatalf("connect to %s: %v", postgresEnv, err)
	}
	defer conn.Close(ctx)
	if fresh {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			b.Fatalf("drop database %s: %v", name, err)
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			b.Fatalf("create database %s: %v", name, err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		b.Fatalf("%s must be a postgres:// URL", postgresEnv)
	}
	u.Path = "/" + name
	return u.String()
}

// postgresName returns the database of a cached dataset:
// cointrail_bench_<size> for read_<size>, else cointrail_bench_<dataset>.
func postgresName(dataset string) string {
	return "cointrail_bench_" + strings.TrimPrefix(dataset, "read_")
}

func openPostgres(b *testing.B, dataset string) intel.Store {
	var name string
	if dataset == "" {
		name = "cointrail_bench_ingest_" + randomHex()
		admin := postgresAdmin(b)
		// Registered first, so it runs after the store is closed.
		b.Cleanup(func() {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, admin)
			if err != nil {
				b.Errorf("connect to drop %s: %v", name, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				b.Errorf("drop database %s: %v", name, err)
			}
		})
	} else {
		name = strings.ToLower(postgresName(dataset))
	}
	return openPostgresURL(b, postgresDatabase(b, name, false), name)
}

func openPostgresURL(b *testing.B, dsn, name string) intel.Store {
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		b.Fatalf("open database %s: %v", name, err)
	}
	b.Cleanup(func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	})
	return st
}

func resetPostgres(b *testing.B, dataset string, st intel.Store) intel.Store {
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	name := strings.ToLower(postgresName(dataset))
	return openPostgresURL(b, postgresDatabase(b, name, true), name)
}

// node is a cointrail node serving the REST API over HTTP on a loopback
// port, with an organisation that submits (owner) and one that reads
// (reader).
type node struct {
	url    string
	client *http.Client
	svc    *intel.Service
	// owner and reader are identity ids; ownerToken and readerToken, their
	// plaintext tokens (contributor and reader).
	owner, reader           string
	ownerToken, readerToken string
}

// startNode bootstraps a node on st, or finds its organisations on a
// store set up before, makes fresh tokens, and serves the API without rate
// limit, with TAXII 2.1 mounted as serve mounts it. With a signer, the
// objects submitted are signed with it, as a node signs them.
func startNode(b *testing.B, st intel.Store, signer intel.Signer) *node {
	b.Helper()
	ctx := context.Background()
	opts := intel.Options{Address: address.Canonical, Signer: signer}
	var svc *intel.Service
	op, err := st.OrgByName(ctx, "operator")
	switch {
	case err == nil:
		opts.Operator = op.ID
		svc = intel.New(st, opts)
	case fault.CodeOf(err) == fault.NotFound:
		svc, op, err = intel.Bootstrap(ctx, st, "operator", opts)
		if err != nil {
			b.Fatal(err)
		}
	default:
		b.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	org := func(name string) string {
		o, err := st.OrgByName(ctx, name)
		if fault.CodeOf(err) == fault.NotFound {
			o, err = svc.CreateOrg(ctx, opV, name, "")
		}
		if err != nil {
			b.Fatal(err)
		}
		return o.ID
	}
	token := func(org string, role access.Role) string {
		_, secret, err := svc.CreateToken(ctx, opV, org, role, 0)
		if err != nil {
			b.Fatal(err)
		}
		return secret
	}
	n := &node{svc: svc, owner: org("alpha"), reader: org("bravo")}
	n.ownerToken = token(n.owner, access.Contributor)
	n.readerToken = token(n.reader, access.Reader)
	api := httpapi.New(svc, httpapi.Options{RatePerSecond: -1, MaxBodyBytes: 256 << 20})
	tx, err := taxii.New(svc, taxii.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range tx.Paths() {
		api.Mount(p, tx, httpapi.MountOptions{Public: true, WriteError: taxii.WriteError})
	}
	srv := httptest.NewServer(api.Handler())
	b.Cleanup(srv.Close)
	n.url, n.client = srv.URL, srv.Client()
	return n
}

// post submits a bundle as the owner and checks that all of its objects
// were added.
func (n *node) post(ctx context.Context, bundle []byte, objects int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url+"/api/v1/objects", bytes.NewReader(bundle))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.ownerToken)
	req.Header.Set("Content-Type", "application/stix+json;version=2.1")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /api/v1/objects: %s: %.500s", resp.Status, data)
	}
	var res httpapi.SubmitBody
	if err := json.Unmarshal(data, &res); err != nil {
		return err
	}
	if res.Added != objects {
		return fmt.Errorf("POST /api/v1/objects added %d objects, want %d", res.Added, objects)
	}
	return nil
}

// readAll pages through every object the reader may see and returns how
// many objects and pages it got.
func (n *node) readAll(ctx context.Context) (objects, pages int, err error) {
	next := ""
	for {
		u := fmt.Sprintf("%s/api/v1/objects?limit=%d", n.url, pageSize)
		if next != "" {
			u += "&cursor=" + url.QueryEscape(next)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+n.readerToken)
		resp, err := n.client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		var page httpapi.ListBody
		if resp.StatusCode != http.StatusOK {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return 0, 0, fmt.Errorf("GET /api/v1/objects: %s: %.500s", resp.Status, data)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("GET /api/v1/objects: %w", err)
		}
		objects += len(page.Objects)
		pages++
		if !page.More {
			return objects, pages, nil
		}
		if page.Next == "" {
			return 0, 0, errors.New("GET /api/v1/objects: more without next")
		}
		next = page.Next
	}
}

// storedBatches returns how many of the fill's batches st holds. The fill
// stores batches in order, each in one transaction, so they are a prefix;
// batch i is there if the incident of its last case is.
func storedBatches(ctx context.Context, b *testing.B, st intel.Store, c Corpus, total int) int {
	batches := total / (bundleCases * CaseSize)
	return sort.Search(batches, func(i int) bool {
		vs, err := st.Versions(ctx, c.IncidentID((i+1)*bundleCases-1))
		if err != nil {
			b.Fatal(err)
		}
		return len(vs) == 0
	})
}

// fill submits the corpus's first total objects that the store lacks
// through intel.Service.Submit, in batches of 1,000 owned by the node's
// owner, and logs how long it took. Batches are built and parsed one ahead
// by a second goroutine. Progress goes to stderr when it is a terminal.
func fill(ctx context.Context, b *testing.B, label string, n *node, c Corpus, total int) {
	batches := total / (bundleCases * CaseSize)
	done := storedBatches(ctx, b, n.svc.Store(), c, total)
	if done == batches {
		b.Logf("%s: store already holds the %d objects", label, total)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	type batch struct {
		objs []*stix.Object
		err  error
	}
	ch := make(chan batch, 2)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(ch)
		for i := done; i < batches; i++ {
			bd, err := stix.ParseBundle(c.Bundle(i*bundleCases, bundleCases))
			var objs []*stix.Object
			if bd != nil {
				objs = bd.Objects
			}
			select {
			case ch <- batch{objs, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-finished
	}()

	tty := isTerminal(os.Stderr)
	v := access.Viewer{Org: n.owner, Role: access.Contributor}
	start := time.Now()
	added := 0
	for bt := range ch {
		if bt.err != nil {
			b.Fatal(bt.err)
		}
		res, err := n.svc.Submit(ctx, v, bt.objs, intel.SubmitOptions{})
		if err != nil {
			b.Fatalf("%s: submit batch %d: %v", label, done+added/(bundleCases*CaseSize), err)
		}
		added += res.Added
		if tty {
			el := time.Since(start)
			rate := float64(added) / el.Seconds()
			left := time.Duration(float64(total-done*bundleCases*CaseSize-added) / rate * float64(time.Second))
			fmt.Fprintf(os.Stderr, "\rfill %s: %d/%d objects, %.0f objects/s, %s left   ",
				label, done*bundleCases*CaseSize+added, total, rate, left.Round(time.Second))
		}
	}
	if tty {
		fmt.Fprintln(os.Stderr)
	}
	el := time.Since(start)
	b.Logf("%s: filled %d objects (from %d) in %s, %.0f objects/s", label, added,
		done*bundleCases*CaseSize, el.Round(time.Millisecond), float64(added)/el.Seconds())
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/intel"
	nodekey "github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
	"github.com/cointrail/cointrail/internal/taxii"
)

// mediaTAXII is the media type TAXII 2.1 clients send and accept.
const mediaTAXII = "application/taxii+json;version=2.1"

// BenchmarkTAXIIRead pages through GET /taxii/collections/<default>/objects/
// ?limit=1000, following "next" to the end as taxii2-client's as_pages
// does, with N signed objects stored, as an organisation that sees two
// thirds of them. It reports the objects served per second. The stores are
// the signed counterparts of BenchmarkRead's (objects submitted with a
// node key, so they carry the provenance extension and its signature),
// filled once and kept; the 1M size runs only with COINTRAIL_BENCH_LARGE=1.
func BenchmarkTAXIIRead(b *testing.B) {
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
					benchTAXIIRead(b, be, size.name, size.total)
				})
			}
		})
	}
}

func benchTAXIIRead(b *testing.B, be backend, sizeName string, total int) {
	ctx := context.Background()
	n := filledNode(b, be, "signed_"+sizeName, "signed-"+sizeName, total, benchSigner())
	want := VisibleCases(total/CaseSize) * CaseSize
	served, pages := 0, 0
	for b.Loop() {
		got, p, err := n.taxiiReadAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// The default collection holds every object: besides the corpus
		// the reader sees the built-in objects and the identities.
		if got < want || got > want+100 {
			b.Fatalf("read %d objects, want %d and the few built-in ones", got, want)
		}
		served += got
		pages += p
	}
	b.ReportMetric(float64(served)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
}

// BenchmarkTAXIIAdd posts TAXII envelopes of 1,000 new objects to POST
// /taxii/collections/<default>/objects/ as a contributor, one after
// another, into a store that starts empty, on a node that signs what its
// organisations submit. Each answer is the 202 status of a request whose
// 1,000 objects were all added. It reports objects/s and the request bytes
// per envelope.
func BenchmarkTAXIIAdd(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			n := startNode(b, be.open(b, ""), benchSigner())
			c := Corpus{Seed: "taxii-add-" + randomHex(), Owner: n.owner, Recipient: n.reader}
			k := 0
			body := c.Envelope(0, bundleCases)
			sent := 0
			for b.Loop() {
				if err := n.taxiiAdd(ctx, body, bundleCases*CaseSize); err != nil {
					b.Fatal(err)
				}
				sent += len(body)
				b.StopTimer()
				k += bundleCases
				body = c.Envelope(k, bundleCases)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*bundleCases*CaseSize)/b.Elapsed().Seconds(), "objects/s")
			b.ReportMetric(float64(sent)/float64(b.N), "bytes/op")
		})
	}
}

// BenchmarkReceive is what a pulling node does with each page it gets from
// a peer, without the HTTP request: decode the TAXII envelope, parse each
// object (federation.Client.Objects), and store the page with
// intel.Service.Receive, which checks each object's owner, validates it,
// verifies its Ed25519 provenance signature over its RFC 8785 form, and
// stores the page and the pull cursor in one transaction. The pages hold
// 1,000 signed objects each, made once by Submit on a source node and kept
// (see [receivePages]); the store starts empty. It reports objects/s.
// Profile it with -cpuprofile to see what bounds a sync.
func BenchmarkReceive(b *testing.B) {
	src := receivePages(b)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			svc, v := receiver(b, be, src)
			i := 0
			for b.Loop() {
				if i == len(src.pages) {
					// Every page is held: go on into an empty store.
					b.StopTimer()
					svc, v = receiver(b, be, src)
					i = 0
					b.StartTimer()
				}
				if err := receivePage(ctx, svc, v, src.pages[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N*receivePageSize)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

const (
	// receivePageCount and receivePageSize shape the pages BenchmarkReceive
	// stores: 30 pages of 1,000 objects.
	receivePageCount = 30
	receivePageSize  = 1000
	// receivePagesVersion changes whenever the way the pages are made
	// changes, so that a cached file of an older version is made again.
	receivePagesVersion = 1
)

// signedPages are TAXII envelopes of objects owned by an organisation of a
// source node and signed with the node's key, as the node serves them.
type signedPages struct {
	owner string
	key   ed25519.PublicKey
	pages [][]byte
}

// receivePages returns the pages BenchmarkReceive stores. They are made
// once, by submitting the corpus to a node that signs with [benchSigner]
// and reading the stored objects back, and kept in a file under
// $TMPDIR/cointrail-bench: the first line is the owner's identity id, each
// further line an envelope.
func receivePages(b *testing.B) *signedPages {
	ctx := context.Background()
	signer := benchSigner()
	out := &signedPages{key: signer.Key.Public().(ed25519.PublicKey)}
	dir := filepath.Join(os.TempDir(), "cointrail-bench")
	path := filepath.Join(dir, fmt.Sprintf("receive-pages-%dx%d-corpus%d-v%d.jsonl",
		receivePageCount, receivePageSize, CorpusVersion, receivePagesVersion))
	if data, err := os.ReadFile(path); err == nil {
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		if len(lines) == receivePageCount+1 {
			out.owner = string(lines[0])
			out.pages = lines[1:]
			return out
		}
	}
	start := time.Now()
	st, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc, op, err := intel.Bootstrap(ctx, st, "alpha", intel.Options{Address: address.Canonical, Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	out.owner = op.ID
	// The organisation the shared cases name, registered as a node
	// registers a peer's organisation.
	if _, err := svc.CreateOrg(ctx, access.Viewer{Org: op.ID, Role: access.Admin}, SyncRecipientName, SyncRecipient); err != nil {
		b.Fatal(err)
	}
	c := Corpus{Seed: "receive", Owner: op.ID, Recipient: SyncRecipient}
	v := access.Viewer{Org: op.ID, Role: access.Contributor}
	cases := receivePageSize / CaseSize
	for p := range receivePageCount {
		bd, err := stix.ParseBundle(c.Bundle(p*cases, cases))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Submit(ctx, v, bd.Objects, intel.SubmitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	recs, err := st.Query(ctx, intel.Query{})
	if err != nil {
		b.Fatal(err)
	}
	var objs [][]byte
	for _, r := range recs {
		switch r.Type {
		case "incident", stix.TypeCryptocurrencyWallet, "indicator", "relationship":
			objs = append(objs, r.Data)
		}
	}
	if len(objs) != receivePageCount*receivePageSize {
		b.Fatalf("the source node holds %d corpus objects, want %d", len(objs), receivePageCount*receivePageSize)
	}
	file := []byte(op.ID + "\n")
	for p := range receivePageCount {
		var env bytes.Buffer
		env.WriteString(`{"more":true,"next":"bench","objects":[`)
		env.Write(bytes.Join(objs[p*receivePageSize:(p+1)*receivePageSize], []byte(",")))
		env.WriteString("]}")
		out.pages = append(out.pages, env.Bytes())
		file = append(append(file, env.Bytes()...), '\n')
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, file, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d signed pages in %s: %s", receivePageCount, time.Since(start).Round(time.Millisecond), path)
	return out
}

// receiver returns a service on an empty store that has bound the source
// node of src (its key and its organisation, as peer add binds them), and
// the viewer a pull stores with.
func receiver(b *testing.B, be backend, src *signedPages) (*intel.Service, access.Viewer) {
	ctx := context.Background()
	svc, op, err := intel.Bootstrap(ctx, be.open(b, ""), "bravo", intel.Options{Address: address.Canonical})
	if err != nil {
		b.Fatal(err)
	}
	admin := access.Viewer{Org: op.ID, Role: access.Admin}
	keys := []access.NodeKey{{ID: nodekey.KeyID(src.key), Public: src.key}}
	orgs := []access.Org{{ID: src.owner, Name: "a/alpha"}}
	if err := svc.BindNode(ctx, admin, "a", keys, orgs, "", ""); err != nil {
		b.Fatal(err)
	}
	return svc, access.Viewer{Org: op.ID, Role: access.Sync}
}

// receivePage does what a pull does with one page: decode the envelope as
// federation.Client.Objects does, parse each object, and receive them with
// the pull cursor.
func receivePage(ctx context.Context, svc *intel.Service, v access.Viewer, page []byte) error {
	var env struct {
		More    bool              `json:"more"`
		Next    string            `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(page, &env); err != nil {
		return err
	}
	objs := make([]*stix.Object, 0, len(env.Objects))
	for i, raw := range env.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			return fmt.Errorf("objects[%d]: %w", i, err)
		}
		objs = append(objs, o)
	}
	res, err := svc.Receive(ctx, v, objs, intel.ReceiveOptions{
		From: "a", StateKey: "cursor/pull/a/" + taxii.DefaultCollectionID, StateValue: time.Now().UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return err
	}
	if res.Added != len(objs) {
		msg := ""
		if len(res.Rejections) > 0 {
			msg = ": " + res.Rejections[0].Error
		}
		return fmt.Errorf("received %d of %d objects (%d unchanged, %d rejected%s)", res.Added, len(objs), res.Unchanged, res.Rejected, msg)
	}
	return nil
}

// benchSigner returns the signer of the benchmarks' nodes: an Ed25519 key
// derived from a fixed seed, so that cached stores and pages stay signed
// with one key from run to run.
func benchSigner() intel.Ed25519Signer {
	seed := sha256.Sum256([]byte("cointrail bench node key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	return intel.Ed25519Signer{Key: priv, ID: nodekey.KeyID(priv.Public().(ed25519.PublicKey))}
}

// taxiiObjectsURL returns the URL of the default collection's objects.
func (n *node) taxiiObjectsURL() string {
	return n.url + "/taxii/collections/" + taxii.DefaultCollectionID + "/objects/"
}

// taxiiReadAll pages through every object of the default collection the
// reader may see, as taxii2-client's as_pages does: limit on every
// request, and the previous page's next until more is false. It returns
// how many objects and pages it got.
func (n *node) taxiiReadAll(ctx context.Context) (objects, pages int, err error) {
	next := ""
	for {
		u := fmt.Sprintf("%s?limit=%d", n.taxiiObjectsURL(), pageSize)
		if next != "" {
			u += "&next=" + url.QueryEscape(next)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+n.readerToken)
		req.Header.Set("Accept", mediaTAXII)
		resp, err := n.client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return 0, 0, fmt.Errorf("GET %s: %s: %.500s", u, resp.Status, data)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("GET %s: %w", u, err)
		}
		objects += len(env.Objects)
		pages++
		if !env.More {
			return objects, pages, nil
		}
		if env.Next == "" {
			return 0, 0, errors.New("TAXII objects: more without next")
		}
		next = env.Next
	}
}

// taxiiAdd posts an envelope as the owner (a contributor) and checks that
// the status counts every object added.
func (n *node) taxiiAdd(ctx context.Context, envelope []byte, objects int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.taxiiObjectsURL(), bytes.NewReader(envelope))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.ownerToken)
	req.Header.Set("Content-Type", mediaTAXII)
	req.Header.Set("Accept", mediaTAXII)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST TAXII objects: %s: %.500s", resp.Status, data)
	}
	var st taxii.Status
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	if st.SuccessCount != objects || st.FailureCount != 0 {
		return fmt.Errorf("POST TAXII objects: %d succeeded, %d failed of %d: %.500s", st.SuccessCount, st.FailureCount, objects, data)
	}
	for _, s := range st.Successes {
		if s.Message != "added" {
			return fmt.Errorf("POST TAXII objects: %s %s: %s, want added", s.ID, s.Version, s.Message)
		}
	}
	return nil
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/simulate"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
	"github.com/cointrail/cointrail/internal/trace"
)

// traceTxsEnv sets the size of the tracing benchmarks' scenario: 1,000,000
// transactions by default; 10000000 for the large run (never in CI).
const traceTxsEnv = "COINTRAIL_BENCH_TXS"

// traceScenario is a simulated theft ingested into a chain index, with its
// labels and truth: built once per size and kept under
// $TMPDIR/cointrail-bench/trace-<txs> (the ingest of 1M transactions takes
// minutes).
type traceScenario struct {
	st     *chainstore.Store
	truth  *simulate.Truth
	labels map[string]trace.Label
	dir    string
}

var (
	scenarioOnce sync.Once
	scenarioVal  *traceScenario
	scenarioErr  error
)

func loadScenario(b *testing.B) *traceScenario {
	b.Helper()
	scenarioOnce.Do(func() { scenarioVal, scenarioErr = buildScenario() })
	if scenarioErr != nil {
		b.Fatal(scenarioErr)
	}
	return scenarioVal
}

func buildScenario() (*traceScenario, error) {
	txs := 1_000_000
	if s := os.Getenv(traceTxsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %w", traceTxsEnv, s, err)
		}
		txs = n
	}
	dir := filepath.Join(os.TempDir(), "cointrail-bench", "trace-"+strconv.Itoa(txs))
	sim, idx := filepath.Join(dir, "scenario"), filepath.Join(dir, "chain")
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := simulate.Generate(ctx, sim, simulate.Options{Seed: 1, Txs: txs}); err != nil {
			return nil, err
		}
		st, err := chainstore.Open(idx, chainstore.Options{NoSync: true})
		if err != nil {
			return nil, err
		}
		if err := ingest.FromFiles(ctx, st, bitcoin.Regtest, []string{filepath.Join(sim, simulate.BlocksFile)}, ingest.Options{}); err != nil {
			st.Close()
			return nil, err
		}
		if err := st.Close(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "built the %d-transaction scenario in %s\n", txs, time.Since(start).Round(time.Second))
	}
	st, err := chainstore.Open(idx, chainstore.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(sim, simulate.TruthFile))
	if err != nil {
		return nil, err
	}
	var truth simulate.Truth
	if err := json.Unmarshal(data, &truth); err != nil {
		return nil, err
	}
	labels, err := tagpackLabels(filepath.Join(sim, simulate.TagPackFile), truth.Chain)
	if err != nil {
		return nil, err
	}
	return &traceScenario{st: st, truth: &truth, labels: labels, dir: dir}, nil
}

// tagpackLabels reads a TagPack's labels as the tracer takes them: the
// label relationships from wallets to the identities named by the tags.
func tagpackLabels(path, chainID string) (map[string]trace.Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := tagpack.Parse(f, tagpack.Options{Chain: chainID, LastMod: time.Now()})
	if err != nil {
		return nil, err
	}
	wallets, names := map[string]string{}, map[string]string{}
	for _, o := range res.Objects {
		switch o.Type {
		case stix.TypeCryptocurrencyWallet:
			wallets[o.ID] = o.String("value")
		case "identity":
			names[o.ID] = o.String("name")
		}
	}
	labels := map[string]trace.Label{}
	for _, o := range res.Objects {
		if l, ok := o.WalletLabel(); ok && o.Type == "relationship" {
			labels[wallets[o.String("source_ref")]] = trace.Label{Entity: names[o.String("target_ref")], Category: l.Category}
		}
	}
	return labels, nil
}

func (sc *traceScenario) seeds() []trace.Seed {
	var s []trace.Seed
	for _, o := range sc.truth.Seeds {
		s = append(s, trace.Seed{Kind: trace.SeedOutput, Output: o.String()})
	}
	return s
}

// BenchmarkTraceSweep traces the theft of the scenario to the end of the
// chain under haircut and FIFO: no hop limit, no dust threshold and no
// endpoint (the taint flows on through the exchanges into the whole
// economy after them), and in the same run sweeps the same transactions
// bare: a haircut over the graph's dense arrays and nothing else, the
// memory-speed limit of this machine. It reports tx/s of each (the
// transactions a trace stepped, the transactions the bare sweep passed)
// and their ratio.
func BenchmarkTraceSweep(b *testing.B) {
	sc := loadScenario(b)
	g := sc.st.Graph(sc.truth.Chain)
	tr := trace.New(sc.st)
	for _, m := range []trace.Model{trace.Haircut, trace.FIFO} {
		b.Run(string(m), func(b *testing.B) {
			var full, bare time.Duration
			var txs, bareTxs int
			for range b.N {
				start := time.Now()
				res, err := tr.Trace(context.Background(), sc.truth.Chain, sc.seeds(), trace.Options{Model: m, MaxHops: 1 << 30, Labels: sc.labels, EndpointCategories: []string{"none"}})
				if err != nil {
					b.Fatal(err)
				}
				full += time.Since(start)
				txs = res.Stats.Txs
				d, n := bareSweep(g, sc)
				bare += d
				bareTxs = n
			}
			rate := float64(txs) * float64(b.N) / full.Seconds()
			bareRate := float64(bareTxs) * float64(b.N) / bare.Seconds()
			b.ReportMetric(rate, "tx/s")
			b.ReportMetric(bareRate, "bare-tx/s")
			b.ReportMetric(rate/bareRate, "ratio")
			b.ReportMetric(float64(txs), "txs")
		})
	}
}

// bareSweep is a haircut over dense arrays from the theft's first
// transaction to the end: per transaction, its inputs' taint and value,
// shared over its outputs in proportion (in float64, as the fastest
// possible, not exact). It returns the time and the transactions swept.
func bareSweep(g *chainstore.Graph, sc *traceScenario) (time.Duration, int) {
	g.RLock()
	defer g.RUnlock()
	first := ^uint32(0)
	var seedOuts []uint64
	for _, s := range sc.truth.Seeds {
		n, err := g.TxNum(s.Tx)
		if err != nil {
			panic(err)
		}
		first = min(first, n)
		seedOuts = append(seedOuts, g.Tx(n).FirstOut+uint64(s.Index))
	}
	start := time.Now()
	base := g.Tx(first).FirstOut
	taint := make([]float64, g.NumOutputs()-base)
	for _, o := range seedOuts {
		taint[o-base] = float64(g.Output(o).Value)
	}
	swept := 0
	for n := first + 1; n < g.NumTx(); n++ {
		r := g.Tx(n)
		var t, v float64
		for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
			if o := g.Input(i); o < chainstore.InputUnknown && o >= base {
				t += taint[o-base]
				v += float64(g.Output(o).Value)
			}
		}
		swept++
		if t == 0 {
			continue
		}
		for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
			taint[o-base] = t * float64(g.Output(o).Value) / v
		}
	}
	return time.Since(start), swept
}

// BenchmarkTraceFrontier is the trace an analyst runs: FIFO from the
// theft with the default hop limit, ending at the labelled exchanges. It
// reports the tainted edges followed per second.
func BenchmarkTraceFrontier(b *testing.B) {
	sc := loadScenario(b)
	tr := trace.New(sc.st)
	var edges int
	b.ResetTimer()
	for range b.N {
		res, err := tr.Trace(context.Background(), sc.truth.Chain, sc.seeds(), trace.Options{Labels: sc.labels, MaxEdges: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		edges = len(res.Edges)
	}
	b.ReportMetric(float64(edges)*float64(b.N)/b.Elapsed().Seconds(), "edges/s")
	b.ReportMetric(float64(edges), "edges")
}

// BenchmarkTracePostgres sets cointrail's poison trace (every output a
// tainted transaction pays, to a hop limit) against the same reachability
// as a user without cointrail would write it: the graph's outputs in a
// PostgreSQL table (loaded once), and a recursive query. Both stop at the
// same hop limit; it reports each one's time and the ratio.
func BenchmarkTracePostgres(b *testing.B) {
	sc := loadScenario(b)
	const hops = 6
	g := sc.st.Graph(sc.truth.Chain)
	ctx := context.Background()
	dbURL := postgresDatabase(b, "cointrail_bench_graph_"+filepath.Base(sc.dir), false)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var loaded bool
	_ = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'outputs')`).Scan(&loaded)
	if !loaded {
		loadGraph(b, conn, g)
	}
	var seedNums []int64
	g.RLock()
	for _, s := range sc.truth.Seeds {
		n, _ := g.TxNum(s.Tx)
		seedNums = append(seedNums, int64(g.Tx(n).FirstOut+uint64(s.Index)))
	}
	g.RUnlock()
	tr := trace.New(sc.st)
	var ours, pg time.Duration
	var ourTxs, pgOuts int
	for range b.N {
		start := time.Now()
		res, err := tr.Trace(ctx, sc.truth.Chain, sc.seeds(), trace.Options{Model: trace.Poison, MaxHops: hops})
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		ourTxs = res.Stats.Txs
		start = time.Now()
		err = conn.QueryRow(ctx, `
WITH RECURSIVE reach(o, hops) AS (
  SELECT unnest($1::bigint[]), 0
  UNION
  SELECT nxt.o, r.hops + 1
  FROM reach r JOIN outputs cur ON cur.o = r.o JOIN outputs nxt ON nxt.tx = cur.spent_by
  WHERE r.hops < $2 AND cur.spent_by IS NOT NULL
)
SELECT count(DISTINCT o) FROM reach`, seedNums, hops).Scan(&pgOuts)
		if err != nil {
			b.Fatal(err)
		}
		pg += time.Since(start)
	}
	b.ReportMetric(ours.Seconds()/float64(b.N)*1000, "cointrail-ms")
	b.ReportMetric(pg.Seconds()/float64(b.N)*1000, "postgres-ms")
	b.ReportMetric(pg.Seconds()/ours.Seconds(), "speedup")
	b.ReportMetric(float64(ourTxs), "txs")
	b.ReportMetric(float64(pgOuts), "pg-outputs")
}

// loadGraph copies the graph's outputs (number, creating transaction,
// value, spending transaction) into PostgreSQL, indexed as the recursive
// query needs.
func loadGraph(b *testing.B, conn *pgx.Conn, g *chainstore.Graph) {
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE outputs (o bigint PRIMARY KEY, tx integer NOT NULL, value bigint NOT NULL, spent_by integer)`); err != nil {
		b.Fatal(err)
	}
	g.RLock()
	rows := make([][]any, 0, g.NumOutputs())
	for n := range g.NumTx() {
		r := g.Tx(n)
		for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
			out := g.Output(o)
			var spent any
			if out.SpentBy != chainstore.NoTx {
				spent = int32(out.SpentBy)
			}
			rows = append(rows, []any{int64(o), int32(n), int64(out.Value), spent})
		}
	}
	g.RUnlock()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"outputs"}, []string{"o", "tx", "value", "spent_by"}, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE INDEX outputs_tx ON outputs (tx); ANALYZE outputs`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkScreen screens the scenario's addresses as an organisation of
// a node that holds its incident and labels: in process, and over HTTP
// (GET /api/v1/screen/...) against a bare net/http handler that answers a
// JSON body of the same size on the same machine, with the same number of
// concurrent clients. It reports lookups/s and p99 latency of each, and
// the HTTP ratio.
func BenchmarkScreen(b *testing.B) {
	sc := loadScenario(b)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "intel.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, op, err := intel.Bootstrap(ctx, db, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		b.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	bundle, err := os.ReadFile(filepath.Join(sc.dir, "scenario", simulate.IncidentFile))
	if err != nil {
		b.Fatal(err)
	}
	bd, err := stix.ParseBundle(bundle)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Submit(ctx, opV, bd.Objects, intel.SubmitOptions{}); err != nil {
		b.Fatal(err)
	}
	// The addresses an exchange screens: deposits that received loot, and
	// as many that did not.
	var addrs []string
	for _, x := range sc.truth.Exchanges {
		for _, d := range x.Deposits {
			addrs = append(addrs, d.Address)
		}
	}
	for _, o := range sc.truth.Controlled {
		addrs = append(addrs, o.Address)
	}
	s := screen.New(svc, sc.st, screen.Options{})
	if _, err := s.Screen(ctx, opV, sc.truth.Chain, addrs[0]); err != nil { // the first fills the exposure cache
		b.Fatal(err)
	}
	b.Run("in-process", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := range b.N {
			start := time.Now()
			if _, err := s.Screen(ctx, opV, sc.truth.Chain, addrs[i%len(addrs)]); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(p99(lat).Seconds()*1e6, "p99-µs")
	})
	_, token, err := svc.CreateToken(ctx, opV, op.ID, access.Reader, 0)
	if err != nil {
		b.Fatal(err)
	}
	api := httptest.NewServer(httpapi.New(svc, httpapi.Options{Screener: s, RatePerSecond: -1}).Handler())
	defer api.Close()
	sample, err := s.Screen(ctx, opV, sc.truth.Chain, addrs[0])
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(sample)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer bare.Close()
	rates := map[string]float64{}
	for _, tc := range []struct {
		name, base string
	}{{"http", api.URL}, {"bare-http", bare.URL}} {
		b.Run(tc.name, func(b *testing.B) {
			rate, p := hammer(b, func(i int) string {
				return tc.base + "/api/v1/screen/" + sc.truth.Chain + "/" + addrs[i%len(addrs)]
			}, token)
			rates[tc.name] = rate
			b.ReportMetric(rate, "lookups/s")
			b.ReportMetric(p.Seconds()*1e6, "p99-µs")
			if tc.name == "bare-http" && rates["http"] > 0 {
				b.ReportMetric(rates["http"]/rate, "ratio")
			}
		})
	}
}

// hammer sends b.N GETs from 8 concurrent clients and returns the rate
// and the p99 latency.
func hammer(b *testing.B, url func(i int) string, token string) (float64, time.Duration) {
	const clients = 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	next := make(chan int)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := range next {
				req, _ := http.NewRequest("GET", url(i), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(b.N) / time.Since(start).Seconds(), p99(lat)
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[min(len(lat)-1, len(lat)*99/100)]
}

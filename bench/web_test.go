//go:build unix

package bench

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sessionCookie is the web interface's session cookie on plain HTTP: its
// value is the visitor's token.
const sessionCookie = "cointrail_session"

// BenchmarkPages GETs every page of the web interface from a real
// `cointrail demo` process (the binary built from this tree, on a free
// loopback port, its data in a temporary folder) and reports, per page,
// ms/op and the p50 and p99 latencies of one GET with the whole body read.
// The aim is every page under 100 ms.
//
// The pages are found as a visitor finds them, from the pages themselves:
// the home page links the Coincheck incident, a trace of the simulated
// theft and the report; the trace links its model tabs and the endpoint
// addresses; the actors page links each actor. Every page is read signed in
// as the exchange organisation (its token in the session cookie), sharing
// and orgs as the operator. Each page is read once, untimed, before it is
// timed: the first read after the intelligence changes parses it for the
// viewer (a few tens of milliseconds on the demo), and later reads share
// that.
//
// The demo node runs what serve runs, live traces included: they trace the
// simulated theft in the background and may raise the exchange's alerts
// while pages are read.
//
// Run: go test -run '^$' -bench Pages -benchtime 50x ./bench
func BenchmarkPages(b *testing.B) {
	d := startDemo(b)
	exchange, operator := d.tokens["exchange"], d.tokens["operator"]
	if exchange == "" || operator == "" {
		b.Fatalf("the demo printed no exchange or operator token: %v", d.tokens)
	}

	// Discover the pages' addresses, as a visitor would follow links.
	type page struct {
		name, path, token string
		change            bool // add a note before each read
	}
	find := func(from, body string, re *regexp.Regexp) string {
		m := re.FindStringSubmatch(body)
		if m == nil {
			b.Fatalf("%s links no page matching %s", from, re)
		}
		return html.UnescapeString(m[1])
	}
	read := func(from, token string) string {
		status, body, err := d.get(from, token)
		if err != nil {
			b.Fatal(err)
		}
		if status != http.StatusOK {
			b.Fatalf("GET %s: status %d\n%s", from, status, body)
		}
		return string(body)
	}
	home := read("/", exchange)
	coincheck := find("/", home, regexp.MustCompile(`href="(/incidents/[^"]+)"[^>]*>[^<]*Coincheck`))
	tracePath := find("/", home, regexp.MustCompile(`href="(/trace\?[^"]*incident=[^"]+)"`))
	if !strings.Contains(tracePath, d.theft) {
		b.Fatalf("the home page's trace %s is not of the simulated theft %s", tracePath, d.theft)
	}
	tr := read(tracePath, exchange)
	haircut := find(tracePath, tr, regexp.MustCompile(`id="models"[\s\S]*?href="(/trace\?[^"]*model=haircut[^"]*)"`))
	endpoint := find(tracePath, tr, regexp.MustCompile(`id="endpoints"[\s\S]*?href="(/address/[^"]+)"`))
	actor := find("/actors", read("/actors", exchange), regexp.MustCompile(`href="(/actors/[^"]+)"`))

	pages := []page{
		{"home", "/", exchange, false},
		{"incidents", "/incidents", exchange, false},
		{"incident-coincheck", coincheck, exchange, false},
		{"incident-theft", "/incidents/" + d.theft, exchange, false},
		{"actors", "/actors", exchange, false},
		{"actor", actor, exchange, false},
		{"trace", tracePath, exchange, false},
		{"trace-haircut", haircut, exchange, false},
		{"address", endpoint, exchange, false},
		{"report", "/report", exchange, false},
		{"alerts", "/alerts", exchange, false},
		{"sharing", "/sharing", operator, false},
		{"orgs", "/orgs", operator, false},
	}
	// One untimed read of each page first: the first read after the
	// intelligence changes builds each viewer's view of it.
	for _, p := range pages {
		read(p.path, p.token)
	}
	for _, p := range pages {
		b.Logf("%s: GET %s", p.name, p.path)
	}
	// The "-after-change" pages are read right after the exchange adds a
	// note: the first read after the intelligence changes, which parses it
	// again for the viewer (and, for the theft's page, traces again).
	pages = append(pages,
		page{"home-after-change", "/", exchange, true},
		page{"incident-theft-after-change", "/incidents/" + d.theft, exchange, true},
	)
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				if p.change {
					b.StopTimer()
					d.addNote(b, exchange)
					b.StartTimer()
				}
				start := time.Now()
				status, body, err := d.get(p.path, p.token)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if status != http.StatusOK {
					b.Fatalf("GET %s: status %d\n%s", p.path, status, body)
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(len(lat)), "ms/op")
			b.ReportMetric(float64(quantile(lat, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(quantile(lat, 99).Microseconds())/1000, "p99-ms")
		})
	}
}

// quantile returns the p-th percentile of sorted durations.
func quantile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// demoNode is a running `cointrail demo` process.
type demoNode struct {
	url    string
	tokens map[string]string // organisation name: token
	theft  string            // the simulated theft's incident id
	client *http.Client
}

// startDemo builds the cointrail binary from this tree and starts `cointrail
// demo` on a free loopback port with its data in a temporary folder, reads
// its URL, tokens and simulated theft from its output and waits until it
// is ready. The process (and its process group) is killed in Cleanup.
func startDemo(b *testing.B) *demoNode {
	b.Helper()
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/bench/web_test.go.
	root := filepath.Join(filepath.Dir(file), "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		b.Fatalf("repository root not found: %v", err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "cointrail")
	build := exec.Command("go", "build", "-o", bin, "./cmd/cointrail")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		b.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(dir, "demo.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logs.Close()

	cmd := exec.Command(bin, "demo", "--data", data, "--listen", "127.0.0.1:0",
		// One client reads as fast as it can: the per-address rate limit
		// (50 a second) would time the limiter, not the pages.
		"--rate", "-1")
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	b.Cleanup(func() {
		// The whole group: the demo and anything it started.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	// Read the output up to the simulated theft's line, then drain it.
	type parsed struct {
		d   *demoNode
		err error
	}
	parsedc := make(chan parsed, 1)
	go func() {
		defer close(exited)
		defer cmd.Wait()
		d, err := parseDemoOutput(stdout)
		parsedc <- parsed{d, err}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	showLogs := func() string {
		out, _ := os.ReadFile(logs.Name())
		return string(out)
	}
	var d *demoNode
	select {
	case p := <-parsedc:
		if p.err != nil {
			b.Fatalf("cointrail demo: %v\n%s", p.err, showLogs())
		}
		d = p.d
	case <-time.After(3 * time.Minute):
		b.Fatalf("cointrail demo did not print its URL, tokens and theft within 3 minutes\n%s", showLogs())
	}

	// Redirects are answers too: a page that sends the visitor to sign in
	// fails the benchmark instead of being followed.
	d.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deadline := time.Now().Add(time.Minute)
	for {
		status, _, err := d.get("/readyz", "")
		if err == nil && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("cointrail demo at %s is not ready after a minute (status %d, %v)\n%s", d.url, status, err, showLogs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

var (
	demoURLLine   = regexp.MustCompile(`^cointrail demo node: open (http://\S+?)/? in a browser`)
	demoTheftLine = regexp.MustCompile(`^a simulated theft \((incident--[0-9a-f-]+)\)`)
)

// parseDemoOutput reads `cointrail demo`'s output up to the line of the
// simulated theft: the URL, the ORGANISATION ROLE TOKEN table and the
// theft's incident id.
func parseDemoOutput(r io.Reader) (*demoNode, error) {
	d := &demoNode{tokens: map[string]string{}}
	sc := bufio.NewScanner(r)
	inTable := false
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case demoURLLine.MatchString(line):
			d.url = demoURLLine.FindStringSubmatch(line)[1]
		case len(fields) == 3 && fields[0] == "ORGANISATION" && fields[2] == "TOKEN":
			inTable = true
		case inTable && len(fields) == 3:
			d.tokens[fields[0]] = fields[2]
		case inTable && len(fields) == 0:
			inTable = false
		case demoTheftLine.MatchString(line):
			d.theft = demoTheftLine.FindStringSubmatch(line)[1]
			if d.url == "" || len(d.tokens) == 0 {
				return nil, fmt.Errorf("no URL or no tokens before the theft's line")
			}
			return d, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("the output ended before the simulated theft's line (URL %q, %d tokens)", d.url, len(d.tokens))
}

// get GETs path signed in with token (none if empty) and reads the whole
// body.
// addNote adds a note as the token's organisation, over the REST API: a
// change of the intelligence.
func (d *demoNode) addNote(b *testing.B, token string) {
	b.Helper()
	id := "note--" + uuid.NewString()
	body := `{"type":"note","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","content":"a change","object_refs":["` + id + `"]}`
	req, err := http.NewRequest(http.MethodPost, d.url+"/api/v1/objects", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/stix+json;version=2.1")
	resp, err := d.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		b.Fatalf("add a note: %s\n%s", resp.Status, msg)
	}
}

func (d *demoNode) get(path, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, d.url+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return resp.StatusCode, body, nil
}

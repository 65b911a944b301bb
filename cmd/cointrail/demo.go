package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/demo"
	"github.com/cointrail/cointrail/internal/simulate"
	"github.com/cointrail/cointrail/internal/trace"
)

func (m *Main) demoCommand() *cobra.Command {
	var d dataFlags
	var sf serveFlags
	var noServe bool
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--listen ADDR]",
		Short: "Start a node loaded with the UN Panel of Experts' findings",
		Long: "demo creates a fresh data folder (a new temporary folder unless --data names an empty one), loads it with the facts of the UN Security Council Panel of Experts' report on North Korea's cryptocurrency thefts as STIX objects under mixed TLP markings, owned by two demo organisations, and serves it. " +
			"It prints the URL of the web interface and one sign-in token per organisation: compare what each sees. TLP:CLEAR objects are readable without a token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !cmd.Flags().Changed("data") && os.Getenv("COINTRAIL_DATA") == "" {
				dir, err := os.MkdirTemp("", "cointrail-demo-")
				if err != nil {
					return err
				}
				d.dir = dir
			}
			if _, err := m.initNode(ctx, d, "operator"); err != nil {
				return err
			}
			e, err := m.open(ctx, d)
			if err != nil {
				return err
			}
			defer e.Close()
			orgs, err := demo.Load(ctx, e.svc, e.operator())
			if err != nil {
				return fmt.Errorf("load demo data: %w", err)
			}
			theft, err := m.loadDemoScenario(ctx, d.dir, e)
			if err != nil {
				return fmt.Errorf("load the demo's simulated theft: %w", err)
			}
			type grant struct {
				org  access.Org
				role access.Role
			}
			grants := []grant{}
			for _, o := range orgs {
				grants = append(grants, grant{o, access.Contributor})
			}
			opOrg, err := e.svc.Org(ctx, e.operator(), e.cfg.Operator)
			if err != nil {
				return err
			}
			grants = append(grants, grant{opOrg, access.Admin})
			type issued struct {
				grant
				token string
			}
			var tokens []issued
			for _, g := range grants {
				_, secret, err := e.svc.CreateToken(ctx, e.operator(), g.org.ID, g.role, 0)
				if err != nil {
					return err
				}
				tokens = append(tokens, issued{g, secret})
			}
			printTokens := func(url string) {
				if noServe {
					fmt.Fprintf(m.Stdout, "cointrail demo node: %s\n", url)
				} else {
					fmt.Fprintf(m.Stdout, "cointrail demo node: open %s/ in a browser and sign in with a token below\n", url)
				}
				fmt.Fprintf(m.Stdout, "data folder: %s\n\n", d.dir)
				tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ORGANISATION\tROLE\tTOKEN")
				for _, t := range tokens {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", t.org.Name, t.role, t.token)
				}
				tw.Flush()
				fmt.Fprintf(m.Stdout, "\n%s", theft)
				if noServe {
					return
				}
				fmt.Fprintf(m.Stdout, "\ntry first, signed in: the Coincheck incident, the trace of the simulated theft and the report, linked from %s/\n", url)
				fmt.Fprintf(m.Stdout, "  %s/trace?chain=%s&incident=%s\n  %s/report\n", url, theft.chain, theft.incident, url)
				fmt.Fprintf(m.Stdout, "\nor over the REST API:\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/incidents\n", tokens[0].token, url)
				fmt.Fprintf(m.Stdout, "  curl -s '%s/api/v1/objects?type=threat-actor'   # TLP:CLEAR, no token needed\n", url)
				fmt.Fprintf(m.Stdout, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"chain\":\"%s\",\"incident\":\"%s\"}' %s/api/v1/traces\n",
					tokens[0].token, theft.chain, theft.incident, url)
				for _, t := range tokens {
					if t.org.Name == "exchange" {
						fmt.Fprintf(m.Stdout, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/alerts   # the exchange's alerts: the loot reaching Exchange A\n", t.token, url)
					}
				}
			}
			if noServe {
				printTokens("not serving (--no-serve)")
				return nil
			}
			ln, err := listenDemo(sf.listen, m)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("public-read") {
				sf.publicRead = true
			}
			return m.serve(ctx, e, ln, sf, printTokens)
		},
	}
	d.register(cmd)
	sf.register(cmd, "127.0.0.1:8080")
	cmd.Flags().BoolVar(&noServe, "no-serve", false, "load the data and print the tokens, then exit")
	return cmd
}

// listenDemo listens on addr, or on a free port of the same host when addr
// is taken, so the demo starts on a busy machine too.
func listenDemo(addr string, m *Main) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, usagef("listen on %s: %v", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, usagef("listen on %s: %v", addr, err)
	}
	fmt.Fprintf(m.Stderr, "cointrail: %s is taken; serving on %s instead\n", addr, ln.Addr())
	return ln, nil
}

// demoTheft is the simulated theft the demo loads, and its trace.
type demoTheft struct {
	chain, incident, summary string
}

func (t demoTheft) String() string { return t.summary }

// loadDemoScenario writes a simulated laundering scenario into the data
// folder, ingests its blocks and imports its labels and incident as a
// user would (owned by the operator, TLP:GREEN), and traces it once, so
// that a new user sees a trace end to end.
func (m *Main) loadDemoScenario(ctx context.Context, dir string, e *env) (demoTheft, error) {
	sim := filepath.Join(dir, "scenario")
	sub := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: m.Stderr, LookupEnv: m.LookupEnv}
	sum, err := simulate.Generate(ctx, sim, simulate.Options{Seed: 2018, Txs: 5000})
	if err != nil {
		return demoTheft{}, err
	}
	for _, args := range [][]string{
		{"ingest", "bitcoin", "--data", dir, "--network", "regtest", "--blocks", filepath.Join(sim, simulate.BlocksFile)},
		{"import", "tagpack", filepath.Join(sim, simulate.TagPackFile), "--chain", sum.Truth.Chain, "--data", dir},
		{"import", "stix", filepath.Join(sim, simulate.IncidentFile), "--org", e.cfg.Operator, "--data", dir},
		// The exchange organisation watches what is labelled as Exchange
		// A's: when the node serves, the live trace of the theft raises
		// its alerts.
		{"watch", "add", "--org", "exchange", "--chain", sum.Truth.Chain, "--label", "Exchange A", "--data", dir},
	} {
		root := sub.rootCommand()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		if err := root.ExecuteContext(ctx); err != nil {
			return demoTheft{}, fmt.Errorf("%s: %w", strings.Join(args[:2], " "), err)
		}
	}
	t := demoTheft{chain: sum.Truth.Chain, incident: sum.Truth.Incident}
	st, err := m.openChain(dir)
	if err != nil {
		return t, err
	}
	defer st.Close()
	v := e.operator()
	v.Role = access.Reader
	seeds, err := trace.IncidentSeeds(ctx, e.svc, v, t.incident, t.chain)
	if err != nil {
		return t, err
	}
	labels, err := trace.LabelsFor(ctx, e.svc, v, t.chain, nil)
	if err != nil {
		return t, err
	}
	res, err := trace.New(st).Trace(ctx, t.chain, seeds, trace.Options{Labels: labels, MaxHops: 200})
	if err != nil {
		return t, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "a simulated theft (%s): %d sat stolen from %s by %s, in %d blocks of %d transactions on %s\n",
		t.incident, sum.Stolen, sum.Truth.Victim, sum.Truth.Actor, sum.Blocks, sum.Txs, t.chain)
	fmt.Fprintf(&b, "traced (fifo, %d transactions): ", res.Stats.Txs)
	for i, ep := range res.Endpoints {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s sat to %s (%s)", ep.Amount, ep.Entity, ep.Address)
		if i == 2 {
			fmt.Fprintf(&b, " and %d more", len(res.Endpoints)-3)
			break
		}
	}
	fmt.Fprintf(&b, "\n  cointrail trace --data %s --chain %s --incident %s\n", dir, t.chain, t.incident)
	t.summary = b.String()
	return t, nil
}

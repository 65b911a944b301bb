package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/demo"
)

func (m *Main) demoCommand() *cobra.Command {
	var d dataFlags
	var sf serveFlags
	var noServe bool
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--listen ADDR]",
		Short: "Start a node loaded with the UN Panel of Experts' findings",
		Long: "demo creates a fresh data folder (a new temporary folder unless --data names an empty one), loads it with the facts of the UN Security Council Panel of Experts' report on North Korea's cryptocurrency thefts as STIX objects under mixed TLP markings, owned by two demo organisations, and serves it. " +
			"It prints the URL and one token per organisation: compare what each sees. TLP:CLEAR objects are readable without a token.",
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
				fmt.Fprintf(m.Stdout, "cointrail demo node: %s\n", url)
				fmt.Fprintf(m.Stdout, "data folder: %s\n\n", d.dir)
				tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ORGANISATION\tROLE\tTOKEN")
				for _, t := range tokens {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", t.org.Name, t.role, t.token)
				}
				tw.Flush()
				if noServe {
					return
				}
				fmt.Fprintf(m.Stdout, "\ntry:\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/incidents\n", tokens[0].token, url)
				fmt.Fprintf(m.Stdout, "  curl -s '%s/api/v1/objects?type=threat-actor'   # TLP:CLEAR, no token needed\n", url)
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

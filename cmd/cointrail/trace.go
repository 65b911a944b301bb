package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/trace"
)

func (m *Main) traceCommand() *cobra.Command {
	var (
		d                         dataFlags
		chainID, asName, model    string
		from                      []string
		addr, asset, amount, dust string
		incident                  string
		maxHops, maxEdges         int
		fromHeight, window        int64
		asJSON, asSTIX            bool
		tlp                       string
		shareWith, endpointCats   []string
	)
	cmd := &cobra.Command{
		Use:   "trace --data DIR --chain CHAIN (--from TXID:VOUT[,...] | --address ADDR --asset ASSET | --incident ID) [--as ORG] [--model fifo|haircut|poison|lifo|tiho] [--max-hops N] [--dust AMOUNT] [--json]",
		Short: "Follow stolen value forward to the services where it lands",
		Long: `trace follows value from seeds forward through the chain index under a taint model (fifo, the default; haircut; poison; lifo; tiho) until it reaches labelled services (exchanges, mixers, bridges, OTC brokers and other custodial services: the endpoints), and lists apart where it stopped short (unspent, hop limit, dust, window, burned).

Seeds: outputs (--from TXID:VOUT, several separated by commas; a bare TXID seeds every output of the transaction), an address's funds (--address with --asset, optionally --amount and --from-height), or an incident's theft-destination wallets (--incident). Labels and incidents are those the organisation --as (default: the operator) may see. Amounts are integers in base units; --dust 0 follows every base unit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, ok := chain.Lookup(chainID)
			if chainID == "" {
				return usagef("trace needs --chain CHAIN")
			}
			if !ok {
				return usagef("--chain %q is not a chain cointrail knows", chainID)
			}
			n := 0
			for _, set := range []bool{len(from) > 0, addr != "", incident != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usagef("trace needs one of --from TXID:VOUT, --address ADDR or --incident ID")
			}
			mdl, err := trace.ParseModel(model)
			if err != nil {
				return usagef("--model: %v", err)
			}
			opts := trace.Options{Model: mdl, MaxHops: maxHops, MaxHeight: window, EndpointCategories: endpointCats, MaxEdges: maxEdges, MaxStops: maxEdges}
			if maxHops < 0 {
				return usagef("--max-hops %d is negative", maxHops)
			}
			if dust != "" {
				v, ok := new(big.Int).SetString(dust, 10)
				if !ok || v.Sign() < 0 {
					return usagef("--dust %q is not a whole number of base units", dust)
				}
				opts.Dust = v
			}
			var amt *big.Int
			if amount != "" {
				v, ok := new(big.Int).SetString(amount, 10)
				if !ok || v.Sign() <= 0 {
					return usagef("--amount %q is not a positive whole number of base units", amount)
				}
				amt = v
			}

			e, v, err := m.openAs(ctx, d, asName)
			if err != nil {
				return err
			}
			defer e.Close()

			var seeds []trace.Seed
			switch {
			case len(from) > 0:
				if seeds, err = trace.ParseFrom(chainID, from, amt, asset); err != nil {
					return usagef("--from: %v", err)
				}
			case addr != "":
				if asset == "" {
					asset = chain.NativeAsset(chainID)
				}
				seeds = []trace.Seed{{Kind: trace.SeedAddress, Address: addr, Asset: asset, Amount: trace.Amount{Int: amt}, FromHeight: fromHeight}}
			default:
				if seeds, err = trace.IncidentSeeds(ctx, e.svc, v, incident, chainID); err != nil {
					return err
				}
				for i := range seeds {
					seeds[i].Asset, seeds[i].FromHeight = asset, fromHeight
				}
			}
			if opts.Labels, err = trace.LabelsFor(ctx, e.svc, v, chainID, endpointCats); err != nil {
				return err
			}
			st, err := m.openChain(d.dir)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := trace.New(st).Trace(ctx, chainID, seeds, opts)
			if err != nil {
				return err
			}
			if asSTIX {
				return m.printTraceSTIX(ctx, e, v, res, tlp, shareWith, incident)
			}
			if asJSON {
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printTrace(m, res)
			return nil
		},
	}
	d.register(cmd)
	f := cmd.Flags()
	f.StringVar(&chainID, "chain", "", "the chain to trace on (bitcoin, ethereum, ...)")
	f.StringSliceVar(&from, "from", nil, "seed outputs TXID:VOUT (or transactions TXID), comma-separated")
	f.StringVar(&addr, "address", "", "seed: the funds of this address")
	f.StringVar(&asset, "asset", "", "the asset traced (default: the chain's own coin, as CHAIN:SYMBOL; a token as CHAIN:CONTRACT)")
	f.StringVar(&amount, "amount", "", "taint only this much of the seed, in base units")
	f.Int64Var(&fromHeight, "from-height", 0, "an address seed's funds from this block height on")
	f.StringVar(&incident, "incident", "", "seed: the theft-destination wallets of this incident")
	f.StringVar(&asName, "as", "", "the organisation whose view of labels and incidents to use (default: the operator)")
	f.StringVar(&model, "model", "fifo", "fifo, haircut, poison, lifo or tiho")
	f.IntVar(&maxHops, "max-hops", 25, "the most transactions deep to follow value")
	f.StringVar(&dust, "dust", "", "stop at tainted amounts below this, in base units (0: follow every base unit)")
	f.IntVar(&maxEdges, "max-edges", 10_000, "the most edges and stops the result lists one by one (totals count them all)")
	f.Int64Var(&window, "to-height", 0, "the last block height to follow value into (0: the tip)")
	f.StringSliceVar(&endpointCats, "endpoint-categories", nil, "label categories that end a trace (default: "+strings.Join(trace.DefaultEndpointCategories, ",")+")")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&asSTIX, "stix", false, "print the result as a STIX bundle to share: a report, the wallets on the path and their relationships to the endpoints (or to --incident)")
	f.StringVar(&tlp, "tlp", "amber", "with --stix: the marking (clear, green, amber, amber+strict, red)")
	f.StringSliceVar(&shareWith, "share-with", nil, "with --stix: organisations (names or identity ids) an AMBER or RED trace is shared with")
	return cmd
}

// printTrace writes a trace result as text.
func printTrace(m *Main, res *trace.Result) {
	fmt.Fprintf(m.Stdout, "%s trace on %s of %s: %s base units tainted by %d seed(s); %d transactions, %d outputs, %.1f ms\n",
		res.Model, res.Chain, res.Asset, res.Tainted, len(res.Seeds), res.Stats.Txs, res.Stats.Outputs, res.Stats.Millis)
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nENDPOINT\tENTITY\tCATEGORY\tAMOUNT\tHOPS\tFIRST BLOCK")
	for _, e := range res.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", e.Address, e.Entity, e.Category, e.Amount, e.Hops, e.FirstBlock)
	}
	if len(res.Endpoints) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	fmt.Fprintln(tw, "\nSTOPPED\tCOUNT\tAMOUNT")
	for _, r := range []string{trace.StopUnspent, trace.StopHops, trace.StopDust, trace.StopWindow, trace.StopBurned, trace.StopNotFound} {
		if s, ok := res.StopTotals[r]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", r, s.Count, s.Amount)
		}
	}
	fmt.Fprintf(tw, "fees\t\t%s\n", res.Fees)
	tw.Flush()
}

// printTraceSTIX writes a trace as a STIX bundle, authored by v's
// organisation.
func (m *Main) printTraceSTIX(ctx context.Context, e *env, v access.Viewer, res *trace.Result, tlp string, shareWith []string, incident string) error {
	level, err := stix.ParseTLP(tlp)
	if err != nil {
		return usagef("--tlp: %v", err)
	}
	opts := trace.ShareOptions{TLP: level, Incident: incident, CreatedBy: v.Org}
	for _, name := range shareWith {
		org, err := e.svc.Org(ctx, e.operator(), name)
		if err != nil {
			return usagef("--share-with %q: %v", name, errorText(err))
		}
		opts.Recipients = append(opts.Recipients, org.ID)
	}
	objs, err := res.STIX(opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(stix.NewBundle(objs))
}

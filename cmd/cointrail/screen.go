package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/screen"
)

func (m *Main) screenCommand() *cobra.Command {
	var (
		d               dataFlags
		chainID, asName string
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "screen --data DIR --chain CHAIN ADDRESS... [--as ORG] [--json]",
		Short: "Screen addresses: a risk level and score with the evidence behind it",
		Long: `screen says, as the organisation --as (default: the operator) sees it, whether an address is flagged (directly, or through its cluster) and whether traced stolen value reached it: a level (none, low, medium, high, severe), a score from 0 to 100, and the evidence: the flagging objects with their marking and source, and per incident the amount that arrived, its share of what the address received, the hops and the path.

The score is the larger of the direct score (each flag's category weight times its confidence) and the indirect score (90 times the tainted share of the address's receipts, times 0.9 per hop beyond the first, at least 20 when any taint arrived). Levels: none 0, low 1-24, medium 25-49, high 50-79, severe 80-100.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if chainID == "" {
				return usagef("screen needs --chain CHAIN")
			}
			if len(args) > screen.MaxBatch {
				return usagef("%d addresses: screen takes at most %d at once", len(args), screen.MaxBatch)
			}
			e, v, err := m.openAs(ctx, d, asName)
			if err != nil {
				return err
			}
			defer e.Close()
			st, err := m.openChain(d.dir)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := screen.New(e.svc, st, screen.Options{Clusters: cluster.NewIndex(st)}).Batch(ctx, v, chainID, args)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				if len(rs) == 1 {
					return enc.Encode(rs[0])
				}
				return enc.Encode(rs)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tLEVEL\tSCORE\tDIRECT\tINDIRECT")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", r.Address, r.Level, r.Score, len(r.Direct), len(r.Indirect))
			}
			tw.Flush()
			for _, r := range rs {
				for _, dd := range r.Direct {
					fmt.Fprintf(m.Stdout, "  %s: flagged %s by %s (%s, %s)\n", r.Address, dd.Category, dd.Object, dd.TLP, dd.Owner)
				}
				for _, in := range r.Indirect {
					fmt.Fprintf(m.Stdout, "  %s: %s base units from %s (%s), %d hops, %s model, in %s\n", r.Address, in.Amount, in.IncidentName, in.Incident, in.Hops, in.Model, in.Tx)
				}
			}
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().StringVar(&chainID, "chain", "", "the addresses' chain")
	cmd.Flags().StringVar(&asName, "as", "", "the organisation whose view to screen with (default: the operator)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (one object for one address, a list for several)")
	return cmd
}

package main

import (
	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/report"
)

func (m *Main) reportCommand() *cobra.Command {
	var (
		d                    dataFlags
		asName, by, from, to string
		format               string
		asJSON               bool
	)
	cmd := &cobra.Command{
		Use:   "report --data DIR [--as ORG] [--by DIMENSION,...] [--from DATE] [--to DATE] [--format table|csv|json|html]",
		Short: "Totals of incidents and losses by actor, year, victim, victim type, chain, attack type or laundering",
		Long: `report counts the incidents the organisation --as (default: the operator) may see, sums their losses in US dollars at the time as reported and their amounts per asset in base units, grouped by the dimensions --by (default: year), with a total row. Every figure lists the incidents behind it (ids in CSV and JSON, links in HTML) and their sources.

Dimensions: year (of the theft); actor (each attributed actor's name, "unattributed" when none); victim and victim-country (of each victim); victim-type (each type of each victim: its entity types from a CSV import, else its STIX sectors, "unknown" when none); chain (of each asset lost and each wallet tied to the incident); attack-type (each of the incident's labels: a CSV import's attack types and tags); laundering (each laundering or cash-out wallet role the node knows, "none known" when none). An incident with two values of a dimension (two actors) counts in both rows and once in the total. --from and --to (YYYY-MM-DD, both included) keep incidents by date.

The table, JSON and HTML forms then set the UN Panel of Experts' three figures (S/2019/171: over US$670 million in all, US$571 million from at least five exchanges in Asia, over US$530 million from Coincheck) beside the same figures over every incident ORG may see, whatever --from and --to, and say whether each holds. CSV is one table and leaves them out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if asJSON {
				format = string(report.JSON)
			}
			f, err := report.ParseFormat(format)
			if err != nil {
				return usagef("--format: %s", errorText(err))
			}
			q, err := report.ParseQuery(by, from, to)
			if err != nil {
				return usagef("%s", errorText(err))
			}
			e, v, err := m.openAs(ctx, d, asName)
			if err != nil {
				return err
			}
			defer e.Close()
			rep, err := report.Run(ctx, e.svc, v, q)
			if err != nil {
				return err
			}
			return rep.Write(m.Stdout, f)
		},
	}
	d.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&asName, "as", "", "the organisation whose view to report (default: the operator)")
	fl.StringVar(&by, "by", "year", "dimensions to group by, comma-separated: actor, year, victim, victim-country, victim-type, chain, attack-type, laundering")
	fl.StringVar(&from, "from", "", "keep incidents dated on or after this day (YYYY-MM-DD)")
	fl.StringVar(&to, "to", "", "keep incidents dated on or before this day (YYYY-MM-DD)")
	fl.StringVar(&format, "format", "table", "table, csv, json or html")
	fl.BoolVar(&asJSON, "json", false, "print JSON (as --format json)")
	return cmd
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/simulate"
)

// simulateSummary is what simulate --json prints.
type simulateSummary struct {
	Blocks int          `json:"blocks"`
	Txs    int          `json:"txs"`
	Stolen simulate.Sat `json:"stolen"`
	Files  []string     `json:"files"`
}

func (m *Main) simulateCommand() *cobra.Command {
	var out string
	var seed int64
	var txs int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "simulate --out DIR [--seed N] [--txs N] [--json]",
		Short: "Write a simulated theft and its laundering as chain data, a TagPack, a STIX incident and the ground truth",
		Long: `simulate writes a realistic laundering scenario into a new folder, the same for the same --seed and --txs:

  blocks.dat     Bitcoin regtest blocks in blk*.dat framing, from the genesis block: an economy of users, mining pools and exchanges, a theft from the victim exchange's hot wallet, and its laundering through peel chains, a CoinJoin, a fan-out and deposits at exchanges A and B. Signatures are not valid: the blocks are for tracing, not for a node.
  tagpack.yaml   the exchanges' hot wallets and deposit addresses, as a GraphSense TagPack
  incident.json  the theft as a STIX 2.1 bundle: incident, victim, actor, theft-destination wallets
  truth.json     what really happened: seeds, every output the thief controlled, what each exchange received, fees, what is left

Load them into a node with:

  cointrail ingest bitcoin --network regtest --blocks DIR/blocks.dat --data NODE
  cointrail import tagpack DIR/tagpack.yaml --chain bitcoin-regtest --data NODE
  cointrail import stix DIR/incident.json --org ORG --data NODE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("simulate needs --out DIR (a new or empty folder)")
			}
			if txs < simulate.MinTxs {
				return usagef("--txs %d: a scenario needs at least %d transactions", txs, simulate.MinTxs)
			}
			switch st, err := os.Stat(out); {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return usagef("--out: %v", err)
			case !st.IsDir():
				return usagef("--out %s is a file, not a folder", out)
			default:
				if entries, err := os.ReadDir(out); err != nil || len(entries) > 0 {
					return usagef("--out %s is not an empty folder", out)
				}
			}
			opts := simulate.Options{Seed: seed, Txs: txs}
			if isTerminal(m.Stderr) {
				start := time.Now()
				opts.Progress = func(done, total int) {
					line := fmt.Sprintf("\rsimulate: %d/%d transactions", done, total)
					if secs := time.Since(start).Seconds(); secs > 0 {
						line += fmt.Sprintf("  %.0f tx/s", float64(done)/secs)
					}
					fmt.Fprintf(m.Stderr, "%-80s", line)
				}
				defer fmt.Fprintln(m.Stderr)
			}
			s, err := simulate.Generate(cmd.Context(), out, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(m.Stdout, simulateSummary{s.Blocks, s.Txs, simulate.Sat(s.Stolen), s.Files})
			}
			fmt.Fprintf(m.Stdout, "blocks: %d\ntransactions: %d\nstolen: %d sat (%d.%08d BTC)\n", s.Blocks, s.Txs, s.Stolen, s.Stolen/1e8, s.Stolen%1e8)
			for _, f := range s.Files {
				fmt.Fprintf(m.Stdout, "wrote %s\n", f)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the folder to write, new or empty")
	cmd.Flags().Int64Var(&seed, "seed", 1, "the scenario's seed")
	cmd.Flags().IntVar(&txs, "txs", simulate.DefaultTxs, "transactions in all, coinbases included")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/ethereum"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/node"
)

// chainDir is where a data folder keeps its chain index.
func chainDir(dataDir string) string { return filepath.Join(dataDir, "chain") }

// openChain opens a data folder's chain index. A folder a running node
// holds fails at once, with a line that says so.
func (m *Main) openChain(dataDir string) (*chainstore.Store, error) {
	if _, err := node.LoadConfig(dataDir); err != nil {
		return nil, usagef("%v", err)
	}
	st, err := chainstore.Open(chainDir(dataDir), chainstore.Options{Logger: m.logger(slog.LevelWarn)})
	if err != nil {
		if strings.Contains(err.Error(), "lock") || strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, usagef("a node holds %s (cointrail serve): stop it, or ingest through serve --follow-bitcoin / --follow-ethereum and read through its REST API", dataDir)
		}
		return nil, err
	}
	return st, nil
}

// progressPrinter shows ingest progress on a terminal, and nothing in a
// pipe.
func (m *Main) progressPrinter() func(ingest.Progress) {
	if !isTerminal(m.Stderr) {
		return nil
	}
	return func(p ingest.Progress) {
		secs := p.Elapsed.Seconds()
		line := fmt.Sprintf("\r%s: height %d", p.Chain, p.Height)
		if p.Tip >= 0 {
			line += fmt.Sprintf("/%d", p.Tip)
		}
		if secs > 0 {
			bps := float64(p.Blocks) / secs
			line += fmt.Sprintf("  %.0f blocks/s  %.0f tx/s", bps, float64(p.Txs)/secs)
			if p.Tip > p.Height && bps > 0 {
				eta := time.Duration(float64(p.Tip-p.Height) / bps * float64(time.Second)).Round(time.Second)
				line += fmt.Sprintf("  ETA %s", eta)
			}
		}
		fmt.Fprintf(m.Stderr, "%-80s", line)
	}
}

func (m *Main) ingestCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ingest", Short: "Bring chain data into the node's index"}

	var dir, network, rpcURL, rpcUser, rpcPassword, rpcCookie string
	var files []string
	var from int64
	var follow bool
	btc := &cobra.Command{
		Use:   "bitcoin --data DIR --network mainnet|testnet|regtest|simnet (--blocks FILE... | --rpc URL [--rpcuser U --rpcpassword P | --rpccookie FILE] [--from HEIGHT] [--follow])",
		Short: "Ingest Bitcoin-family blocks from block files or a node's JSON-RPC",
		Long:  "bitcoin reads blk*.dat files (or single raw blocks) with --blocks, or a Bitcoin Core-compatible node (Bitcoin Core, btcd, Litecoin Core) with --rpc. It resumes where the index stopped, follows the node's reorgs, and with --follow keeps up with its tip until interrupted. Blocks whose parents the index lacks start a detached segment (see chain status).",
		// --blocks a.dat b.dat: the files after the first are arguments.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if len(files) == 0 {
					return usagef("unexpected argument %q (block files follow --blocks)", args[0])
				}
				files = append(files, args...)
			}
			net, err := bitcoin.ParseNetwork(network)
			if err != nil {
				return usagef("--network: %v", err)
			}
			if (len(files) == 0) == (rpcURL == "") {
				return usagef("ingest bitcoin needs --blocks FILE... or --rpc URL (one of them)")
			}
			st, err := m.openChain(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			opts := ingest.Options{Logger: m.logger(slog.LevelWarn), Progress: m.progressPrinter()}
			defer func() {
				if opts.Progress != nil {
					fmt.Fprintln(m.Stderr)
				}
			}()
			if len(files) > 0 {
				if err := ingest.FromFiles(cmd.Context(), st, net, files, opts); err != nil {
					return err
				}
				return m.printStatus(st, net.Chain(), false)
			}
			src, err := bitcoin.NewRPC(rpcURL, net, bitcoin.RPCOptions{User: rpcUser, Password: rpcPassword, CookieFile: rpcCookie})
			if err != nil {
				return usagef("--rpc: %v", err)
			}
			if err := ingest.FromSource(cmd.Context(), st, src, "rpc", from, -1, follow, opts); err != nil {
				return err
			}
			return m.printStatus(st, net.Chain(), false)
		},
	}
	btc.Flags().StringVar(&dir, "data", defaultDataDir, "the node's data folder")
	btc.Flags().StringVar(&network, "network", "mainnet", "mainnet, testnet, regtest or simnet")
	btc.Flags().StringSliceVar(&files, "blocks", nil, "block files (blk*.dat framing, or single raw blocks)")
	btc.Flags().StringVar(&rpcURL, "rpc", "", "JSON-RPC URL of a Bitcoin Core-compatible node")
	btc.Flags().StringVar(&rpcUser, "rpcuser", "", "JSON-RPC user")
	btc.Flags().StringVar(&rpcPassword, "rpcpassword", "", "JSON-RPC password")
	btc.Flags().StringVar(&rpcCookie, "rpccookie", "", "the node's .cookie file, instead of a user and password")
	btc.Flags().Int64Var(&from, "from", -1, "first height (default: after what the index holds, or 0)")
	btc.Flags().BoolVar(&follow, "follow", false, "keep up with the node's tip until interrupted")

	var edir, erpc, echain string
	var efrom, eto int64
	var efollow bool
	eth := &cobra.Command{
		Use:   "ethereum --data DIR --rpc URL [--chain ethereum|ethereum-classic|bsc|arbitrum|...] [--from N] [--to M] [--follow]",
		Short: "Ingest an Ethereum-family chain from a node's JSON-RPC",
		Long:  "ethereum reads blocks with full transactions, their receipts (status, gas, logs) and, where the node offers debug_traceBlockByNumber, call traces for internal transfers. Every transfer is exact: native value, internal calls, ERC-20 and ERC-721 Transfer logs, fees (burned base fee and tip), withdrawals and rewards.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if erpc == "" {
				return usagef("ingest ethereum needs --rpc URL")
			}
			info, ok := chain.Lookup(echain)
			if !ok || info.Model != chain.Account {
				return usagef("--chain %q is not an Ethereum-family chain", echain)
			}
			st, err := m.openChain(edir)
			if err != nil {
				return err
			}
			defer st.Close()
			src, err := ethereum.NewRPC(erpc, echain, ethereum.RPCOptions{Logger: m.logger(slog.LevelWarn)})
			if err != nil {
				return usagef("--rpc: %v", err)
			}
			opts := ingest.Options{Logger: m.logger(slog.LevelWarn), Progress: m.progressPrinter()}
			defer func() {
				if opts.Progress != nil {
					fmt.Fprintln(m.Stderr)
				}
			}()
			if err := ingest.FromSource(cmd.Context(), st, src, "rpc", efrom, eto, efollow, opts); err != nil {
				return err
			}
			return m.printStatus(st, echain, false)
		},
	}
	eth.Flags().StringVar(&edir, "data", defaultDataDir, "the node's data folder")
	eth.Flags().StringVar(&erpc, "rpc", "", "JSON-RPC URL of an Ethereum-family node")
	eth.Flags().StringVar(&echain, "chain", "ethereum", "ethereum, ethereum-classic, bsc, arbitrum, ...")
	eth.Flags().Int64Var(&efrom, "from", -1, "first block (default: after what the index holds, or 0)")
	eth.Flags().Int64Var(&eto, "to", -1, "last block (default: the node's tip)")
	eth.Flags().BoolVar(&efollow, "follow", false, "keep up with the node's tip until interrupted")
	cmd.AddCommand(btc, eth)
	return cmd
}

func (m *Main) printStatus(st *chainstore.Store, chainID string, asJSON bool) error {
	s, err := st.Status(chainID)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONOut(m.Stdout, s)
	}
	return m.writeStatus(s)
}

func (m *Main) writeStatus(s *chainstore.Status) error {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%d blocks\t%d transactions\n", s.Chain, s.Blocks, s.Txs)
	for _, seg := range s.Segments {
		fmt.Fprintf(tw, "  segment\t%s\t%s\n", heightRange(seg.Start.Height, seg.End.Height), seg.End.Hash)
	}
	for _, g := range s.Gaps {
		fmt.Fprintf(tw, "  gap\t%s\t\n", heightRange(g.From, g.To))
	}
	return tw.Flush()
}

func heightRange(a, b int64) string {
	h := func(x int64) string {
		if x < 0 {
			return "?"
		}
		return fmt.Sprint(x)
	}
	return h(a) + "-" + h(b)
}

func (m *Main) chainCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "chain", Short: "Read the chain index"}
	var sdir string
	var sjson bool
	status := &cobra.Command{
		Use:   "status --data DIR",
		Short: "Show each chain's segments, gaps and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := m.openChain(sdir)
			if err != nil {
				return err
			}
			defer st.Close()
			var all []*chainstore.Status
			for _, c := range st.Chains() {
				s, err := st.Status(c)
				if err != nil {
					return err
				}
				all = append(all, s)
			}
			if sjson {
				return writeJSONOut(m.Stdout, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(m.Stdout, "no chain data (see cointrail ingest)")
			}
			for _, s := range all {
				if err := m.writeStatus(s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	status.Flags().StringVar(&sdir, "data", defaultDataDir, "the node's data folder")
	status.Flags().BoolVar(&sjson, "json", false, "print JSON")

	var tdir string
	var tjson bool
	tx := &cobra.Command{
		Use:   "tx CHAIN HASH --data DIR [--json]",
		Short: "Show a transaction: inputs with what they spend and outputs (UTXO), or transfers (account)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := chain.Lookup(args[0]); !ok {
				return usagef("unknown chain %q", args[0])
			}
			st, err := m.openChain(tdir)
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.Tx(cmd.Context(), args[0], args[1])
			if err != nil {
				return notFoundUsage(err, "transaction %s on %s", args[1], args[0])
			}
			if tjson {
				return writeJSONOut(m.Stdout, v)
			}
			return writeTx(m, v)
		},
	}
	tx.Flags().StringVar(&tdir, "data", defaultDataDir, "the node's data folder")
	tx.Flags().BoolVar(&tjson, "json", false, "print JSON")

	var adir string
	var ajson bool
	addr := &cobra.Command{
		Use:   "address CHAIN ADDRESS --data DIR [--json]",
		Short: "Show an address: balance, received and sent per asset, transaction count, first and last seen",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := chain.Lookup(args[0]); !ok {
				return usagef("unknown chain %q", args[0])
			}
			a := args[1]
			if !strings.HasPrefix(a, "script:") {
				c, err := address.Canonical(args[0], a)
				if err != nil {
					return usagef("%v", err)
				}
				a = c
			}
			st, err := m.openChain(adir)
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.Address(cmd.Context(), args[0], a)
			if err != nil {
				return notFoundUsage(err, "address %s on %s", args[1], args[0])
			}
			if ajson {
				return writeJSONOut(m.Stdout, v)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "%s\t%s\t%d transactions\n", v.Chain, v.Address, v.TxCount)
			fmt.Fprintln(tw, "ASSET\tBALANCE\tRECEIVED\tSENT\tFIRST SEEN\tLAST SEEN")
			for _, b := range v.Balances {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", b.Asset, b.Balance, b.Received, b.Sent, b.FirstSeen.Height, b.LastSeen.Height)
			}
			return tw.Flush()
		},
	}
	addr.Flags().StringVar(&adir, "data", defaultDataDir, "the node's data folder")
	addr.Flags().BoolVar(&ajson, "json", false, "print JSON")
	cmd.AddCommand(status, tx, addr)
	return cmd
}

func notFoundUsage(err error, format string, args ...any) error {
	if errors.Is(err, chain.ErrNotFound) {
		return usagef("no "+format+" in the index", args...)
	}
	return err
}

func writeTx(m *Main, v *chainstore.TxView) error {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\tblock %d\n", v.Chain, v.Hash, v.Height)
	for i, in := range v.Inputs {
		what := "unknown output"
		if in.Known {
			what = fmt.Sprintf("%s\t%d", in.Address, in.Value)
		}
		if v.Coinbase {
			what = "coinbase"
		}
		fmt.Fprintf(tw, "  in %d\t%s:%d\t%s\n", i, in.PrevTx, in.PrevIndex, what)
	}
	for _, out := range v.Outputs {
		fmt.Fprintf(tw, "  out %d\t%s\t%d\n", out.Index, out.Address, out.Value)
	}
	for _, t := range v.Transfers {
		fmt.Fprintf(tw, "  %s\t%s -> %s\t%s %s\n", t.Kind, t.From, t.To, t.Amount, t.Asset)
	}
	return tw.Flush()
}

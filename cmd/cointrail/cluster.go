package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/trace"
)

func (m *Main) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Group a chain's addresses into entities and say why",
		Long: `cluster groups the addresses of a chain in the index into entities by common-input ownership: the addresses one transaction spends from belong to one wallet, except in CoinJoins (Wasabi, Whirlpool, JoinMarket shapes), which several wallets make together. The clusters are built in memory from the index at each run (well under a second per million transactions).

A label on one address of a cluster labels the cluster, with its confidence halved; on Ethereum-family chains an address that forwards what it receives to a labelled exchange wallet within 100 blocks (to within 1% or the forwarding's fee) is taken for that exchange's deposit address, with its confidence halved too.`,
	}
	cmd.AddCommand(m.clusterExplainCommand(), m.clusterShowCommand())
	return cmd
}

func (m *Main) clusterExplainCommand() *cobra.Command {
	var (
		d      dataFlags
		asName string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "explain CHAIN ADDRESS [OTHER] --data DIR [--as ORG] [--json]",
		Short: "Show an address's cluster and label, and the transactions that make it one entity with another",
		Long:  `explain prints the size of ADDRESS's cluster and its label: its own, or one derived from another address of its cluster or, on an Ethereum-family chain, from the exchange wallet it forwards to, with the reason. With OTHER it prints the chain of transactions that make the two addresses one entity (each spends from two of the addresses on the way), or says they are not one entity. Labels are those the organisation --as (default: the operator) may see.`,
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			chainID := args[0]
			keys, err := clusterArgs(chainID, args[1:])
			if err != nil {
				return err
			}
			e, v, err := m.openAs(ctx, d, asName)
			if err != nil {
				return err
			}
			defer e.Close()
			labels, err := trace.LabelsFor(ctx, e.svc, v, chainID, nil)
			if err != nil {
				return err
			}
			st, err := m.openChain(d.dir)
			if err != nil {
				return err
			}
			defer st.Close()
			g, nums, err := clusterAddrs(st, chainID, args[1:], keys)
			if err != nil {
				return err
			}
			c, err := buildClusters(ctx, g)
			if err != nil {
				return err
			}
			lab, err := cluster.NewLabeler(c, labels)
			if err != nil {
				return err
			}
			res := clusterExplanation{Chain: chainID, clusterAddress: describeAddr(c, lab, keys[0], nums[0])}
			if len(nums) == 2 {
				other := describeAddr(c, lab, keys[1], nums[1])
				res.Other = &other
				path, same := c.Explain(nums[0], nums[1])
				res.Same = &same
				if res.Path, err = cluster.Describe(g, path); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSONOut(m.Stdout, res)
			}
			printExplanation(m.Stdout, &res)
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().StringVar(&asName, "as", "", "the organisation whose view of labels to use (default: the operator)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (m *Main) clusterShowCommand() *cobra.Command {
	var (
		dir    string
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "show CHAIN ADDRESS --data DIR [--json] [--limit N]",
		Short: "List the addresses of an address's cluster",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d is negative (0 lists every address)", limit)
			}
			chainID := args[0]
			keys, err := clusterArgs(chainID, args[1:])
			if err != nil {
				return err
			}
			st, err := m.openChain(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			g, nums, err := clusterAddrs(st, chainID, args[1:], keys)
			if err != nil {
				return err
			}
			c, err := buildClusters(cmd.Context(), g)
			if err != nil {
				return err
			}
			members, size := c.Members(nums[0], limit)
			res := clusterListing{Chain: chainID, Address: keys[0], ClusterSize: size, Addresses: make([]string, 0, len(members))}
			for _, n := range members {
				k, err := g.AddrKey(n)
				if err != nil {
					return fmt.Errorf("address number %d: %w", n, err)
				}
				res.Addresses = append(res.Addresses, k)
			}
			res.Truncated = len(members) < size
			if asJSON {
				return writeJSONOut(m.Stdout, res)
			}
			fmt.Fprintf(m.Stdout, "%s %s: %s\n", chainID, keys[0], clusterOf(chainID, size))
			for _, k := range res.Addresses {
				fmt.Fprintf(m.Stdout, "  %s\n", k)
			}
			if res.Truncated {
				fmt.Fprintf(m.Stdout, "  ... and %d more (--limit 0 lists them all)\n", size-len(members))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data", defaultDataDir, "the node's data folder")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "list at most this many addresses (0: all)")
	return cmd
}

// clusterArgs checks the chain and returns the addresses' index keys:
// canonical addresses, or script keys as given.
func clusterArgs(chainID string, addrs []string) ([]string, error) {
	if _, ok := chain.Lookup(chainID); !ok {
		return nil, usagef("unknown chain %q", chainID)
	}
	keys := make([]string, len(addrs))
	for i, a := range addrs {
		if strings.HasPrefix(a, "script:") {
			keys[i] = a
			continue
		}
		k, err := address.Canonical(chainID, a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		keys[i] = k
	}
	return keys, nil
}

// clusterAddrs returns chainID's graph and the numbers of the address
// keys, each of which the index must have.
func clusterAddrs(st *chainstore.Store, chainID string, args, keys []string) (*chainstore.Graph, []uint32, error) {
	g := st.Graph(chainID)
	if g == nil {
		return nil, nil, usagef("unknown chain %q", chainID)
	}
	nums := make([]uint32, len(keys))
	for i, k := range keys {
		n, err := g.AddrNum(k)
		if err != nil {
			return nil, nil, notFoundUsage(err, "address %s on %s", args[i], chainID)
		}
		nums[i] = n
	}
	return g, nums, nil
}

// buildClusters clusters g's addresses.
func buildClusters(ctx context.Context, g *chainstore.Graph) (*cluster.Clusterer, error) {
	c := cluster.New(g)
	if _, err := c.Update(ctx); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", g.Chain(), err)
	}
	return c, nil
}

// clusterAddress is an address with its cluster's size and its label.
type clusterAddress struct {
	Address     string         `json:"address"`
	ClusterSize int            `json:"cluster_size"`
	Label       *cluster.Label `json:"label,omitempty"`
}

// clusterExplanation is what cluster explain prints.
type clusterExplanation struct {
	Chain string `json:"chain"`
	clusterAddress
	// With OTHER: whether the two are one entity, and the merges that
	// make them so.
	Other *clusterAddress `json:"other,omitempty"`
	Same  *bool           `json:"same,omitempty"`
	Path  []cluster.Step  `json:"path,omitempty"`
}

// clusterListing is what cluster show prints.
type clusterListing struct {
	Chain       string   `json:"chain"`
	Address     string   `json:"address"`
	ClusterSize int      `json:"cluster_size"`
	Addresses   []string `json:"addresses"`
	Truncated   bool     `json:"truncated"`
}

func describeAddr(c *cluster.Clusterer, lab *cluster.Labeler, key string, n uint32) clusterAddress {
	a := clusterAddress{Address: key, ClusterSize: c.Size(n)}
	if l, ok := lab.LabelOf(n); ok {
		a.Label = &l
	}
	return a
}

func printExplanation(w io.Writer, res *clusterExplanation) {
	printClusterAddress(w, res.Chain, &res.clusterAddress)
	if res.Other == nil {
		return
	}
	printClusterAddress(w, res.Chain, res.Other)
	a, b := res.Address, res.Other.Address
	switch {
	case !*res.Same && !utxoChain(res.Chain):
		fmt.Fprintf(w, "%s and %s are not known to be one entity: account chains are not clustered by common inputs\n", a, b)
		return
	case !*res.Same:
		fmt.Fprintf(w, "%s and %s are not one entity: no transaction spends from both clusters\n", a, b)
		return
	}
	if len(res.Path) == 0 {
		fmt.Fprintf(w, "%s and %s are the same address\n", a, b)
		return
	}
	fmt.Fprintf(w, "%s and %s are one entity, through %d transactions:\n", a, b, len(res.Path))
	for _, s := range res.Path {
		fmt.Fprintf(w, "  %s (block %d) spends from %s and %s\n", s.Tx, s.Height, s.From, s.To)
	}
}

// clusterOf says how big a cluster of chainID is.
func clusterOf(chainID string, size int) string {
	switch {
	case !utxoChain(chainID):
		return "cluster of 1 address (account chains are not clustered by common inputs)"
	case size == 1:
		return "cluster of 1 address (no transaction spends from it with another)"
	}
	return fmt.Sprintf("cluster of %d addresses", size)
}

// utxoChain reports whether chainID is clustered by common inputs.
func utxoChain(chainID string) bool {
	info, _ := chain.Lookup(chainID)
	return info.Model == chain.UTXO
}

func printClusterAddress(w io.Writer, chainID string, a *clusterAddress) {
	fmt.Fprintf(w, "%s %s: %s\n", chainID, a.Address, clusterOf(chainID, a.ClusterSize))
	l := a.Label
	if l == nil {
		fmt.Fprintln(w, "  no label")
		return
	}
	conf := "no confidence given"
	if l.Confidence != nil {
		conf = fmt.Sprintf("confidence %d", *l.Confidence)
	}
	how := "its own label"
	if l.Via != cluster.ViaOwn {
		how = l.Note
	}
	fmt.Fprintf(w, "  label: %s (%s), %s: %s\n", l.Entity, l.Category, conf, how)
}

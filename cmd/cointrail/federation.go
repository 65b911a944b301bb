package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/federation"
	"github.com/cointrail/cointrail/internal/node"
)

func (m *Main) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "This node's signing key"}
	var d dataFlags
	key := &cobra.Command{
		Use:   "key --data DIR",
		Short: "Print this node's Ed25519 public key, for peers' `peer add --key`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := node.Keys(d.dir)
			if err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintln(m.Stdout, node.EncodePublic(keys[len(keys)-1].Public))
			return nil
		},
	}
	d.register(key)
	var dd dataFlags
	document := &cobra.Command{
		Use:   "document --data DIR",
		Short: "Print this node's signed document (its keys and organisations), for a peer that cannot reach it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), dd)
			if err != nil {
				return err
			}
			defer e.Close()
			doc, err := federation.BuildDocument(cmd.Context(), e.svc, e.operator(), e.keys, e.signer, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s\n", doc)
			return nil
		},
	}
	dd.register(document)
	var rd dataFlags
	rotate := &cobra.Command{
		Use:   "rotate --data DIR",
		Short: "Make a new signing key, announced under the current one, and print it",
		Long:  "rotate makes a new Ed25519 key and signs its announcement with the current key. Peers that trust the old key accept the new one from this node's document; objects signed with the old key stay verifiable. Restart serve to sign with the new key.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := node.LoadConfig(rd.dir); err != nil {
				return usagef("%v", err)
			}
			k, err := node.RotateKey(rd.dir)
			if err != nil {
				return err
			}
			e, err := m.open(cmd.Context(), rd)
			if err != nil {
				return err
			}
			defer e.Close()
			if err := e.bindOwnKeys(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, node.EncodePublic(k.Public))
			return nil
		},
	}
	rd.register(rotate)
	key.AddCommand(rotate)
	cmd.AddCommand(key, document)
	return cmd
}

func (m *Main) peerCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "peer", Short: "Add, list and remove the nodes this node shares with"}

	var d dataFlags
	var url, token, key, caFile, pushCollection, docFile string
	var collections []string
	var push bool
	add := &cobra.Command{
		Use:   "add NAME --url URL --token TOKEN --key PUBKEY [--ca FILE] --data DIR",
		Short: "Trust a peer node: bind its keys and organisations, and pull from it",
		Long: "add fetches the peer's signed node document with the token the peer issued to this node (role sync), checks it with the public key the peer's operator gave (`cointrail node key` on the peer), " +
			"and binds the peer's keys and organisations here under their own ids. serve then pulls the peer's collections, and with --push sends this node's objects to the peer's --push-collection.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || (url == "" && docFile == "") || (url != "" && token == "") {
				return usagef("peer add needs --key, and --url with --token (or, for a peer that cannot be reached, --document)")
			}
			pub, err := node.DecodePublic(key)
			if err != nil {
				return usagef("--key: %v", err)
			}
			var doc []byte
			if docFile != "" {
				if doc, err = os.ReadFile(docFile); err != nil {
					return usagef("--document: %v", err)
				}
			}
			var ca []byte
			if caFile != "" {
				if ca, err = os.ReadFile(caFile); err != nil {
					return usagef("--ca: %v", err)
				}
			}
			e, err := m.open(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer e.Close()
			b, err := federation.AddPeer(cmd.Context(), e.svc, e.operator(), args[0], url, token, pub, ca, federation.AddOptions{
				Collections: collections, Push: push, PushCollection: pushCollection, Now: time.Now(), Document: doc,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "added peer %s: %d keys, %d organisations\n", args[0], len(b.Keys), len(b.Orgs))
			return nil
		},
	}
	d.register(add)
	add.Flags().StringVar(&url, "url", "", "the peer's base URL (or its TAXII discovery URL)")
	add.Flags().StringVar(&token, "token", "", "the token the peer issued to this node")
	add.Flags().StringVar(&key, "key", "", "the peer's Ed25519 public key, from `cointrail node key` on the peer")
	add.Flags().StringVar(&caFile, "ca", "", "PEM certificate the peer's TLS certificate must chain to")
	add.Flags().StringSliceVar(&collections, "collection", nil, "pull only these collection ids (default: every readable one)")
	add.Flags().BoolVar(&push, "push", false, "also push this node's objects to the peer")
	add.Flags().StringVar(&pushCollection, "push-collection", "", "the peer's collection id to push to")
	add.Flags().StringVar(&docFile, "document", "", "file with the peer's node document (from cointrail node document on the peer), for a peer this node cannot reach: it pushes here")

	var ld dataFlags
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --data DIR",
		Short: "List peers with their sync state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), ld)
			if err != nil {
				return err
			}
			defer e.Close()
			peers, err := federation.Peers(cmd.Context(), e.store)
			if err != nil {
				return err
			}
			type row struct {
				federation.Peer
				Status federation.Status `json:"status"`
			}
			var rows []row
			for _, p := range peers {
				st, err := federation.PeerStatus(cmd.Context(), e.store, p.Name)
				if err != nil {
					return err
				}
				p.Token = "" // never printed
				rows = append(rows, row{p, st})
			}
			if asJSON {
				return writeJSONOut(m.Stdout, rows)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tURL\tPULLED\tPUSHED\tREJECTED\tLAST SUCCESS\tLAST ERROR")
			for _, r := range rows {
				last := "never"
				if !r.Status.LastSuccess.IsZero() {
					last = r.Status.LastSuccess.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.URL, r.Status.Pulled, r.Status.Pushed, r.Status.Rejected, last, oneLine(r.Status.LastError))
			}
			return tw.Flush()
		},
	}
	ld.register(list)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var rd dataFlags
	remove := &cobra.Command{
		Use:   "remove NAME --data DIR",
		Short: "Stop sharing with a peer (what it sent stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), rd)
			if err != nil {
				return err
			}
			defer e.Close()
			if err := federation.RemovePeer(cmd.Context(), e.svc, e.operator(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "removed peer %s\n", args[0])
			return nil
		},
	}
	rd.register(remove)

	var sd dataFlags
	var timeout time.Duration
	syncCmd := &cobra.Command{
		Use:   "sync NAME --data DIR",
		Short: "Run one sync round with a peer now, and print what it brought",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), sd)
			if err != nil {
				return err
			}
			defer e.Close()
			peers, err := federation.Peers(cmd.Context(), e.store)
			if err != nil {
				return err
			}
			for _, p := range peers {
				if p.Name != args[0] {
					continue
				}
				s := federation.NewSyncer(e.svc, e.cfg.Operator, federation.Options{Timeout: timeout})
				before, _ := federation.PeerStatus(cmd.Context(), e.store, p.Name)
				if err := s.Sync(cmd.Context(), p); err != nil {
					return err
				}
				after, _ := federation.PeerStatus(cmd.Context(), e.store, p.Name)
				fmt.Fprintf(m.Stdout, "synced %s: %d pulled, %d pushed, %d rejected\n", p.Name,
					after.Pulled-before.Pulled, after.Pushed-before.Pushed, after.Rejected-before.Rejected)
				return nil
			}
			return usagef("no peer %s", args[0])
		},
	}
	sd.register(syncCmd)
	syncCmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "bound on each request to the peer")
	cmd.AddCommand(add, list, remove, syncCmd)
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
)

func (m *Main) initCommand() *cobra.Command {
	var d dataFlags
	var orgName string
	cmd := &cobra.Command{
		Use:   "init --data DIR [--org NAME] [--db URL]",
		Short: "Create a data folder, the node's signing key and the operator organisation",
		Long:  "init creates a data folder with the node's Ed25519 signing key and its database (SQLite in the folder, or the PostgreSQL database --db names), stores the TLP 2.0 marking definitions and cointrail's STIX extension definitions, and creates the operator organisation, which commands act as when no --as is given. It prints the operator organisation's identity id.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			org, err := m.initNode(cmd.Context(), d, orgName)
			if err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, org.ID)
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().StringVar(&orgName, "org", "operator", "name of the operator organisation")
	return cmd
}

// initNode makes d.dir a data folder operated by a new organisation.
func (m *Main) initNode(ctx context.Context, d dataFlags, orgName string) (access.Org, error) {
	if err := node.Create(d.dir); err != nil {
		if errors.Is(err, node.ErrExists) {
			return access.Org{}, usagef("%s is already a cointrail data folder", d.dir)
		}
		return access.Org{}, err
	}
	log := m.logger(slog.LevelWarn)
	st, err := openStore(ctx, d.dir, d.db, log)
	if err != nil {
		return access.Org{}, err
	}
	defer st.Close()
	keys, signer, err := loadKeys(d.dir)
	if err != nil {
		return access.Org{}, err
	}
	svc, org, err := intel.Bootstrap(ctx, st, orgName, intel.Options{Logger: log, Address: address.Canonical, Signer: signer})
	if err != nil {
		return access.Org{}, err
	}
	e := &env{dir: d.dir, store: st, svc: svc, keys: keys, signer: signer, cfg: node.Config{Operator: org.ID}}
	if err := e.bindOwnKeys(ctx); err != nil {
		return access.Org{}, err
	}
	cfg := node.Config{Operator: org.ID, OperatorName: org.Name, DB: d.db, Created: time.Now().UTC()}
	if err := node.WriteConfig(d.dir, cfg); err != nil {
		return access.Org{}, err
	}
	return org, nil
}

func (m *Main) orgCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Create and list organisations"}

	var d dataFlags
	var id string
	create := &cobra.Command{
		Use:   "create NAME --data DIR [--id identity--UUID]",
		Short: "Create an organisation and print its identity id",
		Long:  "create makes a member organisation of this node with a fresh identity id. With --id it registers an organisation of another node under the id that node minted, so that recipients and owners name the same organisation on every node.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer e.Close()
			org, err := e.svc.CreateOrg(cmd.Context(), e.operator(), args[0], id)
			if err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, org.ID)
			return nil
		},
	}
	d.register(create)
	create.Flags().StringVar(&id, "id", "", "register an organisation of another node under this identity id")

	var ld dataFlags
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --data DIR",
		Short: "List organisations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), ld)
			if err != nil {
				return err
			}
			defer e.Close()
			orgs, err := e.svc.Orgs(cmd.Context(), e.operator())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(m.Stdout, orgs)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tNODE")
			for _, o := range orgs {
				where := "this node"
				if !o.Local {
					where = "peer"
				}
				if o.ID == e.cfg.Operator {
					where += " (operator)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Name, o.ID, where)
			}
			return tw.Flush()
		},
	}
	ld.register(list)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(create, list)
	return cmd
}

func (m *Main) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke access tokens"}

	var d dataFlags
	var orgName, roleName, expires string
	create := &cobra.Command{
		Use:   "create --org NAME --role ROLE --data DIR [--expires DURATION]",
		Short: "Create a token and print it (it is shown only once)",
		Long:  "create makes a token of at least 256 random bits for an organisation with a role (reader, contributor, admin or sync) and prints it, and nothing else. Only a hash is stored: the token cannot be shown again. --expires takes a duration such as 720h or 30d.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if orgName == "" {
				return usagef("token create needs --org NAME")
			}
			role, err := access.ParseRole(roleName)
			if err != nil {
				return usagef("--role: %v", err)
			}
			ttl, err := parseDuration(expires)
			if err != nil {
				return usagef("--expires: %v", err)
			}
			e, err := m.open(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer e.Close()
			org, err := e.svc.Org(cmd.Context(), e.operator(), orgName)
			if err != nil {
				return fmt.Errorf("organisation %q: %w", orgName, err)
			}
			_, secret, err := e.svc.CreateToken(cmd.Context(), e.operator(), org.ID, role, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, secret)
			return nil
		},
	}
	d.register(create)
	create.Flags().StringVar(&orgName, "org", "", "the organisation the token acts for")
	create.Flags().StringVar(&roleName, "role", "", "reader, contributor, admin or sync")
	create.Flags().StringVar(&expires, "expires", "", "lifetime, such as 720h or 30d (default: no expiry)")

	var ld dataFlags
	var listOrg string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --org NAME --data DIR",
		Short: "List an organisation's tokens (public ids, never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listOrg == "" {
				return usagef("token list needs --org NAME")
			}
			e, err := m.open(cmd.Context(), ld)
			if err != nil {
				return err
			}
			defer e.Close()
			org, err := e.svc.Org(cmd.Context(), e.operator(), listOrg)
			if err != nil {
				return fmt.Errorf("organisation %q: %w", listOrg, err)
			}
			toks, err := e.svc.Tokens(cmd.Context(), e.operator(), org.ID)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(m.Stdout, toks)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tCREATED\tEXPIRES\tSTATE")
			now := e.svc.Now()
			for _, t := range toks {
				state := "active"
				switch {
				case !t.Revoked.IsZero():
					state = "revoked " + t.Revoked.Format(time.RFC3339)
				case !t.Expires.IsZero() && !now.Before(t.Expires):
					state = "expired"
				}
				exp := "never"
				if !t.Expires.IsZero() {
					exp = t.Expires.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Created.Format(time.RFC3339), exp, state)
			}
			return tw.Flush()
		},
	}
	ld.register(list)
	list.Flags().StringVar(&listOrg, "org", "", "the organisation")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var rd dataFlags
	revoke := &cobra.Command{
		Use:   "revoke ID --data DIR",
		Short: "Revoke a token by its public id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := m.open(cmd.Context(), rd)
			if err != nil {
				return err
			}
			defer e.Close()
			t, err := e.svc.RevokeToken(cmd.Context(), e.operator(), args[0])
			if err != nil {
				return fmt.Errorf("token %s: %w", args[0], err)
			}
			fmt.Fprintf(m.Stdout, "revoked %s\n", t.ID)
			return nil
		},
	}
	rd.register(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// parseDuration parses a Go duration, also accepting whole days ("30d").
// "" is no duration.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 720h or 30d", s)
	}
	return d, nil
}

func writeJSONOut(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

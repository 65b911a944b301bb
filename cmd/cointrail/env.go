package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/store/postgres"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// envName is the environment variable of a flag: COINTRAIL_ and the flag's
// name in upper case with "_" for "-".
func envName(flag string) string {
	return "COINTRAIL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag the command line left unset from its
// environment variable.
func (m *Main) applyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		if v, ok := m.LookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = usagef("%s=%q: %v", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// dataFlags are the flags every command that opens a node has.
type dataFlags struct {
	dir string
	db  string
}

const defaultDataDir = "./cointrail-data"

func (d *dataFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.dir, "data", defaultDataDir, "the node's data folder")
	cmd.Flags().StringVar(&d.db, "db", "", "PostgreSQL URL (postgres://...) of the node's database; default: the one init chose, else SQLite in the data folder")
}

// env is an open node: its configuration, keys, store and services.
type env struct {
	dir    string
	cfg    node.Config
	store  intel.Store
	svc    *intel.Service
	log    *slog.Logger
	keys   []node.PublicKey
	signer intel.Signer
}

func (e *env) Close() error { return e.store.Close() }

// operator is the viewer commands act as by default: the operator
// organisation's admin.
func (e *env) operator() access.Viewer {
	return access.Viewer{Org: e.cfg.Operator, Role: access.Admin}
}

// as returns the viewer for --as ORG (a name or an identity id): that
// organisation's admin, or the operator when name is "".
func (e *env) as(ctx context.Context, name string) (access.Viewer, error) {
	if name == "" {
		return e.operator(), nil
	}
	org, err := e.svc.Org(ctx, e.operator(), name)
	if err != nil {
		return access.Viewer{}, fmt.Errorf("organisation %q: %w", name, err)
	}
	return access.Viewer{Org: org.ID, Role: access.Admin}, nil
}

// openStore opens the database of a data folder: PostgreSQL if url is
// given, else SQLite in the folder.
func openStore(ctx context.Context, dir, url string, log *slog.Logger) (intel.Store, error) {
	if url != "" {
		if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
			return nil, usagef("--db %q is not a postgres:// URL", redactURL(url))
		}
		st, err := postgres.Open(ctx, url, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database %s: %w", redactURL(url), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, node.DBFile), sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open database in %s: %w", dir, err)
	}
	return st, nil
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	cred, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, hasPass := strings.Cut(cred, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return u
}

// open opens an initialised data folder.
func (m *Main) open(ctx context.Context, d dataFlags) (*env, error) {
	cfg, err := node.LoadConfig(d.dir)
	if err != nil {
		return nil, usagef("%v", err)
	}
	url := d.db
	if url == "" {
		url = cfg.DB
	}
	log := m.logger(slog.LevelWarn)
	keys, signer, err := loadKeys(d.dir)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, d.dir, url, log)
	if err != nil {
		return nil, err
	}
	svc := intel.New(st, intel.Options{Logger: log, Operator: cfg.Operator, Address: address.Canonical, Signer: signer})
	return &env{dir: d.dir, cfg: cfg, store: st, svc: svc, log: log, keys: keys, signer: signer}, nil
}

// loadKeys reads the node's public keys and its signer.
func loadKeys(dir string) ([]node.PublicKey, intel.Signer, error) {
	priv, err := node.LoadKey(dir)
	if err != nil {
		return nil, nil, err
	}
	keys, err := node.Keys(dir)
	if err != nil {
		return nil, nil, err
	}
	return keys, intel.Ed25519Signer{Key: priv, ID: keys[len(keys)-1].ID}, nil
}

// bindOwnKeys records the node's own public keys in its database, so the
// node can verify its own objects when a peer serves them back.
func (e *env) bindOwnKeys(ctx context.Context) error {
	keys := make([]access.NodeKey, len(e.keys))
	for i, k := range e.keys {
		keys[i] = access.NodeKey{ID: k.ID, Public: k.Public, Added: k.Created}
	}
	return e.svc.BindNode(ctx, e.operator(), "", keys, nil, "", "")
}

func (m *Main) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
}

// isTerminal reports whether w is a terminal, where progress may be shown.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

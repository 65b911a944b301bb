package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

func (m *Main) importCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Import intelligence from files"}
	var d dataFlags
	var orgName, tlpName string
	var asJSON bool
	stixCmd := &cobra.Command{
		Use:   "stix FILE... --data DIR --org NAME [--tlp clear|green|amber|amber+strict|red]",
		Short: "Import STIX 2.1 bundles, each all or nothing",
		Long:  "stix imports STIX 2.1 bundles from files (\"-\" for standard input) as owned by an organisation. A file may hold several bundles one after another; each bundle is stored in one transaction, all of it or nothing. --tlp marks the objects that carry no TLP marking. It stops at the first refused bundle, naming it and its bad objects; the bundles before it stay stored.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if orgName == "" {
				return usagef("import stix needs --org NAME (the organisation that owns the objects)")
			}
			level := stix.TLPNone
			if tlpName != "" {
				var err error
				if level, err = stix.ParseTLP(tlpName); err != nil {
					return usagef("--tlp: %v", err)
				}
			}
			e, err := m.open(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer e.Close()
			v, err := e.as(cmd.Context(), orgName)
			if err != nil {
				return err
			}
			sum, err := m.importSTIX(cmd.Context(), e, v, args, level)
			if asJSON {
				if werr := writeJSONOut(m.Stdout, sum); werr != nil && err == nil {
					err = werr
				}
			} else if sum.Bundles > 0 || err == nil {
				fmt.Fprintf(m.Stdout, "imported %d %s: %d objects added, %d unchanged\n", sum.Bundles, plural(sum.Bundles, "bundle", "bundles"), sum.Added, sum.Unchanged)
			}
			return err
		},
	}
	d.register(stixCmd)
	stixCmd.Flags().StringVar(&orgName, "org", "", "the organisation that owns the imported objects")
	stixCmd.Flags().StringVar(&tlpName, "tlp", "", "mark unmarked objects clear, green, amber, amber+strict or red")
	stixCmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.AddCommand(stixCmd, m.importOFACCommand(), m.importTagPackCommand(), m.importIncidentsCommand(),
		m.importMISPCommand(), m.importMISPGalaxyCommand())
	return cmd
}

// importSummary counts what an import stored.
type importSummary struct {
	Bundles   int `json:"bundles"`
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
}

func (m *Main) importSTIX(ctx context.Context, e *env, v access.Viewer, files []string, level stix.TLP) (importSummary, error) {
	var sum importSummary
	progress := isTerminal(m.Stderr)
	for _, name := range files {
		err := eachJSONValue(m.Stdin, name, func(n int, data []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			objs, err := httpapi.ParseObjects(data)
			if err != nil {
				return err
			}
			res, err := e.svc.Submit(ctx, v, objs, intel.SubmitOptions{DefaultTLP: level})
			if err != nil {
				return err
			}
			sum.Bundles++
			sum.Added += res.Added
			sum.Unchanged += res.Unchanged
			if progress {
				fmt.Fprintf(m.Stderr, "\r%s: %d bundles, %d objects added", name, sum.Bundles, sum.Added)
			}
			return nil
		})
		if progress {
			fmt.Fprintln(m.Stderr)
		}
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// eachJSONValue calls fn with each JSON value in file ("-" is stdin), in
// order, numbering them from 1. An error names the file and the value.
func eachJSONValue(stdin io.Reader, name string, fn func(n int, data []byte) error) error {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			if n == 1 {
				return usagef("%s: no bundle in the file", name)
			}
			return nil
		}
		if err != nil {
			return fault.New(fault.Malformed, "%s: bundle %d: not JSON: %v", name, n, err)
		}
		if err := fn(n, raw); err != nil {
			if code := fault.CodeOf(err); code != fault.Internal {
				return &fault.Error{Code: code, Message: fmt.Sprintf("%s: bundle %d: %s", name, n, fault.MessageOf(err)), Err: err}
			}
			return fmt.Errorf("%s: bundle %d: %w", name, n, err)
		}
	}
}

func (m *Main) exportCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export intelligence to files"}
	var d dataFlags
	var asName string
	stixCmd := &cobra.Command{
		Use:   "stix --data DIR --as ORG",
		Short: "Write a STIX bundle of what an organisation may see to standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.exportAs(cmd.Context(), d, asName, "export stix", func(e *env, v access.Viewer) error {
				return exportBundle(cmd.Context(), e.svc, v, m.Stdout)
			})
		},
	}
	d.register(stixCmd)
	stixCmd.Flags().StringVar(&asName, "as", "", "the organisation whose view to export")
	cmd.AddCommand(stixCmd, m.exportTagPackCommand(), m.exportMISPCommand())
	return cmd
}

// exportAs opens the node and calls fn with the read-only viewer of the
// organisation named asName: what every export command does first.
func (m *Main) exportAs(ctx context.Context, d dataFlags, asName, what string, fn func(*env, access.Viewer) error) error {
	if asName == "" {
		return usagef("%s needs --as ORG (whose view to export)", what)
	}
	e, v, err := m.openAs(ctx, d, asName)
	if err != nil {
		return err
	}
	defer e.Close()
	return fn(e, v)
}

// openAs opens the node and returns the read-only viewer of the
// organisation asName (the operator when ""): what every command that
// reads as an organisation does first. The caller closes the env.
func (m *Main) openAs(ctx context.Context, d dataFlags, asName string) (*env, access.Viewer, error) {
	e, err := m.open(ctx, d)
	if err != nil {
		return nil, access.Viewer{}, err
	}
	v, err := e.as(ctx, asName)
	if err != nil {
		e.Close()
		if fault.CodeOf(err) == fault.NotFound {
			return nil, access.Viewer{}, usagef("--as %q: %s", asName, strings.TrimSpace(errorText(err)))
		}
		return nil, access.Viewer{}, err
	}
	v.Role = access.Reader
	return e, v, nil
}

// exportBundle streams a bundle of every current object v may see.
func exportBundle(ctx context.Context, svc *intel.Service, v access.Viewer, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, `{"type":"bundle","id":%q,"objects":[`, stix.NewID("bundle"))
	first := true
	err := svc.Export(ctx, v, func(r *intel.Record) error {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n")
		_, err := bw.Write(r.Data)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// importFlags are the flags every import command shares.
type importFlags struct {
	data   dataFlags
	org    string
	tlp    string
	asJSON bool
}

func (f *importFlags) register(cmd *cobra.Command, tlpHelp string) {
	f.data.register(cmd)
	cmd.Flags().StringVar(&f.org, "org", "", "the organisation that owns the imported objects (default: the operator)")
	cmd.Flags().StringVar(&f.tlp, "tlp", "", tlpHelp)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the summary as JSON")
}

// level returns the --tlp level, or def when the flag is empty.
func (f *importFlags) level(def stix.TLP) (stix.TLP, error) {
	if f.tlp == "" {
		return def, nil
	}
	t, err := stix.ParseTLP(f.tlp)
	if err != nil {
		return stix.TLPNone, usagef("--tlp: %v", err)
	}
	return t, nil
}

// open opens the node and returns it with the viewer the import acts as:
// the --org organisation's admin, or the operator's.
func (f *importFlags) open(ctx context.Context, m *Main) (*env, access.Viewer, error) {
	e, err := m.open(ctx, f.data)
	if err != nil {
		return nil, access.Viewer{}, err
	}
	v, err := e.as(ctx, f.org)
	if err != nil {
		e.Close()
		return nil, access.Viewer{}, err
	}
	return e, v, nil
}

// ImportReport is what an import command prints.
type ImportReport struct {
	// File is the file imported.
	File string `json:"file"`
	// Added and Unchanged count the objects stored and those already held.
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
	// Revoked lists the ids revoked because the source no longer lists them.
	Revoked []string `json:"revoked,omitempty"`
	// Skipped lists the values the import left out, each with the reason.
	Skipped []string `json:"skipped,omitempty"`
}

// submitFile stores the objects converted from one file as owned by v, all
// of them in one transaction or none, and reports the values the converter
// skipped on stderr.
func (m *Main) submitFile(ctx context.Context, e *env, v access.Viewer, file string, objs []*stix.Object, opts intel.SubmitOptions, skipped []string) (ImportReport, error) {
	rep := ImportReport{File: file, Skipped: skipped}
	for _, s := range skipped {
		fmt.Fprintf(m.Stderr, "cointrail: %s: skipped %s\n", file, s)
	}
	if len(objs) == 0 {
		return rep, nil
	}
	if isTerminal(m.Stderr) {
		fmt.Fprintf(m.Stderr, "%s: storing %d objects...\n", file, len(objs))
	}
	res, err := e.svc.Submit(ctx, v, objs, opts)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", file, err)
	}
	rep.Added, rep.Unchanged = res.Added, res.Unchanged
	return rep, nil
}

// printReport prints an import's result: one line, or JSON with --json.
func (m *Main) printReport(f *importFlags, rep ImportReport) error {
	if f.asJSON {
		return writeJSONOut(m.Stdout, rep)
	}
	line := fmt.Sprintf("imported %s: %d objects added, %d unchanged", rep.File, rep.Added, rep.Unchanged)
	if len(rep.Revoked) > 0 {
		line += fmt.Sprintf(", %d revoked", len(rep.Revoked))
	}
	if len(rep.Skipped) > 0 {
		line += fmt.Sprintf(", %d values skipped (see above)", len(rep.Skipped))
	}
	fmt.Fprintln(m.Stdout, line)
	return nil
}

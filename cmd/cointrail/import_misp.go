package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/formats/misp"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// The MISP commands: "import misp" (events), "import misp-galaxy" (galaxy
// cluster files) and "export misp". The mapping is internal/formats/misp's.

func (m *Main) importMISPCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "misp FILE... --data DIR [--org NAME] [--tlp LEVEL] [--json]",
		Short: "Import MISP events: event files, REST answers, feed directories",
		Long: `misp imports MISP events as STIX objects: each event as a report; btc, dash and xmr attributes and coin-address, btc-wallet, btc-transaction and cryptocurrency-transaction objects as cryptocurrency wallets and transactions, flagged by indicators where MISP's to_ids says so; threat-actor galaxy clusters as threat-actors; every other attribute and object kept as x-misp-attribute and x-misp-object.

A FILE holds one event ({"Event": ...}, as MISP's event view and a feed's event files have it), a list of them, or a REST answer ({"response": [...]}); "-" is standard input; a directory is a MISP feed, whose manifest.json lists its event files.

Each object is marked by its tlp tag, else by its MISP distribution: 0 TLP:AMBER for the owner only, 1 and 2 TLP:GREEN, 3 TLP:CLEAR, 4 TLP:AMBER shared with the organisations of the sharing group that this node knows (by MISP uuid, as identity--<uuid>, or by name). --tlp marks what the MISP data leaves unmarked.

Every file is read before anything is stored: a malformed one stores nothing. A value that fails its checksum is reported and not imported. Importing the same events again changes nothing.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := f.level(stix.TLPNone)
			if err != nil {
				return err
			}
			var files []string
			for _, arg := range args {
				more, err := mispEventFiles(arg)
				if err != nil {
					return err
				}
				files = append(files, more...)
			}
			ctx := cmd.Context()
			e, v, err := f.open(ctx, m)
			if err != nil {
				return err
			}
			defer e.Close()
			orgs, err := mispOrgs(ctx, e, v)
			if err != nil {
				return err
			}
			results := make([]*misp.Result, len(files))
			for i, file := range files {
				if err := m.readMISP(file, func(r io.Reader) (err error) {
					results[i], err = misp.ParseEvents(r, misp.Options{Orgs: orgs})
					return err
				}); err != nil {
					return err
				}
			}
			for i, file := range files {
				res := results[i]
				for _, n := range res.Notes {
					fmt.Fprintf(m.Stderr, "cointrail: %s: note: %s\n", file, n)
				}
				rep, err := m.submitFile(ctx, e, v, file, res.Objects, intel.SubmitOptions{DefaultTLP: level, SkipSameContent: true}, res.Skipped)
				if err != nil {
					return err
				}
				if err := m.printReport(&f, rep); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd, "mark what the MISP data leaves unmarked (an event with neither tlp tag nor distribution): clear, green, amber, amber+strict or red")
	return cmd
}

func (m *Main) importMISPGalaxyCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "misp-galaxy FILE --data DIR [--org NAME] [--tlp LEVEL] [--json]",
		Short: "Import a MISP threat-actor galaxy (clusters/threat-actor.json)",
		Long: `misp-galaxy imports a MISP galaxy cluster file of the threat-actor galaxy (MISP/misp-galaxy clusters/threat-actor.json, or part of it): each cluster as a threat-actor with its synonyms as aliases, its refs as external references and its countries as locations it is located at.

The threat-actors have the same ids as those MISP events carry, so an event's Lazarus Group is the galaxy's. They are TLP:CLEAR, as MISP publishes them; --tlp marks them otherwise (the country locations stay TLP:CLEAR). Importing the same galaxy release again changes nothing; a later release adds new versions.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := f.level(stix.TLPClear)
			if err != nil {
				return err
			}
			file := args[0]
			var res *misp.Result
			if err := m.readMISP(file, func(r io.Reader) (err error) {
				res, err = misp.ParseGalaxy(r)
				return err
			}); err != nil {
				return err
			}
			if level != stix.TLPClear {
				for _, o := range res.Objects {
					if o.Type != "location" {
						if err := o.Set("object_marking_refs", []string{level.ID()}); err != nil {
							return err
						}
					}
				}
			}
			for _, n := range res.Notes {
				fmt.Fprintf(m.Stderr, "cointrail: %s: note: %s\n", file, n)
			}
			ctx := cmd.Context()
			e, v, err := f.open(ctx, m)
			if err != nil {
				return err
			}
			defer e.Close()
			rep, err := m.submitFile(ctx, e, v, file, res.Objects, intel.SubmitOptions{SkipSameContent: true}, res.Skipped)
			if err != nil {
				return err
			}
			return m.printReport(&f, rep)
		},
	}
	f.register(cmd, "mark the threat-actors clear (default), green, amber, amber+strict or red")
	return cmd
}

func (m *Main) exportMISPCommand() *cobra.Command {
	var d dataFlags
	var asName string
	cmd := &cobra.Command{
		Use:   "misp --data DIR --as ORG",
		Short: "Write the reports an organisation may see as MISP events to standard output",
		Long:  `misp writes every report the organisation may see as a MISP event, with the attributes, objects and threat-actor clusters it refers to, in the form MISP's REST API answers ({"response": [{"Event": ...}, ...]}, one event a line). "cointrail import misp" reads it back into the same objects.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return m.exportAs(ctx, d, asName, "export misp", func(e *env, v access.Viewer) error {
				var objs []*stix.Object
				err := e.svc.Export(ctx, v, func(r *intel.Record) error {
					switch stix.KindOf(r.Type) {
					case stix.KindSCO, stix.KindSRO, stix.KindMeta:
						return nil // derived from the attributes and clusters; not written
					}
					o, err := r.Object()
					if err != nil {
						return err
					}
					objs = append(objs, o)
					return nil
				})
				if err != nil {
					return err
				}
				return misp.WriteEvents(m.Stdout, objs)
			})
		},
	}
	d.register(cmd)
	cmd.Flags().StringVar(&asName, "as", "", "the organisation whose view to export")
	return cmd
}

// mispEventFiles expands a command-line argument: a MISP feed directory to
// the event files its manifest.json lists (every .json file but the
// manifest without one), anything else to itself.
func mispEventFiles(arg string) ([]string, error) {
	if arg == "-" {
		return []string{arg}, nil
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if !st.IsDir() {
		return []string{arg}, nil
	}
	manifest := filepath.Join(arg, "manifest.json")
	mf, err := os.Open(manifest)
	if os.IsNotExist(err) {
		files, _ := filepath.Glob(filepath.Join(arg, "*.json"))
		if len(files) == 0 {
			return nil, usagef("%s: no manifest.json and no .json event files", arg)
		}
		slices.Sort(files)
		return files, nil
	}
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer mf.Close()
	uuids, err := misp.ParseManifest(mf)
	if err != nil {
		return nil, &fault.Error{Code: fault.CodeOf(err), Message: manifest + ": " + fault.MessageOf(err), Err: err}
	}
	files := make([]string, len(uuids))
	for i, u := range uuids {
		files[i] = filepath.Join(arg, u+".json")
	}
	return files, nil
}

// readMISP opens file ("-" is standard input) and hands it to parse. A file
// that cannot be opened is bad usage; a malformed one is reported with its
// name.
func (m *Main) readMISP(file string, parse func(r io.Reader) error) error {
	var r io.Reader = m.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	if err := parse(r); err != nil {
		if code := fault.CodeOf(err); code != fault.Internal {
			return &fault.Error{Code: code, Message: file + ": " + fault.MessageOf(err), Err: err}
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// mispOrgs maps the organisations of MISP sharing groups to this node's:
// by MISP uuid when the node knows the organisation as identity--<uuid>,
// else by name, without regard to case.
func mispOrgs(ctx context.Context, e *env, v access.Viewer) (func(name, uuid string) (string, bool), error) {
	orgs, err := e.svc.Orgs(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	ids := map[string]bool{}
	byName := map[string]string{}
	for _, o := range orgs {
		ids[o.ID] = true
		byName[strings.ToLower(o.Name)] = o.ID
	}
	return func(name, uuid string) (string, bool) {
		if id := "identity--" + strings.ToLower(strings.TrimSpace(uuid)); uuid != "" && ids[id] {
			return id, true
		}
		id, ok := byName[strings.ToLower(strings.TrimSpace(name))]
		return id, ok
	}, nil
}

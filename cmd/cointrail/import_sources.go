package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/formats/incidents"
	"github.com/cointrail/cointrail/internal/formats/ofac"
	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// The import commands of outside sources (OFAC's SDN list, GraphSense
// TagPacks, incident CSV files) and the TagPack export. Each import parses
// its whole file before it opens the node: a malformed file stores nothing.

// readSource opens file ("-" is standard input) and hands it to parse. A
// file that cannot be opened is bad usage; a malformed one is reported with
// the file's name.
func (m *Main) readSource(file string, parse func(r io.Reader) error) error {
	var r io.Reader = m.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	if isTerminal(m.Stderr) {
		fmt.Fprintf(m.Stderr, "%s: reading...\n", file)
	}
	if err := parse(r); err != nil {
		if code := fault.CodeOf(err); code != fault.Internal {
			return &fault.Error{Code: code, Message: file + ": " + fault.MessageOf(err), Err: err}
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// fileDate returns the day a file was last modified, in UTC, or the zero
// time for standard input or a file that cannot be read.
func fileDate(file string) time.Time {
	if file == "-" {
		return time.Time{}
	}
	st, err := os.Stat(file)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime().UTC().Truncate(24 * time.Hour)
}

func (m *Main) notef(file, format string, args ...any) {
	fmt.Fprintf(m.Stderr, "cointrail: %s: note: %s\n", file, fmt.Sprintf(format, args...))
}

func skips[S fmt.Stringer](s []S) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = v.String()
	}
	return out
}

var fileDateRE = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})`)

// ofacListDate is the date of an SDN list: --date, else a YYYY-MM-DD in the
// file's name, else the day the file was last modified.
func ofacListDate(file, flag string) (time.Time, error) {
	if flag != "" {
		d, err := time.Parse("2006-01-02", flag)
		if err != nil {
			return time.Time{}, usagef("--date %q is not YYYY-MM-DD", flag)
		}
		return d, nil
	}
	if m := fileDateRE.FindString(file[strings.LastIndexAny(file, `/\`)+1:]); m != "" {
		if d, err := time.Parse("2006-01-02", m); err == nil {
			return d, nil
		}
	}
	if d := fileDate(file); !d.IsZero() {
		return d, nil
	}
	return time.Time{}, usagef("the date of the list is unknown: pass --date YYYY-MM-DD")
}

func (m *Main) importOFACCommand() *cobra.Command {
	var f importFlags
	var comments, date string
	cmd := &cobra.Command{
		Use:   "ofac FILE [--comments sdn_comments.csv] [--date YYYY-MM-DD] --data DIR [--org NAME] [--json]",
		Short: "Import the cryptocurrency addresses of OFAC's SDN list (legacy sdn.csv)",
		Long: `ofac imports the entries of OFAC's Specially Designated Nationals list (the legacy sdn.csv) that list cryptocurrency addresses: each entry as an identity (a threat-actor for a hacking group such as LAZARUS GROUP), each address as a wallet tied to it and flagged by an indicator, all TLP:CLEAR and created by OFAC's identity.

The list's remarks are cut at 1,000 characters; --comments reads their ends from the companion sdn_comments.csv. An address that fails its checksum (such as a fragment the cut leaves) is reported and not imported. --date is the date of the list (default: a YYYY-MM-DD in the file's name, else the file's modification day).

Importing the same list again changes nothing; importing a later list adds what is new and revokes what it no longer lists.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if level, err := f.level(stix.TLPClear); err != nil {
				return err
			} else if level != stix.TLPClear {
				return usagef("--tlp: OFAC's list is public; its objects are TLP:CLEAR")
			}
			file := args[0]
			if file != "-" {
				if _, err := os.Stat(file); err != nil {
					return usagef("%v", err)
				}
			}
			listDate, err := ofacListDate(file, date)
			if err != nil {
				return err
			}
			opts := ofac.Options{ListDate: listDate}
			if comments != "" {
				c, err := os.Open(comments)
				if err != nil {
					return usagef("--comments: %v", err)
				}
				defer c.Close()
				opts.Comments = c
			}
			var res *ofac.Result
			if err := m.readSource(file, func(r io.Reader) (err error) {
				res, err = ofac.Parse(r, opts)
				return err
			}); err != nil {
				return err
			}
			for _, n := range res.Notes {
				m.notef(file, "%s", n)
			}
			if len(res.Cut) > 0 {
				m.notef(file, "%d remarks are cut at 1,000 characters (entries %s); addresses after the cut are missing: pass --comments sdn_comments.csv", len(res.Cut), strings.Join(res.Cut, ", "))
			}
			ctx := cmd.Context()
			e, v, err := f.open(ctx, m)
			if err != nil {
				return err
			}
			defer e.Close()
			if err := keepFirstSeen(ctx, e.svc, v, res.Objects); err != nil {
				return err
			}
			rep, err := m.submitFile(ctx, e, v, file, res.Objects, intel.SubmitOptions{DefaultTLP: stix.TLPClear, SkipSameContent: true}, skips(res.Skipped))
			if err != nil {
				return err
			}
			if res.Listed == 0 {
				m.notef(file, "no entry lists an address; nothing revoked")
			} else {
				keep := make(map[string]bool, len(res.Objects))
				for _, o := range res.Objects {
					keep[o.ID] = true
				}
				if rep.Revoked, err = e.svc.RevokeMissing(ctx, v, ofac.IdentityID, keep); err != nil {
					return fmt.Errorf("%s: revoke what the list no longer names: %w", file, err)
				}
			}
			return m.printReport(&f, rep)
		},
	}
	f.register(cmd, "must be clear if given: OFAC's list is public")
	cmd.Flags().StringVar(&comments, "comments", "", "sdn_comments.csv of the same list: the ends of remarks cut at 1,000 characters")
	cmd.Flags().StringVar(&date, "date", "", "the date of the list, YYYY-MM-DD (default: from the file's name, else its modification day)")
	return cmd
}

// keepFirstSeen gives each object the node already holds the date it was
// first listed (see [ofac.KeepFirstSeen]).
func keepFirstSeen(ctx context.Context, svc *intel.Service, v access.Viewer, objs []*stix.Object) error {
	var ferr error
	ofac.KeepFirstSeen(objs, func(id string) (*stix.Object, bool) {
		if ferr != nil {
			return nil, false
		}
		rec, err := svc.Get(ctx, v, id)
		if err != nil {
			if fault.CodeOf(err) != fault.NotFound {
				ferr = err
			}
			return nil, false
		}
		o, err := rec.Object()
		if err != nil {
			ferr = err
			return nil, false
		}
		return o, true
	})
	return ferr
}

func (m *Main) importTagPackCommand() *cobra.Command {
	var f importFlags
	var chain string
	cmd := &cobra.Command{
		Use:   "tagpack FILE... [--chain CHAIN] [--tlp LEVEL] --data DIR [--org NAME] [--json]",
		Short: "Import GraphSense TagPacks (attribution tags of addresses)",
		Long: `tagpack imports GraphSense TagPacks: each tag becomes a wallet with a label (a related-to relationship to an identity named by the tag's label, with its category, abuse, source and confidence), an indicator when the tag names an abuse, and a threat-actor that uses the wallet when it names an actor.

Packs marked is_public are TLP:CLEAR; the others take --tlp (default amber). --chain sets the chain of every tag, whatever its currency says. A pack without lastmod is dated by the file's modification day. A tag whose address fails its chain's checks, or repeats an earlier tag's label and address, is reported and not imported. Every file is read before anything is stored; each is then stored in one transaction.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := f.level(stix.TLPAmber)
			if err != nil {
				return err
			}
			if chain != "" && !address.Checked(chain) && chain != "monero" && chain != "nem" {
				return usagef("--chain: %q is not a chain id (bitcoin, ethereum, tron, litecoin, bsc, ...)", chain)
			}
			results := make([]*tagpack.Result, len(args))
			for i, file := range args {
				opts := tagpack.Options{Chain: chain, TLP: level, LastMod: fileDate(file)}
				if err := m.readSource(file, func(r io.Reader) (err error) {
					results[i], err = tagpack.Parse(r, opts)
					return err
				}); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			e, v, err := f.open(ctx, m)
			if err != nil {
				return err
			}
			defer e.Close()
			for i, file := range args {
				res := results[i]
				for _, n := range res.Notes {
					m.notef(file, "%s", n)
				}
				rep, err := m.submitFile(ctx, e, v, file, res.Objects, intel.SubmitOptions{DefaultTLP: level, SkipSameContent: true}, skips(res.Skipped))
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
	f.register(cmd, "mark packs that are not is_public clear, green, amber, amber+strict or red (default amber)")
	cmd.Flags().StringVar(&chain, "chain", "", "the chain id of every tag (bitcoin, ethereum, tron, ...), whatever its currency says")
	return cmd
}

func (m *Main) importIncidentsCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "incidents-csv FILE [--tlp LEVEL] --data DIR [--org NAME] [--json]",
		Short: "Import incidents from a CSV file (date,title,targets,entity_types,attack_types,tags,loss_usd,source)",
		Long: `incidents-csv imports one incident per row of a CSV file with the header date,title,targets,entity_types,attack_types,tags,loss_usd,source (as the DN Institute lists crypto thefts): the incident with its date and USD loss, its victims, and its attribution when the tags name Lazarus Group or North Korea.

The data is public, so the objects are TLP:CLEAR unless --tlp says otherwise. Importing the same file again changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := f.level(stix.TLPClear)
			if err != nil {
				return err
			}
			file := args[0]
			var res *incidents.Result
			if err := m.readSource(file, func(r io.Reader) (err error) {
				res, err = incidents.Parse(r, incidents.Options{TLP: level})
				return err
			}); err != nil {
				return err
			}
			ctx := cmd.Context()
			e, v, err := f.open(ctx, m)
			if err != nil {
				return err
			}
			defer e.Close()
			rep, err := m.submitFile(ctx, e, v, file, res.Objects, intel.SubmitOptions{DefaultTLP: level, SkipSameContent: true}, skips(res.Skipped))
			if err != nil {
				return err
			}
			return m.printReport(&f, rep)
		},
	}
	f.register(cmd, "mark the objects clear, green, amber, amber+strict or red (default clear)")
	return cmd
}

func (m *Main) exportTagPackCommand() *cobra.Command {
	var d dataFlags
	var asName, label string
	cmd := &cobra.Command{
		Use:   "tagpack --data DIR --as ORG [--label LABEL]",
		Short: "Write a GraphSense TagPack of the wallet labels an organisation may see to standard output",
		Long:  "tagpack writes the wallet labels ORG may see (each wallet's related-to relationship to the identity that labels it, with its category, abuse, source, confidence and actor) as one GraphSense TagPack in YAML. --label keeps the wallets of one label (matched without regard to case).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return m.exportAs(ctx, d, asName, "export tagpack", func(e *env, v access.Viewer) error {
				var objs []*stix.Object
				err := e.svc.Export(ctx, v, func(r *intel.Record) error {
					switch r.Type {
					case "relationship", "identity", "threat-actor", stix.TypeCryptocurrencyWallet:
					default:
						return nil
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
				if label != "" {
					var n int
					if objs, n = onlyLabel(objs, label); n == 0 {
						return fault.New(fault.NotFound, "no wallet labelled %q is visible to %s", label, asName)
					}
				}
				return tagpack.Write(m.Stdout, objs...)
			})
		},
	}
	d.register(cmd)
	cmd.Flags().StringVar(&asName, "as", "", "the organisation whose view to export")
	cmd.Flags().StringVar(&label, "label", "", "export only the wallets of this label")
	return cmd
}

// onlyLabel keeps, of the wallets in objs, those labelled label (by a label
// relationship to an identity of that name, or, for a wallet with no label,
// by a threat-actor of that name that uses it), and drops the other label
// relationships. It returns the objects kept and how many wallets.
func onlyLabel(objs []*stix.Object, label string) ([]*stix.Object, int) {
	names := map[string]string{}
	for _, o := range objs {
		if n := o.String("name"); n != "" {
			names[o.ID] = n
		}
	}
	keepWallet, labelled, keepRel := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, o := range objs {
		if o.Type != "relationship" || !isLabel(o) {
			continue
		}
		labelled[o.String("source_ref")] = true
		if strings.EqualFold(names[o.String("target_ref")], label) {
			keepWallet[o.String("source_ref")] = true
			keepRel[o.ID] = true
		}
	}
	for _, o := range objs {
		if o.Type == "relationship" && o.String("relationship_type") == "uses" && !labelled[o.String("target_ref")] && strings.EqualFold(names[o.String("source_ref")], label) {
			keepWallet[o.String("target_ref")] = true
		}
	}
	var out []*stix.Object
	for _, o := range objs {
		switch {
		case o.Type == stix.TypeCryptocurrencyWallet && !keepWallet[o.ID]:
		case o.Type == "relationship" && !keepRel[o.ID] && isLabel(o):
		default:
			out = append(out, o)
		}
	}
	return out, len(keepWallet)
}

// isLabel reports whether o is a wallet label: a related-to relationship
// with the wallet label extension.
func isLabel(o *stix.Object) bool {
	_, ok := o.WalletLabel()
	return ok && o.String("relationship_type") == "related-to"
}

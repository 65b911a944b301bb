// Package incidents converts a CSV file of cryptocurrency thefts (one
// incident a row, as the DN Institute's incident pages list them) to STIX
// objects.
//
// The file has a header and exactly the columns
// date,title,targets,entity_types,attack_types,tags,loss_usd,source; list
// columns separate their items with ";". Each row becomes:
//
//   - an incident named by the title, with cointrail's incident extension:
//     "occurred" is the date at midnight UTC, and "losses" holds one loss
//     {"asset": "unknown:USD", "usd": loss_usd with two decimals, "source":
//     the source column}, or nothing when loss_usd is empty or "unknown" (no
//     figure is not a loss of zero). Its "labels" are the attack types and
//     any tags not recognised below, lower-cased; its external reference is
//     the source (source_name the source column, which the loss names);
//   - for each target, an identity (identity_class "organization", the
//     entity types in "x_cointrail_entity_types") and a "targets"
//     relationship from the incident to it;
//   - attribution from the tags: "Lazarus Group" is the threat-actor
//     Lazarus Group; "North Korea" is the location KP (country), where the
//     named actor is "located-at". A row tagged "North Korea" without a
//     named group is attributed to a threat-actor "North Korea"
//     (nation-state) located there. The incident is "attributed-to" each
//     actor.
//
// Every object is created by an identity for the row's publisher: the host
// of a source URL, or else the first word of the source (the repository
// "1712n/dn-institute" for the DN Institute's rows), emitted too.
// Timestamps come from the rows' dates: an object that several rows make
// (a victim named twice, an actor) is created at the earliest of them and
// modified at the latest, so the same file gives the same objects.
package incidents

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// Columns are the columns the file must have, in order.
var Columns = []string{"date", "title", "targets", "entity_types", "attack_types", "tags", "loss_usd", "source"}

// Options configure [Parse]. The zero value is valid.
type Options struct {
	// TLP marks every object. Default: TLP:CLEAR (the data is public).
	TLP stix.TLP
}

// Result is what [Parse] made of a file.
type Result struct {
	// Objects are the STIX objects.
	Objects []*stix.Object
	// Skipped lists the rows left out, in file order.
	Skipped []Skip
	// Rows counts the data rows read.
	Rows int
}

// Skip is a row left out of the import.
type Skip struct {
	// Line is the row's line in the file.
	Line int
	// Value names the row: its date and title.
	Value string
	// Reason says why it was left out.
	Reason string
}

func (s Skip) String() string { return fmt.Sprintf("line %d: %q: %s", s.Line, s.Value, s.Reason) }

// The actors the tags name, by tag in lower case.
var (
	// LazarusID is the threat-actor a "Lazarus Group" tag names.
	LazarusID = stix.ImportID("threat-actor", "name", "lazarus group")
	// NorthKoreaID is the location a "North Korea" tag names.
	NorthKoreaID = stix.ImportID("location", "country", "KP")
	// northKoreaActorID is the state actor of rows tagged "North Korea"
	// that name no group.
	northKoreaActorID = stix.ImportID("threat-actor", "name", "north korea")
)

// actor is a threat-actor the tags can name.
type actor struct {
	id, name string
	types    []string
}

var knownActors = map[string]actor{
	"lazarus group": {LazarusID, "Lazarus Group", []string{"nation-state"}},
}

var usdRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// row is one parsed row.
type row struct {
	line                     int
	date                     time.Time
	title, source, publisher string
	targets, types, attacks  []string
	actors                   []actor
	northKorea               bool
	usd                      string // "" when unknown
}

func malformed(line int, format string, args ...any) error {
	return fault.New(fault.Malformed, "line %d: %s", line, fmt.Sprintf(format, args...))
}

// Parse reads an incidents CSV from r. A file that is not one (no header,
// other columns, a row with another number of fields, a date that is not
// YYYY-MM-DD, no title, a loss that is not a non-negative decimal number)
// gives a *[fault.Error] with code [fault.Malformed] naming the first bad
// line, and no objects. A row that repeats an earlier row's date and title
// is reported in [Result.Skipped].
func Parse(r io.Reader, opts Options) (*Result, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, malformed(1, "empty file: want the header %s", strings.Join(Columns, ","))
	}
	if err != nil {
		return nil, csvError(err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(head[i]))
	}
	if !slices.Equal(head, Columns) {
		return nil, malformed(1, "header %q, want %s", strings.Join(head, ","), strings.Join(Columns, ","))
	}
	res := &Result{}
	var rows []row
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(Columns) {
			return nil, malformed(line, "%d fields, want %d (%s)", len(rec), len(Columns), strings.Join(Columns, ","))
		}
		res.Rows++
		rw, err := parseRow(line, rec)
		if err != nil {
			return nil, err
		}
		key := rec[0] + "|" + rw.title
		if first, dup := seen[key]; dup {
			res.Skipped = append(res.Skipped, Skip{Line: line, Value: rec[0] + " " + rw.title, Reason: fmt.Sprintf("the row on line %d has the same date and title", first)})
			continue
		}
		seen[key] = line
		rows = append(rows, rw)
	}
	level := opts.TLP
	if level == stix.TLPNone {
		level = stix.TLPClear
	}
	res.Objects = build(rows, level.ID())
	return res, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return malformed(pe.Line, "%v", pe.Err)
	}
	return fmt.Errorf("incidents: read: %w", err)
}

// list splits a ";"-separated column, dropping empty items and repeats.
func list(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ";") {
		if item = strings.TrimSpace(item); item != "" && !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	return out
}

func parseRow(line int, rec []string) (row, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	rw := row{line: line, title: rec[1], source: rec[7], targets: list(rec[2]), types: list(rec[3])}
	d, err := time.Parse("2006-01-02", rec[0])
	if err != nil {
		return rw, malformed(line, "date %q is not YYYY-MM-DD", rec[0])
	}
	rw.date = d
	if rw.title == "" {
		return rw, malformed(line, "no title")
	}
	switch loss := rec[6]; {
	case loss == "" || strings.EqualFold(loss, "unknown"):
	case usdRE.MatchString(loss):
		rw.usd = TwoDecimals(loss)
	default:
		return rw, malformed(line, "loss_usd %q is not a number of US dollars (digits, an optional fraction), empty or \"unknown\"", loss)
	}
	for _, a := range list(rec[4]) {
		if a = strings.ToLower(a); !slices.Contains(rw.attacks, a) {
			rw.attacks = append(rw.attacks, a)
		}
	}
	for _, t := range list(rec[5]) {
		lt := strings.ToLower(t)
		switch a, ok := knownActors[lt]; {
		case ok:
			if !slices.ContainsFunc(rw.actors, func(b actor) bool { return b.id == a.id }) {
				rw.actors = append(rw.actors, a)
			}
		case lt == "north korea":
			rw.northKorea = true
		case !slices.Contains(rw.attacks, lt):
			rw.attacks = append(rw.attacks, lt)
		}
	}
	if rw.northKorea && len(rw.actors) == 0 {
		rw.actors = append(rw.actors, actor{northKoreaActorID, "North Korea", []string{"nation-state"}})
	}
	rw.publisher = publisher(rw.source)
	return rw, nil
}

// TwoDecimals writes a decimal US dollar figure (one [stix.ParseUSD]
// accepts) with at least two decimals, never rounding: "530000000" is
// "530000000.00", "0.125" stays "0.125". Losses are written this way.
func TwoDecimals(s string) string {
	r, _ := new(big.Rat).SetString(s)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) <= 2 {
		return r.FloatString(2)
	}
	return whole + "." + frac
}

// publisher names who published a source: a URL's host, else its first
// word ("1712n/dn-institute" of "1712n/dn-institute content/...").
func publisher(source string) string {
	if u, err := url.Parse(source); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		return strings.TrimPrefix(u.Host, "www.")
	}
	if f := strings.Fields(source); len(f) > 0 {
		return f[0]
	}
	return "unknown source"
}

// EntityTypesProperty is the identity property that says what kind of
// entity a victim is ("exchange", "bridge"), lower-cased.
const EntityTypesProperty = "x_cointrail_entity_types"

// SourceRef returns the external reference by which an incident cites
// source: source_name the source (which its losses name), url the source
// when it is a URL, and description when given.
func SourceRef(source, description string) map[string]string {
	ref := map[string]string{"source_name": source}
	if description != "" {
		ref["description"] = description
	}
	if u, err := url.Parse(source); err == nil && u.Host != "" {
		ref["url"] = source
	}
	return ref
}

// PublisherID returns the id of the identity of a source's publisher.
func PublisherID(source string) string {
	return stix.ImportID("identity", "incidents-csv", publisher(source))
}

// span is the dates of the rows that make one object.
type span struct{ first, last time.Time }

func (s *span) add(d time.Time) {
	if s.first.IsZero() || d.Before(s.first) {
		s.first = d
	}
	if d.After(s.last) {
		s.last = d
	}
}

// shared is an object several rows make: dated by their span, created by
// the publisher of the first of them.
type shared struct {
	o       *stix.Object
	span    span
	creator string
}

func build(rows []row, marking string) []*stix.Object {
	var objs []*stix.Object
	sharedByID := map[string]*shared{}
	var order []*shared
	share := func(id, typ, creator string, d time.Time, props map[string]any) *shared {
		s := sharedByID[id]
		if s == nil {
			s = &shared{o: stix.New(typ, id), creator: creator}
			set(s.o, props)
			sharedByID[id] = s
			order = append(order, s)
		}
		s.span.add(d)
		return s
	}
	sdo := func(typ, id string, rw row, props map[string]any) *stix.Object {
		o := stix.New(typ, id)
		ts := stix.FormatTime(rw.date)
		set(o, map[string]any{
			"spec_version": "2.1", "created": ts, "modified": ts,
			"created_by_ref": PublisherID(rw.source), "object_marking_refs": []string{marking},
		})
		set(o, props)
		return o
	}
	for _, rw := range rows {
		date := rw.date.Format("2006-01-02")
		pub := PublisherID(rw.source)
		share(pub, "identity", pub, rw.date, map[string]any{
			"name": rw.publisher, "identity_class": "organization",
			"description": "Publisher of incident reports imported from a CSV file.",
		})
		inc := sdo("incident", stix.ImportID("incident", "csv", date, rw.title), rw, map[string]any{"name": rw.title})
		losses := []stix.Loss{}
		if rw.usd != "" {
			losses = append(losses, stix.Loss{Asset: "unknown:USD", USD: rw.usd, Source: rw.source})
		}
		must(inc.SetExtension(stix.IncidentExtensionID, "property-extension", map[string]any{
			"occurred": stix.FormatTime(rw.date), "losses": losses,
		}))
		if len(rw.attacks) > 0 {
			set(inc, map[string]any{"labels": rw.attacks})
		}
		if rw.source != "" {
			set(inc, map[string]any{"external_references": []map[string]string{SourceRef(rw.source, "incident report: "+rw.title)}})
		}
		objs = append(objs, inc)
		for _, name := range rw.targets {
			v := share(stix.ImportID("identity", "victim", name), "identity", pub, rw.date, map[string]any{
				"name": name, "identity_class": "organization",
			})
			types := v.o.Strings(EntityTypesProperty)
			for _, t := range rw.types {
				if t = strings.ToLower(t); !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
			if len(types) > 0 {
				set(v.o, map[string]any{EntityTypesProperty: types})
			}
			objs = append(objs, sdo("relationship", stix.ImportID("relationship", "csv-targets", date, rw.title, name), rw, map[string]any{
				"relationship_type": "targets", "source_ref": inc.ID, "target_ref": v.o.ID,
			}))
		}
		if rw.northKorea {
			share(NorthKoreaID, "location", pub, rw.date, map[string]any{"name": "North Korea", "country": "KP"})
		}
		for _, a := range rw.actors {
			share(a.id, "threat-actor", pub, rw.date, map[string]any{"name": a.name, "threat_actor_types": a.types})
			objs = append(objs, sdo("relationship", stix.ImportID("relationship", "csv-attributed-to", date, rw.title, a.id), rw, map[string]any{
				"relationship_type": "attributed-to", "source_ref": inc.ID, "target_ref": a.id,
			}))
			if rw.northKorea {
				share(stix.ImportID("relationship", "located-at", a.id, NorthKoreaID), "relationship", pub, rw.date, map[string]any{
					"relationship_type": "located-at", "source_ref": a.id, "target_ref": NorthKoreaID,
				})
			}
		}
	}
	out := make([]*stix.Object, 0, len(order)+len(objs))
	for _, s := range order {
		set(s.o, map[string]any{
			"spec_version": "2.1", "created": stix.FormatTime(s.span.first), "modified": stix.FormatTime(s.span.last),
			"created_by_ref": s.creator, "object_marking_refs": []string{marking},
		})
		out = append(out, s.o)
	}
	return append(out, objs...)
}

func set(o *stix.Object, props map[string]any) {
	for k, v := range props {
		must(o.Set(k, v))
	}
}

func must(err error) {
	if err != nil {
		panic(err) // only JSON-encodable values are set
	}
}

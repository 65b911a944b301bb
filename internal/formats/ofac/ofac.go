// Package ofac converts OFAC's Specially Designated Nationals (SDN) list, in
// its legacy CSV format, to STIX objects.
//
// The legacy sdn.csv is Latin-1 text with CRLF line ends and no header, one
// entry a row with the columns ent_num, SDN_Name, SDN_Type, Program, Title,
// Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner and Remarks;
// "-0-" stands for an empty value. OFAC lists the cryptocurrency addresses
// of an entry in its Remarks, each as "Digital Currency Address - <TICKER>
// <address>". Remarks are cut at 1,000 characters; the rest of a long remark
// is published in a companion file, sdn_comments.csv (columns ent_num and the
// continuation), which [Options.Comments] takes.
//
// [Parse] turns every entry that lists at least one address into:
//   - the entry: an identity (identity_class "individual" for SDN_Type
//     individual, "organization" for an entity, "unknown" for vessels and
//     aircraft), or a threat-actor when the entry is a hacking group (see
//     [IsGroup]). Its weak aliases (the "a.k.a. '...'" remarks) go into
//     "aliases" on a threat-actor and into "x_cointrail_aliases" on an
//     identity, which has no aliases property; its programmes go into the
//     description and into "labels" ("sanctioned", "ofac:<PROGRAM>"); an
//     external reference "OFAC SDN" carries the ent_num as external_id;
//   - per address: a cryptocurrency-wallet (chain from the ticker and the
//     address form, value canonical); a relationship tying it to the entry,
//     "related-to" from the wallet to an identity with cointrail's wallet
//     label extension (category "user" for individuals, "organization" for
//     entities, abuse "sanction", source "OFAC SDN"), or "uses" from a
//     threat-actor to the wallet, the way cointrail records an actor's
//     wallets; and an indicator flagging the wallet (labels ["sanctioned"]).
//     The relationship and the indicator keep OFAC's own words
//     ("Digital Currency Address - XBT 1...") in their external reference.
//
// Everything is TLP:CLEAR and created by the OFAC identity [IdentityID],
// which is emitted too. Ids are stable: an entry's objects are keyed by its
// ent_num, the ticker and the address, so the same list gives the same ids.
package ofac

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// The source identity every object names as its creator.
const (
	// IdentityName is the name of the OFAC identity.
	IdentityName = "US Department of the Treasury, Office of Foreign Assets Control (OFAC)"
	// SourceName is the source_name of the external references to the list.
	SourceName = "OFAC SDN"
	// identityTime is the fixed created and modified of the OFAC identity
	// (December 1950, when the Office was set up), so that it is the same
	// object in every list.
	identityTime = "1950-12-17T00:00:00.000Z"
)

// IdentityID is the id of the OFAC identity, the created_by_ref of every
// object this package makes.
var IdentityID = stix.ImportID("identity", "ofac")

// RemarksLimit is the width of the legacy format's Remarks column: a remark
// this long may be cut, its rest in sdn_comments.csv.
const RemarksLimit = 1000

// columns names the columns of sdn.csv, in order.
var columns = []string{"ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks"}

// Options configure [Parse].
type Options struct {
	// ListDate is the date of the list. It is every object's "modified",
	// and the "created" (and an indicator's "valid_from") of what the list
	// names; [KeepFirstSeen] moves those back to when a node first saw the
	// entry. Required: Parse fails without it.
	ListDate time.Time
	// Comments, if set, is the sdn_comments.csv of the same list: the
	// continuations of remarks cut at [RemarksLimit] characters, in the
	// same encoding. Default: none; cut remarks are reported in
	// [Result.Cut].
	Comments io.Reader
}

// Result is what [Parse] found in a list.
type Result struct {
	// Objects are the STIX objects, the OFAC identity first.
	Objects []*stix.Object
	// Skipped lists the address values left out, in file order.
	Skipped []Skip
	// Notes lists values imported with a caveat (an address listed under
	// another chain's ticker, an unknown ticker).
	Notes []string
	// Cut lists the ent_nums of remarks cut at [RemarksLimit] characters
	// for which no continuation was given: addresses after the cut are
	// missing.
	Cut []string
	// Entries counts the rows read; Listed the entries that list at least
	// one address imported.
	Entries, Listed int
}

// Skip is an address value left out of the import.
type Skip struct {
	// Line is the line of sdn.csv where the entry starts.
	Line int
	// EntNum is the entry's ent_num; Ticker and Value what the remark says.
	EntNum, Ticker, Value string
	// Reason says why the value was left out.
	Reason string
}

func (s Skip) String() string {
	return fmt.Sprintf("line %d: entry %s: %s %q: %s", s.Line, s.EntNum, s.Ticker, s.Value, s.Reason)
}

// entry is one row of sdn.csv.
type entry struct {
	line                         int
	entNum, name, sdnType, title string
	programs                     []string
	remarks                      string
	cut                          bool // remarks cut at RemarksLimit, no continuation
}

// Parse reads a legacy sdn.csv from r and converts the entries that list
// cryptocurrency addresses. A file that is not a well-formed SDN CSV (bad
// quoting, a row without 12 columns, an ent_num that is not a number) gives
// a *[fault.Error] with code [fault.Malformed] naming the first bad line, and
// no objects. An address that fails its chain's checks (a fragment left by
// the 1,000-character cut, a typo) is reported in [Result.Skipped] and not
// imported.
func Parse(r io.Reader, opts Options) (*Result, error) {
	if opts.ListDate.IsZero() {
		return nil, errors.New("ofac: Options.ListDate is required")
	}
	entries, err := readEntries(r)
	if err != nil {
		return nil, err
	}
	if opts.Comments != nil {
		more, err := readComments(opts.Comments)
		if err != nil {
			return nil, err
		}
		for i := range entries {
			if c, ok := more[entries[i].entNum]; ok {
				entries[i].remarks += c
				entries[i].cut = false
			}
		}
	}
	b := &builder{date: stix.FormatTime(opts.ListDate.UTC().Truncate(time.Millisecond)), res: &Result{Entries: len(entries)}, seen: map[string]bool{}}
	b.add(sourceIdentity())
	for i := range entries {
		b.entry(&entries[i])
	}
	return b.res, nil
}

// malformed returns the error of a bad line.
func malformed(file string, line int, format string, args ...any) error {
	return fault.New(fault.Malformed, "%sline %d: %s", file, line, fmt.Sprintf(format, args...))
}

func latin1(r io.Reader) io.Reader {
	return transform.NewReader(r, charmap.ISO8859_1.NewDecoder())
}

// csvRecords calls fn with each record of a legacy OFAC CSV file and the
// line it starts on. The final line of OFAC's files may be a lone
// end-of-file character (0x1A), which ends the records.
func csvRecords(r io.Reader, file string, fn func(line int, rec []string) error) error {
	cr := csv.NewReader(latin1(r))
	cr.FieldsPerRecord = -1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return malformed(file, pe.Line, "%v", pe.Err)
			}
			return fmt.Errorf("ofac: read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.Trim(rec[0], "\x1a \t") == "" {
			continue
		}
		if err := fn(line, rec); err != nil {
			return err
		}
	}
}

func readEntries(r io.Reader) ([]entry, error) {
	var out []entry
	seen := map[string]int{}
	err := csvRecords(r, "", func(line int, rec []string) error {
		if len(rec) != len(columns) {
			return malformed("", line, "%d columns, want %d (%s)", len(rec), len(columns), strings.Join(columns, ", "))
		}
		raw := rec[11] // kept untrimmed: a cut may fall after a space
		for i := range rec {
			rec[i] = field(rec[i])
		}
		e := entry{line: line, entNum: rec[0], name: rec[1], sdnType: rec[2], title: rec[4]}
		if rec[11] != "" {
			e.remarks = strings.TrimLeft(raw, " ")
		}
		if !isEntNum(e.entNum) {
			return malformed("", line, "ent_num %q is not a number", e.entNum)
		}
		if e.name == "" {
			return malformed("", line, "entry %s has no SDN_Name", e.entNum)
		}
		if prev, dup := seen[e.entNum]; dup {
			return malformed("", line, "ent_num %s again (first on line %d)", e.entNum, prev)
		}
		seen[e.entNum] = line
		e.programs = programs(rec[3])
		e.cut = utf8.RuneCountInString(e.remarks) >= RemarksLimit
		out = append(out, e)
		return nil
	})
	return out, err
}

// readComments reads sdn_comments.csv: ent_num and the continuation of the
// entry's remarks, which it returns by ent_num (several rows for one entry
// are joined in order).
func readComments(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	err := csvRecords(r, "comments: ", func(line int, rec []string) error {
		if len(rec) != 2 {
			return malformed("comments: ", line, "%d columns, want 2 (ent_num, remarks continuation)", len(rec))
		}
		ent := field(rec[0])
		if !isEntNum(ent) {
			return malformed("comments: ", line, "ent_num %q is not a number", ent)
		}
		if c := rec[1]; strings.TrimSpace(c) != "-0-" {
			out[ent] += c
		}
		return nil
	})
	return out, err
}

// field trims a value and maps OFAC's null "-0-" to "".
func field(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

func isEntNum(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && n > 0
}

// programs splits OFAC's Program column: "DPRK3] [CYBER2" lists two.
func programs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "] [") {
		p = strings.Trim(strings.TrimSpace(p), "[]")
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

var (
	// addrRE finds "Digital Currency Address - TICKER value" in a remark;
	// the value runs to the next "; " or space and may be empty where the
	// remark is cut.
	addrRE  = regexp.MustCompile(`Digital Currency Address - ([A-Za-z0-9]+)(?: ([^;\s]*))?`)
	akaRE   = regexp.MustCompile(`a\.k\.a\. '([^']+)'`)
	groupRE = regexp.MustCompile(`\bGROUP\b`)
)

// IsGroup reports whether an SDN entry is a hacking group, which this
// package imports as a threat-actor rather than an identity: an entity
// (SDN_Type empty) named "... GROUP" under a cyber or North Korea programme
// (CYBER*, DPRK*), such as LAZARUS GROUP (ent_num 27307).
func IsGroup(sdnType, name string, programs []string) bool {
	if sdnType != "" || !groupRE.MatchString(strings.ToUpper(name)) {
		return false
	}
	for _, p := range programs {
		if strings.HasPrefix(p, "CYBER") || strings.HasPrefix(p, "DPRK") {
			return true
		}
	}
	return false
}

// found is one address an entry lists.
type found struct {
	ticker, written string // as OFAC writes them
	chain, value    string // canonical
}

type builder struct {
	date string
	res  *Result
	seen map[string]bool
}

func (b *builder) add(o *stix.Object) {
	if b.seen[o.ID] {
		return
	}
	b.seen[o.ID] = true
	b.res.Objects = append(b.res.Objects, o)
}

func (b *builder) entry(e *entry) {
	if e.cut {
		b.res.Cut = append(b.res.Cut, e.entNum)
	}
	var addrs []found
	seen := map[string]bool{}
	for _, m := range addrRE.FindAllStringSubmatchIndex(e.remarks, -1) {
		ticker := e.remarks[m[2]:m[3]]
		if m[4] < 0 || m[4] == m[5] {
			continue // the label without a value: the remark is cut here
		}
		written := strings.TrimRight(e.remarks[m[4]:m[5]], ".")
		atEnd := m[5] == len(e.remarks)
		f, ok := b.resolve(e, ticker, written, atEnd && e.cut)
		if !ok {
			continue
		}
		key := f.ticker + " " + f.chain + " " + f.value
		if seen[key] {
			continue
		}
		seen[key] = true
		addrs = append(addrs, f)
	}
	if len(addrs) == 0 {
		return
	}
	b.res.Listed++
	group := IsGroup(e.sdnType, e.name, e.programs)
	ent := b.entity(e, group)
	b.add(ent)
	for _, f := range addrs {
		b.add(wallet(f.chain, f.value))
		b.add(b.relationship(e, ent, f, group))
		b.add(b.indicator(e, f))
	}
}

// resolve finds the chain and canonical form of a listed address. The chain
// comes from the ticker and the address form ([address.Ticker]); where the
// ticker's chain rejects the address but its form is another chain's and
// that chain accepts it (a Tron address listed under XBT), the address goes
// to that chain with a note.
func (b *builder) resolve(e *entry, ticker, written string, cut bool) (found, bool) {
	f := found{ticker: ticker, written: written}
	chain, _, known := address.Ticker(ticker, written)
	if !known {
		b.res.Notes = append(b.res.Notes, fmt.Sprintf("line %d: entry %s: unknown ticker %s: %q imported on chain %q unchecked", e.line, e.entNum, ticker, written, chain))
	}
	canon, err := address.Canonical(chain, written)
	if err != nil {
		for _, alt := range formChains(written) {
			if alt == chain {
				continue
			}
			if c, aerr := address.Canonical(alt, written); aerr == nil {
				b.res.Notes = append(b.res.Notes, fmt.Sprintf("line %d: entry %s: %s address %s is not a %s address but a %s one: imported on %s", e.line, e.entNum, ticker, written, chain, alt, alt))
				chain, canon, err = alt, c, nil
				break
			}
		}
	}
	switch {
	case err != nil && cut:
		b.skip(e, ticker, written, fault.MessageOf(err)+"; the remark is cut at 1,000 characters here (the rest is in sdn_comments.csv)")
		return f, false
	case err != nil:
		b.skip(e, ticker, written, fault.MessageOf(err))
		return f, false
	case cut && !address.Checked(chain):
		b.skip(e, ticker, written, fmt.Sprintf("the remark is cut at 1,000 characters here and %s addresses cannot be checked, so the value may be cut (the rest is in sdn_comments.csv)", chain))
		return f, false
	}
	f.chain, f.value = chain, canon
	return f, true
}

func (b *builder) skip(e *entry, ticker, value, reason string) {
	b.res.Skipped = append(b.res.Skipped, Skip{Line: e.line, EntNum: e.entNum, Ticker: ticker, Value: value, Reason: reason})
}

// formChains lists the chains an address's form suggests.
func formChains(a string) []string {
	switch {
	case strings.HasPrefix(a, "0x") || strings.HasPrefix(a, "0X"):
		return []string{"ethereum"}
	case strings.HasPrefix(a, "T"):
		return []string{"tron"}
	case strings.HasPrefix(a, "1") || strings.HasPrefix(a, "3") || strings.HasPrefix(strings.ToLower(a), "bc1"):
		return []string{"bitcoin"}
	}
	return nil
}

func sourceIdentity() *stix.Object {
	o := stix.New("identity", IdentityID)
	set(o, map[string]any{
		"spec_version":        "2.1",
		"created":             identityTime,
		"modified":            identityTime,
		"created_by_ref":      IdentityID,
		"name":                IdentityName,
		"identity_class":      "organization",
		"sectors":             []string{"government-national"},
		"description":         "Publisher of the Specially Designated Nationals and Blocked Persons (SDN) list.",
		"external_references": []map[string]string{{"source_name": SourceName, "url": "https://ofac.treasury.gov/specially-designated-nationals-and-blocked-persons-list-sdn-human-readable-lists"}},
		"object_marking_refs": []string{stix.TLPClearID},
	})
	return o
}

// EntryID returns the id of the object for the SDN entry entNum.
func EntryID(entNum string, group bool) string {
	if group {
		return stix.ImportID("threat-actor", "ofac", entNum)
	}
	return stix.ImportID("identity", "ofac", entNum)
}

func (b *builder) common(o *stix.Object) {
	set(o, map[string]any{
		"spec_version":        "2.1",
		"created":             b.date,
		"modified":            b.date,
		"created_by_ref":      IdentityID,
		"object_marking_refs": []string{stix.TLPClearID},
	})
}

func entryRef(entNum string) map[string]string {
	return map[string]string{
		"source_name": SourceName,
		"external_id": entNum,
		"url":         "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=" + entNum,
	}
}

func (b *builder) entity(e *entry, group bool) *stix.Object {
	typ := "identity"
	if group {
		typ = "threat-actor"
	}
	o := stix.New(typ, EntryID(e.entNum, group))
	b.common(o)
	desc := fmt.Sprintf("Entry %s of OFAC's Specially Designated Nationals (SDN) list", e.entNum)
	if len(e.programs) > 0 {
		desc += ", programmes " + strings.Join(e.programs, ", ")
	}
	desc += "."
	if e.title != "" {
		desc += " Title: " + e.title + "."
	}
	labels := []string{"sanctioned"}
	for _, p := range e.programs {
		labels = append(labels, "ofac:"+p)
	}
	set(o, map[string]any{
		"name":                e.name,
		"description":         desc,
		"labels":              labels,
		"external_references": []map[string]string{entryRef(e.entNum)},
	})
	aliases := aliasesOf(e.remarks)
	if group {
		types := []string{"crime-syndicate"}
		for _, p := range e.programs {
			if strings.HasPrefix(p, "DPRK") {
				types = []string{"nation-state"}
			}
		}
		set(o, map[string]any{"threat_actor_types": types})
		if len(aliases) > 0 {
			set(o, map[string]any{"aliases": aliases})
		}
		return o
	}
	class := "organization"
	switch e.sdnType {
	case "individual":
		class = "individual"
	case "":
	default:
		class = "unknown" // vessel, aircraft
	}
	set(o, map[string]any{"identity_class": class})
	if len(aliases) > 0 {
		set(o, map[string]any{"x_cointrail_aliases": aliases})
	}
	return o
}

// aliasesOf returns the whole "a.k.a. '...'" aliases of a remark; one cut
// before its closing quote is left out.
func aliasesOf(remarks string) []string {
	var out []string
	for _, m := range akaRE.FindAllStringSubmatch(remarks, -1) {
		if a := strings.TrimSpace(m[1]); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Words returns the words OFAC lists an address with, as they appear in its
// remarks: "Digital Currency Address - XBT 1...". The relationship and the
// indicator of each address carry them as the description of their "OFAC
// SDN" external reference.
func Words(ticker, written string) string {
	return "Digital Currency Address - " + ticker + " " + written
}

func (b *builder) relationship(e *entry, ent *stix.Object, f found, group bool) *stix.Object {
	w := walletID(f.chain, f.value)
	o := stix.New("relationship", stix.ImportID("relationship", "ofac", e.entNum, f.ticker, f.chain, f.value))
	b.common(o)
	ref := entryRef(e.entNum)
	ref["description"] = Words(f.ticker, f.written)
	set(o, map[string]any{
		"description":         fmt.Sprintf("OFAC's SDN list names %s address %s as one of %s's.", f.ticker, f.written, e.name),
		"external_references": []map[string]string{ref},
	})
	if group {
		set(o, map[string]any{"relationship_type": "uses", "source_ref": ent.ID, "target_ref": w})
		return o
	}
	category := "organization"
	if e.sdnType == "individual" {
		category = "user"
	}
	set(o, map[string]any{"relationship_type": "related-to", "source_ref": w, "target_ref": ent.ID})
	if err := o.SetExtension(stix.LabelExtensionID, "property-extension", map[string]any{
		"category": category, "abuse": "sanction", "source": SourceName,
	}); err != nil {
		panic(err)
	}
	return o
}

func (b *builder) indicator(e *entry, f found) *stix.Object {
	o := stix.New("indicator", stix.ImportID("indicator", "ofac", e.entNum, f.ticker, f.chain, f.value))
	b.common(o)
	desc := fmt.Sprintf("OFAC's SDN list (entry %s, %s) names %s address %s as one of %s's.", e.entNum, strings.Join(e.programs, ", "), f.ticker, f.written, e.name)
	if c, _, _ := address.Ticker(f.ticker, f.written); c != f.chain {
		desc += fmt.Sprintf(" OFAC lists it under %s; it is a %s address.", f.ticker, f.chain)
	}
	ref := entryRef(e.entNum)
	ref["description"] = Words(f.ticker, f.written)
	set(o, map[string]any{
		"name":                fmt.Sprintf("OFAC SDN: %s address of %s", f.ticker, e.name),
		"description":         desc,
		"pattern":             Pattern(f.chain, f.value),
		"pattern_type":        "stix",
		"valid_from":          b.date,
		"indicator_types":     []string{"malicious-activity"},
		"labels":              []string{"sanctioned"},
		"external_references": []map[string]string{ref},
	})
	return o
}

// Pattern returns the STIX pattern that matches the wallet chain:value.
func Pattern(chain, value string) string {
	q := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return fmt.Sprintf("[cryptocurrency-wallet:chain = '%s' AND cryptocurrency-wallet:value = '%s']", q.Replace(chain), q.Replace(value))
}

func wallet(chain, value string) *stix.Object {
	o := stix.New(stix.TypeCryptocurrencyWallet, walletID(chain, value))
	set(o, map[string]any{
		"spec_version":        "2.1",
		"chain":               chain,
		"value":               value,
		"extensions":          map[string]any{stix.WalletExtensionID: map[string]string{"extension_type": "new-sco"}},
		"object_marking_refs": []string{stix.TLPClearID},
	})
	return o
}

// walletID is the deterministic id of the wallet chain:value.
func walletID(chain, value string) string {
	o := stix.New(stix.TypeCryptocurrencyWallet, stix.TypeCryptocurrencyWallet+"--00000000-0000-4000-8000-000000000000")
	set(o, map[string]any{"chain": chain, "value": value})
	id, _, err := stix.DeterministicID(o)
	if err != nil {
		panic(err)
	}
	return id
}

func set(o *stix.Object, props map[string]any) {
	for k, v := range props {
		if err := o.Set(k, v); err != nil {
			panic(err) // only JSON-encodable values are set
		}
	}
}

// KeepFirstSeen keeps, for each versioned object in objs that a node already
// holds, the "created" (and an indicator's "valid_from") of the version the
// node holds when it is earlier: an entry keeps the date it was first
// listed, so a later list that repeats it changes only "modified", which
// an import with intel.SubmitOptions.SkipSameContent treats as unchanged.
// stored returns the node's current version of an id, if any.
func KeepFirstSeen(objs []*stix.Object, stored func(id string) (*stix.Object, bool)) {
	for _, o := range objs {
		created, ok := o.Time("created")
		if !ok {
			continue
		}
		prev, ok := stored(o.ID)
		if !ok || prev.Revoked() {
			continue
		}
		if pc, ok := prev.Time("created"); ok && pc.Before(created) {
			set(o, map[string]any{"created": prev.String("created")})
		}
		if o.Type != "indicator" {
			continue
		}
		vf, ok1 := o.Time("valid_from")
		pvf, ok2 := prev.Time("valid_from")
		if ok1 && ok2 && pvf.Before(vf) {
			set(o, map[string]any{"valid_from": prev.String("valid_from")})
		}
	}
}

package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// ThreatActorGalaxy is the uuid MISP gives its threat-actor galaxy
// (misp-galaxy galaxies/threat-actor.json), written on exported events.
const ThreatActorGalaxy = "698774c7-8022-42c4-917f-8d6e4f06ada3"

// GalaxySource is the source_name of the external references of a
// threat-actor made from a galaxy cluster: the cluster's uuid and its refs.
const GalaxySource = "misp-galaxy"

// epoch is the "created" of every threat-actor made from a galaxy cluster
// and of the country locations: galaxies carry a release version, not a
// date (see [clusterTimes]).
var epoch = time.Unix(0, 0).UTC()

// clusterType is the galaxy type of a cluster of an event.
func clusterType(g galaxyIn, c clusterIn) string {
	if c.Type.s != "" {
		return c.Type.s
	}
	return g.Type.s
}

// cluster is a galaxy cluster as a threat-actor keeps it.
type cluster struct {
	uuid, value, description string
	version                  int64
	meta                     map[string]json.RawMessage
}

// actorAcc is a threat-actor of the input and the objects that go with it:
// the threat-actor first, then its located-at relationships and locations.
type actorAcc struct {
	objects []*stix.Object
	canon   []byte
	where   string
}

// clusters converts the threat-actor clusters of galaxies (an event's or
// an attribute's) and returns the ids of the threat-actors. Clusters of
// other galaxies are skipped.
func (c *eventCtx) clusters(gs []galaxyIn) ([]string, error) {
	b := c.b
	var ids []string
	for _, g := range gs {
		for _, in := range g.GalaxyCluster {
			typ := clusterType(g, in)
			if typ != "threat-actor" {
				b.skip(fmt.Sprintf("%s: galaxy cluster %s=%q left out: only threat-actor clusters map to STIX objects", c.where, typ, clip(in.Value.s)))
				continue
			}
			if !in.UUID.set || !isUUID(in.UUID.s) {
				return nil, malformed("%s: threat-actor cluster %q has no uuid", c.where, clip(in.Value.s))
			}
			where := fmt.Sprintf("%s: threat-actor cluster %s", c.where, in.UUID.s)
			version := cmpText(in.Version, g.Version)
			cl, err := newCluster(where, in.UUID.s, in.Value, in.Description, version, in.Meta)
			if err != nil {
				return nil, err
			}
			// A cluster of MISP's public galaxies is public knowledge; a
			// custom cluster ("default": false) is shared as its own
			// distribution says (the owner only if it says nothing), the
			// same whichever event carries it.
			cs := scope{level: stix.TLPClear}
			extra := map[string]any{}
			if in.Default.set && !in.Default.v {
				if in.Distribution.set && !validDistribution(in.Distribution.s) {
					return nil, malformed("%s: distribution %q is not 0 to 5", where, clip(in.Distribution.s))
				}
				cs = b.rootScope(nil, in.Distribution.s, in.SharingGroup.sg)
				if cs.level == stix.TLPNone {
					cs.level = stix.TLPAmber
				}
				extra["x_misp_default"] = false
				if in.Distribution.s != "" {
					extra["x_misp_distribution"] = in.Distribution.s
				}
				if in.SharingGroup.sg != nil {
					extra["x_misp_sharing_group"] = in.SharingGroup.sg
				}
			}
			objs, notes := cl.objects(cs, extra)
			for _, n := range notes {
				b.note(where + ": " + n)
			}
			if err := b.actor(objs, where); err != nil {
				return nil, err
			}
			ids = append(ids, objs[0].ID)
		}
	}
	return ids, nil
}

// actor keeps a threat-actor and its objects. A cluster that several
// events carry with different content (another galaxy release, a local
// edit) is kept as first seen.
func (b *builder) actor(objs []*stix.Object, where string) error {
	canon, err := objs[0].Canonical()
	if err != nil {
		return malformed("%s: %v", where, err)
	}
	prev, ok := b.actors[objs[0].ID]
	if !ok {
		b.actors[objs[0].ID] = &actorAcc{objects: objs, canon: canon, where: where}
		return nil
	}
	if !bytes.Equal(prev.canon, canon) {
		b.note(fmt.Sprintf("%s differs from the same cluster in %s: kept the first", where, prev.where))
	}
	return nil
}

func cmpText(a, c text) text {
	if a.set && a.s != "" {
		return a
	}
	return c
}

func newCluster(where, uuid string, value, description, version text, meta json.RawMessage) (cluster, error) {
	cl := cluster{uuid: uuid, value: value.s, description: description.s}
	if strings.TrimSpace(cl.value) == "" {
		return cl, malformed("%s has no value", where)
	}
	if version.set && version.s != "" {
		v, err := strconv.ParseInt(version.s, 10, 64)
		if err != nil || v < 0 || v > maxUnix {
			return cl, malformed("%s: version %q is not a release number", where, clip(version.s))
		}
		cl.version = v
	}
	if t := bytes.TrimSpace(meta); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(t, &cl.meta); err != nil {
			return cl, malformed("%s: meta is not a JSON object", where)
		}
	}
	for _, k := range []string{"synonyms", "refs"} {
		if _, err := metaStrings(cl.meta, k); err != nil {
			return cl, malformed("%s: meta %s: %v", where, k, err)
		}
	}
	return cl, nil
}

// metaStrings reads a meta entry that is a list of strings, or one string.
func metaStrings(meta map[string]json.RawMessage, key string) ([]string, error) {
	raw, ok := meta[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	return nil, fmt.Errorf("not a list of strings")
}

var countryRE = regexp.MustCompile(`^[A-Za-z]{2}$`)

// clusterTimes are a cluster's threat-actor's "created" and "modified".
// MISP galaxies carry a release version but no date: "created" is the Unix
// epoch and "modified" the version read as seconds since it, so a later
// release is a later STIX version and importing one release twice changes
// nothing.
func (cl cluster) times() (created, modified string) {
	return stix.FormatTime(epoch), stix.FormatTime(time.Unix(cl.version, 0))
}

// objects returns the threat-actor of the cluster, marked by s, with extra
// properties, followed by a located-at relationship and a location for
// each country of its meta.
func (cl cluster) objects(s scope, extra map[string]any) (objs []*stix.Object, notes []string) {
	created, modified := cl.times()
	ta := stix.New("threat-actor", importID("threat-actor", "misp-galaxy", cl.uuid))
	set(ta, "spec_version", "2.1")
	set(ta, "created", created)
	set(ta, "modified", modified)
	set(ta, "name", cl.value)
	setIf(ta, "description", cl.description)
	// A synonym that only repeats the name (MISP lists "Lazarus group"
	// among Lazarus Group's) is not an alias.
	syn, _ := metaStrings(cl.meta, "synonyms")
	var aliases []string
	for _, s := range syn {
		if !strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(cl.value)) && strings.TrimSpace(s) != "" {
			aliases = append(aliases, s)
		}
	}
	if len(aliases) > 0 {
		set(ta, "aliases", aliases)
	}
	refs := []map[string]string{{"source_name": GalaxySource, "external_id": cl.uuid}}
	urls, _ := metaStrings(cl.meta, "refs")
	for _, u := range urls {
		if u != "" {
			refs = append(refs, map[string]string{"source_name": GalaxySource, "url": u})
		}
	}
	set(ta, "external_references", refs)
	rest := map[string]json.RawMessage{}
	for k, v := range cl.meta {
		if k != "synonyms" && k != "refs" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		set(ta, "x_misp_meta", rest)
	}
	for k, v := range extra {
		set(ta, k, v)
	}
	mark(ta, s)
	objs = append(objs, ta)

	countries, err := metaStrings(cl.meta, "country")
	if err != nil {
		notes = append(notes, "meta country is not a list of country codes: no location")
	}
	seen := map[string]bool{}
	for _, cc := range countries {
		if !countryRE.MatchString(cc) {
			notes = append(notes, fmt.Sprintf("country %q is not an ISO 3166-1 alpha-2 code: no location", clip(cc)))
			continue
		}
		cc = strings.ToUpper(cc)
		if seen[cc] {
			continue
		}
		seen[cc] = true
		loc := countryLocation(cc)
		rel := stix.New("relationship", stix.ImportID("relationship", "misp-galaxy", strings.ToLower(cl.uuid), "located-at", cc))
		set(rel, "spec_version", "2.1")
		set(rel, "created", created)
		set(rel, "modified", modified)
		set(rel, "relationship_type", "located-at")
		set(rel, "source_ref", ta.ID)
		set(rel, "target_ref", loc.ID)
		mark(rel, s)
		objs = append(objs, rel, loc)
	}
	return objs, notes
}

// countryLocation is the location of a country, public and the same
// object whoever names it.
func countryLocation(cc string) *stix.Object {
	loc := stix.New("location", stix.ImportID("location", "country", cc))
	set(loc, "spec_version", "2.1")
	set(loc, "created", stix.FormatTime(epoch))
	set(loc, "modified", stix.FormatTime(epoch))
	set(loc, "country", cc)
	mark(loc, scope{level: stix.TLPClear})
	return loc
}

// ParseGalaxy reads a MISP galaxy cluster file (MISP/misp-galaxy's
// clusters/*.json: {"name", "type", "uuid", "version", "values": [...]})
// of type threat-actor and converts each cluster to a threat-actor, marked
// TLP:CLEAR as MISP publishes them: its value is the name, its synonyms
// the aliases, its refs external references (after one carrying the
// cluster's uuid), its countries locations it is located at, and the rest
// of its meta "x_misp_meta". Ids come from the cluster uuids, so a cluster
// is the same threat-actor here as in every event that carries it.
//
// Input that is not such a file, or a cluster without uuid or value, gives
// a *fault.Error with code Malformed naming the first bad cluster, and no
// objects; a galaxy of another type gives one with code Invalid.
func ParseGalaxy(r io.Reader) (*Result, error) {
	var file struct {
		Name    text              `json:"name"`
		Type    text              `json:"type"`
		Version text              `json:"version"`
		Values  []json.RawMessage `json:"values"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&file); err != nil {
		return nil, malformed("not a galaxy cluster file: %s", jsonError(err))
	}
	if dec.More() {
		return nil, malformed("not a galaxy cluster file: data after the JSON object")
	}
	if file.Values == nil {
		return nil, malformed(`not a galaxy cluster file: no "values" list`)
	}
	if file.Type.s != "threat-actor" {
		return nil, fault.New(fault.Invalid, "misp: galaxy %q is of type %q: only threat-actor galaxies map to STIX objects", clip(file.Name.s), clip(file.Type.s))
	}
	b := newBuilder(Options{})
	for i, raw := range file.Values {
		var v struct {
			UUID        text            `json:"uuid"`
			Value       text            `json:"value"`
			Description text            `json:"description"`
			Meta        json.RawMessage `json:"meta"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, malformed("cluster %d: %s", i+1, jsonError(err))
		}
		if !v.UUID.set || !isUUID(v.UUID.s) {
			return nil, malformed("cluster %d (%q) has no uuid", i+1, clip(v.Value.s))
		}
		where := fmt.Sprintf("cluster %s", v.UUID.s)
		cl, err := newCluster(where, v.UUID.s, v.Value, v.Description, file.Version, v.Meta)
		if err != nil {
			return nil, err
		}
		objs, notes := cl.objects(scope{level: stix.TLPClear}, nil)
		for _, n := range notes {
			b.note(where + ": " + n)
		}
		if err := b.actor(objs, where); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

package misp

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/stix"
)

// The MISP core format as this package writes it.

type eventOut struct {
	UUID             string      `json:"uuid"`
	Info             string      `json:"info"`
	Date             string      `json:"date,omitempty"`
	Timestamp        string      `json:"timestamp"`
	Published        *bool       `json:"published,omitempty"`
	PublishTimestamp string      `json:"publish_timestamp"`
	ThreatLevelID    string      `json:"threat_level_id,omitempty"`
	Analysis         string      `json:"analysis,omitempty"`
	Distribution     string      `json:"distribution,omitempty"`
	SharingGroup     *sgOut      `json:"SharingGroup,omitempty"`
	ExtendsUUID      string      `json:"extends_uuid,omitempty"`
	Orgc             *org        `json:"Orgc,omitempty"`
	Tag              []tagOut    `json:"Tag,omitempty"`
	Attribute        []attrOut   `json:"Attribute,omitempty"`
	Object           []objectOut `json:"Object,omitempty"`
	Galaxy           []galaxyOut `json:"Galaxy,omitempty"`
}

type tagOut struct {
	Name string `json:"name"`
}

type attrOut struct {
	UUID               string   `json:"uuid"`
	ObjectRelation     string   `json:"object_relation,omitempty"`
	Type               string   `json:"type"`
	Category           string   `json:"category,omitempty"`
	Value              string   `json:"value"`
	ToIDs              bool     `json:"to_ids"`
	Comment            string   `json:"comment,omitempty"`
	Timestamp          string   `json:"timestamp,omitempty"`
	FirstSeen          string   `json:"first_seen,omitempty"`
	LastSeen           string   `json:"last_seen,omitempty"`
	Distribution       string   `json:"distribution,omitempty"`
	SharingGroup       *sgOut   `json:"SharingGroup,omitempty"`
	DisableCorrelation *bool    `json:"disable_correlation,omitempty"`
	Data               string   `json:"data,omitempty"`
	Tag                []tagOut `json:"Tag,omitempty"`
}

type objectOut struct {
	UUID            string      `json:"uuid"`
	Name            string      `json:"name"`
	MetaCategory    string      `json:"meta-category,omitempty"`
	Description     string      `json:"description,omitempty"`
	TemplateUUID    string      `json:"template_uuid,omitempty"`
	TemplateVersion string      `json:"template_version,omitempty"`
	Timestamp       string      `json:"timestamp"`
	FirstSeen       string      `json:"first_seen,omitempty"`
	LastSeen        string      `json:"last_seen,omitempty"`
	Distribution    string      `json:"distribution,omitempty"`
	SharingGroup    *sgOut      `json:"SharingGroup,omitempty"`
	Comment         string      `json:"comment,omitempty"`
	Attribute       []attrOut   `json:"Attribute"`
	ObjectReference []refRecord `json:"ObjectReference,omitempty"`
}

type galaxyOut struct {
	UUID          string       `json:"uuid"`
	Name          string       `json:"name"`
	Type          string       `json:"type"`
	Namespace     string       `json:"namespace"`
	GalaxyCluster []clusterOut `json:"GalaxyCluster"`
}

type clusterOut struct {
	UUID         string                     `json:"uuid"`
	Type         string                     `json:"type"`
	Value        string                     `json:"value"`
	TagName      string                     `json:"tag_name"`
	Description  string                     `json:"description,omitempty"`
	Version      string                     `json:"version"`
	Default      *bool                      `json:"default,omitempty"`
	Distribution string                     `json:"distribution,omitempty"`
	SharingGroup *sgOut                     `json:"SharingGroup,omitempty"`
	Meta         map[string]json.RawMessage `json:"meta,omitempty"`
}

type sgOut struct {
	UUID            string     `json:"uuid,omitempty"`
	Name            string     `json:"name,omitempty"`
	Description     string     `json:"description,omitempty"`
	Releasability   string     `json:"releasability,omitempty"`
	Organisation    *org       `json:"Organisation,omitempty"`
	SharingGroupOrg []sgOrgOut `json:"SharingGroupOrg,omitempty"`
}

type sgOrgOut struct {
	Extend       bool `json:"extend"`
	Organisation org  `json:"Organisation"`
}

func sgOf(sg *sharingGroup) *sgOut {
	if sg == nil {
		return nil
	}
	out := &sgOut{UUID: sg.UUID, Name: sg.Name, Description: sg.Description, Releasability: sg.Releasability, Organisation: sg.Organisation}
	for _, o := range sg.Organisations {
		out.SharingGroupOrg = append(out.SharingGroupOrg, sgOrgOut{Extend: o.Extend, Organisation: org{UUID: o.UUID, Name: o.Name}})
	}
	return out
}

// WriteEvents writes the reports among objs as MISP events, in MISP's REST
// form {"response": [{"Event": {...}}, ...]} with one event a line, sorted
// by uuid: the form [ParseEvents] reads back into the same objects.
//
// Each report becomes an event; what it refers to becomes the event's
// attributes (indicators, observed-data and x-misp-attributes made from
// MISP attributes), objects (those made from MISP objects) and galaxy
// clusters (threat-actors). Observables, locations and relationships are
// not written: the attributes and clusters they come from are. Objects a
// report refers to that are not in objs, or that this package does not
// make, are left out. A report that did not come from MISP is written
// under the uuid of its id.
func WriteEvents(w io.Writer, objs []*stix.Object) error {
	byID := map[string]*stix.Object{}
	var reports []*stix.Object
	for _, o := range objs {
		if o.Type == "report" {
			reports = append(reports, o)
			continue
		}
		if prev, ok := byID[o.ID]; !ok || o.Modified() > prev.Modified() {
			byID[o.ID] = o
		}
	}
	events := make([]eventOut, 0, len(reports))
	for _, r := range reports {
		events = append(events, eventOf(r, byID))
	}
	slices.SortStableFunc(events, func(a, c eventOut) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.UUID), strings.ToLower(c.UUID)), cmp.Compare(a.Timestamp, c.Timestamp))
	})
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"response":[`)
	for i, ev := range events {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		data, err := json.Marshal(map[string]eventOut{"Event": ev})
		if err != nil {
			return fmt.Errorf("misp: encode event %s: %w", ev.UUID, err)
		}
		bw.Write(data)
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// mispUUID returns the MISP uuid an object keeps in its external reference
// from source, else the uuid of its id.
func mispUUID(o *stix.Object, source string) string {
	var refs []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	}
	_, _ = o.Decode("external_references", &refs)
	for _, r := range refs {
		if r.SourceName == source && r.ExternalID != "" {
			return r.ExternalID
		}
	}
	_, u, _ := strings.Cut(o.ID, "--")
	return u
}

func timeOf(o *stix.Object, name string) time.Time {
	t, _ := o.Time(name)
	return t
}

func sharingGroupOf(o *stix.Object, name string) *sharingGroup {
	var sg *sharingGroup
	if _, err := o.Decode(name, &sg); err != nil {
		return nil
	}
	return sg
}

func boolPtr(o *stix.Object, name string) *bool {
	var b *bool
	if _, err := o.Decode(name, &b); err != nil {
		return nil
	}
	return b
}

func tagsOut(names []string) []tagOut {
	var out []tagOut
	for _, n := range names {
		out = append(out, tagOut{Name: n})
	}
	return out
}

func eventOf(r *stix.Object, byID map[string]*stix.Object) eventOut {
	modified := timeOf(r, "modified")
	ev := eventOut{
		UUID:          mispUUID(r, SourceName),
		Info:          r.String("name"),
		Date:          r.String("x_misp_date"),
		Timestamp:     unixText(modified),
		Published:     boolPtr(r, "x_misp_published"),
		ThreatLevelID: r.String("x_misp_threat_level_id"),
		Analysis:      r.String("x_misp_analysis"),
		Distribution:  r.String("x_misp_distribution"),
		SharingGroup:  sgOf(sharingGroupOf(r, "x_misp_sharing_group")),
		ExtendsUUID:   r.String("x_misp_extends_uuid"),
		Tag:           tagsOut(r.Strings("labels")),
	}
	var orgc *org
	if _, err := r.Decode("x_misp_orgc", &orgc); err == nil {
		ev.Orgc = orgc
	}
	var date time.Time
	if ev.Date != "" {
		date, _ = time.Parse("2006-01-02", ev.Date)
	}
	ev.PublishTimestamp = "0"
	if p := timeOf(r, "published"); !p.Equal(publishedFallback(date, modified)) {
		ev.PublishTimestamp = unixText(p)
	}

	var clusters []clusterOut
	for _, id := range r.Strings("object_refs") {
		o, ok := byID[id]
		if !ok {
			continue
		}
		switch {
		case o.Type == "threat-actor":
			clusters = append(clusters, clusterOf(o))
		case o.Has("x_misp_type") && (o.Type == "indicator" || o.Type == "observed-data" || o.Type == "x-misp-attribute"):
			ev.Attribute = append(ev.Attribute, attributeOf(o))
		case o.Has("x_misp_name") && (o.Type == "indicator" || o.Type == "observed-data" || o.Type == "x-misp-object"):
			ev.Object = append(ev.Object, objectOf(o))
		}
	}
	slices.SortFunc(ev.Attribute, func(a, c attrOut) int {
		return cmp.Or(cmp.Compare(len(a.Timestamp), len(c.Timestamp)), cmp.Compare(a.Timestamp, c.Timestamp), cmp.Compare(a.UUID, c.UUID))
	})
	slices.SortFunc(ev.Object, func(a, c objectOut) int {
		return cmp.Or(cmp.Compare(len(a.Timestamp), len(c.Timestamp)), cmp.Compare(a.Timestamp, c.Timestamp), cmp.Compare(a.UUID, c.UUID))
	})
	if len(clusters) > 0 {
		slices.SortFunc(clusters, func(a, c clusterOut) int {
			return cmp.Or(cmp.Compare(a.Value, c.Value), cmp.Compare(a.UUID, c.UUID))
		})
		ev.Galaxy = []galaxyOut{{UUID: ThreatActorGalaxy, Name: "Threat Actor", Type: "threat-actor", Namespace: "misp", GalaxyCluster: clusters}}
		for _, c := range clusters {
			if !slices.Contains(ev.Tag, tagOut{Name: c.TagName}) {
				ev.Tag = append(ev.Tag, tagOut{Name: c.TagName})
			}
		}
	}
	return ev
}

// seenOut recovers first_seen and last_seen from an indicator's validity or
// an observed-data's window (see [seen]).
func seenOut(o *stix.Object, created time.Time) (first, last string) {
	switch o.Type {
	case "indicator":
		from := timeOf(o, "valid_from")
		if !from.Equal(created) {
			first = stixTime(from)
		}
		last = o.String("valid_until")
		if last == "" {
			last = o.String("x_misp_last_seen")
		}
	case "observed-data":
		f, l := timeOf(o, "first_observed"), timeOf(o, "last_observed")
		if !f.Equal(created) {
			first = stixTime(f)
		}
		if !l.Equal(f) {
			last = stixTime(l)
		}
	}
	return first, last
}

// comment is where an object made from MISP keeps the element's comment:
// an indicator's description, else "x_misp_comment".
func comment(o *stix.Object) string {
	if o.Type == "indicator" {
		return o.String("description")
	}
	return o.String("x_misp_comment")
}

func attributeOf(o *stix.Object) attrOut {
	created := timeOf(o, "created")
	a := attrOut{
		UUID:               mispUUID(o, SourceName),
		Type:               o.String("x_misp_type"),
		Category:           o.String("x_misp_category"),
		Value:              o.String("x_misp_value"),
		Comment:            comment(o),
		Timestamp:          unixText(created),
		Distribution:       o.String("x_misp_distribution"),
		SharingGroup:       sgOf(sharingGroupOf(o, "x_misp_sharing_group")),
		DisableCorrelation: boolPtr(o, "x_misp_disable_correlation"),
		Tag:                tagsOut(o.Strings("labels")),
	}
	switch o.Type {
	case "indicator":
		a.ToIDs = true
		a.FirstSeen, a.LastSeen = seenOut(o, created)
	case "observed-data":
		a.FirstSeen, a.LastSeen = seenOut(o, created)
	default:
		a.ToIDs = o.Bool("x_misp_to_ids")
		a.FirstSeen = o.String("x_misp_first_seen")
		a.LastSeen = o.String("x_misp_last_seen")
		a.Data = o.String("x_misp_data")
	}
	return a
}

func objectOf(o *stix.Object) objectOut {
	created := timeOf(o, "created")
	out := objectOut{
		UUID:            mispUUID(o, SourceName),
		Name:            o.String("x_misp_name"),
		MetaCategory:    o.String("x_misp_meta_category"),
		Description:     o.String("x_misp_description"),
		TemplateUUID:    o.String("x_misp_template_uuid"),
		TemplateVersion: o.String("x_misp_template_version"),
		Timestamp:       unixText(created),
		Distribution:    o.String("x_misp_distribution"),
		SharingGroup:    sgOf(sharingGroupOf(o, "x_misp_sharing_group")),
		Comment:         comment(o),
		Attribute:       []attrOut{},
	}
	if o.Type == "x-misp-object" {
		out.FirstSeen, out.LastSeen = o.String("x_misp_first_seen"), o.String("x_misp_last_seen")
	} else {
		out.FirstSeen, out.LastSeen = seenOut(o, created)
	}
	var recs []attrRecord
	_, _ = o.Decode("x_misp_attributes", &recs)
	for _, r := range recs {
		out.Attribute = append(out.Attribute, attrOut{
			UUID: r.UUID, ObjectRelation: r.ObjectRelation, Type: r.Type, Category: r.Category, Value: r.Value,
			ToIDs: r.ToIDs, Comment: r.Comment, Timestamp: r.Timestamp, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
			Distribution: r.Distribution, SharingGroup: sgOf(r.SharingGroup), DisableCorrelation: r.DisableCorrelation,
			Data: r.Data, Tag: tagsOut(r.Tags),
		})
	}
	_, _ = o.Decode("x_misp_references", &out.ObjectReference)
	return out
}

func clusterOf(o *stix.Object) clusterOut {
	c := clusterOut{
		UUID:         mispUUID(o, GalaxySource),
		Type:         "threat-actor",
		Value:        o.String("name"),
		Description:  o.String("description"),
		Version:      unixText(timeOf(o, "modified")),
		Default:      boolPtr(o, "x_misp_default"),
		Distribution: o.String("x_misp_distribution"),
		SharingGroup: sgOf(sharingGroupOf(o, "x_misp_sharing_group")),
	}
	c.TagName = galaxyTag(c.Type, c.Value)
	meta := map[string]json.RawMessage{}
	_, _ = o.Decode("x_misp_meta", &meta)
	if aliases := o.Strings("aliases"); len(aliases) > 0 {
		meta["synonyms"] = mustJSON(aliases)
	}
	var refs []struct {
		SourceName string `json:"source_name"`
		URL        string `json:"url"`
	}
	_, _ = o.Decode("external_references", &refs)
	var urls []string
	for _, r := range refs {
		if r.SourceName == GalaxySource && r.URL != "" {
			urls = append(urls, r.URL)
		}
	}
	if len(urls) > 0 {
		meta["refs"] = mustJSON(urls)
	}
	if len(meta) > 0 {
		c.Meta = meta
	}
	return c
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

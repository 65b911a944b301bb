package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cointrail/cointrail/internal/fault"
)

// The MISP core format as this package reads it. Members not named here
// (instance-local ids such as "id", "event_id", "org_id", counts, "Org",
// "RelatedEvent", "ShadowAttribute", "Sighting", ...) are not read.

type eventIn struct {
	UUID             text            `json:"uuid"`
	Info             text            `json:"info"`
	Date             text            `json:"date"`
	Timestamp        text            `json:"timestamp"`
	PublishTimestamp text            `json:"publish_timestamp"`
	Published        boolean         `json:"published"`
	ThreatLevelID    text            `json:"threat_level_id"`
	Analysis         text            `json:"analysis"`
	Distribution     text            `json:"distribution"`
	SharingGroup     sharingGroupIn  `json:"SharingGroup"`
	Orgc             *orgIn          `json:"Orgc"`
	ExtendsUUID      text            `json:"extends_uuid"`
	Tag              []tagIn         `json:"Tag"`
	Attribute        []attributeIn   `json:"Attribute"`
	Object           []objectIn      `json:"Object"`
	Galaxy           []galaxyIn      `json:"Galaxy"`
	EventReport      json.RawMessage `json:"EventReport"`
}

type attributeIn struct {
	UUID               text           `json:"uuid"`
	Type               text           `json:"type"`
	Category           text           `json:"category"`
	Value              text           `json:"value"`
	ToIDs              boolean        `json:"to_ids"`
	Comment            text           `json:"comment"`
	Timestamp          text           `json:"timestamp"`
	FirstSeen          text           `json:"first_seen"`
	LastSeen           text           `json:"last_seen"`
	Distribution       text           `json:"distribution"`
	SharingGroup       sharingGroupIn `json:"SharingGroup"`
	Deleted            boolean        `json:"deleted"`
	DisableCorrelation boolean        `json:"disable_correlation"`
	ObjectRelation     text           `json:"object_relation"`
	Data               text           `json:"data"`
	Tag                []tagIn        `json:"Tag"`
	Galaxy             []galaxyIn     `json:"Galaxy"`
}

type objectIn struct {
	UUID            text           `json:"uuid"`
	Name            text           `json:"name"`
	MetaCategory    text           `json:"meta-category"`
	Description     text           `json:"description"`
	TemplateUUID    text           `json:"template_uuid"`
	TemplateVersion text           `json:"template_version"`
	Timestamp       text           `json:"timestamp"`
	FirstSeen       text           `json:"first_seen"`
	LastSeen        text           `json:"last_seen"`
	Distribution    text           `json:"distribution"`
	SharingGroup    sharingGroupIn `json:"SharingGroup"`
	Comment         text           `json:"comment"`
	Deleted         boolean        `json:"deleted"`
	Attribute       []attributeIn  `json:"Attribute"`
	ObjectReference []objectRefIn  `json:"ObjectReference"`
}

type objectRefIn struct {
	UUID             text    `json:"uuid"`
	ReferencedUUID   text    `json:"referenced_uuid"`
	RelationshipType text    `json:"relationship_type"`
	Comment          text    `json:"comment"`
	Timestamp        text    `json:"timestamp"`
	Deleted          boolean `json:"deleted"`
}

type tagIn struct {
	Name text `json:"name"`
}

type orgIn struct {
	UUID text `json:"uuid"`
	Name text `json:"name"`
}

type galaxyIn struct {
	UUID          text        `json:"uuid"`
	Name          text        `json:"name"`
	Type          text        `json:"type"`
	Version       text        `json:"version"`
	GalaxyCluster []clusterIn `json:"GalaxyCluster"`
}

type clusterIn struct {
	UUID         text            `json:"uuid"`
	Type         text            `json:"type"`
	Value        text            `json:"value"`
	TagName      text            `json:"tag_name"`
	Description  text            `json:"description"`
	Version      text            `json:"version"`
	Default      boolean         `json:"default"`
	Distribution text            `json:"distribution"`
	SharingGroup sharingGroupIn  `json:"SharingGroup"`
	Meta         json.RawMessage `json:"meta"`
}

// sharingGroupIn is a "SharingGroup" member: an object, or (on attributes
// that have none) an empty list.
type sharingGroupIn struct {
	sg *sharingGroup
}

func (s *sharingGroupIn) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == 'n' {
		s.sg = nil
		return nil
	}
	if b[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		if len(list) == 0 {
			s.sg = nil
			return nil
		}
		b = list[0]
	}
	var in struct {
		UUID            text   `json:"uuid"`
		Name            text   `json:"name"`
		Description     text   `json:"description"`
		Releasability   text   `json:"releasability"`
		Organisation    *orgIn `json:"Organisation"`
		SharingGroupOrg []struct {
			Extend       boolean `json:"extend"`
			Organisation *orgIn  `json:"Organisation"`
		} `json:"SharingGroupOrg"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("SharingGroup: %v", err)
	}
	sg := &sharingGroup{UUID: in.UUID.s, Name: in.Name.s, Description: in.Description.s, Releasability: in.Releasability.s}
	if in.Organisation != nil {
		sg.Organisation = &org{UUID: in.Organisation.UUID.s, Name: in.Organisation.Name.s}
	}
	for _, o := range in.SharingGroupOrg {
		if o.Organisation == nil {
			continue
		}
		sg.Organisations = append(sg.Organisations, sgOrg{UUID: o.Organisation.UUID.s, Name: o.Organisation.Name.s, Extend: o.Extend.v})
	}
	s.sg = sg
	return nil
}

// tagNames returns the names of tags, in order, without empty ones.
func tagNames(tags []tagIn) []string {
	var out []string
	for _, t := range tags {
		if t.Name.s != "" {
			out = append(out, t.Name.s)
		}
	}
	return out
}

// splitEvents reads every event in r: a {"Event": {...}} object (MISP's
// event view and a feed's event file), a bare event object, a list of
// either, or MISP's REST answer {"response": [...]}; several such JSON
// values may follow one another.
func splitEvents(r io.Reader) ([]json.RawMessage, error) {
	dec := json.NewDecoder(r)
	var events []json.RawMessage
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed("not JSON: %v", jsonError(err))
		}
		evs, err := eventsIn(raw, 0)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	if len(events) == 0 {
		return nil, malformed("no MISP event in the input")
	}
	return events, nil
}

func eventsIn(raw json.RawMessage, depth int) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if depth > 2 {
		return nil, malformed("not a MISP event: lists nested too deep")
	}
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, malformed("not a list of MISP events: %v", jsonError(err))
		}
		var out []json.RawMessage
		for _, it := range items {
			evs, err := eventsIn(it, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, evs...)
		}
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, malformed("not a MISP event: expected a JSON object or list")
	}
	if ev, ok := m["Event"]; ok {
		if t := bytes.TrimSpace(ev); len(t) == 0 || t[0] != '{' {
			return nil, malformed(`"Event" is not a JSON object`)
		}
		return []json.RawMessage{ev}, nil
	}
	if resp, ok := m["response"]; ok {
		return eventsIn(resp, depth+1)
	}
	_, hasUUID := m["uuid"]
	_, hasInfo := m["info"]
	if hasUUID || hasInfo {
		return []json.RawMessage{raw}, nil
	}
	if len(m) > 0 && allUUIDKeys(m) {
		return nil, malformed("this is a MISP feed manifest (manifest.json): import the feed's directory or its event files")
	}
	return nil, malformed(`not a MISP event: no "Event", "response", "uuid" or "info" member`)
}

func allUUIDKeys(m map[string]json.RawMessage) bool {
	for k := range m {
		if !isUUID(k) {
			return false
		}
	}
	return true
}

// ParseManifest reads a MISP feed's manifest.json and returns the uuids of
// the feed's events, as the manifest writes them, in sorted order; each
// event is in the file "<uuid>.json" beside the manifest.
func ParseManifest(r io.Reader) ([]string, error) {
	var m map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&m); err != nil || m == nil {
		return nil, malformed("manifest.json is not a JSON object of event uuids")
	}
	uuids := make([]string, 0, len(m))
	for k := range m {
		if !isUUID(k) {
			return nil, malformed("manifest.json: %q is not an event uuid", clip(k))
		}
		uuids = append(uuids, k)
	}
	slices.Sort(uuids)
	return uuids, nil
}

// malformed returns an error with code [fault.Malformed].
func malformed(format string, args ...any) error {
	return fault.New(fault.Malformed, "misp: "+format, args...)
}

// jsonError shortens the standard library's decoding errors, which name
// Go types, to what a MISP user understands.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "a value"
		}
		return fmt.Sprintf("%s is a JSON %s, not a %s", where, te.Value, jsonKind(te.Type.Kind().String()))
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map", "ptr":
		return "JSON object"
	case "slice":
		return "list"
	}
	return k
}

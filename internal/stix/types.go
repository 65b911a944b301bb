package stix

import "encoding/json"

// Kind is the category a STIX type belongs to.
type Kind int

// The categories of STIX objects.
const (
	KindCustom Kind = iota // a type the specification does not define
	KindSDO                // domain object
	KindSRO                // relationship object
	KindSCO                // cyber-observable
	KindMeta               // marking definition, language content, extension definition
)

var kinds = map[string]Kind{
	"attack-pattern": KindSDO, "campaign": KindSDO, "course-of-action": KindSDO,
	"grouping": KindSDO, "identity": KindSDO, "incident": KindSDO, "indicator": KindSDO,
	"infrastructure": KindSDO, "intrusion-set": KindSDO, "location": KindSDO,
	"malware": KindSDO, "malware-analysis": KindSDO, "note": KindSDO,
	"observed-data": KindSDO, "opinion": KindSDO, "report": KindSDO,
	"threat-actor": KindSDO, "tool": KindSDO, "vulnerability": KindSDO,

	"relationship": KindSRO, "sighting": KindSRO,

	"artifact": KindSCO, "autonomous-system": KindSCO, "directory": KindSCO,
	"domain-name": KindSCO, "email-addr": KindSCO, "email-message": KindSCO,
	"file": KindSCO, "ipv4-addr": KindSCO, "ipv6-addr": KindSCO, "mac-addr": KindSCO,
	"mutex": KindSCO, "network-traffic": KindSCO, "process": KindSCO,
	"software": KindSCO, "url": KindSCO, "user-account": KindSCO,
	"windows-registry-key": KindSCO, "x509-certificate": KindSCO,
	TypeCryptocurrencyWallet: KindSCO, TypeCryptocurrencyTransaction: KindSCO,

	"marking-definition": KindMeta, "language-content": KindMeta, "extension-definition": KindMeta,
}

// KindOf returns the category of a type name. Types the specification does
// not define are KindCustom.
func KindOf(typ string) Kind { return kinds[typ] }

// KindOfObject returns the category of o, taking a custom type that declares
// itself through a new-sdo, new-sco or new-sro extension as that kind.
func KindOfObject(o *Object) Kind {
	if k := kinds[o.Type]; k != KindCustom {
		return k
	}
	var exts map[string]struct {
		ExtensionType string `json:"extension_type"`
	}
	if _, err := o.Decode("extensions", &exts); err == nil {
		for _, e := range exts {
			switch e.ExtensionType {
			case "new-sdo":
				return KindSDO
			case "new-sco":
				return KindSCO
			case "new-sro":
				return KindSRO
			}
		}
	}
	if o.Has("created") || o.Has("modified") {
		return KindSDO
	}
	return KindSCO
}

// Versioned reports whether objects of o's kind carry versions ("created"
// and "modified"): domain and relationship objects and language content do;
// observables and marking definitions do not.
func Versioned(o *Object) bool {
	switch KindOfObject(o) {
	case KindSDO, KindSRO:
		return true
	case KindMeta:
		return o.Type != "marking-definition"
	}
	return false
}

// required lists, per type, the properties the specification requires
// beyond the common ones (type, id, spec_version, created, modified).
var required = map[string][]string{
	"attack-pattern":       {"name"},
	"campaign":             {"name"},
	"course-of-action":     {"name"},
	"grouping":             {"context", "object_refs"},
	"identity":             {"name"},
	"incident":             {"name"},
	"indicator":            {"pattern", "pattern_type", "valid_from"},
	"infrastructure":       {"name"},
	"intrusion-set":        {"name"},
	"malware":              {"is_family"},
	"malware-analysis":     {"product"},
	"note":                 {"content", "object_refs"},
	"observed-data":        {"first_observed", "last_observed", "number_observed"},
	"opinion":              {"opinion", "object_refs"},
	"report":               {"name", "published", "object_refs"},
	"threat-actor":         {"name"},
	"tool":                 {"name"},
	"vulnerability":        {"name"},
	"relationship":         {"relationship_type", "source_ref", "target_ref"},
	"sighting":             {"sighting_of_ref"},
	"language-content":     {"object_ref", "contents"},
	"extension-definition": {"name", "schema", "version", "extension_types", "created_by_ref"},

	"autonomous-system": {"number"},
	"directory":         {"path"},
	"domain-name":       {"value"},
	"email-addr":        {"value"},
	"email-message":     {"is_multipart"},
	"ipv4-addr":         {"value"},
	"ipv6-addr":         {"value"},
	"mac-addr":          {"value"},
	"mutex":             {"name"},
	"network-traffic":   {"protocols"},
	"software":          {"name"},
	"url":               {"value"},

	TypeCryptocurrencyWallet:      {"value"},
	TypeCryptocurrencyTransaction: {"chain", "hash"},
}

// A refRule says which types a reference property may point at.
type refRule struct {
	types []string // explicit list; empty means the kinds below decide
	kinds []Kind   // allowed kinds; KindCustom matches types the node does not know
}

var (
	anyObject = refRule{kinds: []Kind{KindSDO, KindSRO, KindSCO, KindMeta, KindCustom}}
	anySDO    = refRule{kinds: []Kind{KindSDO, KindCustom}}
	anySCO    = refRule{kinds: []Kind{KindSCO, KindCustom}}
	sdoOrSCO  = refRule{kinds: []Kind{KindSDO, KindSCO, KindCustom}}
)

func only(types ...string) refRule { return refRule{types: types} }

// commonRefs are reference properties every object may have.
var commonRefs = map[string]refRule{
	"created_by_ref":      only("identity"),
	"object_marking_refs": only("marking-definition"),
}

// typeRefs are the reference properties the specification defines per type.
var typeRefs = map[string]map[string]refRule{
	"grouping":      {"object_refs": anyObject},
	"note":          {"object_refs": anyObject},
	"opinion":       {"object_refs": anyObject},
	"report":        {"object_refs": anyObject},
	"observed-data": {"object_refs": refRule{kinds: []Kind{KindSCO, KindSRO, KindCustom}}},
	"malware": {
		"operating_system_refs": only("software"),
		"sample_refs":           only("file", "artifact"),
	},
	"malware-analysis": {
		"host_vm_ref":             only("software"),
		"operating_system_ref":    only("software"),
		"installed_software_refs": only("software"),
		"sample_ref":              only("file", "artifact", "network-traffic"),
		"analysis_sco_refs":       anySCO,
	},
	"relationship": {"source_ref": sdoOrSCO, "target_ref": sdoOrSCO},
	"sighting": {
		"sighting_of_ref":    anySDO,
		"observed_data_refs": only("observed-data"),
		"where_sighted_refs": only("identity", "location"),
	},
	"language-content": {"object_ref": anyObject},
	"email-addr":       {"belongs_to_ref": only("user-account")},
	"email-message": {
		"from_ref": only("email-addr"), "sender_ref": only("email-addr"),
		"to_refs": only("email-addr"), "cc_refs": only("email-addr"), "bcc_refs": only("email-addr"),
		"raw_email_ref": only("artifact"),
	},
	"file": {
		"parent_directory_ref": only("directory"),
		"contains_refs":        anySCO,
		"content_ref":          only("artifact"),
	},
	"directory":   {"contains_refs": only("file", "directory")},
	"domain-name": {"resolves_to_refs": only("ipv4-addr", "ipv6-addr", "domain-name")},
	"ipv4-addr":   {"resolves_to_refs": only("mac-addr"), "belongs_to_refs": only("autonomous-system")},
	"ipv6-addr":   {"resolves_to_refs": only("mac-addr"), "belongs_to_refs": only("autonomous-system")},
	"network-traffic": {
		"src_ref":         only("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
		"dst_ref":         only("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
		"src_payload_ref": only("artifact"), "dst_payload_ref": only("artifact"),
		"encapsulates_refs": only("network-traffic"), "encapsulated_by_ref": only("network-traffic"),
	},
	"process": {
		"opened_connection_refs": only("network-traffic"),
		"creator_user_ref":       only("user-account"),
		"image_ref":              only("file"),
		"parent_ref":             only("process"),
		"child_refs":             only("process"),
	},
}

func (r refRule) allows(refType string) bool {
	if len(r.types) > 0 {
		for _, t := range r.types {
			if t == refType {
				return true
			}
		}
		return false
	}
	k := KindOf(refType)
	for _, allowed := range r.kinds {
		if allowed == k {
			return true
		}
	}
	return false
}

func (r refRule) String() string {
	if len(r.types) > 0 {
		return quoteList(r.types)
	}
	names := map[Kind]string{KindSDO: "a domain object", KindSRO: "a relationship", KindSCO: "an observable", KindMeta: "a meta object"}
	var out []string
	for _, k := range r.kinds {
		if n, ok := names[k]; ok {
			out = append(out, n)
		}
	}
	return joinOr(out)
}

// timestampProps are the properties, on any type, whose values must be
// timestamps.
var timestampProps = []string{
	"created", "modified", "valid_from", "valid_until", "first_seen", "last_seen",
	"first_observed", "last_observed", "published",
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

package stix

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// SCONamespace is the UUIDv5 namespace the STIX 2.1 specification fixes for
// deterministic cyber-observable ids.
var SCONamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

var (
	typeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// NewID returns a fresh random (UUIDv4) id for an object of type typ.
func NewID(typ string) string { return typ + "--" + uuid.NewString() }

// TypeOf returns the type part of a STIX id ("indicator" for
// "indicator--..."), or "" if id has no "--".
func TypeOf(id string) string {
	i := strings.Index(id, "--")
	if i < 0 {
		return ""
	}
	return id[:i]
}

// IsID reports whether s has the form of a STIX identifier: a valid type
// name, "--", and an RFC 4122 UUID.
func IsID(s string) bool {
	typ := TypeOf(s)
	return typ != "" && checkID(s, typ) == nil
}

func checkTypeName(typ string) error {
	if !typeNameRE.MatchString(typ) || strings.Contains(typ, "--") {
		return fmt.Errorf("type %q is not a valid STIX type name (3 to 250 characters a-z, 0-9 and single hyphens)", typ)
	}
	return nil
}

// checkID checks that id is typ--UUID.
func checkID(id, typ string) error {
	prefix, u, ok := strings.Cut(id, "--")
	if !ok || prefix != typ {
		return fmt.Errorf("id %q does not have the form %s--UUID", id, typ)
	}
	if !uuidRE.MatchString(u) {
		return fmt.Errorf("id %q does not end in an RFC 4122 UUID", id)
	}
	parsed, err := uuid.Parse(u)
	if err != nil || parsed.Variant() != uuid.RFC4122 {
		return fmt.Errorf("id %q does not end in an RFC 4122 UUID", id)
	}
	return nil
}

// idContributing lists, per observable type, the properties whose values
// make its deterministic id (STIX 2.1 section 6, each type's "ID
// Contributing Properties"; cointrail's own types in ext.go).
var idContributing = map[string][]string{
	"artifact":                    {"hashes", "payload_bin"},
	"autonomous-system":           {"number"},
	"directory":                   {"path"},
	"domain-name":                 {"value"},
	"email-addr":                  {"value"},
	"email-message":               {"from_ref", "subject", "body"},
	"file":                        {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":                   {"value"},
	"ipv6-addr":                   {"value"},
	"mac-addr":                    {"value"},
	"mutex":                       {"name"},
	"network-traffic":             {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"software":                    {"name", "cpe", "swid", "vendor", "version"},
	"url":                         {"value"},
	"user-account":                {"account_type", "user_id", "account_login"},
	"windows-registry-key":        {"key", "values"},
	"x509-certificate":            {"hashes", "serial_number"},
	TypeCryptocurrencyWallet:      {"chain", "value"},
	TypeCryptocurrencyTransaction: {"chain", "hash"},
}

// hashPreference is the order in which the specification picks the one hash
// that contributes to an id when "hashes" has several.
var hashPreference = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// DeterministicID computes the UUIDv5 id of observable o from its
// id-contributing properties, as STIX 2.1 section 2.9 describes. It reports
// false for types without contributing properties, or when none is present
// (the specification then falls back to a random UUIDv4).
func DeterministicID(o *Object) (string, bool, error) {
	names, ok := idContributing[o.Type]
	if !ok {
		return "", false, nil
	}
	parts := map[string]json.RawMessage{}
	for _, name := range names {
		raw, ok := o.props[name]
		if !ok {
			continue
		}
		if name == "hashes" {
			var hashes map[string]json.RawMessage
			if err := json.Unmarshal(raw, &hashes); err != nil {
				return "", false, fmt.Errorf("property \"hashes\": not an object")
			}
			if len(hashes) == 0 {
				continue
			}
			raw = chooseHash(hashes)
		}
		parts[name] = raw
	}
	if len(parts) == 0 {
		return "", false, nil
	}
	data, err := json.Marshal(parts)
	if err != nil {
		return "", false, err
	}
	canon, err := Canonicalize(data)
	if err != nil {
		return "", false, err
	}
	return o.Type + "--" + uuid.NewSHA1(SCONamespace, canon).String(), true, nil
}

func chooseHash(hashes map[string]json.RawMessage) json.RawMessage {
	for _, alg := range hashPreference {
		if v, ok := hashes[alg]; ok {
			return mustRaw(map[string]json.RawMessage{alg: v})
		}
	}
	// No preferred algorithm: the specification leaves the choice open;
	// take the first name in sorted order so the choice is stable.
	first := ""
	for k := range hashes {
		if first == "" || k < first {
			first = k
		}
	}
	return mustRaw(map[string]json.RawMessage{first: hashes[first]})
}

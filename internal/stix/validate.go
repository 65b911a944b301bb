package stix

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ValidationError lists what is wrong with one object.
type ValidationError struct {
	ID       string
	Problems []string
}

func (e *ValidationError) Error() string {
	id := e.ID
	if id == "" {
		id = "object"
	}
	return id + ": " + strings.Join(e.Problems, "; ")
}

// AddressChecker checks a cryptocurrency address on a chain and returns its
// canonical form, or an error that names what is wrong. [Validate] uses it
// for cryptocurrency-wallet values.
type AddressChecker func(chain, addr string) (string, error)

// Validator checks objects against the MUSTs of STIX 2.1 and the rules of
// cointrail's extensions. The zero value checks everything but addresses.
type Validator struct {
	// Address, if set, checks cryptocurrency-wallet values.
	Address AddressChecker
	// KnownMarking, if set, reports whether the node knows a marking
	// definition; a reference to one it does not know is refused. The TLP
	// marking definitions, and their TLP 1.0 and OpenCTI ids, are always
	// known.
	KnownMarking func(id string) bool
}

// Validate checks o with the zero [Validator].
func Validate(o *Object) error { return Validator{}.Validate(o) }

var (
	propNameRE = regexp.MustCompile(`^[a-zA-Z0-9_]{3,250}$`)
	relTypeRE  = regexp.MustCompile(`^[a-z0-9-]{3,250}$`)
)

var extensionTypes = []string{"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}

var opinions = []string{"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"}

// Validate checks one object on its own: its id, spec_version, timestamps,
// required properties, property types that the specification fixes, and the
// types its references point at. It does not check that referenced objects
// exist (a node keeps references to objects it does not hold) nor that
// marking definitions are known: that needs the node's store.
func (v Validator) Validate(o *Object) error {
	c := &checker{o: o}
	c.run(v)
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{ID: o.ID, Problems: c.problems}
}

type checker struct {
	o        *Object
	problems []string
}

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) run(v Validator) {
	o := c.o
	if err := checkTypeName(o.Type); err != nil {
		c.addf("%v", err)
		return
	}
	if err := checkID(o.ID, o.Type); err != nil {
		c.addf("%v", err)
	}
	for _, name := range o.Names() {
		if name != "id" && !propNameRE.MatchString(name) {
			c.addf("property name %q is not 3 to 250 characters of a-z, A-Z, 0-9 and _", name)
		}
	}
	kind := KindOfObject(o)
	c.common(kind)
	for _, name := range required[o.Type] {
		if !o.Has(name) {
			c.addf("missing required property %q", name)
		}
	}
	c.timestamps()
	c.references()
	c.typeSpecific(v)
	if v.KnownMarking != nil {
		for _, id := range o.MarkingRefs() {
			if _, tlp := TLPOf(id); !tlp && IsID(id) && TypeOf(id) == "marking-definition" && !v.KnownMarking(id) {
				c.addf("unknown marking definition %s", id)
			}
		}
	}
}

func (c *checker) common(kind Kind) {
	o := c.o
	var sv string
	if ok, err := o.Decode("spec_version", &sv); err != nil {
		c.addf("%v", err)
	} else if !ok {
		if kind != KindSCO {
			c.addf(`missing required property "spec_version" (must be "2.1")`)
		}
	} else if sv != "2.1" {
		c.addf(`spec_version is %q; this node accepts STIX "2.1" only`, sv)
	}
	switch {
	case kind == KindSDO || kind == KindSRO || o.Type == "language-content" || o.Type == "extension-definition":
		for _, p := range []string{"created", "modified"} {
			if !o.Has(p) {
				c.addf("missing required property %q", p)
			}
		}
	case o.Type == "marking-definition":
		if !o.Has("created") {
			c.addf(`missing required property "created"`)
		}
	}
	if created, ok := o.Time("created"); ok {
		if modified, ok := o.Time("modified"); ok && modified.Before(created) {
			c.addf("modified (%s) is earlier than created (%s)", o.String("modified"), o.String("created"))
		}
	}
	var labels []string
	if _, err := o.Decode("labels", &labels); err != nil {
		c.addf("%v", err)
	}
	var revoked bool
	if _, err := o.Decode("revoked", &revoked); err != nil {
		c.addf("%v", err)
	}
	var lang string
	if _, err := o.Decode("lang", &lang); err != nil {
		c.addf("%v", err)
	}
	if raw := o.Raw("confidence"); raw != nil {
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 0 || n > 100 {
			c.addf("confidence %s is not an integer from 0 to 100", raw)
		}
	}
	c.externalReferences()
	c.granularMarkings()
	c.extensions()
}

func (c *checker) externalReferences() {
	var refs []map[string]json.RawMessage
	if _, err := c.o.Decode("external_references", &refs); err != nil {
		c.addf("%v", err)
		return
	}
	for i, r := range refs {
		var name string
		if json.Unmarshal(r["source_name"], &name) != nil || name == "" {
			c.addf("external_references[%d] has no source_name", i)
		}
		if r["description"] == nil && r["url"] == nil && r["external_id"] == nil {
			c.addf("external_references[%d] needs a description, url or external_id besides source_name", i)
		}
	}
}

func (c *checker) granularMarkings() {
	var gms []struct {
		MarkingRef *string   `json:"marking_ref"`
		Lang       *string   `json:"lang"`
		Selectors  *[]string `json:"selectors"`
	}
	if _, err := c.o.Decode("granular_markings", &gms); err != nil {
		c.addf("%v", err)
		return
	}
	for i, gm := range gms {
		switch {
		case gm.MarkingRef == nil && gm.Lang == nil:
			c.addf("granular_markings[%d] has neither marking_ref nor lang", i)
		case gm.MarkingRef != nil && gm.Lang != nil:
			c.addf("granular_markings[%d] has both marking_ref and lang", i)
		case gm.MarkingRef != nil:
			c.checkRef(fmt.Sprintf("granular_markings[%d].marking_ref", i), *gm.MarkingRef, only("marking-definition"))
		}
		if gm.Selectors == nil || len(*gm.Selectors) == 0 {
			c.addf("granular_markings[%d] has no selectors", i)
		}
	}
}

func (c *checker) extensions() {
	var exts map[string]json.RawMessage
	if _, err := c.o.Decode("extensions", &exts); err != nil {
		c.addf("%v", err)
		return
	}
	for key, raw := range exts {
		if !isObject(raw) {
			c.addf("extensions[%q] is not an object", key)
			continue
		}
		if strings.HasPrefix(key, "extension-definition--") {
			if err := checkID(key, "extension-definition"); err != nil {
				c.addf("extensions key: %v", err)
			}
			var e struct {
				ExtensionType *string `json:"extension_type"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				c.addf("extensions[%q].extension_type is not a string", key)
			} else if e.ExtensionType != nil && !slices.Contains(extensionTypes, *e.ExtensionType) {
				c.addf("extensions[%q].extension_type %q is not one of %s", key, *e.ExtensionType, quoteList(extensionTypes))
			}
		}
	}
}

func (c *checker) timestamps() {
	for _, name := range timestampProps {
		s, ok := "", false
		if has, err := c.o.Decode(name, &s); err != nil {
			c.addf("%v", err)
			continue
		} else {
			ok = has
		}
		if !ok {
			continue
		}
		if _, err := ParseTime(s); err != nil {
			c.addf("%s: %v", name, err)
		}
	}
	order := func(early, late string, strict bool) {
		e, ok1 := c.o.Time(early)
		l, ok2 := c.o.Time(late)
		if !ok1 || !ok2 {
			return
		}
		if l.Before(e) || (strict && l.Equal(e)) {
			rel := "earlier than"
			if strict {
				rel = "not later than"
			}
			c.addf("%s (%s) is %s %s (%s)", late, c.o.String(late), rel, early, c.o.String(early))
		}
	}
	order("valid_from", "valid_until", true)
	order("first_seen", "last_seen", false)
	order("first_observed", "last_observed", false)
}

// references checks every property named *_ref or *_refs: each value must be
// an identifier, and where the specification fixes the target types, of one
// of them.
func (c *checker) references() {
	rules := typeRefs[c.o.Type]
	for _, name := range c.o.Names() {
		isList := strings.HasSuffix(name, "_refs")
		if !isList && !strings.HasSuffix(name, "_ref") {
			continue
		}
		rule, ok := commonRefs[name]
		if !ok {
			rule, ok = rules[name]
		}
		if !ok {
			rule = anyObject
		}
		if isList {
			var ids []string
			if _, err := c.o.Decode(name, &ids); err != nil {
				c.addf("%s must be a list of identifiers", name)
				continue
			}
			for i, id := range ids {
				c.checkRef(fmt.Sprintf("%s[%d]", name, i), id, rule)
			}
			continue
		}
		var id string
		if _, err := c.o.Decode(name, &id); err != nil {
			c.addf("%s must be an identifier", name)
			continue
		}
		c.checkRef(name, id, rule)
	}
}

func (c *checker) checkRef(where, id string, rule refRule) {
	typ := TypeOf(id)
	if typ == "" || checkID(id, typ) != nil || checkTypeName(typ) != nil {
		c.addf("%s: %q is not a STIX identifier (type--UUID)", where, id)
		return
	}
	if !rule.allows(typ) {
		c.addf("%s: %q is a %s, but must be %s", where, id, typ, rule)
	}
}

func (c *checker) typeSpecific(v Validator) {
	o := c.o
	switch o.Type {
	case "location":
		if !o.Has("region") && !o.Has("country") && !(o.Has("latitude") && o.Has("longitude")) {
			c.addf("a location needs region, country, or latitude and longitude")
		}
	case "malware":
		var fam bool
		if _, err := o.Decode("is_family", &fam); err != nil {
			c.addf("%v", err)
		} else if fam && !o.Has("name") {
			c.addf(`a malware family (is_family true) needs a "name"`)
		}
	case "malware-analysis":
		if !o.Has("result") && !o.Has("analysis_sco_refs") {
			c.addf("a malware-analysis needs result or analysis_sco_refs")
		}
	case "observed-data":
		c.intRange("number_observed", 1, 999999999)
		if o.Has("objects") == o.Has("object_refs") {
			c.addf("an observed-data needs exactly one of objects and object_refs")
		}
	case "sighting":
		c.intRange("count", 0, 999999999)
	case "opinion":
		var op string
		if _, err := o.Decode("opinion", &op); err != nil || (o.Has("opinion") && !slices.Contains(opinions, op)) {
			c.addf("opinion %s is not one of %s", o.Raw("opinion"), quoteList(opinions))
		}
	case "relationship":
		var rt string
		if _, err := o.Decode("relationship_type", &rt); err != nil || (o.Has("relationship_type") && !relTypeRE.MatchString(rt)) {
			c.addf("relationship_type %s is not 3 to 250 characters of a-z, 0-9 and hyphens", o.Raw("relationship_type"))
		}
		if ext := o.Extension(RoleExtensionID); ext != nil {
			var role string
			if json.Unmarshal(ext["role"], &role) != nil || !slices.Contains(WalletRoles, role) {
				c.addf("wallet role %s is not one of %s", ext["role"], quoteList(WalletRoles))
			}
		}
	case "indicator":
		for _, p := range []string{"pattern", "pattern_type"} {
			var s string
			if _, err := o.Decode(p, &s); err != nil {
				c.addf("%v", err)
			}
		}
	case "marking-definition":
		c.markingDefinition()
	case "extension-definition":
		var types []string
		if _, err := o.Decode("extension_types", &types); err != nil {
			c.addf("%v", err)
		} else if o.Has("extension_types") && len(types) == 0 {
			c.addf("extension_types is empty")
		}
		for _, t := range types {
			if !slices.Contains(extensionTypes, t) {
				c.addf("extension_types: %q is not one of %s", t, quoteList(extensionTypes))
			}
		}
	case "file":
		if !o.Has("hashes") && !o.Has("name") {
			c.addf("a file needs hashes or name")
		}
	case "artifact":
		if o.Has("payload_bin") && o.Has("url") {
			c.addf("an artifact has payload_bin or url, not both")
		}
		if o.Has("url") && !o.Has("hashes") {
			c.addf("an artifact with a url needs hashes")
		}
	case TypeCryptocurrencyWallet:
		c.wallet(v)
	case TypeCryptocurrencyTransaction:
		for _, p := range []string{"chain", "hash"} {
			var s string
			if _, err := o.Decode(p, &s); err != nil {
				c.addf("%v", err)
			}
		}
	case "incident":
		if ext := o.Extension(IncidentExtensionID); ext != nil {
			var losses []Loss
			if err := json.Unmarshal(ext["losses"], &losses); err != nil {
				c.addf("incident losses must be a list of {asset, amount, usd, source}")
			}
			for i, l := range losses {
				c.problems = append(c.problems, checkLoss(i, l)...)
			}
			if raw := ext["occurred"]; raw != nil {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					c.addf("incident occurred must be a timestamp")
				} else if _, err := ParseTime(s); err != nil {
					c.addf("incident occurred: %v", err)
				}
			}
		}
	}
	if ext := o.Extension(LabelExtensionID); ext != nil {
		var cat string
		if json.Unmarshal(ext["category"], &cat) != nil || cat == "" {
			c.addf("a wallet label needs a category")
		}
		if o.Type != "relationship" {
			c.addf("a wallet label belongs on a relationship, not a %s", o.Type)
		}
	}
	if ext := o.Extension(ProvenanceExtensionID); ext != nil {
		var owner string
		if json.Unmarshal(ext["owner"], &owner) != nil {
			c.addf("provenance owner must be an identity id")
		} else {
			c.checkRef("provenance owner", owner, only("identity"))
		}
		if raw, ok := ext["signature"]; ok {
			var sig Signature
			if json.Unmarshal(raw, &sig) != nil || sig.Alg != "ed25519" || sig.Key == "" || sig.Sig == "" {
				c.addf(`provenance signature must be {"alg": "ed25519", "key", "sig"}`)
			}
		}
	}
	if ext := o.Extension(SharingExtensionID); ext != nil {
		var rs []string
		if err := json.Unmarshal(ext["recipients"], &rs); err != nil {
			c.addf("recipients must be a list of identity ids")
		}
		for i, id := range rs {
			c.checkRef(fmt.Sprintf("recipients[%d]", i), id, only("identity"))
		}
	}
}

func (c *checker) wallet(v Validator) {
	var value, chain string
	if _, err := c.o.Decode("value", &value); err != nil {
		c.addf("%v", err)
		return
	}
	if _, err := c.o.Decode("chain", &chain); err != nil {
		c.addf("%v", err)
		return
	}
	if c.o.Has("value") && strings.TrimSpace(value) == "" {
		c.addf("a cryptocurrency-wallet value is empty")
		return
	}
	if chain != "" && v.Address != nil {
		if _, err := v.Address(chain, value); err != nil {
			c.addf("%v", err)
		}
	}
}

func (c *checker) markingDefinition() {
	o := c.o
	if !o.Has("definition_type") && !o.Has("extensions") {
		c.addf("a marking-definition needs definition_type and definition, or an extension")
		return
	}
	if !o.Has("definition_type") {
		return
	}
	if !o.Has("definition") {
		c.addf(`missing required property "definition"`)
		return
	}
	var def map[string]json.RawMessage
	if _, err := o.Decode("definition", &def); err != nil {
		c.addf("%v", err)
		return
	}
	switch o.String("definition_type") {
	case "tlp":
		var level string
		if json.Unmarshal(def["tlp"], &level) != nil || !slices.Contains([]string{"white", "green", "amber", "red"}, level) {
			c.addf(`a tlp marking definition needs definition.tlp of "white", "green", "amber" or "red"`)
		}
	case "statement":
		var s string
		if json.Unmarshal(def["statement"], &s) != nil {
			c.addf(`a statement marking definition needs a string definition.statement`)
		}
	}
}

func (c *checker) intRange(name string, lo, hi int) {
	raw := c.o.Raw(name)
	if raw == nil {
		return
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < lo || n > hi {
		c.addf("%s %s is not an integer from %d to %d", name, raw, lo, hi)
	}
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return joinOr(q)
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

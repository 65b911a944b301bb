// Package stix parses, validates and serialises STIX 2.1 objects.
//
// An [Object] is kept whole: every property, known or not, is held as the
// JSON the producer wrote, so an object that passes through a node comes out
// with the same RFC 8785 canonical JSON it went in with. Typed accessors read
// the properties cointrail acts on (markings, references, timestamps,
// extensions) without dropping the rest.
//
// The package also holds what the STIX specification fixes: deterministic
// ids for cyber-observables, the TLP 2.0 marking definitions (and the mapping
// of older ids to them), and cointrail's own extension definitions.
package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// Object is one STIX object of any type, kept with all its properties.
//
// The zero value is not usable; build objects with [Parse] or [New]. An Object
// is not safe for concurrent use: reads cache what they decode.
type Object struct {
	// Type is the value of the "type" property.
	Type string
	// ID is the value of the "id" property.
	ID string

	props map[string]json.RawMessage
	// exts caches the decoded "extensions" (nil: not decoded yet). It is
	// atomic so that readers in several goroutines may share an object, as
	// long as none changes it.
	exts atomic.Pointer[map[string]map[string]json.RawMessage]
}

// New returns an object of the given type and id with no other properties.
func New(typ, id string) *Object {
	o := &Object{Type: typ, ID: id, props: map[string]json.RawMessage{}}
	o.props["type"] = mustRaw(typ)
	o.props["id"] = mustRaw(id)
	return o
}

// Parse decodes one STIX object from JSON. It checks only that data is a JSON
// object with string "type" and "id" properties; [Validate] checks the rest.
func Parse(data []byte) (*Object, error) {
	var props map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&props); err != nil {
		return nil, &SyntaxError{Msg: jsonErrorText(err)}
	}
	if dec.More() {
		return nil, &SyntaxError{Msg: "data after the JSON object"}
	}
	if props == nil {
		return nil, &SyntaxError{Msg: "not a JSON object"}
	}
	return fromProps(props)
}

func fromProps(props map[string]json.RawMessage) (*Object, error) {
	o := &Object{props: props}
	var err error
	if o.Type, err = o.requiredString("type"); err != nil {
		return nil, err
	}
	if o.ID, err = o.requiredString("id"); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Object) requiredString(name string) (string, error) {
	raw, ok := o.props[name]
	if !ok {
		return "", &SyntaxError{Msg: fmt.Sprintf("object has no %q property", name)}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &SyntaxError{Msg: fmt.Sprintf("property %q is not a string", name)}
	}
	return s, nil
}

// SyntaxError reports input that is not a JSON object of the expected shape.
type SyntaxError struct {
	Msg string
}

func (e *SyntaxError) Error() string { return "malformed STIX: " + e.Msg }

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err.Error() == "EOF":
		return "empty input"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se.Error())
	case errors.As(err, &te):
		return fmt.Sprintf("expected a JSON %s, found %s", goTypeJSON(te.Type.Kind().String()), te.Value)
	default:
		return err.Error()
	}
}

func goTypeJSON(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	default:
		return kind
	}
}

// Has reports whether the object has property name.
func (o *Object) Has(name string) bool {
	_, ok := o.props[name]
	return ok
}

// Raw returns the JSON of property name as the producer wrote it, or nil.
// The returned slice must not be modified.
func (o *Object) Raw(name string) json.RawMessage { return o.props[name] }

// Names returns the object's property names in sorted order.
func (o *Object) Names() []string {
	names := make([]string, 0, len(o.props))
	for k := range o.props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Decode unmarshals property name into v. It reports false if the property is
// absent and an error if it does not fit v.
func (o *Object) Decode(name string, v any) (bool, error) {
	raw, ok := o.props[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("property %q: %s", name, typeMismatch(err))
	}
	return true, nil
}

func typeMismatch(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("expected %s, found %s", goTypeJSON(te.Type.Kind().String()), te.Value)
	}
	return err.Error()
}

// String returns property name as a string, or "" if it is absent or not a
// string.
func (o *Object) String(name string) string {
	var s string
	if _, err := o.Decode(name, &s); err != nil {
		return ""
	}
	return s
}

// Strings returns property name as a list of strings, or nil if it is absent
// or not a list of strings.
func (o *Object) Strings(name string) []string {
	var s []string
	if _, err := o.Decode(name, &s); err != nil {
		return nil
	}
	return s
}

// Confidence returns the object's "confidence" (0-100), or nil if it has
// none.
func (o *Object) Confidence() *int {
	var c int
	if ok, err := o.Decode("confidence", &c); !ok || err != nil {
		return nil
	}
	return &c
}

// Bool returns property name as a boolean; false if absent or not a boolean.
func (o *Object) Bool(name string) bool {
	var b bool
	if _, err := o.Decode(name, &b); err != nil {
		return false
	}
	return b
}

// Time returns timestamp property name, and whether it is present and valid.
func (o *Object) Time(name string) (time.Time, bool) {
	s := o.String(name)
	if s == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(s)
	return t, err == nil
}

// Set replaces property name with the JSON encoding of v. Setting "type" or
// "id" also updates the fields.
func (o *Object) Set(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	o.props[name] = raw
	switch name {
	case "extensions":
		o.exts.Store(nil)
	case "type":
		o.Type, _ = v.(string)
	case "id":
		o.ID, _ = v.(string)
	}
	return nil
}

// Delete removes property name. "type" and "id" cannot be removed.
func (o *Object) Delete(name string) {
	if name == "type" || name == "id" {
		return
	}
	if name == "extensions" {
		o.exts.Store(nil)
	}
	delete(o.props, name)
}

// Clone returns a deep copy of o.
func (o *Object) Clone() *Object {
	c := &Object{Type: o.Type, ID: o.ID, props: make(map[string]json.RawMessage, len(o.props))}
	for k, v := range o.props {
		c.props[k] = slices.Clone(v)
	}
	return c
}

// MarshalJSON encodes the object with its properties in sorted order.
func (o *Object) MarshalJSON() ([]byte, error) {
	return json.Marshal(o.props)
}

// Canonical returns the RFC 8785 (JCS) canonical JSON of the object.
func (o *Object) Canonical() ([]byte, error) {
	names := make([]string, 0, len(o.props))
	size := 2
	for k, v := range o.props {
		names = append(names, k)
		size += len(k) + len(v) + 4
	}
	slices.SortFunc(names, func(a, b string) int { return compareUTF16([]byte(a), []byte(b)) })
	c := canonicalizer{out: make([]byte, 0, size)}
	c.out = append(c.out, '{')
	for i, k := range names {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		c.out = appendString(c.out, []byte(k))
		c.out = append(c.out, ':')
		c.in, c.pos = o.props[k], 0
		c.space()
		if err := c.value(1); err != nil {
			return nil, &SyntaxError{Msg: fmt.Sprintf("cannot canonicalise property %q: %v", k, err)}
		}
		c.space()
		if c.pos != len(c.in) {
			return nil, &SyntaxError{Msg: fmt.Sprintf("cannot canonicalise property %q: data after the value", k)}
		}
	}
	return append(c.out, '}'), nil
}

// Modified returns the object's version timestamp: "modified", or for objects
// that are not versioned (observables, marking definitions) "".
func (o *Object) Modified() string { return o.String("modified") }

// Revoked reports whether the object says it is revoked.
func (o *Object) Revoked() bool { return o.Bool("revoked") }

// CreatedByRef returns the "created_by_ref" property.
func (o *Object) CreatedByRef() string { return o.String("created_by_ref") }

func mustRaw(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

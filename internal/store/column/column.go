// Package column holds the column encodings the SQL stores share, so that a
// database written by one reads the same in the other: TLP levels as their
// names, lists (recipients, the objects of an audit entry) as JSON arrays,
// times as Unix nanoseconds; and the patterns and bounds their queries
// match those columns with.
package column

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/stix"
)

// TLP encodes a level as its lower-case name ("amber+strict"), "" for
// none, so the database reads without the Go enum.
func TLP(t stix.TLP) (string, error) {
	if t == stix.TLPNone {
		return "", nil
	}
	if t < stix.TLPNone || t > stix.TLPRed {
		return "", fmt.Errorf("unknown TLP level %d", int(t))
	}
	return t.String(), nil
}

// ParseTLP decodes what [TLP] encodes.
func ParseTLP(s string) (stix.TLP, error) {
	if s == "" {
		return stix.TLPNone, nil
	}
	t, err := stix.ParseTLP(s)
	if err != nil || t.String() != s {
		return stix.TLPNone, fmt.Errorf("unknown stored TLP %q", s)
	}
	return t, nil
}

// Recipients encodes recipients as a JSON array; none as "[]".
func Recipients(r []string) (string, error) {
	s, err := List(r)
	if err != nil {
		return "", fmt.Errorf("recipients: %w", err)
	}
	return s, nil
}

// ParseRecipients decodes what [Recipients] encodes; nil for none.
func ParseRecipients(s string) ([]string, error) {
	r, err := ParseList(s)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	return r, nil
}

// List encodes a list of strings as a JSON array; none as "[]".
func List(l []string) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ParseList decodes what [List] encodes; nil for none.
func ParseList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// likeEscaper escapes LIKE's wildcards and its escape character, '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListPattern returns the LIKE pattern (ESCAPE '\') that matches a column
// encoded by [List] holding the element elem: elem as JSON writes it,
// quotes included, so that no other element containing it matches.
func ListPattern(elem string) (string, error) {
	b, err := json.Marshal(elem)
	if err != nil {
		return "", err
	}
	return "%" + likeEscaper.Replace(string(b)) + "%", nil
}

// ListPrefixPattern returns the LIKE pattern (ESCAPE '\') that matches a
// column encoded by [List] holding an element that begins with prefix.
func ListPrefixPattern(prefix string) (string, error) {
	b, err := json.Marshal(prefix)
	if err != nil {
		return "", err
	}
	quoted := strings.TrimSuffix(string(b), `"`) // keep the opening quote only
	return "%" + likeEscaper.Replace(quoted) + "%", nil
}

// PrefixEnd returns the least string, in byte order, greater than every
// string that begins with prefix, so that they are exactly those s with
// prefix <= s < end. It is valid UTF-8 if prefix is. ok is false if there
// is no such string (prefix is empty or all U+10FFFF): no upper bound.
func PrefixEnd(prefix string) (end string, ok bool) {
	// UTF-8 orders as code points do: the successor of the last code point
	// that has one, after the prefix's earlier runes, bounds them all.
	for p := prefix; p != ""; {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		switch {
		case r == utf8.RuneError && size == 1:
			// An invalid byte: increment it, unless it is 0xff.
			if c := prefix[len(p)]; c < 0xff {
				return p + string([]byte{c + 1}), true
			}
			continue
		case r == utf8.MaxRune:
			continue
		case r == 0xd7ff:
			r = 0xe000 // skip the surrogates, which UTF-8 cannot encode
		default:
			r++
		}
		return p + string(r), true
	}
	return "", false
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Nanos encodes t as Unix nanoseconds, 0 for the zero time. Times outside
// about 1678 to 2262 are a fault.Invalid error.
func Nanos(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fault.New(fault.Invalid, "time %s out of range", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// Time decodes what [Nanos] encodes, in UTC.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

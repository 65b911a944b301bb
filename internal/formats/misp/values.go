package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// text is a JSON scalar that MISP writes as a string and that other
// producers write as a number: "1603642920" and 1603642920 are the same
// timestamp. null and an absent member leave it unset.
type text struct {
	s   string
	set bool
}

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case b[0] == 'n':
		*t = text{}
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text{s: s, set: true}
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*t = text{s: string(b), set: true}
		return nil
	}
	return fmt.Errorf("expected a string, found %s", clip(string(b)))
}

// boolean is a JSON boolean that some producers write as "1", "0", "true",
// "false", 1 or 0.
type boolean struct {
	v   bool
	set bool
}

func (f *boolean) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	switch strings.ToLower(s) {
	case "null", "":
		*f = boolean{}
	case "true", "1":
		*f = boolean{v: true, set: true}
	case "false", "0":
		*f = boolean{v: false, set: true}
	default:
		return fmt.Errorf("expected a boolean, found %s", clip(string(b)))
	}
	return nil
}

// ptr returns the boolean as a *bool, nil when unset.
func (f boolean) ptr() *bool {
	if !f.set {
		return nil
	}
	v := f.v
	return &v
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isUUID reports whether s is a UUID in its canonical textual form (any
// case), as MISP writes them.
func isUUID(s string) bool { return uuidRE.MatchString(s) }

// maxUnix is 9999-12-31T23:59:59Z, the last second a STIX timestamp holds.
const maxUnix = 253402300799

// unixTime parses a MISP timestamp: decimal seconds since 1970 in UTC.
func unixTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxUnix {
		return time.Time{}, fmt.Errorf("%q is not a Unix timestamp", clip(s))
	}
	return time.Unix(n, 0).UTC(), nil
}

// unixText formats t as MISP writes timestamps.
func unixText(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// seenLayouts are the forms MISP and its tools write first_seen, last_seen
// and datetime attributes in: ISO 8601 with a zone (with or without a colon,
// with or without fractional seconds), without a zone (UTC), or a date.
var seenLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// isoTime parses an ISO 8601 date and time as MISP writes them.
func isoTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range seenLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date and time", clip(s))
}

// stixTime formats t as a STIX timestamp in UTC, keeping fractions of a
// second down to the microsecond (MISP's precision) and no trailing zeros.
func stixTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z")
}

// clip shortens long input quoted in error messages.
func clip(s string) string {
	const limit = 80
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

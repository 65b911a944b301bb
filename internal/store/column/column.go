// Package column holds the column encodings the SQL stores share, so that a
// database written by one reads the same in the other: TLP levels as their
// names, recipients as JSON arrays, times as Unix nanoseconds.
package column

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

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
	if len(r) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("recipients: %w", err)
	}
	return string(b), nil
}

// ParseRecipients decodes what [Recipients] encodes; nil for none.
func ParseRecipients(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var r []string
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	return r, nil
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

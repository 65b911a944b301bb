package stix

import (
	"fmt"
	"regexp"
	"time"
)

// TimeLayout formats timestamps the way cointrail writes them: UTC with
// millisecond precision, as STIX requires for "created" and "modified".
const TimeLayout = "2006-01-02T15:04:05.000Z"

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

// ParseTime parses a STIX timestamp: RFC 3339 in UTC, with the "Z" zone
// designator and optional fractional seconds.
func ParseTime(s string) (time.Time, error) {
	if !timestampRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp in UTC (YYYY-MM-DDTHH:MM:SS[.sss]Z)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid timestamp: %v", s, err)
	}
	return t, nil
}

// FormatTime formats t as a STIX timestamp in UTC with millisecond precision.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

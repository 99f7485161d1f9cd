package xmlrpc

import (
	"errors"
	"time"
)

// dateTimeLayout is the form of dateTime.iso8601 that the XML-RPC specification shows and Python's
// xmlrpc.client writes and parses: no zone, no fractional seconds.
const dateTimeLayout = "20060102T15:04:05"

// dateTimeLayouts are the accepted forms: basic or extended date and time, with or without a zone
// (Z, ±hh:mm or ±hhmm). Go's parser accepts fractional seconds after the seconds in each of them.
var dateTimeLayouts = []string{
	dateTimeLayout,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"20060102T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"20060102T15:04:05Z0700",
	"20060102T150405",
	"20060102T150405Z07:00",
	"20060102T150405Z0700",
}

// parseDateTime parses a dateTime.iso8601 value. A value without a zone is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	if len(s) > 40 {
		return time.Time{}, errors.New("too long for a date and time")
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 date and time (want e.g. 20260101T12:00:00)")
}

// appendDateTime appends t in UTC in the form Python parses; fractional seconds are dropped.
func appendDateTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, dateTimeLayout)
}

// Package fault defines the error type that cointrail's domain packages share.
//
// A domain error carries a [Code] saying what kind of failure it is, so that
// the REST, TAXII and CLI layers can map it to a status or an exit code in one
// table, and a message that is safe to show to the caller. Errors without a
// code are internal: their details are logged, never returned.
package fault

import (
	"errors"
	"fmt"
)

// Code classifies an error for the caller.
type Code string

// The codes used across cointrail. Interfaces map them to statuses.
const (
	Malformed        Code = "malformed"              // the input could not be parsed
	Invalid          Code = "invalid"                // parsed, but breaks a rule (invalid STIX)
	Unauthorized     Code = "unauthorized"           // missing, bad, expired or revoked credentials
	Forbidden        Code = "forbidden"              // the role may not do this, or a forgery
	NotFound         Code = "not_found"              // no such thing, or not visible to the caller
	Conflict         Code = "conflict"               // clashes with what is stored
	TooLarge         Code = "too_large"              // over a configured size limit
	RateLimited      Code = "rate_limited"           // over the caller's request rate
	NotAcceptable    Code = "not_acceptable"         // no representation the caller accepts
	UnsupportedMedia Code = "unsupported_media_type" // a body of a media type not served
	Unavailable      Code = "unavailable"            // a dependency is down; try again later
	Internal         Code = "internal"               // anything else
)

// Detail names one item of a multi-item failure, such as one object of a
// bundle.
type Detail struct {
	ID      string `json:"id,omitempty"`
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// Error is a domain error with a code and a message meant for the caller.
type Error struct {
	Code    Code
	Message string
	// Details lists per-item problems, in input order.
	Details []Detail
	// Err is the underlying cause, if any. It is not shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message whose cause is err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the caller-safe message of err: the message of the first
// *Error in its chain, or a generic text for internal errors.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// DetailsOf returns the details of the first *Error in err's chain.
func DetailsOf(err error) []Detail {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// httpStatus maps codes to HTTP statuses: the one table the REST API and
// TAXII share.
var httpStatus = map[Code]int{
	Malformed:        400,
	Invalid:          422,
	Unauthorized:     401,
	Forbidden:        403,
	NotFound:         404,
	Conflict:         409,
	TooLarge:         413,
	RateLimited:      429,
	NotAcceptable:    406,
	UnsupportedMedia: 415,
	Unavailable:      503,
	Internal:         500,
}

// HTTPStatus returns the HTTP status for err's code.
func HTTPStatus(err error) int {
	if st, ok := httpStatus[CodeOf(err)]; ok {
		return st
	}
	return 500
}

package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
)

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int { return fault.HTTPStatus(normalize(err)) }

var errNoToken = fault.New(fault.Unauthorized, "a token is required: send Authorization: Bearer <token> (or HTTP Basic with the token as password)")

// rateLimitError is a fault.RateLimited error that knows when to retry.
type rateLimitError struct {
	err   *fault.Error
	retry time.Duration
}

func (e *rateLimitError) Error() string { return e.err.Error() }
func (e *rateLimitError) Unwrap() error { return e.err }

func rateLimited(retry time.Duration) error {
	return &rateLimitError{
		err:   fault.New(fault.RateLimited, "too many requests; retry after %s", retry.Round(time.Millisecond)),
		retry: retry,
	}
}

func notFoundRoute(r *http.Request) error {
	return fault.New(fault.NotFound, "no endpoint %s %s", r.Method, r.URL.Path)
}

// normalize turns transport errors into coded ones.
func normalize(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, "request body is over the limit of %d bytes", mbe.Limit)
	}
	return err
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Code    fault.Code     `json:"code"`
	Message string         `json:"message"`
	Details []fault.Detail `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	err = normalize(err)
	code := fault.CodeOf(err)
	status := StatusOf(err)
	if code == fault.Internal {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var rl *rateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.retry.Seconds()))))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cointrail", Basic realm="cointrail"`)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: fault.MessageOf(err), Details: fault.DetailsOf(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = fmt.Appendf(nil, `{"error":{"code":"internal","message":"encode response: %s"}}`, err)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

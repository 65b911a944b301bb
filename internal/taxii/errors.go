package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
)

// ErrorMessage is a TAXII 2.1 error message resource.
type ErrorMessage struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	HTTPStatus  string `json:"http_status,omitempty"`
	// Details names the objects of a refused request, where there are any.
	Details map[string]any `json:"details,omitempty"`
}

// methodError is a request with a method the resource does not serve.
type methodError struct {
	method, allow string
}

func (e *methodError) Error() string {
	return fmt.Sprintf("method %s is not allowed here (allowed: %s)", e.method, e.allow)
}

func errMethod(r *http.Request, allow string) error { return &methodError{r.Method, allow} }

func errNotFound(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }

// denied is the error for a viewer without access: 401 for an anonymous
// one (a token may help), 403 otherwise.
func denied(v access.Viewer, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if v.Anonymous() {
		return fault.New(fault.Unauthorized, "%s needs a token", what)
	}
	return fault.New(fault.Forbidden, "role %q may not access %s", v.Role, what)
}

var titles = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	409: "Conflict",
	413: "Request Entity Too Large",
	415: "Unsupported Media Type",
	422: "Unprocessable Entity",
	429: "Too Many Requests",
	500: "Internal Server Error",
	503: "Service Unavailable",
}

// WriteError writes err as a TAXII error message with the status its code
// maps to. It also serves the authenticating front's errors (401, 429,
// 413) on TAXII paths.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := fault.HTTPStatus(err)
	msg := fault.MessageOf(err)
	var me *methodError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &me):
		status, msg = http.StatusMethodNotAllowed, me.Error()
		w.Header().Set("Allow", me.allow)
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the limit of %d bytes", mbe.Limit)
	}
	body := ErrorMessage{Title: titles[status], Description: msg, HTTPStatus: strconv.Itoa(status)}
	if body.Title == "" {
		body.Title = http.StatusText(status)
	}
	if code := fault.CodeOf(err); code != "" && me == nil {
		body.ErrorCode = string(code)
	}
	if d := fault.DetailsOf(err); len(d) > 0 {
		body.Details = map[string]any{"objects": d}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="cointrail", Bearer realm="cointrail"`)
	}
	writeTAXII(w, status, body)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if fault.CodeOf(err) == fault.Internal {
		var me *methodError
		if !errors.As(err, &me) {
			s.cfg.Logger.ErrorContext(r.Context(), "TAXII request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	WriteError(w, r, err)
}

// writeTAXII writes v as application/taxii+json;version=2.1.
func writeTAXII(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, mediaTAXII, v)
}

func writeJSONAs(w http.ResponseWriter, status int, mediaType string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"title":"Internal Server Error","http_status":"500"}`)
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

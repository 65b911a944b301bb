package httpapi

import (
	"bytes"
	"net/http"

	"github.com/cointrail/cointrail/internal/report"
)

// getReport serves GET /api/v1/report?by=&from=&to=&format=: the caller's
// view of incidents and losses, grouped (see package report). An unknown
// dimension or format is 422, a date that is not YYYY-MM-DD 400.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	qv := r.URL.Query()
	format := qv.Get("format")
	if format == "" {
		format = string(report.JSON)
	}
	f, err := report.ParseFormat(format)
	if err != nil {
		return err
	}
	q, err := report.ParseQuery(qv.Get("by"), qv.Get("from"), qv.Get("to"))
	if err != nil {
		return err
	}
	rep, err := report.Run(r.Context(), s.svc, ViewerFrom(r.Context()), q)
	if err != nil {
		return err
	}
	if f == report.JSON {
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	// Written whole before the status, so that a failure is still an error
	// response.
	var b bytes.Buffer
	if err := rep.Write(&b, f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if f == report.HTML {
		// The page is self-contained and runs no script.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b.Bytes())
	return err
}

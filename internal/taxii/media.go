package taxii

import (
	"mime"
	"net/http"
	"strings"

	"github.com/cointrail/cointrail/internal/fault"
)

// The media types TAXII 2.1 uses.
const (
	mediaTAXII = "application/taxii+json;version=2.1"
	mediaSTIX  = "application/stix+json;version=2.1"
)

// negotiate picks the media type of a response from the request's Accept
// header: TAXII's own type, or, where stix is true (object endpoints), the
// STIX type if that is what the client asks for. A missing Accept, */* and
// application/* take the TAXII type. A type with a version other than 2.1
// does not match. It is a fault.NotAcceptable error when nothing matches.
func negotiate(r *http.Request, stix bool) (string, error) {
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return mediaTAXII, nil
	}
	stixOK := false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			continue
		}
		if v, ok := params["version"]; ok && v != "2.1" {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/taxii+json":
			return mediaTAXII, nil
		case "application/stix+json":
			stixOK = true
		}
	}
	if stix && stixOK {
		return mediaSTIX, nil
	}
	want := mediaTAXII
	if stix {
		want += " or " + mediaSTIX
	}
	return "", fault.New(fault.NotAcceptable, "cannot serve %q; this server serves %s", accept, want)
}

// checkContentType accepts a request body of TAXII's type or STIX's, at
// version 2.1 (or without a version).
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return fault.New(fault.UnsupportedMedia, "Content-Type %q is not %s or %s", ct, mediaTAXII, mediaSTIX)
	}
	if mt != "application/taxii+json" && mt != "application/stix+json" {
		return fault.New(fault.UnsupportedMedia, "Content-Type %s is not accepted; send %s", mt, mediaTAXII)
	}
	if v, ok := params["version"]; ok && v != "2.1" {
		return fault.New(fault.UnsupportedMedia, "version %s of %s is not served; send version=2.1", v, mt)
	}
	return nil
}

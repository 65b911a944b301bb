package federation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/taxii"
)

// The media type TAXII 2.1 exchanges.
const mediaTAXII = "application/taxii+json;version=2.1"

// maxResponse caps what a peer may send in one response.
const maxResponse = 256 << 20

// Client talks to one peer node: its node document over the REST API and
// its collections over TAXII 2.1. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	base      *url.URL // the node's base URL
	discovery *url.URL // the TAXII discovery URL
	token     string
}

// NewClient returns a client for the node at rawURL (its base URL, or its
// TAXII discovery URL ending in /taxii2/), authenticating with token. With
// a CA certificate (PEM), the peer's certificate must chain to it alone.
func NewClient(rawURL, token string, caPEM []byte, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("peer URL %q is not an http(s) URL", rawURL)
	}
	base := *u
	base.RawQuery, base.Fragment = "", ""
	if i := strings.Index(base.Path, "/taxii2"); i >= 0 {
		base.Path = base.Path[:i]
	}
	base.Path = strings.TrimRight(base.Path, "/")
	disc := base
	disc.Path += "/taxii2/"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("the CA file holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Client{
		http:      &http.Client{Transport: tr, Timeout: timeout},
		base:      &base,
		discovery: &disc,
		token:     token,
	}, nil
}

// httpError is a peer's answer other than the one expected.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("peer answered %d: %s", e.status, e.body)
}

func (c *Client) do(ctx context.Context, method, u string, body []byte, want int, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", mediaTAXII)
	req.Header.Set("User-Agent", "cointrail")
	if body != nil {
		req.Header.Set("Content-Type", mediaTAXII)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", u, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("%s: response over %d bytes", u, maxResponse)
	}
	if res.StatusCode != want {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, &httpError{res.StatusCode, msg}
	}
	if out != nil {
		if raw, ok := out.(*[]byte); ok {
			*raw = data
		} else if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s: malformed response: %v", u, err)
		}
	}
	return res.Header, nil
}

// Document fetches the peer's node document.
func (c *Client) Document(ctx context.Context) ([]byte, error) {
	var data []byte
	_, err := c.do(ctx, "GET", c.base.String()+"/api/v1/node", nil, http.StatusOK, &data)
	if err != nil {
		return nil, fmt.Errorf("node document: %w", err)
	}
	return data, nil
}

// Collection is a collection of a peer, with the absolute URL of its API
// root.
type Collection struct {
	APIRoot string
	Info    taxii.CollectionInfo
}

// Collections lists the collections of the peer's API roots, following
// the absolute URLs discovery gives.
func (c *Client) Collections(ctx context.Context) ([]Collection, error) {
	var d taxii.Discovery
	if _, err := c.do(ctx, "GET", c.discovery.String(), nil, http.StatusOK, &d); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var out []Collection
	for _, root := range d.APIRoots {
		ru, err := c.discovery.Parse(root)
		if err != nil {
			return nil, fmt.Errorf("discovery: api root %q: %v", root, err)
		}
		if !strings.HasSuffix(ru.Path, "/") {
			ru.Path += "/"
		}
		var cols struct {
			Collections []taxii.CollectionInfo `json:"collections"`
		}
		if _, err := c.do(ctx, "GET", ru.String()+"collections/", nil, http.StatusOK, &cols); err != nil {
			return nil, fmt.Errorf("collections: %w", err)
		}
		for _, col := range cols.Collections {
			out = append(out, Collection{APIRoot: ru.String(), Info: col})
		}
	}
	return out, nil
}

// Page is one page of a collection's objects.
type Page struct {
	Objects []*stix.Object
	More    bool
	Next    string
	// LastAdded is the X-TAXII-Date-Added-Last of the page: where the next
	// pull starts.
	LastAdded string
}

// Objects fetches one page of a collection's objects added after
// addedAfter (or continuing next), every version.
func (c *Client) Objects(ctx context.Context, col Collection, addedAfter, next string, limit int) (*Page, error) {
	q := url.Values{}
	q.Set("limit", fmt.Sprint(limit))
	q.Set("match[version]", "all")
	if addedAfter != "" {
		q.Set("added_after", addedAfter)
	}
	if next != "" {
		q.Set("next", next)
	}
	var env struct {
		More    bool              `json:"more"`
		Next    string            `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	u := col.APIRoot + "collections/" + url.PathEscape(col.Info.ID) + "/objects/?" + q.Encode()
	h, err := c.do(ctx, "GET", u, nil, http.StatusOK, &env)
	if err != nil {
		return nil, err
	}
	p := &Page{More: env.More, Next: env.Next, LastAdded: h.Get("X-TAXII-Date-Added-Last")}
	if len(env.Objects) > 0 && p.LastAdded == "" {
		return nil, fmt.Errorf("objects page without X-TAXII-Date-Added-Last")
	}
	if p.LastAdded != "" {
		if _, err := time.Parse(time.RFC3339Nano, p.LastAdded); err != nil {
			return nil, fmt.Errorf("X-TAXII-Date-Added-Last %q is not a timestamp", p.LastAdded)
		}
	}
	for i, raw := range env.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("objects[%d]: %v", i, err)
		}
		p.Objects = append(p.Objects, o)
	}
	return p, nil
}

// Add posts objects (their stored JSON) to a collection and returns the
// status the peer answers.
func (c *Client) Add(ctx context.Context, col Collection, objects [][]byte) (*taxii.Status, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"objects":[`)
	for i, o := range objects {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o)
	}
	buf.WriteString("]}")
	var st taxii.Status
	u := col.APIRoot + "collections/" + url.PathEscape(col.Info.ID) + "/objects/"
	if _, err := c.do(ctx, "POST", u, buf.Bytes(), http.StatusAccepted, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

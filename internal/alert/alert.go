// Package alert turns live traces into alerts, as DESIGN section 7 says:
// an organisation watches addresses (its deposit addresses, or everything
// labelled as its own) on a chain; when the live trace of an incident
// brings tainted value to a watched address, an alert is stored, sent to
// the watch's webhook at least once from a persistent outbox (signed, with
// an idempotency key, retried with exponential backoff), streamed to
// subscribers, and recorded as a STIX sighting owned by the watching
// organisation.
//
// The package holds four parts: [Store], the SQLite file of watches,
// alerts, the webhook outbox and the live traces' state; [Service], the
// watches and alerts as an organisation sees them; [Live], which keeps the
// live traces and raises alerts; and [Deliverer], which empties the
// outbox.
package alert

import (
	"log/slog"
	"math/big"
	"time"
)

// State is where an alert stands with its organisation.
type State string

// The states of an alert.
const (
	StateNew          State = "new"
	StateAcknowledged State = "acknowledged"
)

// ParseState returns the state named s.
func ParseState(s string) (State, bool) {
	switch State(s) {
	case StateNew, StateAcknowledged:
		return State(s), true
	}
	return "", false
}

// Watch is what an organisation watches on one chain: a list of addresses,
// or every address labelled with one entity as the organisation sees the
// labels (resolved whenever the live traces are checked, so a new label
// counts at once).
type Watch struct {
	ID string `json:"id"`
	// Org is the watching organisation's identity id.
	Org   string `json:"org"`
	Chain string `json:"chain"`
	// Addresses, canonical for the chain; or Label, an entity name
	// (compared without regard to case).
	Addresses []string `json:"addresses,omitempty"`
	Label     string   `json:"label,omitempty"`
	// Min is the least tainted amount, in base units, that raises an
	// alert: under either model. "0": any.
	Min string `json:"min"`
	// Webhook is the URL alerts are POSTed to; Secret keys their HMAC.
	// The secret is never shown.
	Webhook string    `json:"webhook,omitempty"`
	Secret  string    `json:"-"`
	Created time.Time `json:"created"`
}

// LogValue logs a watch without its secret, and its webhook without
// credentials a URL may carry.
func (w Watch) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", w.ID), slog.String("org", w.Org), slog.String("chain", w.Chain),
		slog.Int("addresses", len(w.Addresses)), slog.String("label", w.Label), slog.String("webhook", redact(w.Webhook)))
}

// min returns w.Min as a number (0 if unset).
func (w *Watch) min() *big.Int {
	v, ok := new(big.Int).SetString(w.Min, 10)
	if !ok {
		return new(big.Int)
	}
	return v
}

// Actor is an actor an incident is attributed to.
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Amounts are a tainted amount under each taint model the live traces
// keep, in base units, as decimal strings.
type Amounts struct {
	FIFO    string `json:"fifo"`
	Haircut string `json:"haircut"`
}

// Alert is tainted value of an incident arriving at a watched address.
type Alert struct {
	// ID is the alert's id (a UUID), which is also the Idempotency-Key
	// of its webhook deliveries.
	ID string `json:"id"`
	// Seq orders the alerts of a node; the stream's event ids.
	Seq   int64  `json:"seq"`
	Org   string `json:"org"`
	Watch string `json:"watch"`
	Chain string `json:"chain"`
	// Asset is what was traced (the chain's own coin).
	Asset   string `json:"asset"`
	Address string `json:"address"`
	// Incident and IncidentName say whose stolen value arrived, Actors
	// who the incident is attributed to.
	Incident     string  `json:"incident"`
	IncidentName string  `json:"incident_name"`
	Actors       []Actor `json:"actors"`
	// Amounts is what arrived at Address in transaction Tx, per model.
	Amounts Amounts `json:"amounts"`
	// Tx, in block Block at BlockHeight, made at BlockTime, brought it;
	// Output is the output ("txid:vout") on a UTXO chain.
	Tx          string    `json:"tx"`
	Output      string    `json:"output,omitempty"`
	Block       string    `json:"block"`
	BlockHeight int64     `json:"block_height"`
	BlockTime   time.Time `json:"block_time"`
	// Hops is how many transactions from the theft; Path the
	// transactions from the theft to Tx, and Via the addresses the value
	// went through.
	Hops int      `json:"hops"`
	Path []string `json:"path"`
	Via  []string `json:"via"`
	// Sighting is the STIX sighting recorded for the watching
	// organisation.
	Sighting string    `json:"sighting"`
	Created  time.Time `json:"created"`
	// State, and when it was acknowledged.
	State        State      `json:"state"`
	Acknowledged *time.Time `json:"acknowledged,omitempty"`
	// Delivery is the webhook delivery, when the watch has a webhook.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Delivery is where the webhook delivery of an alert stands.
type Delivery struct {
	// State is "pending" until a delivery is acknowledged with a 2xx
	// status, then "delivered".
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// NextAttempt is when the next attempt is due (pending only).
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Delivered   *time.Time `json:"delivered,omitempty"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
)

// Filter selects alerts. The zero Filter selects every alert.
type Filter struct {
	// Org, if set, selects one organisation's alerts.
	Org string
	// State, if set, selects alerts in that state.
	State State
	// After selects alerts with a greater Seq.
	After int64
	// Limit caps how many are returned, oldest first. Default: 1,000.
	Limit int
}

package stix

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// cointrail's own STIX extensions. Their ids are fixed: every node ships the
// same definitions ([ExtensionDefinitions]) so objects mean the same thing on
// every node and to any STIX consumer.
const (
	// ProjectIdentityID is the identity that authors cointrail's extension
	// definitions.
	ProjectIdentityID = "identity--d6511b03-dc72-4621-ac63-6c85d1e8adee"

	// WalletExtensionID defines the cryptocurrency-wallet observable.
	WalletExtensionID = "extension-definition--c2eb7264-35ed-4bae-a30c-0591a52255aa"
	// TransactionExtensionID defines the cryptocurrency-transaction observable.
	TransactionExtensionID = "extension-definition--fabb8e2c-e53d-406d-8c6c-99fb207d5f28"
	// IncidentExtensionID adds losses (and the date of the theft) to incidents.
	IncidentExtensionID = "extension-definition--c02837cc-e775-4d9b-84db-911019e9f16f"
	// SharingExtensionID adds the recipients of TLP:AMBER and TLP:RED objects.
	SharingExtensionID = "extension-definition--22c84236-3ce4-45d1-8ab1-988881db128b"
	// RoleExtensionID adds a wallet's role to a related-to relationship.
	RoleExtensionID = "extension-definition--467870e1-445e-4d43-aa39-a7ae778ce6cf"
	// LabelExtensionID adds what a wallet is (an exchange's, a mixer's, a
	// bridge's...) to a related-to relationship from the wallet to the
	// identity of the service that controls it.
	LabelExtensionID = "extension-definition--b874530b-518a-4fdd-8b1c-35b67a377d62"
	// ProvenanceExtensionID records an object's owner, and the signature of
	// the owner's node over the object.
	ProvenanceExtensionID = "extension-definition--d22a9b59-0067-48d6-8718-cb50f2568dd4"
)

// ImportNamespace is the UUIDv5 namespace of the ids cointrail's importers
// derive from what a source names (an OFAC entry, a TagPack label), so that
// importing the same source twice yields the same ids.
var ImportNamespace = uuid.MustParse("bc9376e5-a85c-4c7c-bb4b-4a21ad60924e")

// ImportID returns the id an importer gives the object of type typ that
// stands for key in a source: typ--UUIDv5(ImportNamespace, typ|key...).
func ImportID(typ string, key ...string) string {
	name := typ + "|" + strings.Join(key, "|")
	return typ + "--" + uuid.NewSHA1(ImportNamespace, []byte(name)).String()
}

// The observable types cointrail defines.
const (
	TypeCryptocurrencyWallet      = "cryptocurrency-wallet"
	TypeCryptocurrencyTransaction = "cryptocurrency-transaction"
)

// Wallet roles a related-to relationship from a wallet to an incident can
// carry in the role extension.
var WalletRoles = []string{"theft-destination", "laundering", "cash-out", "victim"}

// extensionsCreated is the creation time of every extension definition;
// changing a definition means a new version with a later "modified".
const extensionsCreated = "2026-11-26T00:00:00.000Z"

// ExtensionDefinitions returns cointrail's extension definitions and the
// identity that authors them, as STIX objects to serve and to store.
func ExtensionDefinitions() []*Object {
	author := New("identity", ProjectIdentityID)
	setAll(author, map[string]any{
		"spec_version":        "2.1",
		"created":             extensionsCreated,
		"modified":            extensionsCreated,
		"name":                "cointrail",
		"identity_class":      "system",
		"description":         "The cointrail project, author of the STIX extensions cointrail nodes use to share cryptocurrency theft intelligence.",
		"object_marking_refs": []string{TLPClearID},
	})
	defs := []struct {
		id, name, desc, schema string
		types                  []string
	}{
		{WalletExtensionID, "cryptocurrency-wallet", "A cryptocurrency address on a chain.",
			`Object type "cryptocurrency-wallet" (an observable). Properties: "value" (string, required): the address in its canonical form (Ethereum-family hex in lower case, bech32 in lower case, Base58 as written); "chain" (string): the chain id, such as "bitcoin", "ethereum", "tron", "nem". Id contributing properties: "chain", "value".`,
			[]string{"new-sco"}},
		{TransactionExtensionID, "cryptocurrency-transaction", "A transaction on a chain.",
			`Object type "cryptocurrency-transaction" (an observable). Properties: "chain" (string, required); "hash" (string, required); "block_height" (integer); "timestamp" (timestamp); for UTXO chains "inputs" and "outputs" (lists of {"address", "amount"}); for account chains "transfers" (list of {"from", "to", "asset", "amount"}). Amounts are integers in the asset's base unit, written as decimal strings. Id contributing properties: "chain", "hash".`,
			[]string{"new-sco"}},
		{IncidentExtensionID, "cryptocurrency-theft losses", "What an incident took, per asset, as sources report it.",
			`Property extension for "incident". Properties: "losses" (list, required) of {"asset" (string, required: "<chain>:<SYMBOL>" or "<chain>:<token contract>"), "amount" (string: integer in the asset's base unit), "usd" (string: decimal US dollars at the time, as reported), "source" (string: the source_name of the external reference that reports it)}; "occurred" (timestamp): when the theft took place.`,
			[]string{"property-extension"}},
		{SharingExtensionID, "sharing recipients", "The organisations a TLP:AMBER or TLP:RED object is shared with.",
			`Property extension for any object. Properties: "recipients" (list of identity ids): the organisations, besides the owner, that may see the object when it is marked TLP:AMBER, TLP:AMBER+STRICT or TLP:RED.`,
			[]string{"property-extension"}},
		{RoleExtensionID, "wallet role", "The role of a wallet in an incident.",
			`Property extension for "relationship" (related-to from a cryptocurrency-wallet to an incident). Properties: "role" (string, required): one of "theft-destination", "laundering", "cash-out", "victim".`,
			[]string{"property-extension"}},
		{LabelExtensionID, "wallet label", "What service controls a wallet, as an attribution source labels it.",
			`Property extension for "relationship" (related-to from a cryptocurrency-wallet to the identity of the service or entity that controls it). Properties: "category" (string, required): the kind of service, in GraphSense's taxonomy ("exchange", "mixing_service", "bridge", "otc_broker", "defi_dex", "miner", "wallet_service", "gambling", "market", "ransomware", "scam", "perpetrator", ...); "abuse" (string): the abuse the source reports, if any; "source" (string): where the label comes from (a URL or a name). The relationship's "confidence" says how sure the source is.`,
			[]string{"property-extension"}},
		{ProvenanceExtensionID, "provenance", "Who owns an object, signed by the owner's node.",
			`Property extension for any object. Properties: "owner" (identity id, required): the organisation that submitted the object on the node where it entered the network; "signature" (object): {"alg": "ed25519", "key": <key id>, "sig": <base64 of the Ed25519 signature>} by the owner's node over the RFC 8785 canonical JSON of the object with this extension's "signature" property removed.`,
			[]string{"property-extension"}},
	}
	out := []*Object{author}
	for _, d := range defs {
		o := New("extension-definition", d.id)
		setAll(o, map[string]any{
			"spec_version":        "2.1",
			"created":             extensionsCreated,
			"modified":            extensionsCreated,
			"created_by_ref":      ProjectIdentityID,
			"name":                d.name,
			"description":         d.desc,
			"schema":              d.schema,
			"version":             "1.0.0",
			"extension_types":     d.types,
			"object_marking_refs": []string{TLPClearID},
		})
		out = append(out, o)
	}
	return out
}

func setAll(o *Object, props map[string]any) {
	for k, v := range props {
		if err := o.Set(k, v); err != nil {
			panic(err)
		}
	}
}

// Extension returns the raw properties of the extension with key id in the
// object's "extensions", or nil.
func (o *Object) Extension(id string) map[string]json.RawMessage {
	exts := o.exts.Load()
	if exts == nil {
		var m map[string]map[string]json.RawMessage
		if _, err := o.Decode("extensions", &m); err != nil {
			m = nil
		}
		exts = &m
		o.exts.Store(exts)
	}
	ext, ok := (*exts)[id]
	if !ok {
		return nil
	}
	// A copy: callers may change it.
	out := make(map[string]json.RawMessage, len(ext))
	for k, v := range ext {
		out[k] = v
	}
	return out
}

// builtinIDs are the objects every node installs itself.
var builtinIDs = func() map[string]bool {
	ids := map[string]bool{}
	for _, o := range append(TLPMarkingDefinitions(), ExtensionDefinitions()...) {
		ids[o.ID] = true
	}
	for id := range tlpByID {
		ids[id] = true
	}
	return ids
}()

// IsBuiltin reports whether id is one of the objects every node installs
// itself: the TLP marking definitions (and their older ids), cointrail's
// extension definitions and the identity that authors them.
func IsBuiltin(id string) bool { return builtinIDs[id] }

// SetExtension sets the extension with key id to props, adding the
// extension_type given.
func (o *Object) SetExtension(id, extensionType string, props map[string]any) error {
	var exts map[string]json.RawMessage
	if _, err := o.Decode("extensions", &exts); err != nil {
		return err
	}
	if exts == nil {
		exts = map[string]json.RawMessage{}
	}
	m := map[string]any{"extension_type": extensionType}
	for k, v := range props {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	exts[id] = raw
	return o.Set("extensions", exts)
}

// Recipients returns the identity ids the sharing extension names.
func (o *Object) Recipients() []string {
	ext := o.Extension(SharingExtensionID)
	if ext == nil {
		return nil
	}
	var r []string
	if err := json.Unmarshal(ext["recipients"], &r); err != nil {
		return nil
	}
	return r
}

// WalletRole returns the role the role extension gives a relationship.
func (o *Object) WalletRole() string {
	ext := o.Extension(RoleExtensionID)
	if ext == nil {
		return ""
	}
	var r string
	_ = json.Unmarshal(ext["role"], &r)
	return r
}

// Loss is what an incident took of one asset.
type Loss struct {
	// Asset is "<chain>:<SYMBOL>" for a native asset or
	// "<chain>:<contract>" for a token.
	Asset string `json:"asset"`
	// Amount is the integer amount in the asset's base unit, as a decimal
	// string ("" if unknown).
	Amount string `json:"amount,omitempty"`
	// USD is the value in US dollars at the time, as reported, a decimal
	// string ("" if unknown).
	USD string `json:"usd,omitempty"`
	// Source names the external reference that reports the loss.
	Source string `json:"source,omitempty"`
}

// IncidentLosses returns the losses and the date of the theft the incident
// extension records.
func (o *Object) IncidentLosses() (losses []Loss, occurred string) {
	ext := o.Extension(IncidentExtensionID)
	if ext == nil {
		return nil, ""
	}
	_ = json.Unmarshal(ext["losses"], &losses)
	_ = json.Unmarshal(ext["occurred"], &occurred)
	return losses, occurred
}

var (
	baseUnitRE = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	usdRE      = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	assetRE    = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9._-]+$`)
)

// ParseAmount parses an amount in base units: a non-negative integer written
// as a decimal string without sign, exponent or leading zeros.
func ParseAmount(s string) (*big.Int, error) {
	if !baseUnitRE.MatchString(s) {
		return nil, fmt.Errorf("amount %q is not an integer in base units written as a decimal string", s)
	}
	n, _ := new(big.Int).SetString(s, 10)
	return n, nil
}

// ParseUSD parses a US dollar figure: a non-negative decimal string.
func ParseUSD(s string) (*big.Rat, error) {
	if !usdRE.MatchString(s) {
		return nil, fmt.Errorf("USD value %q is not a non-negative decimal string", s)
	}
	r, _ := new(big.Rat).SetString(s)
	return r, nil
}

func checkLoss(i int, l Loss) []string {
	var p []string
	if !assetRE.MatchString(l.Asset) {
		p = append(p, fmt.Sprintf("losses[%d]: asset %q is not of the form <chain>:<symbol or contract>", i, l.Asset))
	}
	if l.Amount != "" {
		if _, err := ParseAmount(l.Amount); err != nil {
			p = append(p, fmt.Sprintf("losses[%d]: %v", i, err))
		}
	}
	if l.USD != "" {
		if _, err := ParseUSD(l.USD); err != nil {
			p = append(p, fmt.Sprintf("losses[%d]: %v", i, err))
		}
	}
	if l.Amount == "" && l.USD == "" {
		p = append(p, fmt.Sprintf("losses[%d]: needs an amount, a usd value or both", i))
	}
	return p
}

// Label is what a wallet label says: the category of the service that
// controls the wallet, the abuse reported, and the label's source.
type Label struct {
	Category string `json:"category"`
	Abuse    string `json:"abuse,omitempty"`
	Source   string `json:"source,omitempty"`
}

// WalletLabel returns the label extension of a relationship, if it has one.
func (o *Object) WalletLabel() (Label, bool) {
	ext := o.Extension(LabelExtensionID)
	if ext == nil {
		return Label{}, false
	}
	var l Label
	_ = json.Unmarshal(ext["category"], &l.Category)
	_ = json.Unmarshal(ext["abuse"], &l.Abuse)
	_ = json.Unmarshal(ext["source"], &l.Source)
	return l, true
}

// Signature is a node's signature over an object.
type Signature struct {
	Alg string `json:"alg"`
	Key string `json:"key"`
	Sig string `json:"sig"`
}

// Provenance returns the owner and signature the provenance extension
// records.
func (o *Object) Provenance() (owner string, sig *Signature) {
	ext := o.Extension(ProvenanceExtensionID)
	if ext == nil {
		return "", nil
	}
	_ = json.Unmarshal(ext["owner"], &owner)
	if raw, ok := ext["signature"]; ok {
		sig = new(Signature)
		if json.Unmarshal(raw, sig) != nil {
			sig = &Signature{}
		}
	}
	return owner, sig
}

// Package misp converts MISP events and galaxies to STIX 2.1 objects and
// back: [ParseEvents] reads events in the MISP core format
// (draft-dulaunoy-misp-core-format), [WriteEvents] writes reports back as
// events, and [ParseGalaxy] reads a MISP galaxy cluster file.
//
// The mapping is reversible for everything the STIX objects hold:
// ParseEvents(WriteEvents(ParseEvents(x))) gives the same objects, byte for
// byte in canonical JSON. What STIX has no property for is kept in "x_misp_"
// properties, so that a round trip through a node loses nothing it stored.
// Misp-stix (MISP's own converter) was the reference for the shapes; where
// it exports cryptocurrency addresses as custom objects, this package makes
// cointrail's cryptocurrency observables.
//
// # Events
//
// An event becomes a report: name from "info", created and modified from
// "timestamp", published from "publish_timestamp" (from "date" when the
// event was never published, else from "timestamp"), an external reference
// {"source_name": "misp", "external_id": <event uuid>}, labels from its tags
// (all of them, tlp tags included, except the tags of the threat-actor
// clusters it carries), object_refs every object made from the event,
// sorted. Its id is stix.ImportID("report", "misp-event", <uuid>), so the
// same event always gives the same report. "date", "published",
// "threat_level_id", "analysis", "distribution", "SharingGroup", "Orgc" and
// "extends_uuid" are kept as x_misp_date, x_misp_published, and so on. An
// event from which nothing is imported refers to a note that says so.
//
// Instance-local members are not read: numeric ids ("id", "event_id",
// "org_id", "sharing_group_id", ...), counts, "Org", "RelatedEvent",
// "ShadowAttribute" (proposals), "Sighting", "event_creator_email", tag
// colours. Event reports (Markdown) are reported as skipped.
//
// # Attributes
//
// The attribute types of cryptocurrency addresses (MISP's describeTypes has
// three: btc, dash and xmr, in category "Financial fraud") become a
// cryptocurrency-wallet: chain from the type's ticker through
// address.Ticker (bitcoin, dash, monero), value address.Canonical. A value
// that fails its chain's checksum is skipped and reported. The attribute
// itself becomes, as misp-stix does, an indicator when "to_ids" is set,
// with the pattern
//
//	[cryptocurrency-wallet:chain = '<chain>' AND cryptocurrency-wallet:value = '<value>']
//
// and validity first_seen (else the timestamp) to last_seen, or else an
// observed-data of the wallet observed from first_seen to last_seen. Both
// take created and modified from the attribute's timestamp, the comment
// (an indicator's description, an observed-data's x_misp_comment), the tags
// as labels, and keep x_misp_type, x_misp_category and x_misp_value (as
// written). Their ids are stix.ImportID(<type>, "misp-attribute", <uuid>).
//
// Every other attribute becomes an x-misp-attribute object (misp-stix's
// custom object) with x_misp_type, x_misp_category, x_misp_value,
// x_misp_to_ids, x_misp_comment, x_misp_first_seen, x_misp_last_seen and
// x_misp_data, so nothing is lost. Deleted attributes are skipped.
//
// # Objects
//
// A MISP object becomes one STIX object that keeps its attributes, each
// with its value as written and its metadata, in x_misp_attributes, and its
// references to other elements in x_misp_references. The templates that
// name cryptocurrency observables also make them:
//   - coin-address: a wallet from "address" (Bitcoin), "address-xmr"
//     (Monero) or "address-crypto", on the chain of "symbol"
//     (address.Ticker: ETH, USDT on 0x..., TRX, ...);
//   - btc-wallet: a Bitcoin wallet from "wallet-address";
//   - btc-transaction: a Bitcoin cryptocurrency-transaction from
//     "transaction-number", a wallet from "btc-address", and, when the
//     object names one transaction, one address and one "value_BTC", that
//     address as an output (a positive value: it received) or an input (a
//     negative value: it sent) with the amount in satoshi;
//   - cryptocurrency-transaction: the same on the chain of "symbol"
//     (Bitcoin without one), with "value": inputs and outputs on UTXO
//     chains, a transfer (from or to the address, asset, amount) on account
//     chains.
//
// Such an object is an indicator (pattern: its observables, OR'ed) when one
// of their attributes has "to_ids", else an observed-data of them. Amounts
// are converted exactly, with math/big, from MISP's decimals to integers
// in the asset's base unit (satoshi, wei, ...) written as decimal strings;
// an amount with more decimals than the base unit has is malformed. A
// transaction's observables merge across objects and events: its inputs,
// outputs and transfers are the union of what they say. Other templates
// (and a coin-address without a usable symbol) become an x-misp-object.
// An object of a known template that lacks what the template requires
// ("required", "requiredOneOf" in MISP/misp-objects) is malformed; one
// whose address fails its checksum is skipped and reported.
//
// # Galaxies
//
// Clusters of the threat-actor galaxy, on the event or on its attributes,
// become threat-actors: name from "value", aliases from meta "synonyms"
// (except those that only repeat the name),
// external references {"source_name": "misp-galaxy", "external_id":
// <cluster uuid>} then one "url" per meta "refs", the rest of "meta" in
// x_misp_meta, and for each meta "country" (ISO 3166-1 alpha-2) a location
// it is located-at. The id is stix.ImportID("threat-actor", "misp-galaxy",
// <cluster uuid>) whether the cluster comes from an event or from
// [ParseGalaxy], so an event's Lazarus Group is the galaxy's. (Misp-stix
// reuses the cluster uuid as the STIX uuid; an import id instead keeps
// cointrail's objects apart from the differently shaped ones misp-stix
// bundles would bring under that id.) Galaxies carry
// a release version but no date: created is the Unix epoch and modified the
// version as seconds after it, so a newer release is a newer STIX version
// and the same release is the same object. Clusters of MISP's public
// galaxies are TLP:CLEAR; a custom cluster ("default": false) is marked by
// its own distribution (TLP:AMBER, the owner only, without one). Clusters of other galaxies are skipped and reported, and
// their tags stay labels.
//
// # Markings
//
// Each element's TLP marking comes from its tags of the tlp taxonomy
// (tlp:white and tlp:clear to TLP:CLEAR; tlp:green; tlp:amber;
// tlp:amber+strict; tlp:red; the strictest if several) and from its
// distribution: 0 (your organisation only) is TLP:AMBER without recipients,
// 1 (this community) and 2 (connected communities) TLP:GREEN, 3 (all
// communities) TLP:CLEAR, 4 (sharing group) TLP:AMBER with the sharing
// group's organisations as recipients (through [Options.Orgs]; those the
// node does not know are reported), 5 (inherit) the event's. Precedence:
//   - an explicit tlp tag wins over the same element's distribution;
//   - an element without a tlp tag of its own inherits its event's (or, in
//     an object, its object's) level, which its own distribution can make
//     stricter but never looser, as in MISP, where an attribute is never
//     seen by more than its event;
//   - recipients come from the distribution in force (0: none; 4: the
//     sharing group, within the parent's when both name one) and apply to
//     TLP:AMBER, TLP:AMBER+STRICT and TLP:RED.
//
// An event with neither tag nor distribution is left unmarked. An object
// is marked as strictly as the strictest of its attributes. Observables
// that several elements name (a wallet in two attributes) take the least
// restrictive marking among them, with every recipient of the elements at
// that level: the address is no more secret than its most open mention.
//
// # Export
//
// WriteEvents writes {"response": [{"Event": ...}, ...]}, as MISP's REST
// API answers and as ParseEvents reads, one event a line, events sorted by
// uuid, attributes and objects by timestamp. Tags are the labels, galaxy
// clusters are written from the threat-actors (with their
// misp-galaxy:threat-actor tags), attributes and objects from the objects
// made from them.
//
// The functions keep no state between calls and are safe for concurrent
// use; they read and write only the readers and writers they are handed.
package misp

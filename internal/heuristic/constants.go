package heuristic

// Every threshold of the detectors is here, once, with the public detector
// it comes from. DESIGN section 6 fixes the main ones; where it is silent
// the references are:
//
//   - GraphSense: graphsense/graphsense-lib,
//     src/graphsenselib/db/asynchronous/services/heuristics_service.py
//     (commit 012becad8f32d41ce0eb37c27f505c2205976448), whose constant
//     names are quoted below (WASABI_10_DENOM_SAT, ...).
//   - BlockSci: citp/BlockSci src/blocksci/heuristics/tx_identification.cpp
//     (isCoinjoin), and its CoinJoin-analysis fork mmstanone/blocksci, same
//     file (looksLikePeelingChain, isPeelingChain, isWhirlpoolCoinJoin,
//     getConsolidationType), which ports Dumplings' detectors.
//
// Amounts are satoshi (base units). Ratios are integer percentages or
// divisors, compared exactly, so no float ever holds an amount.

// Peel chains.
const (
	// PeelInputs and PeelOutputs are the shape of one peel: one input, two
	// outputs besides OP_RETURN. BlockSci looksLikePeelingChain
	// (outputCount == 2 && inputCount == 1); DESIGN section 6 sets
	// OP_RETURN outputs aside.
	PeelInputs  = 1
	PeelOutputs = 2
	// PeelMaxSharePercent bounds the peeled (smaller) output: at most 10%
	// of the two outputs' total. DESIGN section 6; BlockSci's
	// isPeelingChain checks no split at all, so the lopsided split is ours.
	PeelMaxSharePercent = 10
	// PeelChainMin is the number of peels in a row that make a peel chain.
	// DESIGN section 6 ("three or more in a row"); BlockSci's
	// isPeelingChain is satisfied by two (a peel next to a peel).
	PeelChainMin = 3
)

// Wasabi 1.x (ZeroLink: one denomination in 1.0, mixing levels in 1.1).
const (
	// WasabiDenomination is Wasabi 1.x's base denomination, 0.1 BTC.
	// GraphSense WASABI_10_DENOM_SAT; DESIGN section 6.
	WasabiDenomination = 10_000_000
	// WasabiTolerance is how far the base denomination may lie from
	// WasabiDenomination: 5%, which admits the coordinator's varying base
	// (1.1 moved it round by round). Level i of 1.1 is 2^i times the base,
	// within 2^i times this. GraphSense WASABI_10_EPSILON_SAT; DESIGN
	// section 6.
	WasabiTolerance = 500_000
	// Wasabi1MinInputs is the least number of inputs of a 1.x round.
	// GraphSense WASABI_1X_MIN_INPUTS; DESIGN section 6.
	Wasabi1MinInputs = 10
	// Wasabi1MaxInputAddressPercent is the largest share of a round's
	// inputs one input address may hold (a sweep of one wallet is not a
	// CoinJoin). GraphSense WASABI_1X_MAX_TOP_INPUT_SHARE (0.1); DESIGN
	// section 6.
	Wasabi1MaxInputAddressPercent = 10
	// Wasabi1MinParticipants is the least number of equal outputs (the
	// anonymity set). GraphSense WASABI_1X_MIN_PARTICIPANTS; DESIGN
	// section 6.
	Wasabi1MinParticipants = 3
	// Wasabi1MaxInputsPerParticipant bounds the distinct input addresses
	// by this many per participant. GraphSense WASABI_10_A_MAX and
	// WASABI_11_A_MAX.
	Wasabi1MaxInputsPerParticipant = 7
	// Wasabi11MinLevelCount is how many outputs make a mixing level
	// active. GraphSense _wasabi_11_heuristic (count >= 2).
	Wasabi11MinLevelCount = 2
	// Wasabi1SmallRound: below this many inputs a round whose outputs
	// total a whole multiple of its most frequent value (to within
	// 1/Wasabi1SplitResidualDivisor) is an N-way split payment, not a mix.
	// GraphSense WASABI_1X_SMALL_ROUND_GATE and WASABI_1X_MAX_SPLIT_RESIDUAL
	// (0.0001).
	Wasabi1SmallRound           = 20
	Wasabi1SplitResidualDivisor = 10_000
)

// Wasabi 2.0 (WabiSabi).
const (
	// Wasabi20MinInputs is the least number of inputs of a WabiSabi round.
	// GraphSense WASABI_20_MIN_INPUTS (lowered from 50 for the smaller
	// coordinators since 2024); DESIGN section 6.
	Wasabi20MinInputs = 20
	// Wasabi20MinOutput is the smallest output a round creates.
	// GraphSense WASABI_20_V_MIN; DESIGN section 6.
	Wasabi20MinOutput = 5_000
	// Wasabi20MinDenominationCount is how often a value occurs to be a
	// denomination. GraphSense WASABI_20_MIN_DENOM_FREQ; DESIGN section 6.
	Wasabi20MinDenominationCount = 2
	// Wasabi20MinDenominations is the least number of denominations (the
	// power-of-two schedule gives several; an N-way payout gives one).
	// GraphSense _wasabi_20_heuristic (len(denom_set) >= 3); DESIGN
	// section 6.
	Wasabi20MinDenominations = 3
	// Wasabi20MaxInputAddressPercent is as Wasabi1MaxInputAddressPercent.
	// GraphSense WASABI_20_MAX_TOP_INPUT_SHARE (0.1).
	Wasabi20MaxInputAddressPercent = 10
)

// Whirlpool (Samourai). The pools and their coordinator fees: GraphSense
// WHIRLPOOL_POOLS; the pool sizes also BlockSci isWhirlpoolCoinJoin and
// DESIGN section 6.
const (
	WhirlpoolPool100k = 100_000    // 0.001 BTC
	WhirlpoolPool1M   = 1_000_000  // 0.01 BTC
	WhirlpoolPool5M   = 5_000_000  // 0.05 BTC
	WhirlpoolPool50M  = 50_000_000 // 0.5 BTC

	WhirlpoolFee100k = 5_000
	WhirlpoolFee1M   = 50_000
	WhirlpoolFee5M   = 175_000
	WhirlpoolFee50M  = 1_750_000
)

const (
	// WhirlpoolMinInputs and WhirlpoolMaxInputs bound a mix: 5 inputs, up
	// to 8 in surge cycles, and as many outputs. GraphSense
	// _whirlpool_coinjoin_heuristic; DESIGN section 6.
	WhirlpoolMinInputs = 5
	WhirlpoolMaxInputs = 8
	// WhirlpoolPremixMinMargin and WhirlpoolPremixMaxMargin bound what a
	// premix output (and a new entrant's input to a mix) carries above the
	// pool size to pay the mix's miner fee. GraphSense
	// WHIRLPOOL_EPSILON_MIN and WHIRLPOOL_EPSILON_MAX; BlockSci
	// isWhirlpoolCoinJoin (below 110,000).
	WhirlpoolPremixMinMargin = 100
	WhirlpoolPremixMaxMargin = 110_000
	// WhirlpoolMinNewEntrants and WhirlpoolMaxNewEntrants: a mix has at
	// least one new entrant (a premix input) and at least one remixer.
	// GraphSense _whirlpool_coinjoin_heuristic (1 <= new entrants <= 4).
	WhirlpoolMinNewEntrants = 1
	WhirlpoolMaxNewEntrants = 4
	// WhirlpoolTx0NullData is the number of OP_RETURN outputs of a Tx0
	// (its coordinator payload). GraphSense _whirlpool_tx0_heuristic;
	// DESIGN section 6.
	WhirlpoolTx0NullData = 1
	// WhirlpoolTx0MinPremix and WhirlpoolTx0MaxPremix bound a Tx0's premix
	// outputs. GraphSense WHIRLPOOL_TX0_A_MAX; DESIGN section 6.
	WhirlpoolTx0MinPremix = 1
	WhirlpoolTx0MaxPremix = 70
	// WhirlpoolTx0MaxOthers is how many spendable outputs a Tx0 has
	// besides its premix outputs: the coordinator fee and a change.
	// GraphSense _whirlpool_tx0_heuristic (n_premix >= outputs - 2).
	WhirlpoolTx0MaxOthers = 2
	// WhirlpoolTx0FeeMinDivisor and WhirlpoolTx0FeeMaxMultiple bound the
	// coordinator fee output: from the pool fee halved (a coupon) to three
	// times it. GraphSense WHIRLPOOL_ETA1 (0.5) and WHIRLPOOL_ETA2 (3).
	WhirlpoolTx0FeeMinDivisor  = 2
	WhirlpoolTx0FeeMaxMultiple = 3
)

// JoinMarket.
const (
	// JoinMarketDust: outputs of this value or less are not a
	// denomination. GraphSense JOINMARKET_DUST_THRESHOLD; BlockSci
	// isCoinjoin (excludes 546 and 2730); DESIGN section 6.
	JoinMarketDust = 2_730
	// JoinMarketMinParticipants is the least count of the denomination.
	// GraphSense JOINMARKET_MIN_PARTICIPANTS; DESIGN section 6.
	JoinMarketMinParticipants = 3
	// JoinMarketLargeRound: from this many inputs on, a round must look
	// like makers and a taker rather than an exchange batch: at most
	// JoinMarketMaxInputsPerParticipant inputs per participant, and at
	// least JoinMarketMinOutputsPerTenParticipants outputs per ten
	// participants (denomination plus change). GraphSense
	// JOINMARKET_LARGE_ROUND_THRESHOLD, JOINMARKET_MAX_INPUTS_PER_PARTICIPANT
	// and JOINMARKET_MIN_OUTPUTS_PER_PARTICIPANT (1.7).
	JoinMarketLargeRound                   = 50
	JoinMarketMaxInputsPerParticipant      = 20
	JoinMarketMinOutputsPerTenParticipants = 17
)

// Vetoes.
const (
	// StonewallMinOutputs and StonewallMaxOutputs: a Stonewall has 3
	// (simplified) or 4 outputs besides OP_RETURN, StonewallMinInputs or
	// more inputs, and exactly one value occurring exactly twice.
	// GraphSense _is_stonewall; DESIGN section 6.
	StonewallMinOutputs = 3
	StonewallMaxOutputs = 4
	StonewallMinInputs  = 2
	// StonewallMinDenomination: a pair below this is dust, not Stonewall's
	// pseudo-mix denomination. GraphSense STONEWALL_V_MIN.
	StonewallMinDenomination = 5_000
)

// Fan-outs and consolidations. No GraphSense detector and only BlockSci's
// getConsolidationType exist; the fan-out mirrors it.
const (
	// ConsolidationMinInputs and ConsolidationMaxOutputs: many inputs to
	// one or two outputs (DESIGN section 6). Two or more inputs to one
	// output is BlockSci's ConsolidationType::Certain.
	ConsolidationMinInputs  = 2
	ConsolidationMaxOutputs = 2
	// ConsolidationMaxInputPercent and ConsolidationMainOutputPercent: with
	// two outputs, no input may exceed half the outputs' total and the
	// larger output must exceed 90% of it (BlockSci
	// ConsolidationType::Possible; its input:output ratio of 2 always holds
	// for two or more inputs to two outputs).
	ConsolidationMaxInputPercent   = 50
	ConsolidationMainOutputPercent = 90
	// FanOutMaxInputs and FanOutMinOutputs: one or few inputs to many
	// outputs. More than 10 outputs is where GraphSense's change
	// heuristic stops treating a transaction as a payment with change
	// (_one_time_change_heuristic: len(outputs) > 10); two inputs mirror
	// ConsolidationMaxOutputs, so a batch funded by a wallet's few coins
	// counts and a CoinJoin's many inputs do not.
	FanOutMaxInputs  = 2
	FanOutMinOutputs = 11
)

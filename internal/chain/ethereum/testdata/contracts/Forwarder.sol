// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Forwarder: moves ether on through internal calls, for
/// cointrail's dev-node tests of call traces.
contract Forwarder {
    /// @notice Accepts ether at deployment, so that a contract creation
    /// carries value.
    constructor() payable {}

    /// @notice Sends msg.value on to `to`; reverts, with everything, if the
    /// call fails.
    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }

    /// @notice Tries to send msg.value on to `to` and keeps it if that call
    /// fails: a reverted subcall inside a successful transaction.
    function tryForward(address payable to) external payable returns (bool ok) {
        (ok, ) = to.call{value: msg.value}("");
    }

    /// @notice Ends the contract and sends its whole balance to `to`
    /// through SELFDESTRUCT (since Cancun, EIP-6780, only the balance moves:
    /// the code stays, as the contract was not created in this transaction).
    function destroy(address payable to) external {
        selfdestruct(to);
    }
}

// Capability invocations from user code. A domain starts with its root CNode's own
// capability in slot 0 and a RAM capability in slot 1; everything else it makes by
// retyping, copying and minting. Operations and status codes are those of
// Core/Sources/Capabilities/Invocation.swift.
import UserRuntimeC

public enum CapabilityOperation: UInt64 {
    case identify = 0, retype, copy, mint, delete, revoke
}

/// Invokes the capability at `slot` (an encoded capability address).
public func invoke(_ slot: UInt64, _ operation: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0,
                   _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> (status: UInt64, value: UInt64) {
    let result = user_invoke(slot, operation, a0, a1, a2, a3)
    return (result.status, result.value)
}

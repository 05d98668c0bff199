// Capability invocations from user code. A domain starts with its root CNode's own
// capability in slot 0, a RAM capability in slot 1, and its address space in the CNode
// in slot 63 (the RAM block it was made from, its PML4, then its tables and frames);
// everything else it makes by retyping, copying, minting and mapping. Operations and status codes are those of
// Core/Sources/Capabilities/Invocation.swift.
import UserRuntimeC

public enum CapabilityOperation: UInt64 {
    case identify = 0, retype, copy, mint, delete, revoke
    case map = 9, unmap
}

/// The encoded address of slot `leaf` of the CNode in root slot `root`.
public func capabilityAddress(root: UInt32, leaf: UInt32) -> UInt64 {
    1 << 63 | UInt64(leaf) << 32 | UInt64(root)
}

/// This domain's own PML4.
public let ownPML4 = capabilityAddress(root: 63, leaf: 1)

/// Makes a PDPT, a page directory and a page table from the RAM at `ram` into root slots
/// `first`, `first + 1` and `first + 2`, and maps them below entry `pml4Entry` of this
/// domain's PML4, each at entry 0: the page table then maps the 2 MiB at
/// `pml4Entry << 39`. Returns the first status that is not success, or 0.
public func makePageTable(from ram: UInt64, into first: UInt64, pml4Entry: UInt64) -> UInt64 {
    let types: [UInt64] = [6, 7, 8]          // PDPT, page directory, page table
    for (index, type) in types.enumerated() {
        let made = invoke(ram, CapabilityOperation.retype.rawValue, type, 0, 1, first + UInt64(index))
        guard made.status == 0 else { return made.status }
        let parent = index == 0 ? ownPML4 : first + UInt64(index) - 1
        let mapped = invoke(parent, CapabilityOperation.map.rawValue, index == 0 ? pml4Entry : 0, first + UInt64(index))
        guard mapped.status == 0 else { return mapped.status }
    }
    return 0
}

/// Invokes the capability at `slot` (an encoded capability address).
public func invoke(_ slot: UInt64, _ operation: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0,
                   _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> (status: UInt64, value: UInt64) {
    let result = user_invoke(slot, operation, a0, a1, a2, a3)
    return (result.status, result.value)
}

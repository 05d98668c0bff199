// How user code names a slot: a two-level address resolved through its domain's CSpace,
// in the style of Barrelfish's L1/L2 CNodes.
//
// A CSpace is a root CNode. An address is either one slot of the root CNode (`.root(i)`),
// or a slot of the CNode whose capability sits in a root slot (`.leaf(i, j)`). There are
// exactly two levels, so resolution is two array lookups and never loops. A CNode's
// capability can be stored anywhere, but only one held in the root is a way to address
// slots.
//
// Register encoding (the syscall ABI passes one 64-bit word): bits 0..<32 are the root
// slot; bit 63 set means two levels, with the leaf slot in bits 32..<63. A one-level
// address with any of bits 32..<63 set is malformed.

/// A slot in a CSpace.
public struct CapabilityAddress: Hashable, Sendable {
    /// The slot of the root CNode, or, for a two-level address, the root slot that holds
    /// the capability of the CNode named by `leafSlot`.
    public var rootSlot: UInt32
    /// The slot within the CNode at `rootSlot`, nil to name the root slot itself.
    public var leafSlot: UInt32?

    public init(rootSlot: UInt32, leafSlot: UInt32? = nil) {
        self.rootSlot = rootSlot
        self.leafSlot = leafSlot
    }

    /// Slot `slot` of the root CNode.
    public static func root(_ slot: UInt32) -> CapabilityAddress { CapabilityAddress(rootSlot: slot) }
    /// Slot `slot` of the CNode whose capability is in root slot `cnode`.
    public static func leaf(_ cnode: UInt32, _ slot: UInt32) -> CapabilityAddress {
        CapabilityAddress(rootSlot: cnode, leafSlot: slot)
    }

    static let twoLevels: UInt64 = 1 << 63
    static let leafMask: UInt64 = 0x7FFF_FFFF

    /// Decodes the register form; nil if malformed.
    public init?(encoded: UInt64) {
        rootSlot = UInt32(truncatingIfNeeded: encoded)
        let upper = (encoded >> 32) & Self.leafMask
        if encoded & Self.twoLevels != 0 {
            leafSlot = UInt32(upper)
        } else {
            guard upper == 0 else { return nil }
            leafSlot = nil
        }
    }

    /// The register form. A leaf slot of 2³¹ or more (past the end of every CNode) is
    /// encoded as 2³¹ − 1, which is past the end of every CNode too.
    public var encoded: UInt64 {
        guard let leafSlot else { return UInt64(rootSlot) }
        return Self.twoLevels | (min(UInt64(leafSlot), Self.leafMask) << 32) | UInt64(rootSlot)
    }
}

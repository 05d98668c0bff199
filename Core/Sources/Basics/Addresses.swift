// Typed values for the numbers that every part of Swordfish passes around. A raw
// UInt64 could be a physical address, a length or a core number; these wrappers make
// the compiler tell them apart.

/// A physical memory address. The kernel identity-maps physical memory, so inside the
/// kernel a physical address is also a valid kernel pointer once it is known to be mapped.
public struct PhysicalAddress: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static func + (a: Self, offset: UInt64) -> Self { Self(a.rawValue &+ offset) }
    public static func - (a: Self, b: Self) -> UInt64 { a.rawValue &- b.rawValue }

    /// Rounds down to a multiple of `alignment`, which must be a power of two.
    public func alignedDown(to alignment: UInt64) -> Self { Self(rawValue & ~(alignment &- 1)) }
    /// Rounds up to a multiple of `alignment`, which must be a power of two; saturates
    /// at the top of the address space instead of wrapping.
    public func alignedUp(to alignment: UInt64) -> Self {
        let (sum, overflow) = rawValue.addingReportingOverflow(alignment &- 1)
        return overflow ? Self(UInt64.max & ~(alignment &- 1)) : Self(sum & ~(alignment &- 1))
    }
    public func isAligned(to alignment: UInt64) -> Bool { rawValue & (alignment &- 1) == 0 }
}

/// A half-open range of physical memory, `[start, end)`.
public struct PhysicalRange: Hashable, Sendable {
    public var start: PhysicalAddress
    public var end: PhysicalAddress
    public init(start: PhysicalAddress, end: PhysicalAddress) {
        self.start = start
        self.end = max(start, end)
    }
    public var size: UInt64 { end - start }
    public var isEmpty: Bool { start == end }
    public func contains(_ address: PhysicalAddress) -> Bool { address >= start && address < end }
    public func overlaps(_ other: PhysicalRange) -> Bool { start < other.end && other.start < end }
}

extension Array where Element == PhysicalRange {
    /// Sorted by start, empty ranges dropped, overlapping and touching ranges merged.
    public var normalized: [PhysicalRange] {
        var result: [PhysicalRange] = []
        for range in filter({ !$0.isEmpty }).sorted(by: { $0.start < $1.start }) {
            if let last = result.last, range.start <= last.end {
                result[result.count - 1].end = Swift.max(last.end, range.end)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// Swordfish's own number for a core: 0 is the bootstrap core, the others are numbered
/// in the order the MADT lists them. Not the same as the APIC ID.
public struct CoreID: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ value: Int) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let bootstrap = CoreID(0)
}

/// A local APIC ID as the firmware (MADT) and the hardware report it. xAPIC IDs are
/// 8 bits, x2APIC IDs 32 bits.
public struct APICID: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
}

public extension UInt64 {
    static let kibibyte: UInt64 = 1 << 10
    static let mebibyte: UInt64 = 1 << 20
    static let gibibyte: UInt64 = 1 << 30
}

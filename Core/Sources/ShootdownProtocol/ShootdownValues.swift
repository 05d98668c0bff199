// The small typed values the shootdown protocol speaks in: which address space, which
// pages, what changed, which operation, and how a request ended. Each wraps one integer
// or two so that an address space is never passed where a page count belongs.
import Basics
import PageTables

/// An address space as the monitors name it: the same number on every core a domain
/// spans (0 is no address space).
public struct AddressSpaceID: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// `pages` 4 KiB pages from `start`, in the lower (user) half of the address space.
public struct VirtualRange: Hashable, Sendable {
    public static let pageSize: UInt64 = 4096
    /// The first address above the user half: user mappings lie below it.
    public static let userLimit: UInt64 = 1 << 47

    public var start: VirtualAddress
    public var pages: UInt64

    public init(start: VirtualAddress, pages: UInt64) {
        self.start = start
        self.pages = pages
    }

    /// True for a range a correct monitor names: page-aligned, at least one page, and
    /// wholly below `userLimit` (the kernel's half is never shot down this way).
    public var isValid: Bool {
        start.rawValue % Self.pageSize == 0 && pages >= 1 && start.rawValue < Self.userLimit
            && pages <= (Self.userLimit - start.rawValue) / Self.pageSize
    }

    /// True if page `number` (address / page size) lies in the range.
    public func contains(page number: UInt64) -> Bool {
        let first = start.rawValue / Self.pageSize
        return number >= first && number - first < pages
    }
}

/// What the initiator changed in the page tables before the shootdown: the pages are
/// gone, or lost their write right. Either way every cached translation is stale.
public enum ShootdownKind: UInt8, Sendable, CaseIterable {
    case unmap = 1
    case protect = 2
}

/// One change a shootdown makes every participating core forget.
public struct AddressSpaceChange: Hashable, Sendable {
    public var space: AddressSpaceID
    public var range: VirtualRange
    public var kind: ShootdownKind

    public init(space: AddressSpaceID, range: VirtualRange, kind: ShootdownKind) {
        self.space = space
        self.range = range
        self.kind = kind
    }

    public var isValid: Bool { space.rawValue != 0 && range.isValid }
}

/// An operation across cores: the initiating core and its ticket (never 0), so two
/// initiators' operations never share a name.
public struct ShootdownOperation: Hashable, Sendable {
    public var root: CoreID
    public var ticket: UInt32

    public init(root: CoreID, ticket: UInt32) {
        self.root = root
        self.ticket = ticket
    }
}

/// The local caller's name for a request, given back in its answer.
public struct ShootdownRequestID: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
}

/// How a request ended. Every request gets exactly one answer.
public enum ShootdownStatus: UInt8, Sendable, CaseIterable {
    /// Every participant still running has dropped the old translation; the answer names
    /// the participants that stopped before they could.
    case completed = 0
    /// The range or address space is not one a correct caller names.
    case invalidChange
    /// A participant is outside the machine or unknown to the knowledge base.
    case invalidParticipants
    /// Already `maximumOperations` of this core's shootdowns are in flight.
    case busy
}

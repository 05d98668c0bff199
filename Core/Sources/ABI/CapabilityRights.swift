// What a capability lets its holder do with its object. Rights only ever shrink: retype
// gives new capabilities all the rights their type knows (or, when a type is split into
// smaller objects of the same type, the rights of the capability split), copy keeps
// them, mint can only take some away. Which rights mean something is part of each
// type's row in CapabilityType.swift; a capability never holds others.

public struct CapabilityRights: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Frames: may be mapped readable. Endpoints: may receive. Notify: may wait for the
    /// notification IPI (the core's monitor). IRQs: may wait for and
    /// acknowledge interrupts. I/O ports: may `in`.
    public static let read = CapabilityRights(rawValue: 1 << 0)
    /// Frames: may be mapped writable. Endpoints: may send. I/O ports: may `out`.
    /// IRQs: may change routing. Page tables: may map into and unmap from them.
    /// Dispatchers: may control (run, stop, set registers). Notify: may send the IPI.
    public static let write = CapabilityRights(rawValue: 1 << 1)
    /// Frames: may be mapped executable.
    public static let execute = CapabilityRights(rawValue: 1 << 2)
    /// Endpoints: messages sent with this capability may carry a capability.
    public static let grant = CapabilityRights(rawValue: 1 << 3)

    /// Computed, not stored: a lazily initialised static in the kernel would be written
    /// by whichever core reads it first.
    public static var all: CapabilityRights { [.read, .write, .execute, .grant] }
}

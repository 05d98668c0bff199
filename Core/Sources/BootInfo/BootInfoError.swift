// Why boot information can be rejected. The PVH start info and everything it points at
// come from the loader and are untrusted input (DESIGN.md, invariant 5): each way they
// can be wrong is a case here, so the kernel can say exactly what it refused.

import Basics

public enum BootInfoError: Error, Equatable, Sendable {
    /// The memory at this address is not (known to be) backed, so it cannot be read.
    case unreadable(PhysicalAddress)
    /// The start info does not begin with `PVHStartInfo.magic`; carries what was found.
    case badMagic(UInt32)
    /// Version 0 start info has no memory map, or the map it names has no entries.
    case noMemoryMap
    /// The memory map claims more entries than `PVHStartInfo.maximumMemoryMapEntries`.
    case tooManyEntries(UInt32)
    /// Memory map entry `index` has `address + size` past the top of the address space.
    case entryOverflows(index: UInt32)
    /// No NUL terminator within `KernelCommandLine.maximumLength` bytes.
    case commandLineTooLong
    /// More boot modules than `PVHStartInfo.maximumModules`.
    case tooManyModules(UInt32)
    /// Boot module `index` wraps past the end of the address space.
    case moduleOverflows(index: UInt32)
    /// The boot image does not start with "SFIMAGE1".
    case badImageMagic
    /// The boot image's directory or entry `index` lies outside the image, or its name is
    /// not NUL-terminated.
    case badImageEntry(index: UInt32)

    /// A sentence the kernel can print without reflection.
    public var message: StaticString {
        switch self {
        case .unreadable: "boot info: memory is not readable at address"
        case .badMagic: "boot info: PVH start info has a bad magic value"
        case .noMemoryMap: "boot info: the loader provided no memory map"
        case .tooManyEntries: "boot info: memory map has too many entries"
        case .entryOverflows: "boot info: memory map entry wraps past the end of the address space; index"
        case .commandLineTooLong: "boot info: command line is not terminated within 4096 bytes"
        case .tooManyModules: "boot info: too many boot modules"
        case .moduleOverflows: "boot info: boot module wraps past the end of the address space; index"
        case .badImageMagic: "boot image: bad magic (not made by swordfish build)"
        case .badImageEntry: "boot image: entry lies outside the image; index"
        }
    }

    /// The number that goes with `message` (an address, a count, an index), if any.
    public var detail: UInt64? {
        switch self {
        case .unreadable(let address): address.rawValue
        case .badMagic(let found): UInt64(found)
        case .tooManyEntries(let count): UInt64(count)
        case .entryOverflows(let index): UInt64(index)
        case .tooManyModules(let count): UInt64(count)
        case .moduleOverflows(let index), .badImageEntry(let index): UInt64(index)
        case .noMemoryMap, .commandLineTooLong, .badImageMagic: nil
        }
    }
}

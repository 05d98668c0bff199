// Builds ELF-64 files byte by byte for the loader tests. Every header field can be
// overridden, so each malformed case is a valid file with one thing changed.

import Basics
import CoreTestSupport
@testable import ELF

struct ELFBuilder {
    struct ProgramHeader {
        var type: UInt32 = 1  // PT_LOAD
        var flags: UInt32
        var offset: UInt64
        var virtualAddress: UInt64
        var fileSize: UInt64
        var memorySize: UInt64
        var alignment: UInt64 = 0x1000

        static func load(
            _ flags: UInt32, offset: UInt64, address: UInt64, fileSize: UInt64, memorySize: UInt64? = nil,
            alignment: UInt64 = 0x1000
        ) -> ProgramHeader {
            ProgramHeader(
                flags: flags, offset: offset, virtualAddress: address, fileSize: fileSize,
                memorySize: memorySize ?? fileSize, alignment: alignment)
        }

        func with(type: UInt32) -> ProgramHeader {
            var copy = self
            copy.type = type
            return copy
        }

        static func other(_ type: UInt32, flags: UInt32 = 4) -> ProgramHeader {
            ProgramHeader(type: type, flags: flags, offset: 0, virtualAddress: 0, fileSize: 0, memorySize: 0, alignment: 8)
        }
    }

    static let r: UInt32 = 4, w: UInt32 = 2, x: UInt32 = 1
    /// The user range the tests allow, as in the kernel's plan.
    static let allowed: Range<UInt64> = 0x0000_0080_0000_0000..<0x0000_7FFF_FFFF_F000
    static let base: UInt64 = 0x0000_0080_0040_0000
    static let limits = ELFLimits(allowedRange: allowed)

    var magic: UInt32 = 0x464C_457F
    var elfClass: UInt8 = 2
    var encoding: UInt8 = 1
    var identVersion: UInt8 = 1
    var type: UInt16 = 2
    var machine: UInt16 = 62
    var version: UInt32 = 1
    var entry: UInt64
    var programHeaderOffset: UInt64 = 64
    var headerSize: UInt16 = 64
    var programHeaderEntrySize: UInt16 = 56
    /// nil: the number of `programHeaders`.
    var programHeaderCount: UInt16? = nil
    var programHeaders: [ProgramHeader]
    /// The file size; at least covers the headers. Bytes not otherwise set hold
    /// `ELFBuilder.filler(offset)`, so tests can tell which file byte landed where.
    var fileSize: Int

    static func filler(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 131 &+ 7) | 1 }

    func build() -> [UInt8] {
        var bytes = (0..<fileSize).map(Self.filler)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            for i in 0..<(T.bitWidth / 8) where offset + i < bytes.count {
                bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i))
            }
        }
        put(magic, 0)
        put(elfClass, 4)
        put(encoding, 5)
        put(identVersion, 6)
        for i in 7..<16 { put(UInt8(0), i) }
        put(type, 16)
        put(machine, 18)
        put(version, 20)
        put(entry, 24)
        put(programHeaderOffset, 32)
        put(UInt64(0), 40)
        put(UInt32(0), 48)
        put(headerSize, 52)
        put(programHeaderEntrySize, 54)
        put(programHeaderCount ?? UInt16(programHeaders.count), 56)
        put(UInt16(64), 58)
        put(UInt32(0), 60)
        if programHeaderOffset < UInt64(bytes.count) {
            for (index, header) in programHeaders.enumerated() {
                let at = Int(programHeaderOffset) + index * 56
                put(header.type, at)
                put(header.flags, at + 4)
                put(header.offset, at + 8)
                put(header.virtualAddress, at + 16)
                put(header.virtualAddress, at + 24)
                put(header.fileSize, at + 32)
                put(header.memorySize, at + 40)
                put(header.alignment, at + 48)
            }
        }
        return bytes
    }

    /// One read-execute segment: 0x180 bytes of code at `base`, from file offset 0x1000.
    static func oneSegment() -> ELFBuilder {
        ELFBuilder(
            entry: base + 0x10,
            programHeaders: [.load(r | x, offset: 0x1000, address: base, fileSize: 0x180)],
            fileSize: 0x1180)
    }

    /// A typical static executable: text (RX), rodata (R), data with a bss tail (RW),
    /// the way lld lays them out, plus GNU_STACK and a note.
    static func threeSegments() -> ELFBuilder {
        ELFBuilder(
            entry: base + 0x1234,
            programHeaders: [
                .other(0x6474_E551, flags: 6),  // PT_GNU_STACK, RW
                .load(r | x, offset: 0x1000, address: base + 0x1000, fileSize: 0x2345),
                .load(r, offset: 0x4000, address: base + 0x4000, fileSize: 0x0321),
                .load(r | w, offset: 0x4321, address: base + 0x5321, fileSize: 0x0100, memorySize: 0x3000),
                .other(4),  // PT_NOTE
            ],
            fileSize: 0x4421)
    }

    func parse(limits: ELFLimits = ELFBuilder.limits) throws(ELFError) -> ELFImage {
        try ELFBuilder.parse(build(), limits: limits)
    }

    static func parse(_ bytes: [UInt8], limits: ELFLimits = ELFBuilder.limits) throws(ELFError) -> ELFImage {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ELFError) -> ELFImage in try ELFImage(file: ByteReader(buffer), limits: limits) }
        }
        return try result.get()
    }
}


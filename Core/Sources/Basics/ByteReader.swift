// Bounds-checked reading of little-endian fields from untrusted bytes (firmware
// tables, boot information, ELF files). Every read says whether it fitted; nothing
// here can fault on a short or lying buffer.

/// A read-only view of bytes with checked little-endian loads.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var count: Int { bytes.count }

    /// Loads a little-endian integer at `offset`, or nil if it does not fit.
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= bytes.count, MemoryLayout<T>.size <= bytes.count - offset
        else { return nil }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The sub-range `[offset, offset + length)`, or nil if it runs past the end.
    public func slice(at offset: Int, length: Int) -> ByteReader? {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset
        else { return nil }
        return ByteReader(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
    }

    /// True if the bytes at `offset` equal `ascii` (for table signatures).
    public func matches(_ ascii: StaticString, at offset: Int) -> Bool {
        let length = ascii.utf8CodeUnitCount
        guard let field = slice(at: offset, length: length) else { return false }
        let expected = UnsafeRawBufferPointer(start: ascii.utf8Start, count: length)
        for i in 0..<length where field.bytes[i] != expected[i] { return false }
        return true
    }

    /// The 8-bit sum of all bytes; ACPI tables are valid when it is zero.
    public var checksum: UInt8 {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return sum
    }
}

/// Something that can show the bytes at a physical address: the identity-mapped
/// memory in the kernel, fixture buffers in host tests. Returns nil for addresses
/// that are not (known to be) backed by memory, so a lying pointer in a firmware
/// table becomes an error instead of a fault.
public protocol PhysicalMemoryReader {
    func bytes(at address: PhysicalAddress, count: Int) -> ByteReader?
}

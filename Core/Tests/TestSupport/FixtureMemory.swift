// A PhysicalMemoryReader for tests: a few regions of fixture bytes at chosen physical
// addresses; everything else is unbacked and reads as nil, as unmapped memory does in
// the kernel.

import Basics

public final class FixtureMemory: PhysicalMemoryReader {
    private var regions: [UInt64: UnsafeMutableRawBufferPointer] = [:]

    public init(_ contents: [UInt64: [UInt8]] = [:]) {
        for (address, bytes) in contents { place(bytes, at: address) }
    }

    deinit {
        for buffer in regions.values { buffer.deallocate() }
    }

    /// Puts `bytes` at `address`, replacing any region that started there.
    public func place(_ bytes: [UInt8], at address: UInt64) {
        regions[address]?.deallocate()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        buffer.copyBytes(from: bytes)
        regions[address] = buffer
    }

    public func bytes(at address: PhysicalAddress, count: Int) -> ByteReader? {
        guard count >= 0 else { return nil }
        for (start, buffer) in regions where address.rawValue >= start {
            let offset = address.rawValue - start
            guard offset <= UInt64(buffer.count), UInt64(count) <= UInt64(buffer.count) - offset else { continue }
            return ByteReader(UnsafeRawBufferPointer(rebasing: buffer[Int(offset)..<(Int(offset) + count)]))
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for shift in stride(from: 0, to: T.bitWidth, by: 8) { append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}

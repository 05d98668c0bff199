// What every harness needs: starting libFuzzer, seeing the input as a `ByteReader` or
// as physical memory, and failing loudly when a parser breaks one of its promises.
// A failed `require` traps, and libFuzzer records the input as a crash.

import Basics
import Glibc
import LibFuzzerDriver

/// The harness's per-input function, with libFuzzer's C signature.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with this process's command line and exits with its status.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}

/// The input bytes, not copied: libFuzzer's buffer is exactly `size` bytes, so a read
/// past it is caught by AddressSanitizer.
public func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> ByteReader {
    ByteReader(UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size))
}

/// Traps (a finding) if a parser's promise does not hold.
public func require(_ condition: Bool, _ message: StaticString, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("promise broken: \(message)", file: file, line: line) }
}

/// The input placed at physical address `base`; every other address is unbacked, as
/// unmapped memory is in the kernel. Used for parsers that follow pointers.
public struct InputMemory: PhysicalMemoryReader {
    public let base: UInt64
    public let contents: ByteReader

    public init(base: UInt64, contents: ByteReader) {
        self.base = base
        self.contents = contents
    }

    public func bytes(at address: PhysicalAddress, count: Int) -> ByteReader? {
        guard count >= 0, address.rawValue >= base else { return nil }
        let offset = address.rawValue - base
        guard offset <= UInt64(contents.count), UInt64(count) <= UInt64(contents.count) - offset else { return nil }
        return contents.slice(at: Int(offset), length: count)
    }
}

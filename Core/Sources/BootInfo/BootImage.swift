// The boot image: the user programs `swordfish build` packs into one file that QEMU
// loads as a boot module, and the files beside them (User/Files: the web server's
// site). An entry whose name holds a `/` is a file (`www/index.html`), any other a
// program. Its layout, little-endian:
//
//   0   "SFIMAGE1"                 magic
//   8   u32 count, u32 reserved
//   16  count × { name: 48 bytes, NUL-padded; u64 offset; u64 size }   (64 bytes each)
//   …   the programs' bytes, at their offsets from the start of the image
//
// It comes from outside the kernel, so every offset and name is checked.
import Basics

public struct BootImage {
    public static let magic: StaticString = "SFIMAGE1"
    public static let entryBytes = 64
    public static let nameBytes = 48
    public static let maximumPrograms = 256

    /// One entry: a program, or a file if its name holds a `/`.
    public struct Entry {
        /// The name, without padding.
        public let name: [UInt8]
        public let bytes: ByteReader

        public var isFile: Bool { name.contains(UInt8(ascii: "/")) }
    }
    public typealias Program = Entry

    /// Every entry, in image order.
    public let entries: [Entry]
    /// The programs and the files, in image order.
    public var programs: [Entry] { entries.filter { !$0.isFile } }
    public var files: [Entry] { entries.filter { $0.isFile } }

    public init(_ image: ByteReader) throws(BootInfoError) {
        guard image.matches(Self.magic, at: 0), let count = image.load(UInt32.self, at: 8) else { throw .badImageMagic }
        guard count <= UInt32(Self.maximumPrograms) else { throw .badImageEntry(index: count) }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let base = 16 + index * Self.entryBytes
            guard let name = image.slice(at: base, length: Self.nameBytes),
                  let offset = image.load(UInt64.self, at: base + Self.nameBytes),
                  let size = image.load(UInt64.self, at: base + Self.nameBytes + 8),
                  offset <= UInt64(Int.max), size <= UInt64(Int.max),
                  let bytes = image.slice(at: Int(offset), length: Int(size)) else {
                throw .badImageEntry(index: UInt32(index))
            }
            let nameBytes = Array(name.bytes)
            guard let end = nameBytes.firstIndex(of: 0), end > 0 else { throw .badImageEntry(index: UInt32(index)) }
            entries.append(Entry(name: Array(nameBytes[..<end]), bytes: bytes))
        }
        self.entries = entries
    }

    public func program(named name: [UInt8]) -> Entry? { entries.first { !$0.isFile && $0.name == name } }
    public func file(named name: [UInt8]) -> Entry? { entries.first { $0.isFile && $0.name == name } }
}

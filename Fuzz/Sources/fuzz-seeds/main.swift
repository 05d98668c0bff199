// Writes the hand-made seed files of the fuzzing corpus: for each harness, a few valid
// inputs shaped like what real firmware, loaders and linkers produce, and a few
// near-misses that fail one check each. libFuzzer mutates from these; files it finds
// later are kept next to them. Run from the Fuzz folder:
//
//     swift run --scratch-path .build-seeds fuzz-seeds [Corpus]
//
// The output is deterministic, so rerunning it changes nothing unless this file did.

import Glibc

let corpus = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Corpus"

// MARK: Byte building

struct Bytes {
    var data: [UInt8]
    init(count: Int = 0) { data = Array(repeating: 0, count: count) }

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let width = T.bitWidth / 8
        if data.count < offset + width { data += Array(repeating: 0, count: offset + width - data.count) }
        for i in 0..<width { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    mutating func put(_ ascii: String, at offset: Int) {
        for (i, byte) in ascii.utf8.enumerated() { put(byte, at: offset + i) }
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) { put(value, at: data.count) }

    mutating func pad(to count: Int) { if data.count < count { data += Array(repeating: 0, count: count - data.count) } }
}

func write(_ bytes: [UInt8], _ harness: String, _ name: String) {
    let directory = "\(corpus)/\(harness)"
    mkdir(corpus, 0o755)
    mkdir(directory, 0o755)
    let path = "\(directory)/\(name)"
    guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
    print("\(path) (\(bytes.count) bytes)")
}

// MARK: ELF executables

struct Segment {
    var type: UInt32 = 1
    var flags: UInt32
    var offset: UInt64
    var address: UInt64
    var fileSize: UInt64
    var memorySize: UInt64
    var alignment: UInt64 = 0x1000
}

let R: UInt32 = 4, W: UInt32 = 2, X: UInt32 = 1
let userBase: UInt64 = 0x0000_0080_0040_0000

/// An ELF-64 x86-64 executable with `segments` as its program headers, `size` bytes
/// long; bytes not in a header are a recognisable pattern.
func elf(entry: UInt64, _ segments: [Segment], size: Int, machine: UInt16 = 62) -> [UInt8] {
    var b = Bytes()
    for i in 0..<size { b.put(UInt8(truncatingIfNeeded: i &* 37 &+ 11), at: i) }
    b.put(UInt32(0x464C_457F), at: 0)
    b.put(UInt8(2), at: 4)  // ELFCLASS64
    b.put(UInt8(1), at: 5)  // ELFDATA2LSB
    b.put(UInt8(1), at: 6)  // EV_CURRENT
    for i in 7..<16 { b.put(UInt8(0), at: i) }
    b.put(UInt16(2), at: 16)  // ET_EXEC
    b.put(machine, at: 18)
    b.put(UInt32(1), at: 20)
    b.put(entry, at: 24)
    b.put(UInt64(64), at: 32)  // e_phoff
    b.put(UInt64(0), at: 40)   // e_shoff
    b.put(UInt32(0), at: 48)
    b.put(UInt16(64), at: 52)
    b.put(UInt16(56), at: 54)
    b.put(UInt16(segments.count), at: 56)
    b.put(UInt16(64), at: 58)
    b.put(UInt32(0), at: 60)
    for (i, s) in segments.enumerated() {
        let at = 64 + 56 * i
        b.put(s.type, at: at)
        b.put(s.flags, at: at + 4)
        b.put(s.offset, at: at + 8)
        b.put(s.address, at: at + 16)
        b.put(s.address, at: at + 24)
        b.put(s.fileSize, at: at + 32)
        b.put(s.memorySize, at: at + 40)
        b.put(s.alignment, at: at + 48)
    }
    return Array(b.data.prefix(max(size, 64 + 56 * segments.count)))
}

func writeELFSeeds() {
    let h = "FuzzELF"
    // lld's layout for a static executable: headers in a read-only segment, then text,
    // then data + bss, each starting on a new page at the file offset's page position.
    let lld: [Segment] = [
        Segment(type: 6, flags: R, offset: 0x40, address: userBase + 0x40, fileSize: 5 * 56, memorySize: 5 * 56, alignment: 8),
        Segment(flags: R, offset: 0, address: userBase, fileSize: 0x1B0, memorySize: 0x1B0),
        Segment(flags: R | X, offset: 0x1B0, address: userBase + 0x11B0, fileSize: 0x40, memorySize: 0x40),
        Segment(flags: R | W, offset: 0x1F0, address: userBase + 0x21F0, fileSize: 0x10, memorySize: 0x2720),
        Segment(type: 0x6474_E551, flags: R | W, offset: 0, address: 0, fileSize: 0, memorySize: 0, alignment: 0),
    ]
    write(elf(entry: userBase + 0x11B0, lld, size: 0x200), h, "valid-lld-layout")
    // GNU ld's layout: a bss-only segment with file offset 0, rodata after it, and a note.
    let bfd: [Segment] = [
        Segment(flags: R, offset: 0, address: userBase, fileSize: 0x1D8, memorySize: 0x1D8),
        Segment(flags: R | X, offset: 0x200, address: userBase + 0x1200, fileSize: 0x32, memorySize: 0x32),
        Segment(flags: R | W, offset: 0, address: userBase + 0x3000, fileSize: 0, memorySize: 0x2710),
        Segment(flags: R, offset: 0x240, address: userBase + 0x6240, fileSize: 0x15, memorySize: 0x15),
        Segment(type: 4, flags: R, offset: 0x258, address: userBase + 0x6258, fileSize: 0x24, memorySize: 0x24, alignment: 4),
        Segment(type: 0x6474_E551, flags: R | W, offset: 0, address: 0, fileSize: 0, memorySize: 0, alignment: 16),
    ]
    write(elf(entry: userBase + 0x1200, bfd, size: 0x280), h, "valid-bfd-layout")
    let one = [Segment(flags: R | X, offset: 0x100, address: userBase + 0x100, fileSize: 0x80, memorySize: 0x80)]
    write(elf(entry: userBase + 0x100, one, size: 0x180), h, "valid-one-segment")
    let unaligned = [Segment(flags: R | X, offset: 0x123, address: userBase + 0x123, fileSize: 0x45, memorySize: 0x3000)]
    write(elf(entry: userBase + 0x130, unaligned, size: 0x168), h, "valid-unaligned-bss")

    write(elf(entry: userBase + 0x100, one, size: 0x180, machine: 183), h, "invalid-aarch64")
    var wx = one
    wx[0].flags = R | W | X
    write(elf(entry: userBase + 0x100, wx, size: 0x180), h, "invalid-writable-executable")
    var overlap = lld
    overlap[3].address = userBase + 0x11F0
    write(elf(entry: userBase + 0x11B0, overlap, size: 0x200), h, "invalid-overlap")
    var low = one
    low[0].address = 0x40_0100
    write(elf(entry: 0x40_0100, low, size: 0x180), h, "invalid-below-user-range")
    write(Array(elf(entry: userBase + 0x100, one, size: 0x180).prefix(0x150)), h, "invalid-truncated-segment")
}

// MARK: ACPI tables

/// An ACPI table: the 36-byte header with `signature`, then `body`, checksummed.
func acpiTable(_ signature: String, revision: UInt8 = 1, _ body: [UInt8]) -> [UInt8] {
    var b = Bytes(count: 36)
    b.put(signature, at: 0)
    b.put(UInt32(36 + body.count), at: 4)
    b.put(revision, at: 8)
    b.put("SWFISH", at: 10)
    b.put("FUZZSEED", at: 16)
    b.put(UInt32(1), at: 24)
    b.put("SWFT", at: 28)
    b.put(UInt32(1), at: 32)
    b.data += body
    var sum: UInt8 = 0
    for byte in b.data { sum &+= byte }
    b.data[9] = 0 &- sum
    return b.data
}

func madtBody(x2apic: Bool) -> [UInt8] {
    var b = Bytes()
    b.append(UInt32(0xFEE0_0000))  // local APIC address
    b.append(UInt32(1))            // PCAT_COMPAT
    for id in 0..<UInt8(4) {       // Processor Local APIC: type 0, length 8
        b.append(UInt8(0)); b.append(UInt8(8)); b.append(id); b.append(id); b.append(UInt32(id < 3 ? 1 : 2))
    }
    b.append(UInt8(1)); b.append(UInt8(12)); b.append(UInt8(0)); b.append(UInt8(0))  // I/O APIC
    b.append(UInt32(0xFEC0_0000)); b.append(UInt32(0))
    for (source, gsi) in [(0, 2), (5, 5), (9, 9), (10, 10), (11, 11)] as [(UInt8, UInt32)] {  // Interrupt Source Override
        b.append(UInt8(2)); b.append(UInt8(10)); b.append(UInt8(0)); b.append(source); b.append(gsi); b.append(UInt16(0xD))
    }
    b.append(UInt8(4)); b.append(UInt8(6)); b.append(UInt8(0xFF)); b.append(UInt16(5)); b.append(UInt8(1))  // Local APIC NMI
    if x2apic {
        b.append(UInt8(5)); b.append(UInt8(12)); b.append(UInt16(0)); b.append(UInt64(0xFEE0_0000))  // address override
        for id in [UInt32(256), 257] {  // Processor Local x2APIC: type 9, length 16
            b.append(UInt8(9)); b.append(UInt8(16)); b.append(UInt16(0)); b.append(id); b.append(UInt32(1)); b.append(id)
        }
    }
    return b.data
}

func sratBody() -> [UInt8] {
    var b = Bytes()
    b.append(UInt32(1)); b.append(UInt64(0))
    for (apic, domain) in [(0, 0), (1, 0), (2, 1), (3, 1)] as [(UInt8, UInt8)] {  // Processor Local APIC Affinity
        b.append(UInt8(0)); b.append(UInt8(16)); b.append(domain); b.append(apic); b.append(UInt32(1))
        b.append(UInt8(0)); b.append(UInt8(0)); b.append(UInt16(0)); b.append(UInt32(0))
    }
    for (base, length, domain) in [(0, 0xA_0000, 0), (0x10_0000, 0x3FF0_0000, 0), (0x4000_0000, 0x4000_0000, 1)] as [(UInt64, UInt64, UInt32)] {
        b.append(UInt8(1)); b.append(UInt8(40)); b.append(domain); b.append(UInt16(0))  // Memory Affinity
        b.append(base); b.append(length); b.append(UInt32(0)); b.append(UInt32(1)); b.append(UInt64(0))
    }
    b.append(UInt8(2)); b.append(UInt8(24)); b.append(UInt16(0)); b.append(UInt32(1))  // x2APIC Affinity
    b.append(UInt32(300)); b.append(UInt32(1)); b.append(UInt32(0)); b.append(UInt32(0))
    return b.data
}

func writeACPISeeds() {
    let madt = acpiTable("APIC", revision: 5, madtBody(x2apic: false))
    write(madt, "FuzzMADT", "valid-qemu-4-cores")
    write(acpiTable("APIC", revision: 5, madtBody(x2apic: true)), "FuzzMADT", "valid-x2apic")
    var zero = madt
    zero[44 + 1] = 0
    write(zero, "FuzzMADT", "invalid-zero-length-entry")
    var long = madt
    long[4] = UInt8(truncatingIfNeeded: madt.count + 1)
    write(long, "FuzzMADT", "invalid-length-past-end")

    let srat = acpiTable("SRAT", revision: 3, sratBody())
    write(srat, "FuzzSRAT", "valid-two-domains")
    var short = srat
    short[48 + 1] = 15
    write(short, "FuzzSRAT", "invalid-short-entry")

    // RSDP, root table, MADT, SRAT and an FADT laid out from 0xE0000, as the
    // FuzzACPITables harness places its input.
    let base: UInt64 = 0xE_0000
    func machine(revision: UInt8) -> [UInt8] {
        var memory = Bytes(count: 0x600)
        let useXSDT = revision >= 2
        let rootOffset = 0x40, madtOffset = 0x100, sratOffset = 0x300, fadtOffset = 0x500
        let pointers = [madtOffset, sratOffset, fadtOffset].map { base + UInt64($0) }
        var rootBody = Bytes()
        for pointer in pointers { if useXSDT { rootBody.append(pointer) } else { rootBody.append(UInt32(pointer)) } }
        let root = acpiTable(useXSDT ? "XSDT" : "RSDT", rootBody.data)
        var rsdp = Bytes(count: useXSDT ? 36 : 20)
        rsdp.put("RSD PTR ", at: 0)
        rsdp.put("SWFISH", at: 9)
        rsdp.put(revision, at: 15)
        rsdp.put(UInt32(base + UInt64(rootOffset)), at: 16)
        if useXSDT {
            rsdp.put(UInt32(36), at: 20)
            rsdp.put(base + UInt64(rootOffset), at: 24)
        }
        var sum: UInt8 = 0
        for byte in rsdp.data[0..<20] { sum &+= byte }
        rsdp.data[8] = 0 &- sum
        if useXSDT {
            sum = 0
            for byte in rsdp.data { sum &+= byte }
            rsdp.data[32] = 0 &- sum
        }
        for (offset, bytes) in [(0, rsdp.data), (rootOffset, root), (madtOffset, madt), (sratOffset, srat),
                                (fadtOffset, acpiTable("FACP", revision: 6, Array(repeating: 0, count: 8)))] {
            memory.data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        }
        return memory.data
    }
    write(machine(revision: 2), "FuzzACPITables", "valid-xsdt")
    write(machine(revision: 0), "FuzzACPITables", "valid-rsdt")
    var badChecksum = machine(revision: 2)
    badChecksum[0x100 + 50] ^= 0x40
    write(badChecksum, "FuzzACPITables", "invalid-madt-checksum")
}

// MARK: PVH start info

func writePVHSeeds() {
    let base: UInt64 = 0x6000
    func startInfo(version: UInt32, map: [(UInt64, UInt64, UInt32)], commandLine: String?, modules: [(UInt64, UInt64)] = []) -> [UInt8] {
        var b = Bytes(count: 56)
        if !modules.isEmpty {  // hvm_modlist_entry records after everything else
            let listOffset = (0x40 + 24 * map.count + (commandLine?.utf8.count ?? 0) + 1 + 7) & ~7
            b.put(UInt32(modules.count), at: 12)
            b.put(base + UInt64(listOffset), at: 16)
            for (i, module) in modules.enumerated() {
                b.put(module.0, at: listOffset + 32 * i)
                b.put(module.1, at: listOffset + 32 * i + 8)
                b.put(UInt64(0), at: listOffset + 32 * i + 16)
                b.put(UInt64(0), at: listOffset + 32 * i + 24)
            }
        }
        b.put(UInt32(0x336E_C578), at: 0)
        b.put(version, at: 4)
        let mapOffset = 0x40
        let lineOffset = mapOffset + 24 * map.count
        if let commandLine {
            b.put(base + UInt64(lineOffset), at: 24)
            b.put(commandLine, at: lineOffset)
            b.put(UInt8(0), at: lineOffset + commandLine.utf8.count)
        }
        b.put(UInt64(0xF_52A0), at: 32)  // RSDP address, not followed by this harness
        if version >= 1 {
            b.put(base + UInt64(mapOffset), at: 40)
            b.put(UInt32(map.count), at: 48)
        }
        for (i, entry) in map.enumerated() {
            b.put(entry.0, at: mapOffset + 24 * i)
            b.put(entry.1, at: mapOffset + 24 * i + 8)
            b.put(entry.2, at: mapOffset + 24 * i + 16)
            b.put(UInt32(0), at: mapOffset + 24 * i + 20)
        }
        return b.data
    }
    let qemu: [(UInt64, UInt64, UInt32)] = [
        (0, 0x9_FC00, 1), (0x9_FC00, 0x400, 2), (0xF_0000, 0x1_0000, 2),
        (0x10_0000, 0x7FEE_0000, 1), (0x7FFE_0000, 0x2_0000, 2), (0xFEFF_C000, 0x4000, 2), (0xFFFC_0000, 0x4_0000, 2),
    ]
    write(startInfo(version: 1, map: qemu, commandLine: "cores=4 verbose", modules: [(0x7FF0_0000, 0x2_3000)]),
          "FuzzPVHMemoryMap", "valid-qemu-2g")
    let overlapping: [(UInt64, UInt64, UInt32)] = [
        (0x10_0000, 0x100_0000, 1), (0x80_0000, 0x1000, 3), (0x20_0800, 0x10_0000, 1), (0x100_0000, 0x1000, 4),
        (0x1_0000_0000, 0x1_0000_0000, 1), (0x1_0000_0000, 0x123, 5),
    ]
    write(startInfo(version: 1, map: overlapping, commandLine: nil), "FuzzPVHMemoryMap", "valid-overlapping-map")
    write(startInfo(version: 0, map: [], commandLine: "x"), "FuzzPVHMemoryMap", "invalid-version-0")
    write(startInfo(version: 1, map: [(0xFFFF_FFFF_FFFF_0000, 0x1_0000, 1)], commandLine: nil), "FuzzPVHMemoryMap", "invalid-wrapping-entry")
}

// MARK: Boot images

/// A boot image (BootInfo/BootImage.swift): "SFIMAGE1", a count, 64-byte entries
/// { name: 48 bytes NUL-padded; u64 offset; u64 size }, then the programs.
func bootImage(_ programs: [(String, [UInt8])]) -> [UInt8] {
    var b = Bytes()
    b.put("SFIMAGE1", at: 0)
    b.put(UInt32(programs.count), at: 8)
    b.put(UInt32(0), at: 12)
    var offset = 16 + 64 * programs.count
    for (i, program) in programs.enumerated() {
        b.put(program.0, at: 16 + 64 * i)
        b.put(UInt8(0), at: 16 + 64 * i + program.0.utf8.count)
        b.put(UInt64(offset), at: 16 + 64 * i + 48)
        b.put(UInt64(program.1.count), at: 16 + 64 * i + 56)
        offset += program.1.count
    }
    b.pad(to: 16 + 64 * programs.count)
    for program in programs { b.data += program.1 }
    return b.data
}

func writeBootImageSeeds() {
    let one = [Segment(flags: R | X, offset: 0x100, address: userBase + 0x100, fileSize: 0x80, memorySize: 0x80)]
    let hello = elf(entry: userBase + 0x100, one, size: 0x180)
    let unaligned = [Segment(flags: R | X, offset: 0x123, address: userBase + 0x123, fileSize: 0x45, memorySize: 0x3000)]
    let bss = elf(entry: userBase + 0x130, unaligned, size: 0x168)
    let image = bootImage([("init", hello), ("hello", bss)])
    write(image, "FuzzBootImage", "valid-two-programs")
    var past = image
    past[16 + 64 + 56] = 0xFF  // second program's size runs past the end
    write(past, "FuzzBootImage", "invalid-program-past-end")
}

// MARK: Knowledge bases

/// An encoded knowledge base (Core/Sources/KnowledgeBase/KnowledgeEncoding.swift) of
/// `cores` cores, two threads per core pair, an L1 data cache each and a shared L2,
/// every pair measured except core 0 to itself.
func knowledgeBase(cores: Int) -> [UInt8] {
    var b = Bytes()
    b.put("SKB1", at: 0)
    b.append(UInt16(cores))
    b.append(UInt16(cores))
    for core in 0..<cores {
        b.append(UInt16(core))                                         // core
        b.append(UInt32(core))                                         // APIC ID
        b.append(UInt32(0)); b.append(UInt32(core / 2)); b.append(UInt32(core % 2))   // package, core, thread
        b.append(core == 0 ? UInt32.max : UInt32(core % 2))            // NUMA node (none on core 0)
        b.append(UInt8(2))                                             // caches
        b.append(UInt8(1)); b.append(UInt8(0)); b.append(UInt32(core))
        b.append(UInt8(2)); b.append(UInt8(2)); b.append(UInt32(0))
    }
    for from in 0..<cores {
        for to in 0..<cores { b.append(from == to ? UInt64.max : UInt64(100 + 10 * from + to)) }
    }
    return b.data
}

func writeKnowledgeBaseSeeds() {
    write(knowledgeBase(cores: 1), "FuzzKnowledgeBase", "valid-one-core")
    write(knowledgeBase(cores: 4), "FuzzKnowledgeBase", "valid-four-cores")
    var swapped = knowledgeBase(cores: 2)
    swapped[8] = 1                                                     // core 1 listed first: out of order
    write(swapped, "FuzzKnowledgeBase", "invalid-cores-out-of-order")
    write(Array(knowledgeBase(cores: 2).dropLast()), "FuzzKnowledgeBase", "invalid-truncated")
}

func writeHTTPSeeds() {
    let seeds: [(String, String)] = [
        ("valid-get", "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"),
        ("valid-pipelined", "GET / HTTP/1.1\r\nHost: h\r\n\r\nHEAD /4k.bin HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
        ("valid-http10-keep-alive", "GET /1m.bin?x=1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
        ("invalid-no-host", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n"),
        ("invalid-body", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"),
        ("invalid-method", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ]
    for (name, text) in seeds { write(Array(text.utf8), "FuzzHTTP", name) }
}

/// A function's 256 bytes of configuration space with a capability list: QEMU's
/// virtio-net-pci (MSI-X first, then vendor entries), a list that loops, one that points
/// into the header, and an MSI-X whose fields would pass the end of the space.
func writePCICapabilitySeeds() {
    func space(head: UInt8, _ entries: [(offset: Int, id: UInt8, next: UInt8)]) -> Bytes {
        var bytes = Bytes(count: 256)
        bytes.put(UInt32(0x1000_1AF4), at: 0)
        bytes.put(UInt32(0x0010_0007), at: 4)      // status bit 4: a list
        bytes.put(head, at: 0x34)
        for entry in entries {
            bytes.put(entry.id, at: entry.offset)
            bytes.put(entry.next, at: entry.offset + 1)
        }
        return bytes
    }
    var virtio = space(head: 0x98, [(0x98, 0x11, 0x84), (0x84, 9, 0x70), (0x70, 9, 0x60), (0x60, 9, 0x50), (0x50, 9, 0x40), (0x40, 9, 0)])
    virtio.put(UInt16(2), at: 0x9A)
    virtio.put(UInt32(1), at: 0x9C)
    virtio.put(UInt32(0x801), at: 0xA0)
    write(virtio.data, "FuzzPCICapabilities", "virtio-net")
    write(space(head: 0x40, [(0x40, 0x11, 0x48), (0x48, 5, 0x40)]).data, "FuzzPCICapabilities", "loop")
    write(space(head: 0x50, [(0x50, 9, 0x10)]).data, "FuzzPCICapabilities", "into-header")
    write(space(head: 0xF8, [(0xF8, 0x11, 0)]).data, "FuzzPCICapabilities", "msix-at-end")
}

writeELFSeeds()
writeBootImageSeeds()
writeKnowledgeBaseSeeds()
writeACPISeeds()
writePVHSeeds()
writeHTTPSeeds()
writePCICapabilitySeeds()

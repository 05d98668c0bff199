// The ELF loader's parsing half. User programs arrive as ELF-64 executables inside the
// boot image, and the kernel must turn one into an address space without trusting a
// single field of it. So the work is split in two, as seL4 splits decode from invoke:
//
//  1. `ELFImage(file:limits:)` reads the file through a bounds-checked `ByteReader` and
//     checks everything up front: the header, every `PT_LOAD` segment's file range,
//     address range, permissions and alignment, that no two segments share a page,
//     and that the entry point is in executable code. It allocates nothing but its
//     result and either returns an image that satisfies all of that or an `ELFError`.
//  2. `ELFImage.loadPlan` (LoadPlan.swift) lists, for each 4 KiB page, which file bytes
//     go where in the page and which bytes are zero. The kernel only executes the plan:
//     allocate a frame, `fill` it, map it with the page's permissions. That step cannot
//     fail on a bad file, because the file was judged in step 1.
//
// Policy, beyond what the ELF specification requires:
//  - Only `ET_EXEC` for `EM_X86_64`, little-endian, ELF-64: programs are statically
//    linked at fixed addresses, so there is no relocation and no dynamic linker.
//    `PT_INTERP` and `PT_TLS` are refused because honouring them needs a dynamic linker
//    or thread-local storage set-up that Swordfish does not do; silently ignoring them
//    would let the program start and then fail in a confusing way.
//  - W^X: a segment that is both writable and executable is refused, so no user page
//    is ever mapped writable and executable. `PT_GNU_STACK` is ignored: user stacks
//    are always writable and never executable, whatever the file asks for.
//  - Segments must not share a page. Linkers place segments on separate pages in
//    memory (their file pages may be shared, which is fine: bytes are copied, not
//    mapped). Refusing shared pages keeps one permission per page and one source per
//    byte. Bytes of a segment's first and last page that lie outside the segment are
//    zero, not the neighbouring file bytes a Unix loader would map there.
//  - Every page of every segment lies inside a range the caller chooses (the user
//    half of the address space, less whatever the kernel keeps for itself there).
//  - `PT_NOTE`, `PT_PHDR`, `PT_GNU_STACK`, `PT_GNU_RELRO`, `PT_GNU_PROPERTY`,
//    `PT_DYNAMIC` and unknown types are ignored, as are section headers, which a
//    loader never needs. A `PT_LOAD` with `p_memsz == 0` occupies no memory and is
//    ignored after checking that its `p_filesz` is zero too.
//
// References: System V ABI, "ELF-64 Object File Format" (header and program header
// layouts), and the x86-64 psABI §4 and §5 (EM_X86_64, program loading).

import Basics

/// Bounds the loader enforces beyond the format itself. The defaults suit the small
/// programs of the boot image; `allowedRange` has no default because only the caller
/// knows its address space layout.
public struct ELFLimits: Equatable, Sendable {
    /// Every page of every segment must lie in `allowedRange` (page-rounded outwards).
    public var allowedRange: Range<UInt64>
    /// The most non-empty `PT_LOAD` segments accepted.
    public var maximumLoadSegments: Int
    /// The most program headers of any type accepted (`e_phnum`).
    public var maximumProgramHeaders: Int
    /// The most 4 KiB pages all segments together may need, bss included. A file of a
    /// few bytes can otherwise claim a terabyte of zero-filled memory.
    public var maximumPages: Int

    public init(
        allowedRange: Range<UInt64>, maximumLoadSegments: Int = 16, maximumProgramHeaders: Int = 64,
        maximumPages: Int = 1 << 18
    ) {
        self.allowedRange = allowedRange
        self.maximumLoadSegments = maximumLoadSegments
        self.maximumProgramHeaders = maximumProgramHeaders
        self.maximumPages = maximumPages
    }
}

/// Access rights of a segment, from `p_flags` (`PF_X` = 1, `PF_W` = 2, `PF_R` = 4).
/// On x86-64 every mapped page is readable, so a segment without `readable` is still
/// readable once mapped; `writable` and `executable` are what the page tables enforce,
/// and a valid image never has both.
public struct SegmentPermissions: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `PF_X`.
    public static let executable = SegmentPermissions(rawValue: 1)
    /// `PF_W`.
    public static let writable = SegmentPermissions(rawValue: 2)
    /// `PF_R`.
    public static let readable = SegmentPermissions(rawValue: 4)
}

/// One `PT_LOAD` segment of a validated image: `memorySize` bytes at `virtualRange`,
/// of which the first `fileSize` come from the file at `fileOffset` and the rest
/// (the bss) are zero.
public struct LoadSegment: Equatable, Sendable {
    /// `[p_vaddr, p_vaddr + p_memsz)`; never empty.
    public let virtualRange: Range<UInt64>
    /// `p_offset`; `fileOffset + fileSize` is within the file.
    public let fileOffset: UInt64
    /// `p_filesz`, at most `memorySize`.
    public let fileSize: UInt64
    /// `p_memsz`.
    public let memorySize: UInt64
    public let permissions: SegmentPermissions
    /// `p_align` as given (0 or 1: no constraint; otherwise a power of two).
    public let alignment: UInt64
    /// The segment's position in the program header table, for messages.
    public let programHeaderIndex: Int

    /// The pages the segment touches: `virtualRange` rounded out to 4 KiB.
    public var pageRange: Range<UInt64> {
        let mask = ELFImage.pageSize - 1
        return (virtualRange.lowerBound & ~mask)..<((virtualRange.upperBound + mask) & ~mask)
    }

    public var pageCount: Int { Int((pageRange.upperBound - pageRange.lowerBound) / ELFImage.pageSize) }
}

/// A validated ELF-64 x86-64 executable: where to start, and what to map.
public struct ELFImage: Equatable, Sendable {
    /// The loader works in 4 KiB pages.
    public static let pageSize: UInt64 = 4096

    /// `e_entry`, inside an executable segment.
    public let entry: UInt64
    /// The non-empty `PT_LOAD` segments sorted by address; no two share a page.
    public let segments: [LoadSegment]

    /// Parses and validates the executable in `file`. Every check happens here, before
    /// anything is returned; see the top of this file for the policy.
    public init(file: ByteReader, limits: ELFLimits) throws(ELFError) {
        let header = try ELFHeader(file: file, limits: limits)
        guard let table = file.slice(at: header.programHeaderOffset, length: header.programHeaderCount * ELF64.programHeaderSize)
        else { throw .programHeadersOutsideFile(offset: UInt64(header.programHeaderOffset)) }

        var segments: [LoadSegment] = []
        var totalPages: UInt64 = 0
        for index in 0..<header.programHeaderCount {
            guard let entry = table.slice(at: index * ELF64.programHeaderSize, length: ELF64.programHeaderSize)
            else { throw .programHeadersOutsideFile(offset: UInt64(header.programHeaderOffset)) }
            switch entry.field(UInt32.self, at: ELF64.ProgramHeader.type) {
            case ELF64.SegmentType.load:
                break
            case ELF64.SegmentType.interpreter, ELF64.SegmentType.threadLocalStorage:
                throw .unsupportedProgramHeader(type: entry.field(UInt32.self, at: ELF64.ProgramHeader.type), index: index)
            default:
                continue  // PT_NOTE, PT_PHDR, PT_GNU_STACK, ... carry nothing to load.
            }
            guard let segment = try Self.loadSegment(entry, index: index, fileSize: file.count, limits: limits)
            else { continue }

            guard segments.count < limits.maximumLoadSegments else { throw .tooManyLoadSegments(index: index) }
            for earlier in segments where earlier.pageRange.overlaps(segment.pageRange) {
                throw .overlappingSegments(first: earlier.programHeaderIndex, second: index)
            }
            // Each count is below 2^52 and the sum stays at most maximumPages, so no overflow.
            totalPages += UInt64(segment.pageCount)
            guard totalPages <= UInt64(max(0, limits.maximumPages)) else { throw .imageTooLarge(pages: totalPages) }
            segments.append(segment)
        }
        guard !segments.isEmpty else { throw .noLoadableSegments }
        let entry = header.entry
        guard segments.contains(where: { $0.permissions.contains(.executable) && $0.virtualRange.contains(entry) })
        else { throw .entryNotExecutable(entry: entry) }

        segments.sort { $0.virtualRange.lowerBound < $1.virtualRange.lowerBound }
        self.entry = entry
        self.segments = segments
    }

    /// Checks one `PT_LOAD` entry on its own (its relation to other segments is the
    /// caller's job). Returns nil for a segment that occupies no memory.
    private static func loadSegment(
        _ entry: ByteReader, index: Int, fileSize: Int, limits: ELFLimits
    ) throws(ELFError) -> LoadSegment? {
        typealias Field = ELF64.ProgramHeader
        let flags = entry.field(UInt32.self, at: Field.flags)
        let offset = entry.field(UInt64.self, at: Field.offset)
        let address = entry.field(UInt64.self, at: Field.virtualAddress)
        let bytesInFile = entry.field(UInt64.self, at: Field.fileSize)
        let bytesInMemory = entry.field(UInt64.self, at: Field.memorySize)
        let alignment = entry.field(UInt64.self, at: Field.alignment)

        guard bytesInFile <= bytesInMemory else { throw .fileSizeExceedsMemorySize(index: index) }
        if bytesInMemory == 0 { return nil }

        let permissions = SegmentPermissions(rawValue: flags & 0b111)
        guard !permissions.isSuperset(of: [.writable, .executable]) else { throw .writableAndExecutable(index: index) }

        // A segment with no file bytes names no file range, whatever its offset says.
        if bytesInFile > 0 {
            guard offset <= UInt64(fileSize), bytesInFile <= UInt64(fileSize) - offset else {
                throw .segmentOutsideFile(index: index)
            }
        }
        // gABI: "p_vaddr should equal p_offset, modulo p_align"; 0 and 1 mean no alignment.
        if alignment > 1 {
            guard alignment & (alignment - 1) == 0, (address &- offset) & (alignment - 1) == 0 else {
                throw .badAlignment(index: index)
            }
        }

        let (end, wrapped) = address.addingReportingOverflow(bytesInMemory)
        let (_, pageEndWraps) = end.addingReportingOverflow(ELFImage.pageSize - 1)
        guard !wrapped, !pageEndWraps else { throw .addressOverflow(index: index) }

        let segment = LoadSegment(
            virtualRange: address..<end, fileOffset: offset, fileSize: bytesInFile, memorySize: bytesInMemory,
            permissions: permissions, alignment: alignment, programHeaderIndex: index)
        let pages = segment.pageRange
        guard pages.lowerBound >= limits.allowedRange.lowerBound, pages.upperBound <= limits.allowedRange.upperBound
        else { throw .segmentOutsideAllowedRange(index: index) }
        return segment
    }
}

/// The ELF-64 file header fields the loader uses, after the header checks.
struct ELFHeader {
    var entry: UInt64
    /// In bounds of Int, but not yet checked against the file.
    var programHeaderOffset: Int
    var programHeaderCount: Int

    /// System V ABI, "ELF Header": checks identification, type, machine, version and
    /// the header sizes, then that the program header table lies within the file.
    init(file: ByteReader, limits: ELFLimits) throws(ELFError) {
        typealias Field = ELF64.Header
        guard file.count >= ELF64.headerSize else { throw .truncatedHeader(size: file.count) }
        guard file.field(UInt32.self, at: Field.magic) == ELF64.magic else { throw .badMagic }
        let elfClass = file.field(UInt8.self, at: Field.elfClass)
        guard elfClass == ELF64.class64 else { throw .notELF64(class: elfClass) }
        let encoding = file.field(UInt8.self, at: Field.dataEncoding)
        guard encoding == ELF64.littleEndian else { throw .notLittleEndian(encoding: encoding) }
        let identVersion = file.field(UInt8.self, at: Field.identVersion)
        guard identVersion == ELF64.currentVersion else { throw .badVersion(UInt32(identVersion)) }
        let type = file.field(UInt16.self, at: Field.type)
        guard type == ELF64.executableType else { throw .unsupportedType(type) }
        let machine = file.field(UInt16.self, at: Field.machine)
        guard machine == ELF64.machineX86_64 else { throw .wrongMachine(machine) }
        let version = file.field(UInt32.self, at: Field.version)
        guard version == UInt32(ELF64.currentVersion) else { throw .badVersion(version) }
        let headerSize = file.field(UInt16.self, at: Field.headerSize)
        guard headerSize == UInt16(ELF64.headerSize) else { throw .badHeaderSize(headerSize) }
        let entrySize = file.field(UInt16.self, at: Field.programHeaderEntrySize)
        guard entrySize == UInt16(ELF64.programHeaderSize) else { throw .badProgramHeaderSize(entrySize) }
        let count = file.field(UInt16.self, at: Field.programHeaderCount)
        guard Int(count) <= limits.maximumProgramHeaders else { throw .tooManyProgramHeaders(count: count) }
        guard count > 0 else { throw .noLoadableSegments }

        let offset = file.field(UInt64.self, at: Field.programHeaderOffset)
        let tableSize = UInt64(count) * UInt64(ELF64.programHeaderSize)
        guard offset <= UInt64(file.count), tableSize <= UInt64(file.count) - offset else {
            throw .programHeadersOutsideFile(offset: offset)
        }
        self.entry = file.field(UInt64.self, at: Field.entry)
        self.programHeaderOffset = Int(offset)
        self.programHeaderCount = Int(count)
    }
}

/// Field offsets and values from the System V ABI "ELF-64 Object File Format" and the
/// x86-64 psABI.
enum ELF64 {
    static let headerSize = 64
    static let programHeaderSize = 56
    /// 0x7F 'E' 'L' 'F' read as a little-endian UInt32.
    static let magic: UInt32 = 0x464C_457F
    /// `ELFCLASS64`.
    static let class64: UInt8 = 2
    /// `ELFDATA2LSB`.
    static let littleEndian: UInt8 = 1
    /// `EV_CURRENT`.
    static let currentVersion: UInt8 = 1
    /// `ET_EXEC`.
    static let executableType: UInt16 = 2
    /// `EM_X86_64`.
    static let machineX86_64: UInt16 = 62

    ///     offset  size  field
    ///          0    16  e_ident: magic, class @4, data @5, version @6, OS ABI @7, ...
    ///         16     2  e_type
    ///         18     2  e_machine
    ///         20     4  e_version
    ///         24     8  e_entry
    ///         32     8  e_phoff
    ///         40     8  e_shoff
    ///         48     4  e_flags
    ///         52     2  e_ehsize
    ///         54     2  e_phentsize
    ///         56     2  e_phnum
    ///         58     6  e_shentsize, e_shnum, e_shstrndx (unused by a loader)
    enum Header {
        static let magic = 0
        static let elfClass = 4
        static let dataEncoding = 5
        static let identVersion = 6
        static let type = 16
        static let machine = 18
        static let version = 20
        static let entry = 24
        static let programHeaderOffset = 32
        static let headerSize = 52
        static let programHeaderEntrySize = 54
        static let programHeaderCount = 56
    }

    ///     offset  size  field
    ///          0     4  p_type
    ///          4     4  p_flags
    ///          8     8  p_offset
    ///         16     8  p_vaddr
    ///         24     8  p_paddr (unused)
    ///         32     8  p_filesz
    ///         40     8  p_memsz
    ///         48     8  p_align
    enum ProgramHeader {
        static let type = 0
        static let flags = 4
        static let offset = 8
        static let virtualAddress = 16
        static let fileSize = 32
        static let memorySize = 40
        static let alignment = 48
    }

    /// `p_type` values the loader acts on.
    enum SegmentType {
        static let load: UInt32 = 1
        static let interpreter: UInt32 = 3
        static let threadLocalStorage: UInt32 = 7
    }
}

extension ByteReader {
    /// A load from an offset already shown to be in bounds; 0 instead of a trap if not.
    func field<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        load(type, at: offset) ?? 0
    }
}

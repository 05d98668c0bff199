// Why an ELF image can be refused. Programs in the boot image are untrusted input
// (DESIGN.md, invariant 5): every way a file can be malformed, or can ask for
// something the loader does not allow, is one case here, so the kernel (or spawn)
// can say exactly what it refused, and nothing about the file can fault the loader.

public enum ELFError: Error, Equatable, Sendable {
    /// The file is shorter than the 64-byte ELF-64 header; carries the file size.
    case truncatedHeader(size: Int)
    /// The first four bytes are not 0x7F 'E' 'L' 'F'.
    case badMagic
    /// `EI_CLASS` is not `ELFCLASS64` (2); carries the class byte (1 is 32-bit).
    case notELF64(class: UInt8)
    /// `EI_DATA` is not `ELFDATA2LSB` (1); carries the encoding byte (2 is big-endian).
    case notLittleEndian(encoding: UInt8)
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT` (1); carries the value found.
    case badVersion(UInt32)
    /// `e_type` is not `ET_EXEC` (2): relocatable, shared/PIE and core files are refused.
    case unsupportedType(UInt16)
    /// `e_machine` is not `EM_X86_64` (62); carries the machine found.
    case wrongMachine(UInt16)
    /// `e_ehsize` is not 64, the size of the ELF-64 header.
    case badHeaderSize(UInt16)
    /// `e_phentsize` is not 56, the size of an ELF-64 program header.
    case badProgramHeaderSize(UInt16)
    /// `e_phnum` is above `ELFLimits.maximumProgramHeaders` (0xFFFF, `PN_XNUM`, included).
    case tooManyProgramHeaders(count: UInt16)
    /// The program header table (`e_phoff`, `e_phnum` entries) runs past the end of the file.
    case programHeadersOutsideFile(offset: UInt64)
    /// A program header this loader cannot honour: `PT_INTERP` (needs a dynamic linker)
    /// or `PT_TLS` (needs thread-local storage set up); carries the header's index.
    case unsupportedProgramHeader(type: UInt32, index: Int)
    /// More non-empty `PT_LOAD` segments than `ELFLimits.maximumLoadSegments`; carries
    /// the index of the first header over the limit.
    case tooManyLoadSegments(index: Int)
    /// A `PT_LOAD` with `p_filesz > p_memsz`; carries the header's index.
    case fileSizeExceedsMemorySize(index: Int)
    /// A `PT_LOAD` with write and execute permission both (W^X); carries the header's index.
    case writableAndExecutable(index: Int)
    /// A `PT_LOAD` whose file bytes (`p_offset`, `p_filesz`) run past the end of the file.
    case segmentOutsideFile(index: Int)
    /// A `PT_LOAD` whose `p_align` is not a power of two, or whose `p_vaddr` and
    /// `p_offset` disagree modulo `p_align`; carries the header's index.
    case badAlignment(index: Int)
    /// A `PT_LOAD` whose `p_vaddr + p_memsz`, rounded up to a page, passes 2^64.
    case addressOverflow(index: Int)
    /// A `PT_LOAD` whose pages are not all inside `ELFLimits.allowedRange`.
    case segmentOutsideAllowedRange(index: Int)
    /// Two `PT_LOAD` segments share a page (`first` < `second` in program header order).
    case overlappingSegments(first: Int, second: Int)
    /// The segments need more pages than `ELFLimits.maximumPages`; carries the count
    /// reached when the limit was passed.
    case imageTooLarge(pages: UInt64)
    /// No `PT_LOAD` segment with a non-zero memory size.
    case noLoadableSegments
    /// `e_entry` is not inside an executable `PT_LOAD` segment; carries the entry point.
    case entryNotExecutable(entry: UInt64)

    /// A sentence the kernel can print without reflection.
    public var message: StaticString {
        switch self {
        case .truncatedHeader: "ELF: file is shorter than the ELF-64 header; size"
        case .badMagic: "ELF: not an ELF file (bad magic)"
        case .notELF64: "ELF: not a 64-bit ELF file; class"
        case .notLittleEndian: "ELF: not a little-endian ELF file; encoding"
        case .badVersion: "ELF: unknown ELF version; version"
        case .unsupportedType: "ELF: not an executable (ET_EXEC); type"
        case .wrongMachine: "ELF: not an x86-64 file; machine"
        case .badHeaderSize: "ELF: header size is not 64; size"
        case .badProgramHeaderSize: "ELF: program header size is not 56; size"
        case .tooManyProgramHeaders: "ELF: too many program headers; count"
        case .programHeadersOutsideFile: "ELF: program header table runs past the end of the file; offset"
        case .unsupportedProgramHeader: "ELF: program header needs an unsupported feature (PT_INTERP or PT_TLS); index"
        case .tooManyLoadSegments: "ELF: too many PT_LOAD segments; index"
        case .fileSizeExceedsMemorySize: "ELF: segment file size exceeds its memory size; index"
        case .writableAndExecutable: "ELF: segment is both writable and executable; index"
        case .segmentOutsideFile: "ELF: segment bytes run past the end of the file; index"
        case .badAlignment: "ELF: segment alignment is not a power of two or does not match its offset; index"
        case .addressOverflow: "ELF: segment end wraps past the top of the address space; index"
        case .segmentOutsideAllowedRange: "ELF: segment lies outside the allowed user address range; index"
        case .overlappingSegments: "ELF: segment shares a page with an earlier segment; index"
        case .imageTooLarge: "ELF: image needs too many pages; pages"
        case .noLoadableSegments: "ELF: file has no loadable segment"
        case .entryNotExecutable: "ELF: entry point is not in an executable segment; entry"
        }
    }

    /// The number that goes with `message`, if any (for `.overlappingSegments`, the
    /// later header's index).
    public var detail: UInt64? {
        switch self {
        case .truncatedHeader(let size): UInt64(size)
        case .notELF64(let value), .notLittleEndian(let value): UInt64(value)
        case .badVersion(let version): UInt64(version)
        case .unsupportedType(let value), .wrongMachine(let value), .badHeaderSize(let value),
             .badProgramHeaderSize(let value), .tooManyProgramHeaders(let value):
            UInt64(value)
        case .programHeadersOutsideFile(let offset): offset
        case .unsupportedProgramHeader(_, let index), .tooManyLoadSegments(let index),
             .fileSizeExceedsMemorySize(let index), .writableAndExecutable(let index),
             .segmentOutsideFile(let index), .badAlignment(let index), .addressOverflow(let index),
             .segmentOutsideAllowedRange(let index), .overlappingSegments(_, let index):
            UInt64(index)
        case .imageTooLarge(let pages): pages
        case .entryNotExecutable(let entry): entry
        case .badMagic, .noLoadableSegments: nil
        }
    }
}

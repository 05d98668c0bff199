// Fuzzes the ELF loader: any input is parsed as an executable; an accepted image must
// keep every promise of `ELFImage`, and executing its load plan must reproduce the
// file's bytes exactly, with zeros everywhere else.

import Basics
import ELF
import FuzzSupport
import Glibc

/// A small page budget keeps each run fast; the limit itself is part of what is tested.
private let maximumPages = 64

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzELF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let file = input(data, size)
    let limits = ELFLimits(
        allowedRange: 0x0000_0080_0000_0000..<0x0000_7FFF_FFFF_F000, maximumLoadSegments: 8, maximumPages: maximumPages)
    let image: ELFImage
    do throws(ELFError) {
        image = try ELFImage(file: file, limits: limits)
    } catch {
        _ = error.message
        _ = error.detail
        return 0
    }
    checkImage(image, file: file, limits: limits)
    return 0
}

private func checkImage(_ image: ELFImage, file: ByteReader, limits: ELFLimits) {
    require(!image.segments.isEmpty && image.segments.count <= limits.maximumLoadSegments, "segment count")
    require(image.pageCount <= limits.maximumPages, "page budget")
    var entryIsCode = false
    var previousPageEnd: UInt64 = 0
    for segment in image.segments {
        let start = segment.virtualRange.lowerBound
        let end = segment.virtualRange.upperBound
        require(segment.memorySize > 0 && end &- start == segment.memorySize && end > start, "memory range")
        require(segment.fileSize <= segment.memorySize, "file size within memory size")
        if segment.fileSize > 0 {
            require(segment.fileOffset <= UInt64(file.count)
                    && segment.fileSize <= UInt64(file.count) - segment.fileOffset, "file bytes inside the file")
        }
        let pageStart = start & ~0xFFF
        let pageEnd = (end + 0xFFF) & ~0xFFF
        require(pageStart >= limits.allowedRange.lowerBound && pageEnd <= limits.allowedRange.upperBound, "allowed range")
        require(pageStart >= previousPageEnd, "sorted, no shared page")
        previousPageEnd = pageEnd
        require(!segment.permissions.isSuperset(of: [.writable, .executable]), "W^X")
        if segment.permissions.contains(.executable) && start <= image.entry && image.entry < end { entryIsCode = true }
    }
    require(entryIsCode, "entry in an executable segment")

    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
    let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
    zeros.initializeMemory(as: UInt8.self, repeating: 0)
    defer {
        frame.deallocate()
        zeros.deallocate()
    }
    func isZero(_ range: Range<Int>) -> Bool {
        range.isEmpty || memcmp(frame.baseAddress! + range.lowerBound, zeros.baseAddress!, range.count) == 0
    }
    var pages = 0
    for page in image.loadPlan {
        pages += 1
        frame.initializeMemory(as: UInt8.self, repeating: 0xA5)
        require(page.fill(frame, from: file), "a plan page fills from its own file")
        guard let segment = image.segments.first(where: { $0.pageRange.contains(page.virtualAddress) }) else {
            require(false, "every page belongs to a segment")
            return
        }
        require(page.permissions == segment.permissions, "page permissions")
        // Which bytes of this page hold file bytes, worked out from the segment alone.
        let fileStart = segment.virtualRange.lowerBound
        let fileEnd = fileStart + segment.fileSize
        let low = max(page.virtualAddress, fileStart)
        let high = min(page.virtualAddress + 4096, fileEnd)
        let copied = low < high ? Int(low - page.virtualAddress)..<Int(high - page.virtualAddress) : 0..<0
        require(isZero(0..<copied.lowerBound) && isZero(copied.upperBound..<4096), "bytes outside the file part are zero")
        if !copied.isEmpty {
            let source = Int(segment.fileOffset + (low - fileStart))
            require(memcmp(frame.baseAddress! + copied.lowerBound, file.bytes.baseAddress! + source, copied.count) == 0,
                    "file part holds the file bytes")
        }
    }
    require(pages == image.pageCount, "plan length")
}

runLibFuzzer(fuzzELF)

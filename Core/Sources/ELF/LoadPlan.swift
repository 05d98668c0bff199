// The loader's executing half: what the kernel does with a validated `ELFImage`, page
// by page. Each page needs one fresh frame; some bytes of it come from the file, the
// rest are zero. Because segments never share a page (ELFImage.swift), a page's file
// bytes are one contiguous run, so a page is described by two ranges.
//
// The plan is computed on demand rather than stored, so a large bss costs no memory
// here; its length is bounded by `ELFLimits.maximumPages`.

import Basics

/// How to build one page of a loaded image.
///
///     page offset 0 ........ copyDestination ........ pageSize
///                 | zeroed  | file[copySource]      | zeroed  |
public struct PageLoad: Equatable, Sendable {
    /// The page's virtual address, a multiple of `ELFImage.pageSize`.
    public let virtualAddress: UInt64
    /// The permissions to map the page with (those of its segment).
    public let permissions: SegmentPermissions
    /// The bytes of the page that come from the file; empty for an all-zero page
    /// (then it is `0..<0`).
    public let copyDestination: Range<Int>
    /// The file bytes that go to `copyDestination`; the same length, within the file.
    public let copySource: Range<Int>

    /// The page bytes before the copied ones, to be zeroed.
    public var zeroedBefore: Range<Int> { 0..<copyDestination.lowerBound }
    /// The page bytes after the copied ones, to be zeroed.
    public var zeroedAfter: Range<Int> { copyDestination.upperBound..<Int(ELFImage.pageSize) }

    /// Fills `frame` (at least one page) with this page's contents from `file`, the
    /// same bytes the image was parsed from. Every byte of the page is written, so the
    /// frame's old contents do not matter. Returns false, writing nothing, if the frame
    /// is short or the file does not hold `copySource` (a different file was passed).
    public func fill(_ frame: UnsafeMutableRawBufferPointer, from file: ByteReader) -> Bool {
        guard frame.count >= Int(ELFImage.pageSize),
              let source = file.slice(at: copySource.lowerBound, length: copySource.count)
        else { return false }
        zero(frame, zeroedBefore)
        if !copyDestination.isEmpty {
            UnsafeMutableRawBufferPointer(rebasing: frame[copyDestination]).copyMemory(from: source.bytes)
        }
        zero(frame, zeroedAfter)
        return true
    }

    private func zero(_ frame: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        UnsafeMutableRawBufferPointer(rebasing: frame[range]).initializeMemory(as: UInt8.self, repeating: 0)
    }
}

extension LoadSegment {
    /// Page `index` of this segment (0 is the page holding `virtualRange.lowerBound`).
    /// Bytes of the page outside the segment, and the bss, are zero.
    public func page(_ index: Int) -> PageLoad {
        precondition(index >= 0 && index < pageCount, "ELF: page index outside the segment")
        let pageStart = pageRange.lowerBound + UInt64(index) * ELFImage.pageSize
        let fileEnd = virtualRange.lowerBound + fileSize
        let low = max(pageStart, virtualRange.lowerBound)
        let high = min(pageStart + ELFImage.pageSize, fileEnd)
        guard low < high else {
            return PageLoad(virtualAddress: pageStart, permissions: permissions, copyDestination: 0..<0, copySource: 0..<0)
        }
        // Validation put fileOffset + fileSize within the file, so these fit in Int.
        let source = Int(fileOffset + (low - virtualRange.lowerBound))
        let length = Int(high - low)
        let destination = Int(low - pageStart)
        return PageLoad(
            virtualAddress: pageStart, permissions: permissions,
            copyDestination: destination..<(destination + length), copySource: source..<(source + length))
    }
}

/// Every page of an image, segment after segment in address order.
public struct LoadPlan: RandomAccessCollection, Equatable, Sendable {
    public let segments: [LoadSegment]
    /// `firstPage[i]` is the plan index of segment i's first page; one extra element
    /// holds the total.
    private let firstPage: [Int]

    init(segments: [LoadSegment]) {
        self.segments = segments
        var firstPage = [0]
        firstPage.reserveCapacity(segments.count + 1)
        for segment in segments { firstPage.append(firstPage[firstPage.count - 1] + segment.pageCount) }
        self.firstPage = firstPage
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { firstPage[firstPage.count - 1] }

    public subscript(position: Int) -> PageLoad {
        precondition(position >= 0 && position < endIndex, "ELF: page index outside the plan")
        // The last segment whose first page is at or before `position`.
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if firstPage[middle] <= position { low = middle } else { high = middle - 1 }
        }
        return segments[low].page(position - firstPage[low])
    }
}

extension ELFImage {
    /// The pages to create, in address order: for each, a frame filled by
    /// `PageLoad.fill` and mapped at `virtualAddress` with `permissions`.
    public var loadPlan: LoadPlan { LoadPlan(segments: segments) }

    /// The number of pages the image occupies.
    public var pageCount: Int { segments.reduce(0) { $0 + $1.pageCount } }
}

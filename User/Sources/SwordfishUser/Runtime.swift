// What the Embedded Swift runtime needs from a user program: memory (a heap over an
// arena in the program's own data segment, using the same allocator code as the
// kernel) and character output (a line buffer sent to the console by system call).
// Both are shared by all of the program's threads, so they run disabled.
import UserRuntimeC
import Basics
import Memory

struct UserMemory {
    var frames: FrameAllocator
    var heap = Heap()
}

nonisolated(unsafe) var userMemory: UserMemory? = nil
nonisolated(unsafe) var lineBuffer: [UInt8] = []
nonisolated(unsafe) var lineBufferReady = false

func memory() -> UnsafeMutablePointer<UserMemory>? {
    if userMemory == nil {
        var range = PhysicalRange(start: PhysicalAddress(user_heap_start()), end: PhysicalAddress(user_heap_end()))
        guard let frames = try? withUnsafePointer(to: &range, { (pointer) throws(MemoryError) -> FrameAllocator in
            try FrameAllocator(usable: UnsafeBufferPointer(start: pointer, count: 1), virtualOffset: 0)
        }) else { return nil }
        userMemory = UserMemory(frames: frames)
    }
    return withUnsafeMutablePointer(to: &userMemory!) { $0 }
}

@_cdecl("posix_memalign")
func posixMemalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> CInt {
    let wasDisabled = Dispatcher.disable()
    defer { Dispatcher.restore(wasDisabled) }
    guard let memory = memory() else { result.pointee = nil; return 12 }
    result.pointee = memory.pointee.heap.allocate(byteCount: size, alignment: alignment, frames: &memory.pointee.frames)
    return result.pointee == nil ? 12 : 0
}

@_cdecl("user_free")
func userFree(_ pointer: UnsafeMutableRawPointer?) {
    let wasDisabled = Dispatcher.disable()
    defer { Dispatcher.restore(wasDisabled) }
    guard let pointer, let memory = memory() else { return }
    try? memory.pointee.heap.free(pointer, frames: &memory.pointee.frames)
}

@_cdecl("putchar")
func putchar(_ character: CInt) -> CInt {
    let wasDisabled = Dispatcher.disable()
    defer { Dispatcher.restore(wasDisabled) }
    let byte = UInt8(truncatingIfNeeded: character)
    if !lineBufferReady { lineBuffer.reserveCapacity(256); lineBufferReady = true }
    lineBuffer.append(byte)
    if byte == UInt8(ascii: "\n") || lineBuffer.count >= 200 {
        lineBuffer.withUnsafeBufferPointer { buffer in
            _ = try? SystemCall.write(UnsafeRawBufferPointer(buffer))
        }
        lineBuffer.removeAll(keepingCapacity: true)
    }
    return character
}

@_cdecl("arc4random_buf")
func arc4randomBuffer(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
    for i in 0..<count { buffer.storeBytes(of: UInt8(truncatingIfNeeded: i &* 151), toByteOffset: i, as: UInt8.self) }
}

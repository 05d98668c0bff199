// Fuzzes the virtqueue's reading of what a device writes: the driver gives a few
// buffers, then the input plays the device, writing used entries and used indices; every
// buffer that comes back must be one the device held, within its length.

import Basics
import FuzzSupport
import Virtio

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzVirtqueue(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let device = input(data, size)
    let layout = SplitQueueLayout(size: 8)!
    let memory = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: SplitQueueLayout.alignment)
    defer { memory.deallocate() }
    memory.initializeMemory(as: UInt8.self, repeating: 0, count: layout.byteCount)
    var queue = SplitQueue(layout: layout, memory: memory)
    var held = [Int](repeating: 0, count: 8)
    let lengths: [UInt32] = [64, 1514, 2048, 0, 1, 4096, 60, 100]
    for buffer in 0..<6 where queue.give(buffer: buffer, address: UInt64(buffer) << 12, length: lengths[buffer],
                                         direction: buffer % 3 == 0 ? .toDevice : .fromDevice) {
        held[buffer] += 1
    }
    // Each 10 input bytes: a used entry (slot, id, length) and the used index.
    var offset = 0
    while let slot = device.load(UInt8.self, at: offset), let id = device.load(UInt32.self, at: offset + 1),
          let length = device.load(UInt32.self, at: offset + 5), let index = device.load(UInt8.self, at: offset + 9) {
        let entry = memory + layout.usedOffset + 4 + 8 * (Int(slot) % layout.size)
        entry.storeBytes(of: id, as: UInt32.self)
        entry.storeBytes(of: length, toByteOffset: 4, as: UInt32.self)
        memory.storeBytes(of: UInt16(index), toByteOffset: layout.usedOffset + 2, as: UInt16.self)
        offset += 10
        while true {
            do throws(VirtqueueFault) {
                guard let used = try queue.takeUsed() else { break }
                require(used.buffer < 8 && held[used.buffer] > 0, "only a held buffer comes back")
                require(used.length <= Int(lengths[used.buffer]), "a length within the buffer")
                held[used.buffer] -= 1
            } catch {
                if case .lengthTooLong(let buffer, _) = error {
                    require(buffer < 8 && held[buffer] > 0, "only a held buffer comes back")
                    held[buffer] -= 1
                }
                if queue.isBroken { break }
            }
        }
        require(queue.heldCount == held.reduce(0, +), "the queue and the driver agree on what the device holds")
    }
    return 0
}

runLibFuzzer(fuzzVirtqueue)

import XCTest
import Foundation
@testable import Channel

/// Two real threads, pinned to different cores where the machine has them, exchange
/// messages across many wrap-arounds of a small ring.
final class ThreadedRingTests: XCTestCase {
    /// Pins the calling thread to `cpu` (modulo the CPUs there are). glibc's
    /// pthread_setaffinity_np is not in Swift's Glibc module, so it is looked up by name.
    static func pin(to cpu: Int) {
        typealias SetAffinity = @convention(c) (pthread_t, Int, UnsafeRawPointer) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setaffinity_np") else { return }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        var mask = [UInt8](repeating: 0, count: 128)
        let target = cpu % max(ProcessInfo.processInfo.activeProcessorCount, 1)
        mask[target / 8] |= UInt8(1 << (target % 8))
        _ = mask.withUnsafeBytes { setAffinity(pthread_self(), 128, $0.baseAddress!) }
    }

    func testMillionsOfMessagesNoLossDuplicationOrReordering() throws {
        let total: UInt64 = 2_000_000
        let slots = 31
        let region = SharedRegion(slots: slots)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var senderError: ChannelError?
        nonisolated(unsafe) var senderStalledAt: UInt64?
        // The thread holds the region itself: should this side give up waiting for it,
        // the region still outlives it.
        let thread = Thread {
            ThreadedRingTests.pin(to: 1)
            var sender = RingSender(region: region.pointer, slots: slots)
            var n: UInt64 = 0
            var random: UInt64 = 99
            var wait = SpinWait()
            while n < total {
                random = random &* 6364136223846793005 &+ 1
                // Random payload lengths: only the first k words carry data.
                var m = ChannelMessage(tag: UInt16(n % 60_000 + 1))
                let length = Int(random >> 61)
                for i in 0..<ChannelMessage.wordCount { m.words[i] = i < length ? n &+ UInt64(i) : 0 }
                do throws(ChannelError) {
                    if try sender.send(m) {
                        n += 1
                        wait.reset()
                    } else if wait.hasExpired() {
                        senderStalledAt = n
                        break
                    }
                } catch {
                    senderError = error
                    break
                }
            }
            done.signal()
        }
        thread.start()
        ThreadedRingTests.pin(to: 0)
        var receiver = RingReceiver(region: region.pointer, slots: slots)
        var expected: UInt64 = 0
        var mismatches = 0
        var wait = SpinWait()
        while expected < total {
            guard let m = try receiver.receive() else {
                if wait.hasExpired() {
                    XCTFail("message \(expected + 1) not delivered within \(SpinWait.seconds) s")
                    break
                }
                continue
            }
            wait.reset()
            if m.tag != UInt16(expected % 60_000 + 1) || (m.words[0] != expected && m.words[0] != 0) { mismatches += 1 }
            expected += 1
        }
        // A sender without credit gives up after its own spin-wait limit, well before this.
        guard done.wait(timeout: .now() + .seconds(3 * SpinWait.seconds)) == .success else {
            return XCTFail("the sending thread did not finish within \(3 * SpinWait.seconds) s")
        }
        XCTAssertNil(senderError)
        if let stalled = senderStalledAt {
            XCTFail("message \(stalled + 1) found no credit within \(SpinWait.seconds) s")
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertNil(try receiver.receive(), "nothing beyond what was sent")
    }
}

import XCTest
import Foundation
@testable import Channel

final class DoorbellTests: XCTestCase {
    func testTheSenderRingsOncePerSleep() {
        let region = SharedRegion(slots: 2)
        var doorbell = Doorbell(line: region.pointer)
        var watcher = DoorbellWatcher(line: region.pointer)
        XCTAssertFalse(watcher.peerNeedsRinging(), "an awake peer needs no ring")
        doorbell.announceSleep()
        XCTAssertTrue(watcher.peerNeedsRinging())
        XCTAssertFalse(watcher.peerNeedsRinging(), "a second message in the same sleep rings no more")
        doorbell.announceAwake()
        XCTAssertFalse(watcher.peerNeedsRinging())
        doorbell.announceSleep()
        XCTAssertTrue(watcher.peerNeedsRinging(), "the next sleep is rung for again")
    }

    /// A receiver thread sleeps on a semaphore whenever its ring is empty, after
    /// announcing it; the sender signals it only when its doorbell says so. A lost
    /// wake-up shows as a receiver asleep with a message waiting: it sleeps with a
    /// timeout, and a timeout that finds a message is counted.
    func testNoWakeUpIsLostBetweenTwoThreads() {
        let total: UInt64 = 200_000
        let slots = 7
        let ring = SharedRegion(slots: slots)
        let lines = SharedRegion(slots: 1)
        let bell = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var lost = 0
        nonisolated(unsafe) var received: UInt64 = 0
        let receiverThread = Thread {
            ThreadedRingTests.pin(to: 1)
            var receiver = RingReceiver(region: ring.pointer, slots: slots)
            var doorbell = Doorbell(line: lines.pointer)
            while received < total {
                if let message = try? receiver.receive() {
                    XCTAssertEqual(message.words[0], received)
                    received += 1
                    continue
                }
                receiver.publish()
                doorbell.announceSleep()
                if receiver.hasMessage() {
                    doorbell.announceAwake()
                    continue
                }
                if bell.wait(timeout: .now() + .seconds(2)) == .timedOut, receiver.hasMessage() { lost += 1 }
                doorbell.announceAwake()
            }
            done.signal()
        }
        receiverThread.start()
        ThreadedRingTests.pin(to: 0)
        var sender = RingSender(region: ring.pointer, slots: slots)
        var watcher = DoorbellWatcher(line: lines.pointer)
        var sent: UInt64 = 0
        var stalled = SpinWait()
        while sent < total {
            if (try? sender.send(ChannelMessage(tag: 1, sent))) == true {
                sent += 1
                stalled.reset()
                if watcher.peerNeedsRinging() { bell.signal() }
            } else if stalled.hasExpired() {
                break
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + .seconds(60)), .success, "the receiver did not finish")
        XCTAssertEqual(sent, total, "the sender stalled")
        XCTAssertEqual(received, total)
        XCTAssertEqual(lost, 0, "wake-ups lost")
    }
}

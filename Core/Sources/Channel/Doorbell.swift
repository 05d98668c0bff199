// Sleeping on a ring without losing a wake-up. A receiver that finds its ring empty may
// sleep, and its peer, which polls nothing, must then tell it (a notify). The two sides
// share one cache line per receiver, written only by that receiver (the rings' rule:
// one writer per line):
//   word 0   1 while the receiver sleeps or is about to, 0 while it is awake
//   word 1   how many times it has gone to sleep (the sleep's number)
//
// The race is the classic one: the receiver checks the ring, finds it empty, and sleeps;
// meanwhile the sender writes a message and looks at the line. Each side stores first
// and loads second (receiver: flag, then ring; sender: ring, then flag), with a full
// fence between, so at least one of them sees the other's store: either the receiver
// finds the message, or the sender finds the flag and rings. On x86-64 the fence is
// needed: a store may otherwise pass a later load.
//
// The sender rings once per sleep: it remembers the number of the sleep it last rang
// for, so a burst of messages costs one notify. A wake-up is only ever a hint to look
// again, so a peer that writes nonsense here can make its own peer ring it needlessly,
// or not at all (then the peer sleeps until its own deadline): it harms nobody else.
import Synchronization

/// The receiver's side: its line in the shared page.
public struct Doorbell {
    let line: UnsafeMutableRawPointer
    var sleeps: UInt64 = 0

    /// `line` must be 64-byte aligned, zeroed before either side uses it, and written
    /// by no one else.
    public init(line: UnsafeMutableRawPointer) {
        precondition(Int(bitPattern: line) % Ring.lineSize == 0)
        self.line = line
    }

    /// Says this side is about to sleep. Look at the ring again after this and before
    /// sleeping: a message sent before the sender could see the flag is there.
    public mutating func announceSleep() {
        sleeps &+= 1
        atomicWord(line, line: 0, word: 1).pointee.store(sleeps, ordering: .relaxed)
        atomicWord(line, line: 0, word: 0).pointee.store(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Says this side is awake again (senders need not ring).
    public func announceAwake() {
        atomicWord(line, line: 0, word: 0).pointee.store(0, ordering: .relaxed)
    }
}

/// The sender's view of its peer's doorbell line.
public struct DoorbellWatcher {
    let line: UnsafeMutableRawPointer
    /// The number of the peer's sleep this side last rang for.
    var rangFor: UInt64 = 0

    public init(line: UnsafeMutableRawPointer) {
        precondition(Int(bitPattern: line) % Ring.lineSize == 0)
        self.line = line
    }

    /// Call after sending: true if the peer sleeps (or is about to) and has not been
    /// rung for this sleep yet, so the caller should notify it now.
    public mutating func peerNeedsRinging() -> Bool {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard atomicWord(line, line: 0, word: 0).pointee.load(ordering: .relaxed) == 1 else { return false }
        let sleep = atomicWord(line, line: 0, word: 1).pointee.load(ordering: .relaxed)
        guard sleep != rangFor else { return false }
        rangFor = sleep
        return true
    }
}

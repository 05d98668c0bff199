// Capability invocations from user code, typed. A domain starts with its root CNode's
// own capability in slot 0, a RAM capability in slot 1 and its address space in the
// CNode in slot 63 (`InitialSlot`); everything else it makes by retyping, copying,
// minting and mapping. Each function is one invocation; a refusal throws the kernel's
// `InvocationStatus` and changes nothing.
import UserRuntimeC
import Basics

/// A slot in this domain's CSpace, and the capability in it.
public struct Capability: Hashable, Sendable {
    public var address: CapabilityAddress

    public init(_ address: CapabilityAddress) { self.address = address }

    /// Root slot `slot`.
    public init(slot: UInt32) { address = .root(slot) }

    /// This domain's root CNode.
    public static let rootCNode = Capability(slot: InitialSlot.rootCNode)
    /// The RAM this domain starts with (`DomainRAM.bytes`).
    public static let ram = Capability(slot: InitialSlot.ram)
    /// This domain's own PML4, where its address space begins.
    public static let ownPML4 = Capability(.leaf(InitialSlot.addressSpace, InitialSlot.pml4))

    /// Any invocation with any words, answered with the raw status and value. For
    /// programs that feed the kernel bad input on purpose; everything else has a typed
    /// function below.
    @discardableResult
    public static func invokeRaw(_ target: UInt64, _ operation: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0,
                                 _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> (status: UInt64, value: UInt64) {
        let result = user_invoke(SystemCallNumber.invoke.rawValue, target, operation, a0, a1, a2, a3)
        return (result.status, result.value)
    }

    @discardableResult
    func invoke(_ words: InvocationWords) throws(InvocationStatus) -> UInt64 {
        let (status, value) = Self.invokeRaw(address.encoded, words.operation.rawValue, words.a0, words.a1, words.a2, words.a3)
        guard status == InvocationStatus.success.rawValue else { throw InvocationStatus(rawValue: status) ?? .unknownOperation }
        return value
    }

    /// What this slot holds: type (`.null` for an empty slot), rights, whether badged.
    public func identify() throws(InvocationStatus) -> CapabilityIdentity {
        let word = try invoke(.identify)
        return CapabilityIdentity(word: word) ?? CapabilityIdentity(type: .null, rights: [], isBadged: false)
    }

    /// The type of what this slot holds, `.null` if it is empty or cannot be read.
    public var type: CapabilityType { (try? identify())?.type ?? .null }

    /// Makes `count` objects of `type`, each `size` bytes, from this capability (RAM,
    /// or a frame or range to split), into consecutive slots from `destination`.
    /// Sizes: a frame or RAM a multiple of 4 KiB (RAM a power of two), a CNode 16 or
    /// more slots of 64 bytes; every fixed-size type (page tables, endpoints,
    /// dispatchers) takes size 0 for its one size. Returns how many were made.
    @discardableResult
    public func retype(to type: CapabilityType, size: UInt64 = 0, count: Int = 1, into destination: Capability) throws(InvocationStatus) -> Int {
        Int(try invoke(.retype(to: type, size: size, count: count, into: destination.address)))
    }

    /// Copies the capability, with the same rights, into `destination`.
    public func copy(to destination: Capability) throws(InvocationStatus) {
        try invoke(.copy(to: destination.address))
    }

    /// Copies the capability into `destination` with only `rights` (rights only shrink)
    /// and, for an endpoint or notify capability without one, `badge`.
    public func mint(to destination: Capability, rights: CapabilityRights, badge: UInt64 = 0) throws(InvocationStatus) {
        try invoke(.mint(to: destination.address, rights: rights, badge: badge))
    }

    /// Empties the slot; returns how many objects died with it (the last copy).
    @discardableResult
    public func delete() throws(InvocationStatus) -> Int { Int(try invoke(.delete)) }

    /// Deletes every other copy and every descendant; returns how many objects died.
    @discardableResult
    public func revoke() throws(InvocationStatus) -> Int { Int(try invoke(.revoke)) }

    /// Sends three words, and optionally a capability, on this endpoint (write right).
    /// Throws `endpointFull` while the receiver has not taken earlier messages.
    public func send(_ words: (UInt64, UInt64, UInt64), capability: Capability? = nil) throws(InvocationStatus) {
        try invoke(.send(words, capability: capability?.address))
    }

    /// Takes the next message from this endpoint (read right; this domain becomes its
    /// receiver); a capability in it goes to `capabilityDestination`, which must be
    /// empty. Throws `endpointEmpty` if none is there (see `wait`).
    public func receive(capabilityDestination: Capability? = nil) throws(InvocationStatus) -> [UInt64] {
        try receiveMessage(capabilityDestination: capabilityDestination).words
    }

    /// `receive`, with the badge of the capability the message was sent with (0 for
    /// none): a server tells its clients apart by the badges of their copies.
    public func receiveMessage(capabilityDestination: Capability? = nil) throws(InvocationStatus) -> (words: [UInt64], badge: UInt64) {
        let (words, badge) = try receiveWords(capabilityDestination: capabilityDestination)
        return ([words.0, words.1, words.2], badge)
    }

    /// `receiveMessage` with the words as they came, in no array: nothing allocated.
    public func receiveWords(capabilityDestination: Capability? = nil) throws(InvocationStatus) -> (words: (UInt64, UInt64, UInt64), badge: UInt64) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let buffer = withUnsafeMutablePointer(to: &words) { UInt64(UInt(bitPattern: $0)) }
        let badge = try invoke(.receive(capabilityInto: capabilityDestination?.address, buffer: buffer))
        return (words, badge)
    }

    /// Returns when a message is there to receive on this endpoint, sleeping until
    /// then (this domain must have received on it once, which makes it the receiver).
    public func wait() throws(InvocationStatus) { try invoke(.wait) }

    /// Sends three words on this endpoint (write right) and returns the message that
    /// arrives next on `endpoint` (read right; this domain must have received on it
    /// once, which makes it the receiver), with its badge, sleeping until it comes:
    /// send, `wait` and `receiveWords` in one kernel entry, the words in registers both
    /// ways. A client's request and its answer, or a server's answer and its next
    /// request. A refusal throws before anything is sent, except two: `capabilityWaiting`
    /// (the words went, and the message waiting on `endpoint` carries a capability: take
    /// it with `receive(capabilityDestination:)`) and `slotEmpty` once the call slept
    /// (the words went, and `endpoint` died meanwhile). The call takes no capability
    /// either way; send one with `send(_:capability:)`. While it sleeps the whole domain
    /// sleeps, as with `wait`: a program with threads waits through a `Waitset`.
    public func call(_ words: (UInt64, UInt64, UInt64), receivingOn endpoint: Capability) throws(InvocationStatus) -> (words: (UInt64, UInt64, UInt64), badge: UInt64) {
        let call = InvocationWords.call(words, receivingOn: endpoint.address)
        let result = user_invoke_call(SystemCallNumber.invoke.rawValue, address.encoded, call.operation.rawValue, call.a0, call.a1, call.a2, call.a3)
        guard result.status == InvocationStatus.success.rawValue else { throw InvocationStatus(rawValue: result.status) ?? .unknownOperation }
        return (result.words, result.badge)
    }

    /// Maps `source` into entry `entry` of this translation table (write right): a
    /// 4 KiB frame into a page table with `rights` (read is implied), or the next-lower
    /// table into a PML4, PDPT or page directory.
    public func map(_ source: Capability, at entry: Int, rights: CapabilityRights = [.read]) throws(InvocationStatus) {
        try invoke(.map(source.address, at: entry, rights: rights))
    }

    /// Removes the mapping at entry `entry` of this translation table.
    public func unmap(at entry: Int) throws(InvocationStatus) { try invoke(.unmap(at: entry)) }

    /// Gives the page mapped at entry `entry` of this page table `rights` (read implied,
    /// at most its capability's). In a domain that spans cores, `Span.protect` also
    /// makes every other core drop the old rights.
    public func protect(at entry: Int, rights: CapabilityRights) throws(InvocationStatus) {
        try invoke(.protect(at: entry, rights: rights))
    }

    /// Wakes domain `domain` (its local id) of core `core` with a notification, or with
    /// `domain` 0 that core's monitor (a notify capability covering that core, write
    /// right): how a sender tells a peer that may sleep to look at its ring.
    public func notify(core: Int, domain: Int = 0) throws(InvocationStatus) { try invoke(.notify(core: core, domain: domain)) }

    /// Makes in `destination` a capability of this one's type and rights for only
    /// `first ..< first + count` of its I/O ports, interrupts or cores (a child: revoking
    /// this one removes it). Throws `regionInUse` if another such child has some of them.
    public func narrow(first: UInt64, count: UInt64, into destination: Capability) throws(InvocationStatus) {
        try invoke(.narrow(first: first, count: count, into: destination.address))
    }

    /// Reads `width` bytes from I/O port `port` (an I/O port range holding every port
    /// read, with the read right).
    public func read(port: UInt16, width: PortWidth = .byte) throws(InvocationStatus) -> UInt32 {
        UInt32(truncatingIfNeeded: try invoke(.portIn(port, width: width)))
    }

    /// Writes `value` (which must fit `width`) to I/O port `port` (write right).
    public func write(port: UInt16, width: PortWidth = .byte, value: UInt32) throws(InvocationStatus) {
        try invoke(.portOut(port, width: width, value: value))
    }

    /// Delivers ISA IRQ `irq` (in this interrupt capability's range, read right) to
    /// this core: each interrupt arrives on `endpoint` as an `InterruptMessage`.
    public func connect(irq: UInt8, to endpoint: Capability) throws(InvocationStatus) {
        try invoke(.connect(irq: irq, endpoint: endpoint.address))
    }

    /// Delivers a device's message-signalled interrupt (MSI-X), standing for `irq` (in
    /// this interrupt capability's range, read right), to the calling core: each
    /// interrupt arrives on `endpoint` as an `InterruptMessage` for `irq`. The answer is
    /// what the device must write to raise it (into its MSI-X table entry).
    /// Edge-triggered: no acknowledge needed.
    public func connectMessageSignalled(irq: UInt8, to endpoint: Capability) throws(InvocationStatus) -> MessageSignalledTarget {
        guard let target = MessageSignalledTarget(word: try invoke(.connectMessageSignalled(irq: irq, endpoint: endpoint.address))) else {
            throw .badAddress
        }
        return target
    }

    /// Stops delivering `irq` (connected by this domain) and masks it.
    public func disconnect(irq: UInt8) throws(InvocationStatus) { try invoke(.disconnect(irq: irq)) }

    /// Says the device behind `irq` (connected by this domain) is quiet again: a
    /// level-triggered line, masked since its interrupt arrived, may interrupt again.
    public func acknowledge(irq: UInt8) throws(InvocationStatus) { try invoke(.acknowledge(irq: irq)) }

    /// The physical address of this RAM, frame or device frame, for a device to reach it.
    public func physicalAddress() throws(InvocationStatus) -> PhysicalAddress {
        PhysicalAddress(try invoke(.physicalAddress))
    }
}

/// Nil if `body` is refused with `expected`; otherwise what happened instead, said for a
/// check's failure (`what` names the attempt). For the programs that check that the
/// capability rules refuse what they must.
public func unexpectedOutcome(of what: String, expecting expected: InvocationStatus,
                              _ body: () throws(InvocationStatus) -> Void) -> String? {
    do throws(InvocationStatus) {
        try body()
        return "\(what) was allowed, expected \(expected)"
    } catch {
        return error == expected ? nil : "\(what) was refused with \(error), expected \(expected)"
    }
}

/// Makes a PDPT, a page directory and a page table from `ram` into root slots `first`,
/// `first + 1` and `first + 2`, and maps them below entry `pml4Entry` of this domain's
/// PML4, each at entry 0: the page table (the capability returned) then maps the 2 MiB
/// at `pml4Entry << 39`.
public func makePageTable(from ram: Capability, into first: UInt32, pml4Entry: Int) throws(InvocationStatus) -> Capability {
    var parent = Capability.ownPML4
    for (index, type) in [CapabilityType.pdpt, .pageDirectory, .pageTable].enumerated() {
        let table = Capability(slot: first + UInt32(index))
        try ram.retype(to: type, into: table)
        try parent.map(table, at: index == 0 ? pml4Entry : 0)
        parent = table
    }
    return parent
}

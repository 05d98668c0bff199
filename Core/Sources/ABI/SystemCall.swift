// The system calls: a small fixed set; everything else is a capability invocation.
// Convention (x86-64): the number in RAX, arguments in RDI, RSI, RDX, R10 (an
// invocation also R8 and R9); the status comes back in RAX and a value in RDX.

/// A system call's number (RAX).
public enum SystemCallNumber: UInt64, CaseIterable, Sendable {
    /// print(address, length): write bytes to the console (length ≤ `SystemCallNumber.printLimit`).
    case print = 0
    /// exit(status): end the domain.
    case exit
    /// yield: let the next domain on this core run.
    case yield
    /// invoke(capability, operation, a0, a1, a2, a3): a capability invocation
    /// (`CapabilityOperation`); its status is an `InvocationStatus`.
    case invoke
    /// resume(area): continue, enabled, from the save area at `area` (a user-level
    /// scheduler resuming a thread); does not return on success.
    case resume
    /// wait(deadline): sleep until a message arrives on an endpoint the domain receives
    /// on, a notification comes for it (at once if either came since the last wait), one
    /// of its endpoints dies, or the time stamp counter passes `deadline` (0: no
    /// deadline; with none and nothing that could wake it, `nothingToWaitFor`).
    case wait
    /// unhandledFault: the dispatcher gives up on the fault it was handed; the kernel
    /// stops the domain and reports the fault.
    case unhandledFault
    /// trace(kind, channel, a, b): record an event in this core's trace, stamped by the
    /// kernel with the time and the domain (only kinds `isRecordableByDomains`, and a
    /// `TraceChannel`; else `notRecordable`); nothing is recorded while tracing is off.
    case trace

    /// The most bytes one print may write.
    public static let printLimit: UInt64 = 4096
}

/// The status of a system call other than invoke (RAX on return).
public enum SystemCallStatus: UInt64, CaseIterable, Sendable, Error, CustomStringConvertible {
    case success = 0, invalidSystemCall, badAddress, badLength, badSaveArea, nothingToWaitFor, noFault, notRecordable

    /// The case's name and number, as programs print it: `badAddress (2)`.
    public var description: String {
        let name: String
        switch self {
        case .success: name = "success"
        case .invalidSystemCall: name = "invalidSystemCall"
        case .badAddress: name = "badAddress"
        case .badLength: name = "badLength"
        case .badSaveArea: name = "badSaveArea"
        case .nothingToWaitFor: name = "nothingToWaitFor"
        case .noFault: name = "noFault"
        case .notRecordable: name = "notRecordable"
        }
        return name + " (" + String(rawValue) + ")"
    }
}

/// A capability invocation's operation (RSI of the invoke system call). Arguments a0…a3
/// and the result value (RDX) per operation:
///
///     identify                          → type | rights << 8 | (badge != 0) << 16
///     retype(type, size, count, destination) → objects made
///     copy(destination)
///     mint(destination, rights, badge)
///     delete                            → objects reclaimed
///     revoke                            → objects reclaimed
///     send(w0, w1, w2, capability)      on an endpoint (write right); capability is an
///                                       address to pass along, or `noCapability`
///     receive(destination, buffer)      on an endpoint (read right): the message's words
///                                       go to `buffer`, its capability (if any) into
///                                       `destination` (or `noCapability`) → the badge
///                                       of the capability it was sent with (0: none)
///     wait                              on an endpoint (read right): return when a
///                                       message is there, sleeping until then
///     map(entry, source, rights)        on a translation table (write right): map the
///                                       capability at `source` into `entry`; `rights`
///                                       are read | write | execute for a frame
///     unmap(entry)                      on a translation table (write right)
///     protect(entry, rights)            on a page table (write right): the page mapped
///                                       at `entry` gets `rights` (read implied), at
///                                       most its capability's, in place (docs/spanning.md)
///     unmapEverywhere(entry, address)   on a page table (write right): unmap(entry),
///     protectEverywhere(entry, rights, address)
///                                       or protect(entry, rights), then return only
///                                       once no core the calling domain runs on can
///                                       still use a translation of the user page at
///                                       `address` (the one the entry mapped: a wrong
///                                       one leaves the caller's own stale translations,
///                                       and a spanning domain cannot free memory) →
///                                       the cores that stopped meanwhile, a mask. The
///                                       CPU drivers run the shootdown protocol down the
///                                       knowledge base's tree (docs/shootdown.md);
///                                       `outsideRange` (nothing changed) if `address`
///                                       is no user page; `timedOut` (the change made)
///                                       if a core neither answered nor stopped within
///                                       a second
///     call(w0, w1, w2, receiver)        on an endpoint (write right): send w0…w2 as send
///                                       does (no capability), then receive on the
///                                       endpoint at `receiver` (read right; this domain
///                                       must receive on it already, as for wait),
///                                       sleeping until a message is there → its words
///                                       and badge, in registers (`CallRegisters`). Send,
///                                       wait and receive in one kernel entry (the IPC
///                                       call of L4 and seL4). Every refusal but two comes
///                                       before anything is sent; `capabilityWaiting`
///                                       (the message there carries a capability, which
///                                       only receive takes: it stays queued) and
///                                       `slotEmpty` after a sleep (the receiving
///                                       endpoint died) come after the words went. When
///                                       the send wakes its receiver and the caller
///                                       sleeps, the kernel switches straight to it.
///     notify(core, domain)              on a notify capability (write right): wake
///                                       domain `domain` of core `core` (its local id;
///                                       0: the core's notification receiver, its
///                                       monitor). A wake for a domain that sleeps in
///                                       the wait system call ends it; one that comes
///                                       while it runs is kept for its next wait; one
///                                       for a domain that does not exist is dropped
///
/// On the kernel capability (the monitor's), the CPU driver's own services:
///
///     spawn(name, name length, arguments, arguments length)
///                                       start the boot image's program `name` (bytes at
///                                       that address) on this core → its local domain id
///     kill(domain)                      stop this core's domain `domain`
///     domainEvent(buffer)               the next start or end of a domain on this core,
///                                       as a `DomainEvent` written to `buffer` → 1, or 0
///                                       if none is waiting
///     poolFrame(core, page, destination) a frame capability for page `page` of core
///                                       `core`'s binding pool, made in `destination`
///                                       (how the server's monitor gets the page a
///                                       client's monitor chose)
///     knowledge(buffer, length)         core 0's knowledge base, encoded
///                                       (`KnowledgeEncoding` in Core), written to the
///                                       `length` bytes at `buffer` → its byte count.
///                                       `bufferTooSmall` (value: the count needed) if it
///                                       does not fit, `noKnowledge` on other cores
///     command(line, length)             run a shell line's kernel part (the bytes at
///                                       `line`): `cores`, `mem`, `uptime`, `domains`,
///                                       `ipi`, `skb`, `multicast`, `bench channel`,
///                                       `panic`, `halt`, and `fuzz`'s invariant check;
///                                       its output goes to the console. Any other line:
///                                       `notAKernelCommand`
///     programNames(buffer, length)      the boot image's program names, each ended by a
///                                       NUL, written to `buffer` → their byte count
///                                       (`bufferTooSmall` as for knowledge)
///     echo(bytes, length, line, length) write `bytes` to the console, then remember
///                                       `line` as what it shows again after another
///                                       core's line interrupts it (the shell's echo,
///                                       then its prompt and the line being edited; each
///                                       at most `consoleLineLimit` bytes). One call, so
///                                       no other core's line comes between the two
///     domainState(domain)               this core's domain `domain` → its
///                                       `DomainRunState` (`noSuchDomain` if none)
///
///   For capabilities that cross cores (the monitors' protocols, docs/capabilities.md);
///   `slot` is an address in the monitor's own CSpace:
///
///     describe(slot, buffer)            the object of the capability at `slot`, as the
///                                       three words type, base, size at `buffer`
///     adopt(type, base, size, destination)
///                                       a capability for another core's RAM or frame
///                                       object in `destination`: a copy if this core has
///                                       the object, else a new root (never memory of
///                                       this core's own share: regionInUse), marked
///                                       shared
///     markShared(slot, shared)          1: mark the object shared: domains' revoke and
///                                       retype of it (and revoke of an ancestor) are
///                                       refused with `sharedAcrossCores` from now on;
///                                       0: clear the mark, only when this capability is
///                                       the object's one copy and it has no descendants
///     sweep(slot)                       revoke, shared objects included (after the
///                                       protocol cleared the other cores)
///     retypeShared(slot, size, offset, destination)
///                                       one frame of `size` bytes at `offset` in the RAM
///                                       at `slot`, shared or not
///     grantMemory(bytes, destination)   a new RAM root of `bytes` (a power of two, at
///                                       least a page) from this core's free memory, for
///                                       the memory service → `outOfMemory` if none
///
///   For spanned domains (docs/spanning.md):
///
///     spanPlace(domain, address, buffer, core)
///                                       this core's domain `domain`'s PML4 and the
///                                       physical page mapped writable at `address` (the
///                                       frame it prepared for a new dispatcher on
///                                       `core`), as two words at `buffer`; from now on
///                                       the domain's memory stays held at its end until
///                                       `releaseSpanned`, and `core` takes part in its
///                                       shootdowns
///     span(buffer)                      a dispatcher here for another core's domain:
///                                       four words at `buffer` (its `SystemDomainID`,
///                                       PML4, frame, the frame's address), checked as
///                                       for adopt (never this core's memory) → its local
///                                       domain id. It starts at its run upcall, as the
///                                       frame says
///     releaseSpanned(domain)            every other core stopped this core's ended
///                                       domain `domain`'s dispatchers: free its memory
///     bootFile(name, length, page, frame)
///                                       copy page `page` of the boot image's file named
///                                       by the `length` bytes at `name` into the 4 KiB
///                                       frame at `frame` (write right), zeroing the rest
///                                       → the file's size. `noSuchFile`, `outsideRange`
///                                       for a page past its end
///     adoptKnowledge(buffer, length)    the monitor's replica of the knowledge base,
///                                       encoded as for knowledge, `length` bytes at
///                                       `buffer`: the trees this kernel's shootdowns
///                                       run down (`badBuffer` if it does not decode)
///
/// `wait` on a notify capability (read right) makes the domain its core's notification
/// receiver and sleeps until a notification comes (at once if one came since the last
/// wait); the wait system call then wakes on notifications too.
///
/// Devices: on an I/O port range, an interrupt range or a notify capability:
///
///     narrow(first, count, destination) a capability of the same type and rights for
///                                       units `first ..< first + count` of this one's
///                                       range, made in `destination` as its child (a
///                                       revoke of this one removes it), in any order;
///                                       units a live child has: regionInUse
///     portIn(port, width)               on I/O ports (read right) → the value read
///     portOut(port, width, value)       on I/O ports (write right); width 1, 2 or 4,
///                                       `value` must fit it, and ports `port ..< port +
///                                       width` must all lie in the range
///     connect(irq, endpoint)            on interrupts (read right): deliver ISA IRQ
///                                       `irq` (in the range) to this core, each as an
///                                       `InterruptMessage` on the endpoint capability
///                                       at `endpoint` (write right)
///     disconnect(irq)                   on interrupts (read right): stop delivering it
///                                       (only the domain that connected it)
///     acknowledge(irq)                  on interrupts (read right): the driver has
///                                       quieted its device. A level-triggered line
///                                       (a PCI device's INTx) stays masked from the
///                                       interrupt's arrival until this, so a device
///                                       still asserting it cannot storm the core;
///                                       on an edge-triggered line it changes nothing.
///                                       Only the domain that connected it: notConnected
///     connectMessageSignalled(irq, endpoint)
///                                       on interrupts (read right): a device's
///                                       message-signalled interrupt (MSI-X) standing for
///                                       `irq` (in the range: holding the device's
///                                       interrupt is the authority), delivered to the
///                                       calling core at a vector of its own, each as an
///                                       `InterruptMessage` for `irq` on the endpoint at
///                                       `endpoint` (write right), as connect does; no I/O
///                                       APIC, on any core, edge-triggered (acknowledge
///                                       changes nothing) → the message the device is to
///                                       write (`MessageSignalledTarget`'s word).
///                                       `alreadyConnected` if `irq` is delivered on this
///                                       core already, `noFreeVector` if the core has no
///                                       vector left; disconnect and the domain's end
///                                       forget it
///     physicalAddress                   on RAM, a frame or a device frame: its base
///                                       address, for a driver to hand its own buffers
///                                       to a device (as Barrelfish's frame identify)
public enum CapabilityOperation: UInt64, CaseIterable, Sendable {
    case identify = 0, retype, copy, mint, delete, revoke, send, receive, wait, map, unmap, notify
    case spawn, kill, domainEvent, poolFrame, knowledge
    case narrow, portIn, portOut, connect, disconnect
    case command, programNames, echo, domainState
    case describe, adopt, markShared, sweep, retypeShared, grantMemory
    case spanPlace, span, releaseSpanned, adoptKnowledge
    case acknowledge, physicalAddress
    case protect, call, bootFile
    case connectMessageSignalled
    case unmapEverywhere, protectEverywhere

    /// The capability argument of send and receive that means "no capability".
    public static let noCapability: UInt64 = .max
}

/// What identify answers, packed into one word: type | rights << 8 | badged << 16.
public struct CapabilityIdentity: Equatable, Sendable {
    public var type: CapabilityType
    public var rights: CapabilityRights
    public var isBadged: Bool

    public init(type: CapabilityType, rights: CapabilityRights, isBadged: Bool) {
        self.type = type
        self.rights = rights
        self.isBadged = isBadged
    }

    /// The identify result word; nil if it names no type.
    public init?(word: UInt64) {
        guard let type = CapabilityType(rawValue: UInt8(truncatingIfNeeded: word)) else { return nil }
        self.init(type: type, rights: CapabilityRights(rawValue: UInt8(truncatingIfNeeded: word >> 8)), isBadged: word >> 16 & 1 != 0)
    }

    public var word: UInt64 { UInt64(type.rawValue) | UInt64(rights.rawValue) << 8 | (isBadged ? 1 << 16 : 0) }
}

/// A same-core message: this many words, and at most one capability.
public enum MessageLayout {
    public static let words = 3
    /// The most messages one endpoint holds; a send to a full one is refused
    /// (`endpointFull`) rather than made to wait.
    public static let endpointCapacity = 8
}

/// The call invocation's message registers (x86-64): the words go in a0…a2 (RDX, R10,
/// R8) and the answer's words come back in the same three, its badge in a3's (R9), the
/// status in RAX as for every invocation. So a message never touches memory on its way:
/// no buffer to check or walk to, as in seL4's message registers.
public enum CallRegisters {
    /// The invoke convention's argument registers (0: RDI, the target) that carry the words.
    public static let words = 2...4
    /// The argument register the badge comes back in.
    public static let badge = 5
}

/// Where a domain finds its capabilities when it starts: root CNode slots, and the
/// slots of the CNode that holds its address space.
public enum InitialSlot {
    /// The domain's own root CNode.
    public static let rootCNode: UInt32 = 0
    /// RAM the domain may retype (`DomainRAM.bytes`).
    public static let ram: UInt32 = 1
    /// Init only: its dispatcher, the notify IPI for every core, the kernel capability,
    /// and on core 0 the I/O ports and interrupts.
    public static let dispatcher: UInt32 = 2
    public static let notify: UInt32 = 3
    public static let kernel: UInt32 = 4
    public static let ioPorts: UInt32 = 5
    public static let interrupts: UInt32 = 6
    /// The monitor only: the endpoint it serves other domains on, which the kernel
    /// copies into every domain it starts afterwards (as `monitor`).
    public static let serviceEndpoint: UInt32 = 7
    /// The monitor only: the frame of its core's binding pool (`BindingPool`).
    public static let bindingPool: UInt32 = 12
    /// Core 0's monitor only: device memory below 4 GiB for drivers' BARs (the window
    /// above everything the memory map names, up to the I/O APIC). Other domains' user
    /// library keeps its notify right here.
    public static let deviceMemory: UInt32 = 49
    /// RAM for the user library's heap (`HeapRAM.bytes`), which retypes and maps its
    /// pages only as the heap grows: a spawn makes none of them.
    public static let heapRAM: UInt32 = 50
    /// Every other domain: a copy of its core's monitor's service endpoint (empty in
    /// the monitor itself, and where a core has no monitor).
    public static let monitor: UInt32 = rootSlots - 3
    /// Where the user library keeps the endpoint the monitor's answers come to.
    public static let monitorAnswers: UInt32 = rootSlots - 4
    /// The root CNode's size, in slots.
    public static let rootSlots: UInt32 = 64
    /// The CNode holding the address space (out of reach of a retype into root slots
    /// below it), and below it the root slot spawn uses while it sets up.
    public static let addressSpace: UInt32 = rootSlots - 1
    public static let setUp: UInt32 = rootSlots - 2
    /// Slots of the address-space CNode: the RAM block it was made from, the PML4, the
    /// dispatcher object, then the tables and frames spawn made.
    public static let addressSpaceRAM: UInt32 = 0
    public static let pml4: UInt32 = 1
    public static let dispatcherObject: UInt32 = 2
    public static let firstMade: UInt32 = 3
}

/// The RAM capability every domain starts with.
public enum DomainRAM {
    public static let pages = 16
    public static let bytes = UInt64(pages) * 4096
}

/// The RAM capability for its heap every domain starts with (`InitialSlot.heapRAM`): the
/// heap's pages, their page tables and the CNode for their capabilities.
public enum HeapRAM {
    public static let pages = 64
    public static let bytes = UInt64(pages) * 4096
}

/// Why the kernel enters a dispatcher at an upcall (RDI of the upcall).
public enum UpcallKind: UInt64, Sendable {
    /// Preempted while enabled: registers in the enabled save area.
    case run = 0
    /// A page fault while enabled: registers in the trap save area.
    case pageFault
    /// Any other exception while enabled: registers in the trap save area.
    case trap
}

/// An invocation as the words of the invoke system call (after the capability): the
/// one encoding of each operation's arguments, which the user library sends and the
/// kernel's `Invocation.decode` reads.
public struct InvocationWords: Equatable, Sendable {
    public var operation: CapabilityOperation
    public var a0: UInt64 = 0, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0

    public init(_ operation: CapabilityOperation, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) {
        self.operation = operation
        self.a0 = a0
        self.a1 = a1
        self.a2 = a2
        self.a3 = a3
    }

    public static var identify: Self { Self(.identify) }
    public static var delete: Self { Self(.delete) }
    public static var revoke: Self { Self(.revoke) }
    public static var wait: Self { Self(.wait) }

    public static func retype(to type: CapabilityType, size: UInt64, count: Int, into destination: CapabilityAddress) -> Self {
        Self(.retype, UInt64(type.rawValue), size, UInt64(truncatingIfNeeded: count), destination.encoded)
    }

    public static func copy(to destination: CapabilityAddress) -> Self { Self(.copy, destination.encoded) }

    public static func mint(to destination: CapabilityAddress, rights: CapabilityRights, badge: UInt64) -> Self {
        Self(.mint, destination.encoded, UInt64(rights.rawValue), badge)
    }

    public static func send(_ words: (UInt64, UInt64, UInt64), capability: CapabilityAddress?) -> Self {
        Self(.send, words.0, words.1, words.2, capability?.encoded ?? CapabilityOperation.noCapability)
    }

    public static func receive(capabilityInto destination: CapabilityAddress?, buffer: UInt64) -> Self {
        Self(.receive, destination?.encoded ?? CapabilityOperation.noCapability, buffer)
    }

    public static func call(_ words: (UInt64, UInt64, UInt64), receivingOn receiver: CapabilityAddress) -> Self {
        Self(.call, words.0, words.1, words.2, receiver.encoded)
    }

    public static func map(_ source: CapabilityAddress, at entry: Int, rights: CapabilityRights) -> Self {
        Self(.map, UInt64(truncatingIfNeeded: entry), source.encoded, UInt64(rights.rawValue))
    }

    public static func unmap(at entry: Int) -> Self { Self(.unmap, UInt64(truncatingIfNeeded: entry)) }

    public static func protect(at entry: Int, rights: CapabilityRights) -> Self {
        Self(.protect, UInt64(truncatingIfNeeded: entry), UInt64(rights.rawValue))
    }

    public static func unmapEverywhere(at entry: Int, address: UInt64) -> Self {
        Self(.unmapEverywhere, UInt64(truncatingIfNeeded: entry), address)
    }

    public static func protectEverywhere(at entry: Int, rights: CapabilityRights, address: UInt64) -> Self {
        Self(.protectEverywhere, UInt64(truncatingIfNeeded: entry), UInt64(rights.rawValue), address)
    }

    public static func notify(core: Int, domain: Int = 0) -> Self {
        Self(.notify, UInt64(truncatingIfNeeded: core), UInt64(truncatingIfNeeded: domain))
    }

    public static func spawn(name: UInt64, nameLength: Int, arguments: UInt64, argumentsLength: Int) -> Self {
        Self(.spawn, name, UInt64(truncatingIfNeeded: nameLength), arguments, UInt64(truncatingIfNeeded: argumentsLength))
    }

    public static func kill(domain: Int) -> Self { Self(.kill, UInt64(truncatingIfNeeded: domain)) }

    public static func domainEvent(buffer: UInt64) -> Self { Self(.domainEvent, buffer) }

    public static func poolFrame(core: Int, page: Int, into destination: CapabilityAddress) -> Self {
        Self(.poolFrame, UInt64(truncatingIfNeeded: core), UInt64(truncatingIfNeeded: page), destination.encoded)
    }

    public static func knowledge(buffer: UInt64, length: Int) -> Self {
        Self(.knowledge, buffer, UInt64(truncatingIfNeeded: length))
    }

    public static func command(line: UInt64, length: Int) -> Self {
        Self(.command, line, UInt64(truncatingIfNeeded: length))
    }

    public static func programNames(buffer: UInt64, length: Int) -> Self {
        Self(.programNames, buffer, UInt64(truncatingIfNeeded: length))
    }

    public static func domainState(domain: Int) -> Self { Self(.domainState, UInt64(truncatingIfNeeded: domain)) }

    public static func echo(bytes: UInt64, length: Int, line: UInt64, lineLength: Int) -> Self {
        Self(.echo, bytes, UInt64(truncatingIfNeeded: length), line, UInt64(truncatingIfNeeded: lineLength))
    }

    /// The most bytes `echo` takes of each.
    public static let consoleLineLimit = 1024

    public static func narrow(first: UInt64, count: UInt64, into destination: CapabilityAddress) -> Self {
        Self(.narrow, first, count, destination.encoded)
    }

    public static func portIn(_ port: UInt16, width: PortWidth) -> Self {
        Self(.portIn, UInt64(port), width.rawValue)
    }

    public static func portOut(_ port: UInt16, width: PortWidth, value: UInt32) -> Self {
        Self(.portOut, UInt64(port), width.rawValue, UInt64(value))
    }

    public static func connect(irq: UInt8, endpoint: CapabilityAddress) -> Self {
        Self(.connect, UInt64(irq), endpoint.encoded)
    }

    public static func connectMessageSignalled(irq: UInt8, endpoint: CapabilityAddress) -> Self {
        Self(.connectMessageSignalled, UInt64(irq), endpoint.encoded)
    }

    public static func disconnect(irq: UInt8) -> Self { Self(.disconnect, UInt64(irq)) }

    public static func acknowledge(irq: UInt8) -> Self { Self(.acknowledge, UInt64(irq)) }

    public static var physicalAddress: Self { Self(.physicalAddress) }
}

/// The width of one port access (`portIn`, `portOut`): the instruction's operand size.
public enum PortWidth: UInt64, CaseIterable, Sendable {
    case byte = 1, word = 2, doubleWord = 4

    /// One more than the largest value of this width.
    public var valueLimit: UInt64 { 1 << (8 * rawValue) }
}

/// What the kernel sends on a connected endpoint when the interrupt comes: three words,
/// a marker no domain's `send` is expected to use first, the IRQ, and how many times it
/// came since the last message was received (the kernel counts up in a message still
/// waiting instead of queueing another, so an interrupt storm cannot use memory).
/// Interrupt messages carry badge 0 and no capability.
public struct InterruptMessage: Equatable, Sendable {
    public static let marker: UInt64 = 0x5346_4952_5121_0001

    public var irq: UInt8
    public var count: UInt64

    public init(irq: UInt8, count: UInt64) {
        self.irq = irq
        self.count = count
    }

    public var words: (UInt64, UInt64, UInt64) { (Self.marker, UInt64(irq), count) }

    /// The interrupt message in `words`; nil if they are not one.
    public init?(words: (UInt64, UInt64, UInt64)) {
        guard words.0 == Self.marker, words.1 <= UInt64(UInt8.max), words.2 > 0 else { return nil }
        self.init(irq: UInt8(words.1), count: words.2)
    }
}

/// What a device writes to raise a message-signalled interrupt (MSI or MSI-X): a 32-bit
/// address and 32 bits of data, as `connectMessageSignalled` answers them in one word
/// (address in bits 0–31, data in bits 32–63). What the two mean is the architecture's
/// business (on x86, the local APIC's window with the destination, and the vector);
/// the driver only copies them into the device's table.
public struct MessageSignalledTarget: Equatable, Sendable {
    public var address: UInt32
    public var data: UInt32

    public init(address: UInt32, data: UInt32) {
        self.address = address
        self.data = data
    }

    public var word: UInt64 { UInt64(address) | UInt64(data) << 32 }

    /// The target in an answer's word; nil for an address of zero, which no
    /// architecture's interrupt window has.
    public init?(word: UInt64) {
        guard UInt32(truncatingIfNeeded: word) != 0 else { return nil }
        self.init(address: UInt32(truncatingIfNeeded: word), data: UInt32(truncatingIfNeeded: word >> 32))
    }
}

/// The rings the monitors talk over, one page each way between every two monitors, in
/// memory the boot core sets aside: the kernel gives a monitor a frame capability for
/// each of its rings in root slots from `firstSlot`, two per core (`sendSlot(to:)`,
/// `receiveSlot(from:)`; its own pair stays empty), and the monitor maps them.
public enum MonitorRingLayout {
    public static let firstSlot: UInt32 = 16
    /// The most cores whose monitors get rings (two slots each must fit below the
    /// root CNode's reserved top slots).
    public static let maximumCores = 16
    public static let ringBytes: UInt64 = 4096

    public static func sendSlot(to core: Int) -> UInt32 { firstSlot + 2 * UInt32(core) }
    public static func receiveSlot(from core: Int) -> UInt32 { firstSlot + 2 * UInt32(core) + 1 }
}

/// Pages for channels between domains on different cores: each of the first
/// `MonitorRingLayout.maximumCores` cores has `pagesPerCore` of them beside the
/// monitors' rings, given to its monitor as one frame (`InitialSlot.bindingPool`). A
/// binding takes one page of the binding client's core: the ring from the client to
/// the server, the ring back, then the client's doorbell line and the server's (see
/// `Doorbell` in the Channel module).
public enum BindingPool {
    public static let pagesPerCore = 8
    public static let pageBytes: UInt64 = 4096
    /// Each ring's share of the page: an acknowledgement line and 30 slots.
    public static let ringBytes = 31 * 64
    /// Where the client's doorbell line is; the server's follows it.
    public static let doorbellOffset = 2 * ringBytes
}

/// A start or end of a domain, as the kernel tells its monitor (`domainEvent`): eight
/// words, the kind, the domain's local id, its exit status (an end by exit) and then
/// its program's name, NUL-padded, in the last 32 bytes.
public struct DomainEvent: Equatable, Sendable {
    public enum Kind: UInt64, Sendable {
        case started = 1
        /// It exited with `status`.
        case exited
        /// The kernel stopped it (a fault, a kill).
        case stopped
        /// Another core stopped for good (its kernel panicked and said so): `domain` is
        /// that core's number, and `program` is empty.
        case coreStopped
    }

    public static let words = 8
    public static let nameBytes = 32

    public var kind: Kind
    public var domain: Int
    public var status: Int64
    /// The program's name, at most `nameBytes` bytes.
    public var program: [UInt8]

    public init(kind: Kind, domain: Int, status: Int64 = 0, program: [UInt8]) {
        self.kind = kind
        self.domain = domain
        self.status = status
        self.program = Array(program.prefix(Self.nameBytes))
    }

    public var encoded: [UInt64] {
        var words: [UInt64] = [kind.rawValue, UInt64(truncatingIfNeeded: domain), UInt64(bitPattern: status), 0, 0, 0, 0, 0]
        for (index, byte) in program.enumerated() { words[4 + index / 8] |= UInt64(byte) << (8 * UInt64(index % 8)) }
        return words
    }

    /// The event in `words`; nil if they are not one.
    public init?(words: [UInt64]) {
        guard words.count == Self.words, let kind = Kind(rawValue: words[0]), words[1] <= UInt64(Int.max) else { return nil }
        var program: [UInt8] = []
        for index in 0..<Self.nameBytes {
            let byte = UInt8(truncatingIfNeeded: words[4 + index / 8] >> (8 * UInt64(index % 8)))
            if byte == 0 { break }
            program.append(byte)
        }
        self.init(kind: kind, domain: Int(words[1]), status: Int64(bitPattern: words[2]), program: program)
    }
}

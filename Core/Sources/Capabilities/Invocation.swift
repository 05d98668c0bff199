// A capability invocation as it arrives from user code: a capability address, an
// operation number and up to four argument words, all untrusted. `Invocation.decode`
// turns the words into a typed operation or a refusal without touching any state;
// `perform` then runs it through CoreCapabilities, which checks everything about the
// capabilities themselves before it changes anything (decode, then invoke).
//
// The operations and their arguments are declared in the ABI (`CapabilityOperation`).
// Addresses use `CapabilityAddress(encoded:)`. Here the capability rules check the
// endpoints; the kernel's same-core message code (LMP) does the rest of send, receive,
// wait and call.

import ABI

/// Why an invocation was refused before it reached a capability.
public enum InvocationError: Error, Equatable, Sendable {
    case unknownOperation(UInt64)
    case badAddress
    case unknownType(UInt64)
    case countTooLarge
    case unknownRights(UInt64)
    /// A port access whose width is not 1, 2 or 4, or whose value does not fit it.
    case badWidth(UInt64)
}

public enum Invocation: Equatable, Sendable {
    case identify
    case retype(to: CapabilityType, size: UInt64, count: Int, destination: CapabilityAddress)
    case copy(destination: CapabilityAddress)
    case mint(destination: CapabilityAddress, rights: CapabilityRights, badge: UInt64)
    case delete
    case revoke
    case send(words: MessageWords, capability: CapabilityAddress?)
    case receive(destination: CapabilityAddress?, buffer: UInt64)
    case wait
    case map(entry: UInt64, source: CapabilityAddress, rights: CapabilityRights)
    case unmap(entry: UInt64)
    case protect(entry: UInt64, rights: CapabilityRights)
    /// `unmap` and `protect`, then the shootdown of the page at `address` (the kernel's).
    case unmapEverywhere(entry: UInt64, address: UInt64)
    case protectEverywhere(entry: UInt64, rights: CapabilityRights, address: UInt64)
    case notify(core: UInt64, domain: UInt64)
    case spawn(name: UInt64, nameLength: UInt64, arguments: UInt64, argumentsLength: UInt64)
    case kill(domain: UInt64)
    case domainEvent(buffer: UInt64)
    case poolFrame(core: UInt64, page: UInt64, destination: CapabilityAddress)
    case knowledge(buffer: UInt64, length: UInt64)
    case command(line: UInt64, length: UInt64)
    case programNames(buffer: UInt64, length: UInt64)
    case echo(bytes: UInt64, length: UInt64, line: UInt64, lineLength: UInt64)
    case domainState(domain: UInt64)
    case describe(slot: CapabilityAddress, buffer: UInt64)
    case adopt(type: CapabilityType, base: UInt64, size: UInt64, destination: CapabilityAddress)
    case markShared(slot: CapabilityAddress, shared: Bool)
    case sweep(slot: CapabilityAddress)
    case retypeShared(slot: CapabilityAddress, size: UInt64, offset: UInt64, destination: CapabilityAddress)
    case grantMemory(bytes: UInt64, destination: CapabilityAddress)
    case spanPlace(domain: UInt64, address: UInt64, buffer: UInt64, core: UInt64)
    case span(buffer: UInt64)
    case releaseSpanned(domain: UInt64)
    case adoptKnowledge(buffer: UInt64, length: UInt64)
    case bootFile(name: UInt64, length: UInt64, page: UInt64, frame: CapabilityAddress)
    case narrow(first: UInt64, count: UInt64, destination: CapabilityAddress)
    case portIn(port: UInt64, width: PortWidth)
    case portOut(port: UInt64, width: PortWidth, value: UInt32)
    case connect(irq: UInt64, endpoint: CapabilityAddress)
    case connectMessageSignalled(irq: UInt64, endpoint: CapabilityAddress)
    case disconnect(irq: UInt64)
    case acknowledge(irq: UInt64)
    case physicalAddress
    case call(words: MessageWords, receiver: CapabilityAddress)

    /// The rights a map may ask for.
    public static var mapRights: CapabilityRights { [.read, .write, .execute] }

    public static func decode(operation: UInt64, _ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64) throws(InvocationError) -> Invocation {
        guard let known = CapabilityOperation(rawValue: operation) else { throw .unknownOperation(operation) }
        switch known {
        case .identify: return .identify
        case .retype:
            guard a0 <= UInt64(UInt8.max), let type = CapabilityType(rawValue: UInt8(a0)) else { throw .unknownType(a0) }
            guard a2 <= UInt64(CoreCapabilities.maximumRetypeCount) else { throw .countTooLarge }
            guard let destination = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .retype(to: type, size: a1, count: Int(a2), destination: destination)
        case .copy:
            guard let destination = CapabilityAddress(encoded: a0) else { throw .badAddress }
            return .copy(destination: destination)
        case .mint:
            guard let destination = CapabilityAddress(encoded: a0) else { throw .badAddress }
            guard a1 <= UInt64(UInt8.max), CapabilityRights.all.isSuperset(of: CapabilityRights(rawValue: UInt8(a1))) else {
                throw .unknownRights(a1)
            }
            return .mint(destination: destination, rights: CapabilityRights(rawValue: UInt8(a1)), badge: a2)
        case .delete: return .delete
        case .revoke: return .revoke
        case .send:
            if a3 == CapabilityOperation.noCapability { return .send(words: MessageWords(a0, a1, a2), capability: nil) }
            guard let capability = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .send(words: MessageWords(a0, a1, a2), capability: capability)
        case .receive:
            if a0 == CapabilityOperation.noCapability { return .receive(destination: nil, buffer: a1) }
            guard let destination = CapabilityAddress(encoded: a0) else { throw .badAddress }
            return .receive(destination: destination, buffer: a1)
        case .wait: return .wait
        case .map:
            guard let source = CapabilityAddress(encoded: a1) else { throw .badAddress }
            guard a2 <= UInt64(UInt8.max), mapRights.isSuperset(of: CapabilityRights(rawValue: UInt8(a2))) else {
                throw .unknownRights(a2)
            }
            return .map(entry: a0, source: source, rights: CapabilityRights(rawValue: UInt8(a2)))
        case .unmap: return .unmap(entry: a0)
        case .protect, .protectEverywhere:
            guard a1 <= UInt64(UInt8.max), mapRights.isSuperset(of: CapabilityRights(rawValue: UInt8(a1))) else {
                throw .unknownRights(a1)
            }
            let rights = CapabilityRights(rawValue: UInt8(a1))
            return known == .protect ? .protect(entry: a0, rights: rights) : .protectEverywhere(entry: a0, rights: rights, address: a2)
        case .unmapEverywhere: return .unmapEverywhere(entry: a0, address: a1)
        case .notify: return .notify(core: a0, domain: a1)
        case .spawn: return .spawn(name: a0, nameLength: a1, arguments: a2, argumentsLength: a3)
        case .kill: return .kill(domain: a0)
        case .domainEvent: return .domainEvent(buffer: a0)
        case .poolFrame:
            guard let destination = CapabilityAddress(encoded: a2) else { throw .badAddress }
            return .poolFrame(core: a0, page: a1, destination: destination)
        case .knowledge: return .knowledge(buffer: a0, length: a1)
        case .command: return .command(line: a0, length: a1)
        case .programNames: return .programNames(buffer: a0, length: a1)
        case .echo: return .echo(bytes: a0, length: a1, line: a2, lineLength: a3)
        case .domainState: return .domainState(domain: a0)
        case .describe:
            guard let slot = CapabilityAddress(encoded: a0) else { throw .badAddress }
            return .describe(slot: slot, buffer: a1)
        case .adopt:
            guard a0 <= UInt64(UInt8.max), let type = CapabilityType(rawValue: UInt8(a0)) else { throw .unknownType(a0) }
            guard let destination = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .adopt(type: type, base: a1, size: a2, destination: destination)
        case .markShared:
            guard let slot = CapabilityAddress(encoded: a0) else { throw .badAddress }
            guard a1 <= 1 else { throw .countTooLarge }
            return .markShared(slot: slot, shared: a1 == 1)
        case .sweep:
            guard let slot = CapabilityAddress(encoded: a0) else { throw .badAddress }
            return .sweep(slot: slot)
        case .retypeShared:
            guard let slot = CapabilityAddress(encoded: a0), let destination = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .retypeShared(slot: slot, size: a1, offset: a2, destination: destination)
        case .grantMemory:
            guard let destination = CapabilityAddress(encoded: a1) else { throw .badAddress }
            return .grantMemory(bytes: a0, destination: destination)
        case .spanPlace: return .spanPlace(domain: a0, address: a1, buffer: a2, core: a3)
        case .span: return .span(buffer: a0)
        case .releaseSpanned: return .releaseSpanned(domain: a0)
        case .adoptKnowledge: return .adoptKnowledge(buffer: a0, length: a1)
        case .bootFile:
            guard let frame = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .bootFile(name: a0, length: a1, page: a2, frame: frame)
        case .narrow:
            guard let destination = CapabilityAddress(encoded: a2) else { throw .badAddress }
            return .narrow(first: a0, count: a1, destination: destination)
        case .portIn:
            guard let width = PortWidth(rawValue: a1) else { throw .badWidth(a1) }
            return .portIn(port: a0, width: width)
        case .portOut:
            guard let width = PortWidth(rawValue: a1) else { throw .badWidth(a1) }
            guard a2 < width.valueLimit else { throw .badWidth(a1) }
            return .portOut(port: a0, width: width, value: UInt32(a2))
        case .connect:
            guard let endpoint = CapabilityAddress(encoded: a1) else { throw .badAddress }
            return .connect(irq: a0, endpoint: endpoint)
        case .connectMessageSignalled:
            guard let endpoint = CapabilityAddress(encoded: a1) else { throw .badAddress }
            return .connectMessageSignalled(irq: a0, endpoint: endpoint)
        case .disconnect: return .disconnect(irq: a0)
        case .acknowledge: return .acknowledge(irq: a0)
        case .physicalAddress: return .physicalAddress
        case .call:
            guard let receiver = CapabilityAddress(encoded: a3) else { throw .badAddress }
            return .call(words: MessageWords(a0, a1, a2), receiver: receiver)
        }
    }

    /// Runs the operation on the capability at `target` in `cspace`. Returns the result
    /// value (see the table above) and what the caller must reclaim.
    public func perform(on capabilities: inout CoreCapabilities, target: CapabilityAddress,
                        in cspace: CSpace) throws(CapabilityError) -> (value: UInt64, reclaimed: [Reclaimed]) {
        switch self {
        case .identify:
            let capability = try capabilities.identify(target, in: cspace)
            return (CapabilityIdentity(type: capability.type, rights: capability.rights, isBadged: capability.badge != 0).word, [])
        case .retype(let type, let size, let count, let destination):
            let made = try capabilities.retype(target, to: type, size: size, count: count, into: destination, in: cspace)
            return (UInt64(made.count), [])
        case .copy(let destination):
            try capabilities.copy(target, to: destination, in: cspace)
            return (0, [])
        case .mint(let destination, let rights, let badge):
            try capabilities.mint(target, to: destination, rights: rights, badge: badge, in: cspace)
            return (0, [])
        case .delete:
            let reclaimed = try capabilities.delete(target, in: cspace)
            return (UInt64(reclaimed.count), reclaimed)
        case .revoke:
            let reclaimed = try capabilities.revoke(target, in: cspace)
            return (UInt64(reclaimed.count), reclaimed)
        case .send:
            _ = try capabilities.lookup(target, in: cspace, ofType: [.endpoint], requiring: .write)
            return (0, [])
        case .receive, .wait:
            _ = try capabilities.lookup(target, in: cspace, ofType: [.endpoint], requiring: .read)
            return (0, [])
        case .call(_, let receiver):
            _ = try capabilities.lookup(target, in: cspace, ofType: [.endpoint], requiring: .write)
            _ = try capabilities.lookup(receiver, in: cspace, ofType: [.endpoint], requiring: .read)
            return (0, [])
        case .map(let entry, let source, let rights):
            try capabilities.map(source, into: target, entry: entry, rights: rights, in: cspace)
            return (0, [])
        case .unmap(let entry), .unmapEverywhere(let entry, _):
            try capabilities.unmap(entry: entry, from: target, in: cspace)
            return (0, [])
        case .protect(let entry, let rights), .protectEverywhere(let entry, let rights, _):
            try capabilities.protect(entry: entry, in: target, rights: rights, in: cspace)
            return (0, [])
        case .notify(let core, _):
            // Which cores a notify capability may wake is its range; the kernel sends the
            // IPI. (The type is compared here rather than through a `[.notify]` type set:
            // in the Embedded build of this module that literal came out as the
            // endpoint's bit, a compiler fault seen with Swift 6.3.1.)
            let (capability, _) = try capabilities.lookup(target, in: cspace)
            guard capability.type == .notify else { throw .wrongType(capability.type) }
            guard capability.rights.contains(.write) else { throw .insufficientRights }
            guard core >= capability.base, core - capability.base < capability.size else { throw .outsideRange }
            return (0, [])
        case .spawn, .kill, .domainEvent, .poolFrame, .knowledge, .command, .programNames, .echo, .domainState,
             .describe, .adopt, .markShared, .sweep, .retypeShared, .grantMemory, .spanPlace, .span, .releaseSpanned, .adoptKnowledge, .bootFile:
            // The kernel's services, for the holder of the kernel capability; the CPU
            // driver does the rest (compared directly, as for notify above).
            let (capability, _) = try capabilities.lookup(target, in: cspace)
            guard capability.type == .kernel else { throw .wrongType(capability.type) }
            return (0, [])
        case .narrow(let first, let count, let destination):
            try capabilities.narrow(target, first: first, count: count, into: destination, in: cspace)
            return (0, [])
        case .portIn(let port, let width):
            try Self.checkPorts(port, width: width, on: target, requiring: .read, in: cspace, capabilities)
            return (0, [])
        case .portOut(let port, let width, _):
            try Self.checkPorts(port, width: width, on: target, requiring: .write, in: cspace, capabilities)
            return (0, [])
        case .connect(let irq, let endpoint), .connectMessageSignalled(let irq, let endpoint):
            try Self.checkInterrupt(irq, on: target, in: cspace, capabilities)
            let (receiver, _) = try capabilities.lookup(endpoint, in: cspace)
            guard receiver.type == .endpoint else { throw .wrongType(receiver.type) }
            guard receiver.rights.contains(.write) else { throw .insufficientRights }
            return (0, [])
        case .disconnect(let irq), .acknowledge(let irq):
            try Self.checkInterrupt(irq, on: target, in: cspace, capabilities)
            return (0, [])
        case .physicalAddress:
            // Memory a domain holds may be given to a device to read and write, which
            // needs its address; other objects' addresses are the kernel's business.
            // (Types compared directly, as for notify above.)
            let (capability, _) = try capabilities.lookup(target, in: cspace)
            guard capability.type == .physicalRAM || capability.type == .frame || capability.type == .deviceFrame else {
                throw .wrongType(capability.type)
            }
            return (capability.base, [])
        }
    }

    /// The port access must lie wholly inside an I/O port range the caller may use this way.
    static func checkPorts(_ port: UInt64, width: PortWidth, on target: CapabilityAddress, requiring right: CapabilityRights,
                           in cspace: CSpace, _ capabilities: CoreCapabilities) throws(CapabilityError) {
        let (capability, _) = try capabilities.lookup(target, in: cspace)
        guard capability.type == .ioPortRange else { throw .wrongType(capability.type) }
        guard capability.rights.contains(right) else { throw .insufficientRights }
        guard capability.covers(port, count: width.rawValue) else { throw .outsideRange }
    }

    /// The interrupt must be in the range of an interrupt capability with the read right.
    static func checkInterrupt(_ irq: UInt64, on target: CapabilityAddress, in cspace: CSpace,
                               _ capabilities: CoreCapabilities) throws(CapabilityError) {
        let (capability, _) = try capabilities.lookup(target, in: cspace)
        guard capability.type == .irq else { throw .wrongType(capability.type) }
        guard capability.rights.contains(.read) else { throw .insufficientRights }
        guard capability.covers(irq, count: 1) else { throw .outsideRange }
    }
}

extension InvocationStatus {
    /// The status user code sees for a refusal while decoding.
    public init(_ error: InvocationError) {
        switch error {
        case .unknownOperation: self = .unknownOperation
        case .badAddress: self = .badAddress
        case .unknownType: self = .unknownType
        case .countTooLarge: self = .countTooLarge
        case .unknownRights: self = .unknownRights
        case .badWidth: self = .badWidth
        }
    }

    /// The status user code sees for a refusal by the capability rules.
    public init(_ error: CapabilityError) {
        switch error {
        case .invalidRoot: self = .invalidRoot
        case .invalidSlot: self = .invalidSlot
        case .notACNode: self = .notACNode
        case .slotEmpty: self = .slotEmpty
        case .slotOccupied: self = .slotOccupied
        case .wrongType: self = .wrongType
        case .insufficientRights: self = .insufficientRights
        case .retypeNotAllowed: self = .retypeNotAllowed
        case .sizeNotAllowed: self = .sizeNotAllowed
        case .invalidCount: self = .invalidCount
        case .misaligned: self = .misaligned
        case .regionInUse: self = .regionInUse
        case .regionExhausted: self = .regionExhausted
        case .notBadgeable: self = .notBadgeable
        case .alreadyBadged: self = .alreadyBadged
        case .entryOutOfRange: self = .entryOutOfRange
        case .entryReserved: self = .entryReserved
        case .entryOccupied: self = .entryOccupied
        case .entryEmpty: self = .entryEmpty
        case .alreadyMapped: self = .alreadyMapped
        case .pageSizeMismatch: self = .pageSizeMismatch
        case .outsideRange: self = .outsideRange
        case .sharedAcrossCores: self = .sharedAcrossCores
        }
    }
}

extension Invocation {
    /// Whether it can let go of memory or put memory to a new use (delete, revoke,
    /// retype): what a domain running on several cores may not do (docs/spanning.md).
    public var releasesOrReusesMemory: Bool {
        switch self {
        case .delete, .revoke, .retype: return true
        default: return false
        }
    }
}

// The device manager's interface (issue 13; Barrelfish's `pci` domain and `kaluga`,
// simplified), declared once: what a client asks and what devmgr answers, each a
// message of three words on a connection. Both ends encode and decode through these
// types, and devmgr decodes every request before it acts on it: a client is untrusted,
// so words that are not exactly a request this file can produce are `malformed`, never
// a guess.
//
// Requests (client → devmgr), word 0: operation in bits 0–7, a selector's kind in bits
// 8–15, every other bit clear.
//
//   describe   word 1: a function's index in devmgr's list → one `FunctionSummary`
//   bar        word 1: function index, word 2: the n-th BAR in use → one `BarSummary`
//   claim      word 1: the selector's value → a `FunctionSummary` whose word 2 counts
//              the grants that follow, then that many `ResourceGrant`s, each carrying
//              one capability (ports of an I/O BAR, a memory BAR's device frame, the
//              interrupt)
//   dmaMemory  word 1: bytes (whole pages, at most one piece of the memory service) →
//              a `DMAMemorySummary`, then one `ResourceGrant` per page, each carrying a
//              frame, in order
//   msix       word 1: a function's index → an `MSIXSummary` (where its MSI-X table
//              is), or `noMSIX` (MSIXMessages.swift)
//   setMSIX    word 1: function index, word 2: 1 to turn MSI-X on (function mask
//              clear, INTx disabled in the command register), 0 to turn it off → an
//              `MSIXSummary`; only for the function's claimant
//
// Every answer's word 0 carries a status in bits 0–7 (0: success, else a
// `DeviceManagerRefusal`) and the answer's kind in bits 8–15.
import PCI

/// Which function a driver wants.
public enum DeviceSelector: Equatable, Sendable {
    /// The first unclaimed function with this vendor and device id.
    case device(vendor: UInt16, device: UInt16)
    /// The function at this address.
    case address(PCIAddress)
    /// The first unclaimed function of this class and subclass.
    case classCode(UInt8, subclass: UInt8)

    var kind: UInt64 {
        switch self {
        case .device: return 1
        case .address: return 2
        case .classCode: return 3
        }
    }

    var value: UInt64 {
        switch self {
        case .device(let vendor, let device): return UInt64(vendor) << 16 | UInt64(device)
        case .address(let address): return UInt64(address.bus) << 8 | UInt64(address.device) << 3 | UInt64(address.function)
        case .classCode(let code, let subclass): return UInt64(code) << 8 | UInt64(subclass)
        }
    }

    init?(kind: UInt64, value: UInt64) {
        switch kind {
        case 1:
            guard value >> 32 == 0 else { return nil }
            self = .device(vendor: UInt16(truncatingIfNeeded: value >> 16), device: UInt16(truncatingIfNeeded: value))
        case 2:
            guard value >> 16 == 0,
                  let address = PCIAddress(bus: UInt8(truncatingIfNeeded: value >> 8), device: UInt8(truncatingIfNeeded: value >> 3) & 0x1F,
                                           function: UInt8(truncatingIfNeeded: value) & 7) else { return nil }
            self = .address(address)
        case 3:
            guard value >> 16 == 0 else { return nil }
            self = .classCode(UInt8(truncatingIfNeeded: value >> 8), subclass: UInt8(truncatingIfNeeded: value))
        default:
            return nil
        }
    }

    /// Whether `function` is one this selector names.
    public func matches(_ function: PCIFunction) -> Bool {
        switch self {
        case .device(let vendor, let device): return function.vendor == vendor && function.device == device
        case .address(let address): return function.address == address
        case .classCode(let code, let subclass): return function.classCode == code && function.subclass == subclass
        }
    }
}

/// Why devmgr refused a request (an answer's status byte).
public enum DeviceManagerRefusal: UInt8, Error, Equatable, Sendable, CustomStringConvertible {
    /// The words are not a request.
    case malformed = 1
    /// No function at that index, address or with that identity; no BAR at that index.
    case noSuchFunction = 2
    /// Another domain (or this one) holds the function.
    case alreadyClaimed = 3
    /// DMA memory for a domain that holds no function: nothing would stop the device.
    case notClaimed = 4
    /// More DMA memory than one request may ask for, or none, or not whole pages.
    case badSize = 5
    /// The memory service had none, or the monitor refused a capability.
    case outOfResources = 6
    /// A domain may hold only so many pieces of DMA memory at once.
    case tooManyPieces = 7
    // 8 is not used: it was `wrongCore`, when a driver had to run on the devices' core.
    // Device capabilities now travel between cores; an answer with 8 reads as malformed.
    /// The function has no MSI-X capability.
    case noMSIX = 9
    /// Configuration space did not read back what devmgr wrote.
    case deviceRefused = 10

    public var description: String {
        switch self {
        case .malformed: return "malformed request"
        case .noSuchFunction: return "no such function"
        case .alreadyClaimed: return "already claimed"
        case .notClaimed: return "no function claimed"
        case .badSize: return "bad size"
        case .outOfResources: return "out of resources"
        case .tooManyPieces: return "too many pieces of DMA memory"
        case .noMSIX: return "no MSI-X"
        case .deviceRefused: return "the device did not take the setting"
        }
    }
}

/// A request, decoded.
public enum DeviceRequest: Equatable, Sendable {
    case describe(index: Int)
    case bar(function: Int, position: Int)
    case claim(DeviceSelector)
    case dmaMemory(bytes: UInt64)
    case msix(function: Int)
    case setMSIX(function: Int, enabled: Bool)

    static let describeCode: UInt64 = 1, barCode: UInt64 = 2, claimCode: UInt64 = 3, dmaCode: UInt64 = 4
    static let msixCode: UInt64 = 6, setMSIXCode: UInt64 = 7
    /// Indices past this are refused while decoding (devmgr's list is far shorter).
    static let indexLimit: UInt64 = 1 << 16

    public var words: [UInt64] {
        switch self {
        case .describe(let index): return [Self.describeCode, UInt64(index), 0]
        case .bar(let function, let position): return [Self.barCode, UInt64(function), UInt64(position)]
        case .claim(let selector): return [Self.claimCode | selector.kind << 8, selector.value, 0]
        case .dmaMemory(let bytes): return [Self.dmaCode, bytes, 0]
        case .msix(let function): return [Self.msixCode, UInt64(function), 0]
        case .setMSIX(let function, let enabled): return [Self.setMSIXCode, UInt64(function), enabled ? 1 : 0]
        }
    }

    /// Decodes a client's words; throws `malformed` for anything `words` would not give.
    public init(words: [UInt64]) throws(DeviceManagerRefusal) {
        guard words.count == 3 else { throw .malformed }
        let operation = words[0] & 0xFF, selectorKind = words[0] >> 8 & 0xFF
        guard words[0] >> 16 == 0 else { throw .malformed }
        switch operation {
        case Self.describeCode:
            guard selectorKind == 0, words[1] < Self.indexLimit, words[2] == 0 else { throw .malformed }
            self = .describe(index: Int(words[1]))
        case Self.barCode:
            guard selectorKind == 0, words[1] < Self.indexLimit, words[2] < 6 else { throw .malformed }
            self = .bar(function: Int(words[1]), position: Int(words[2]))
        case Self.claimCode:
            guard let selector = DeviceSelector(kind: selectorKind, value: words[1]), words[2] == 0 else { throw .malformed }
            self = .claim(selector)
        case Self.dmaCode:
            guard selectorKind == 0, words[2] == 0 else { throw .malformed }
            self = .dmaMemory(bytes: words[1])
        case Self.msixCode:
            guard selectorKind == 0, words[1] < Self.indexLimit, words[2] == 0 else { throw .malformed }
            self = .msix(function: Int(words[1]))
        case Self.setMSIXCode:
            guard selectorKind == 0, words[1] < Self.indexLimit, words[2] <= 1 else { throw .malformed }
            self = .setMSIX(function: Int(words[1]), enabled: words[2] == 1)
        default:
            throw .malformed
        }
    }
}

/// An answer's kind (word 0, bits 8–15).
public enum DeviceAnswerKind: UInt8, Sendable {
    case refusal = 0
    case function = 1
    case bar = 2
    case grant = 3
    case dmaMemory = 4
    case msix = 5
}

/// A refusal's words.
public func refusalWords(_ refusal: DeviceManagerRefusal) -> [UInt64] { [UInt64(refusal.rawValue), 0, 0] }

/// The status of an answer: nil for success, the refusal otherwise (an unknown status
/// reads as `malformed`), and the answer's kind.
public func answerStatus(_ words: [UInt64]) -> (refusal: DeviceManagerRefusal?, kind: DeviceAnswerKind?) {
    guard words.count == 3 else { return (.malformed, nil) }
    let status = UInt8(truncatingIfNeeded: words[0])
    let kind = DeviceAnswerKind(rawValue: UInt8(truncatingIfNeeded: words[0] >> 8))
    if status == 0 { return (nil, kind) }
    return (DeviceManagerRefusal(rawValue: status) ?? .malformed, kind)
}

/// A function as devmgr describes it: identity, interrupt, how many BARs, who holds it.
public struct FunctionSummary: Equatable, Sendable {
    public var index: Int
    public var address: PCIAddress
    public var vendor: UInt16
    public var device: UInt16
    public var classCode: UInt8
    public var subclass: UInt8
    public var interruptPin: UInt8
    public var interruptLine: UInt8
    public var barCount: Int
    /// The domain that claimed it (raw `SystemDomainID`), 0 for none; in a claim's
    /// answer, the number of grants that follow instead.
    public var claimant: UInt64

    public init(index: Int, function: PCIFunction, claimant: UInt64) {
        self.index = index
        address = function.address
        vendor = function.vendor
        device = function.device
        classCode = function.classCode
        subclass = function.subclass
        interruptPin = function.interruptPin
        interruptLine = function.interruptLine
        barCount = function.bars.count
        self.claimant = claimant
    }

    public var words: [UInt64] {
        [UInt64(DeviceAnswerKind.function.rawValue) << 8 | UInt64(index) << 16 | UInt64(interruptPin) << 40 | UInt64(interruptLine) << 48
            | UInt64(barCount) << 56,
         UInt64(vendor) | UInt64(device) << 16 | UInt64(classCode) << 32 | UInt64(subclass) << 40
            | UInt64(address.bus) << 48 | UInt64(address.device) << 56 | UInt64(address.function) << 61,
         claimant]
    }

    public init?(words: [UInt64]) {
        guard words.count == 3, answerStatus(words) == (nil, .function) else { return nil }
        let interruptPin = UInt8(truncatingIfNeeded: words[0] >> 40)
        guard interruptPin <= 4, words[0] >> 56 <= 6,
              let address = PCIAddress(bus: UInt8(truncatingIfNeeded: words[1] >> 48), device: UInt8(truncatingIfNeeded: words[1] >> 56) & 0x1F,
                                       function: UInt8(truncatingIfNeeded: words[1] >> 61)) else { return nil }
        index = Int(words[0] >> 16 & 0xFF_FFFF)
        self.address = address
        vendor = UInt16(truncatingIfNeeded: words[1])
        device = UInt16(truncatingIfNeeded: words[1] >> 16)
        classCode = UInt8(truncatingIfNeeded: words[1] >> 32)
        subclass = UInt8(truncatingIfNeeded: words[1] >> 40)
        self.interruptPin = interruptPin
        interruptLine = UInt8(truncatingIfNeeded: words[0] >> 48)
        barCount = Int(words[0] >> 56)
        claimant = words[2]
    }

    /// What the class code says it is (as `PCIFunction.kind`).
    public var kind: String { PCIFunction.kind(classCode: classCode, subclass: subclass) }
}

/// One BAR as devmgr describes it, and whether devmgr holds it as a capability (a
/// memory BAR outside the monitor's device window is only listed).
public struct BarSummary: Equatable, Sendable {
    public var register: PCIBarRegister
    public var isHeld: Bool

    public init(register: PCIBarRegister, isHeld: Bool) {
        self.register = register
        self.isHeld = isHeld
    }

    public var words: [UInt64] {
        let kindWord = UInt64(DeviceAnswerKind.bar.rawValue) << 8 | UInt64(register.index) << 16 | (isHeld ? 1 << 24 : 0)
        switch register.bar {
        case .io(let base, let size): return [kindWord, UInt64(base), UInt64(size)]
        case .memory(let base, let size, let is64Bit, let prefetchable):
            return [kindWord | 1 << 25 | (is64Bit ? 1 << 26 : 0) | (prefetchable ? 1 << 27 : 0), base, size]
        }
    }

    public init?(words: [UInt64]) {
        guard words.count == 3, answerStatus(words) == (nil, .bar), words[0] >> 28 == 0 else { return nil }
        let index = Int(words[0] >> 16 & 0xFF)
        guard index < 6 else { return nil }
        isHeld = words[0] >> 24 & 1 == 1
        if words[0] >> 25 & 1 == 1 {
            register = PCIBarRegister(index: index, bar: .memory(base: words[1], size: words[2], is64Bit: words[0] >> 26 & 1 == 1,
                                                                 prefetchable: words[0] >> 27 & 1 == 1))
        } else {
            guard words[1] <= 0xFFFF, words[2] <= 0xFFFF, words[0] >> 26 == 0 else { return nil }
            register = PCIBarRegister(index: index, bar: .io(base: UInt16(words[1]), size: UInt16(words[2])))
        }
    }
}

/// What one capability devmgr sends stands for.
public enum DeviceResource: Equatable, Sendable {
    /// The I/O ports of BAR `bar`: `base ..< base + count`.
    case ioPorts(bar: Int, base: UInt16, count: UInt16)
    /// A memory BAR's device frame.
    case deviceMemory(bar: Int, base: UInt64, bytes: UInt64)
    /// The function's legacy interrupt, routed to `irq`.
    case interrupt(irq: UInt8)
    /// Page `page` of a piece of DMA memory, at physical `address`.
    case dmaPage(page: Int, address: UInt64)
}

/// An answer that carries one capability, and what it is.
public struct ResourceGrant: Equatable, Sendable {
    public var resource: DeviceResource

    public init(_ resource: DeviceResource) { self.resource = resource }

    public var words: [UInt64] {
        let kindWord = UInt64(DeviceAnswerKind.grant.rawValue) << 8
        switch resource {
        case .ioPorts(let bar, let base, let count): return [kindWord | 1 << 16 | UInt64(bar) << 24, UInt64(base), UInt64(count)]
        case .deviceMemory(let bar, let base, let bytes): return [kindWord | 2 << 16 | UInt64(bar) << 24, base, bytes]
        case .interrupt(let irq): return [kindWord | 3 << 16, UInt64(irq), 0]
        case .dmaPage(let page, let address): return [kindWord | 4 << 16 | UInt64(page) << 24, address, 0]
        }
    }

    public init?(words: [UInt64]) {
        guard words.count == 3, answerStatus(words) == (nil, .grant), words[0] >> 40 == 0 else { return nil }
        let position = Int(words[0] >> 24 & 0xFFFF)
        switch words[0] >> 16 & 0xFF {
        case 1:
            guard position < 6, words[1] <= 0xFFFF, words[2] <= 0xFFFF else { return nil }
            resource = .ioPorts(bar: position, base: UInt16(words[1]), count: UInt16(words[2]))
        case 2:
            guard position < 6 else { return nil }
            resource = .deviceMemory(bar: position, base: words[1], bytes: words[2])
        case 3:
            guard position == 0, words[1] <= 0xFF, words[2] == 0 else { return nil }
            resource = .interrupt(irq: UInt8(words[1]))
        case 4:
            guard words[2] == 0 else { return nil }
            resource = .dmaPage(page: position, address: words[1])
        default:
            return nil
        }
    }
}

/// The answer to `dmaMemory`: where the piece is and how many pages follow.
public struct DMAMemorySummary: Equatable, Sendable {
    public var physicalBase: UInt64
    public var pages: Int

    public init(physicalBase: UInt64, pages: Int) {
        self.physicalBase = physicalBase
        self.pages = pages
    }

    public var words: [UInt64] { [UInt64(DeviceAnswerKind.dmaMemory.rawValue) << 8, physicalBase, UInt64(pages)] }

    public init?(words: [UInt64]) {
        guard words.count == 3, answerStatus(words) == (nil, .dmaMemory), words[0] >> 16 == 0, words[2] <= 1 << 16 else { return nil }
        physicalBase = words[1]
        pages = Int(words[2])
    }
}

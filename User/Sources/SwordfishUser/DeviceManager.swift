// Asking the device manager (`devmgr`, User/Sources/devmgr) for devices: the client side
// of the interface declared in Core/Sources/DeviceManagement. A driver claims a PCI
// function and gets exactly that function's capabilities (the ports of its I/O BARs,
// its memory BARs' device frames, its interrupt), then asks for DMA memory, which
// devmgr allocates and keeps: when the driver ends, however it ends, devmgr stops the
// device before that memory can be reused. One connection per domain, made on first use
// and kept while the domain runs (devmgr watches its claimants by their domain, not by
// the connection). One thread at a time may ask.
@_exported import DeviceManagement
import PCI

public enum DeviceManager {
    /// The name devmgr registers.
    public static let name = "devmgr"

    /// Why a request failed.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// devmgr refused it.
        case refused(DeviceManagerRefusal)
        /// devmgr could not be reached (not running, or the monitor refused the binding).
        case unreachable(MonitorStatus)
        /// The connection to devmgr failed.
        case connection(Connection.Failure)
        /// devmgr answered what no devmgr answers.
        case garbled

        public var description: String {
            switch self {
            case .refused(let refusal): return "devmgr refused: \(refusal)"
            case .unreachable(let status): return "devmgr unreachable (\(status))"
            case .connection(let failure): return "connection to devmgr: \(failure)"
            case .garbled: return "devmgr's answer was garbled"
            }
        }
    }

    /// A function as devmgr lists it.
    public struct Listing {
        public var function: FunctionSummary
        public var bars: [BarSummary]
        /// The domain that holds it, if one does.
        public var claimant: SystemDomainID?

        /// One line, as `lspci` prints it: address, vendor:device, kind, interrupt, BARs
        /// (a memory BAR devmgr could not take from the monitor is marked "not held"),
        /// and who holds it, with the program it runs.
        public var line: String {
            func hex(_ value: UInt64, _ digits: Int) -> String {
                let text = String(value, radix: 16)
                return String(repeating: "0", count: max(digits - text.count, 0)) + text
            }
            var text = "\(function.address) \(hex(UInt64(function.vendor), 4)):\(hex(UInt64(function.device), 4)) \(function.kind)"
            if function.interruptPin != 0 {
                text += ", INT\(["A", "B", "C", "D"][Int(function.interruptPin) - 1]) irq \(function.interruptLine)"
            }
            for bar in bars {
                switch bar.register.bar {
                case .io(let base, let size):
                    text += ", BAR\(bar.register.index) io 0x\(hex(UInt64(base), 4)) \(size) ports"
                case .memory(let base, let size, let is64Bit, _):
                    let bytes = size >= 1 << 20 ? "\(size >> 20) MiB" : size >= 1 << 10 ? "\(size >> 10) KiB" : "\(size) bytes"
                    text += ", BAR\(bar.register.index) memory 0x\(hex(base, 8)) \(bytes)\(is64Bit ? " 64-bit" : "")"
                }
                if !bar.isHeld { text += " (not held)" }
            }
            if let claimant {
                text += ", claimed by \(claimant) \((try? Monitor.program(of: claimant)) ?? "?")"
            } else {
                text += ", unclaimed"
            }
            return text
        }
    }

    /// A claimed function and where each of its capabilities went (nil: not placed,
    /// dropped).
    public struct Claim {
        public var function: FunctionSummary
        public var grants: [(resource: DeviceResource, capability: Capability?)]

        /// The I/O ports of BAR `bar`, if the function has them.
        public func ioPorts(bar: Int) -> (base: UInt16, count: UInt16)? {
            for grant in grants { if case .ioPorts(bar, let base, let count) = grant.resource { return (base, count) } }
            return nil
        }

        /// The device frame of memory BAR `bar`, if devmgr granted it, and its base and size.
        public func deviceMemory(bar: Int) -> (base: UInt64, bytes: UInt64, capability: Capability?)? {
            for grant in grants { if case .deviceMemory(bar, let base, let bytes) = grant.resource { return (base, bytes, grant.capability) } }
            return nil
        }

        /// The IRQ of its interrupt, if it has one.
        public var irq: UInt8? {
            for grant in grants { if case .interrupt(let irq) = grant.resource { return irq } }
            return nil
        }
    }

    nonisolated(unsafe) static var connection: Connection? = nil

    /// devmgr is started at boot (by the shell, before its prompt); a domain asking
    /// early waits for the name a while.
    static func connected() throws(Failure) -> Connection {
        if let connection, connection.failure == nil { return connection }
        do throws(MonitorStatus) {
            let made = try Connection.connect(to: name, waitingUpTo: 20_000_000_000)
            connection = made
            return made
        } catch {
            throw .unreachable(error)
        }
    }

    /// Ends this domain's connection (a domain that only listed); claims are kept.
    public static func disconnect() {
        connection?.close()
        connection = nil
    }

    /// Sends `request` and returns the first answer's words, a refusal thrown.
    static func ask(_ request: DeviceRequest) throws(Failure) -> [UInt64] {
        let connection = try connected()
        let words: [UInt64]
        do throws(Connection.Failure) {
            try connection.send(request.words)
            words = try connection.receive()
        } catch {
            throw .connection(error)
        }
        if let refusal = answerStatus(words).refusal { throw .refused(refusal) }
        return words
    }

    /// The next answer, which carries a grant: its resource, its capability placed by
    /// `place` (dropped when `place` gives nil or a slot that is not empty).
    static func receiveGrant(placing place: (DeviceResource) -> Capability?) throws(Failure) -> (DeviceResource, Capability?) {
        let connection = try connected()
        let scratch: Capability
        do throws(MonitorStatus) { scratch = try LibrarySlots.take() } catch { throw .unreachable(error) }
        let words: [UInt64]
        do throws(Connection.Failure) { words = try connection.receive(capabilityInto: scratch).words } catch { throw .connection(error) }
        defer { _ = try? scratch.delete() }
        guard let grant = ResourceGrant(words: words) else { throw .garbled }
        guard scratch.type != .null, let target = place(grant.resource), target.type == .null else { return (grant.resource, nil) }
        do throws(InvocationStatus) { try scratch.copy(to: target) } catch { return (grant.resource, nil) }
        return (grant.resource, target)
    }

    /// Every function devmgr found, with its BARs and who holds it.
    public static func list() throws(Failure) -> [Listing] {
        var listings: [Listing] = []
        while true {
            let words: [UInt64]
            do throws(Failure) { words = try ask(.describe(index: listings.count)) } catch .refused(.noSuchFunction) { return listings }
            guard let function = FunctionSummary(words: words), function.index == listings.count else { throw .garbled }
            var bars: [BarSummary] = []
            for position in 0..<function.barCount {
                guard let bar = BarSummary(words: try ask(.bar(function: function.index, position: position))) else { throw .garbled }
                bars.append(bar)
            }
            listings.append(Listing(function: function, bars: bars,
                                    claimant: function.claimant == 0 ? nil : SystemDomainID(rawValue: function.claimant)))
        }
    }

    /// Claims the function `selector` names for this domain: its description, and each
    /// of its capabilities where `place` says (the ports of its I/O BARs, the device
    /// frames of its memory BARs, its interrupt). devmgr turns on the function's
    /// decoding and bus mastering. `alreadyClaimed` if a domain holds it.
    public static func claim(_ selector: DeviceSelector, placing place: (DeviceResource) -> Capability?) throws(Failure) -> Claim {
        guard var function = FunctionSummary(words: try ask(.claim(selector))), function.claimant <= 16 else { throw .garbled }
        var claim = Claim(function: function, grants: [])
        for _ in 0..<function.claimant {
            let (resource, capability) = try receiveGrant(placing: place)
            claim.grants.append((resource, capability))
        }
        function.claimant = Program.identity.rawValue
        claim.function = function
        return claim
    }

    /// Where the function's MSI-X table is (`noMSIX` if it has none).
    public static func msix(of function: FunctionSummary) throws(Failure) -> MSIXSummary {
        guard let summary = MSIXSummary(words: try ask(.msix(function: function.index))) else { throw .garbled }
        return summary
    }

    /// Turns MSI-X on for a function this domain claimed (function mask clear, INTx off
    /// in its command register), or off again (INTx back on). devmgr turns it off when
    /// this domain ends, however it ends.
    public static func setMSIX(of function: FunctionSummary, enabled: Bool) throws(Failure) {
        guard let summary = MSIXSummary(words: try ask(.setMSIX(function: function.index, enabled: enabled))),
              summary.isEnabled == enabled else { throw .garbled }
    }

    /// `bytes` (whole pages, at most `MemoryService.pieceBytes`) of DMA memory, physically
    /// consecutive, one frame per page in `frames` (as many as there are pages): its
    /// physical base. Only for a domain that holds a function; devmgr keeps the memory
    /// and frees it once this domain has ended and its devices are stopped.
    public static func dmaMemory(bytes: UInt64, into frames: [Capability]) throws(Failure) -> UInt64 {
        guard let memory = DMAMemorySummary(words: try ask(.dmaMemory(bytes: bytes))), memory.pages == Int(bytes / 4096) else { throw .garbled }
        for page in 0..<memory.pages {
            let (resource, capability) = try receiveGrant { resource in
                guard case .dmaPage(let index, _) = resource, index == page, index < frames.count else { return nil }
                return frames[index]
            }
            guard case .dmaPage(page, memory.physicalBase &+ UInt64(page * 4096)) = resource, capability != nil else { throw .garbled }
        }
        return memory.physicalBase
    }
}

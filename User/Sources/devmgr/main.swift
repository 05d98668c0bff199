// devmgr: the device manager (issue 13; Barrelfish's `pci` domain and `kaluga`,
// simplified). The shell starts it on core 0 before its first prompt, and it runs for
// good. It takes configuration mechanism #1's ports from core 0's monitor and keeps
// them, so no one else touches configuration space; scans (Core/Sources/PCI); and takes
// every function's I/O BARs, memory BARs in the monitor's device window, and legacy
// interrupt line from the monitor, so a driver can get them only through it. Under the
// name `devmgr` it lists what it found and hands a driver exactly its function's
// capabilities (copies: devmgr keeps the originals), turning on the function's
// decoding and bus mastering, and DMA memory, which it allocates from its own core's
// memory service and keeps.
//
// A driver may run on any core: a claim from another core gets the same capabilities,
// which the monitors carry there (docs/capabilities.md); once a copy has left core 0
// the object is shared, and devmgr takes it back through its monitor's revoke, which
// reaches every core.
//
// It watches every driver. When one ends, however it ends (exit, fault, kill), it first
// turns the function's bus mastering off and resets a legacy virtio device through its
// status port, and only then frees the driver's DMA memory and takes the capabilities
// back (revoking every copy, on every core) for the next claim: a device never writes
// into memory that was handed out again. The order is DriverTeardown's
// (Core/Sources/DeviceManagement).
// Every request is decoded before anything is done (`DeviceRequest(words:)`); a
// malformed one gets a refusal and devmgr goes on.
//
//   devmgr                    the service (the shell starts it)
//   devmgr claim-twice        a client: claims 1af4:1000, shows it claimed, and must be
//                             refused a second claim (a guest test)
//   devmgr remote-test        a client (a guest test): starts `devmgr remote-driver` on
//                             core 1, waits for its end and for devmgr to free the
//                             function, then claims it itself
//   devmgr remote-driver      that driver: it claims 1af4:1000, reads the device
//                             through its port capability, is refused a port past the
//                             BAR, maps BAR1's device frame, takes DMA memory, and ends
//   devmgr garbage            a client that sends 209 malformed requests: each must be
//                             refused, and devmgr must still answer (a guest test)
//   devmgr msix-refusals      a client: the MSI-X requests refuse a function without
//                             MSI-X, one past the list, and MSI-X on or off for a
//                             function the client did not claim (a guest test, in
//                             netd's)
//   devmgr crash-test fault|kill
//                             a client: starts `devmgr driver …` on core 0, a driver
//                             that claims 1af4:1000, takes 64 KiB of DMA memory and
//                             starts the device, then faults or is killed; waits until
//                             devmgr has stopped the device and the function is free
//   devmgr driver fault|hang  that driver
import SwordfishUser
import UserRuntimeC
import PCI
import Virtio

func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(digits - text.count, 0)) + text
}

// MARK: The service

/// Root slots: configuration ports in 2, a CNode of 128 slots in 3 for everything held:
/// the functions' capabilities (0–63), DMA memory (64–95), frames on their way (96–111).
enum Slots {
    static let configurationPorts = Capability(slot: 2)
    static let cnode: UInt32 = 3
    static let resources: Range<UInt32> = 0..<64
    static let pieces: Range<UInt32> = 64..<96
    static let frames: Range<UInt32> = 96..<112

    static func leaf(_ slot: UInt32) -> Capability { Capability(.leaf(cnode, slot)) }
}

/// A capability devmgr holds for a function, and where.
struct Held {
    var resource: DeviceResource
    var slot: UInt32
}

/// A client's connection.
final class Client {
    let connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}

/// How long devmgr sleeps between looks at its clients and drivers while it has any:
/// about 10 ms.
let pollCycles: UInt64 = 1 << 25

func serve() -> Never {
    do throws(MonitorStatus) {
        try Monitor.ioPorts(PCIPortSpace.addressPort, count: PCIPortSpace.portCount, into: Slots.configurationPorts)
    } catch {
        print("devmgr: no configuration ports (\(error)); it runs on core 0, once")
        exit(1)
    }
    var space = PCIPortSpace(read: { try? Slots.configurationPorts.read(port: $0, width: .doubleWord) },
                             write: { (try? Slots.configurationPorts.write(port: $0, width: .doubleWord, value: $1)) != nil })
    let (functions, problems) = PCIEnumeration.scan(&space)
    for problem in problems { print("devmgr: \(problem)") }
    do throws(InvocationStatus) { try Capability.ram.retype(to: .cnode, size: 128, into: Capability(slot: Slots.cnode)) } catch {
        print("devmgr: no CNode: \(error)")
        exit(1)
    }

    // Every function's BARs and interrupt, from the monitor, held for good.
    var held: [[Held]] = functions.map { _ in [] }
    var nextSlot = Slots.resources.lowerBound
    var interrupts: [(irq: UInt8, slot: UInt32)] = []
    for (index, function) in functions.enumerated() where !function.isBridge {
        for register in function.bars where nextSlot < Slots.resources.upperBound {
            let slot = Slots.leaf(nextSlot)
            switch register.bar {
            case .io(let base, let size):
                guard (try? Monitor.ioPorts(base, count: size, into: slot)) != nil else { continue }
                held[index].append(Held(resource: .ioPorts(bar: register.index, base: base, count: size), slot: nextSlot))
            case .memory(let base, let size, _, _):
                // The monitor gives whole pages in its window below 4 GiB; others are listed only.
                // (A 64-bit BAR's base is the device's to choose: no sum that could overflow.)
                guard base % 4096 == 0, size % 4096 == 0, base <= 1 << 32, size <= (1 << 32) - base,
                      (try? Monitor.deviceMemory(base, bytes: size, into: slot)) != nil else { continue }
                held[index].append(Held(resource: .deviceMemory(bar: register.index, base: base, bytes: size), slot: nextSlot))
            }
            nextSlot += 1
        }
        // A legacy interrupt routed to an ISA line; functions on one line share its capability.
        guard function.interruptPin != 0, function.interruptLine < 16, nextSlot < Slots.resources.upperBound else { continue }
        if let shared = interrupts.first(where: { $0.irq == function.interruptLine }) {
            held[index].append(Held(resource: .interrupt(irq: shared.irq), slot: shared.slot))
        } else if (try? Monitor.interrupt(function.interruptLine, into: Slots.leaf(nextSlot))) != nil {
            interrupts.append((function.interruptLine, nextSlot))
            held[index].append(Held(resource: .interrupt(irq: function.interruptLine), slot: nextSlot))
            nextSlot += 1
        }
    }

    let listener: Listener
    do throws(MonitorStatus) { listener = try Listener(name: DeviceManager.name) } catch {
        print("devmgr: the name \(DeviceManager.name) was refused (\(error)); is one running?")
        exit(1)
    }
    var server = Server(space: space, table: DeviceTable(functions: functions), held: held)
    var clients: [Client] = []
    var lastLook = user_timestamp()
    while true {
        var busy = false
        // New clients (at most three at once: a same-core connection keeps two of the
        // library's nine slots; a fourth waits for one to end).
        while clients.count < 3, let connection = try? listener.tryAccept() {
            clients.append(Client(connection))
            busy = true
        }
        // One request from each client a turn.
        for client in clients {
            guard client.connection.failure == nil, let words = try? client.connection.tryReceive() else { continue }
            busy = true
            server.handle(words, from: client.connection)
        }
        // Ended clients and drivers.
        if user_timestamp() &- lastLook > pollCycles || !busy {
            lastLook = user_timestamp()
            clients.removeAll { client in
                guard client.connection.failure != nil || (try? Monitor.isAlive(client.connection.peer)) == false else { return false }
                client.connection.close()
                return true
            }
            for domain in server.table.claimants where (try? Monitor.isAlive(SystemDomainID(rawValue: domain))) == false {
                server.tearDown(domain)
            }
        }
        if busy { continue }
        // Nothing to do: sleep until a message comes (an endpoint's, or a ring client's
        // doorbell), and while anyone is connected or holds a device, look again soon.
        let watching = !clients.isEmpty || !server.table.claimants.isEmpty
        var sleep = true
        for client in clients where client.connection.failure == nil { if !client.connection.prepareToSleep() { sleep = false } }
        if sleep { try? SystemCall.wait(until: watching ? user_timestamp() &+ pollCycles : nil) }
        for client in clients where client.connection.failure == nil { client.connection.wakeUp() }
    }
}

/// The service's state: configuration space, the claim table, what it holds.
struct Server {
    var space: PCIPortSpace
    var table: DeviceTable
    let held: [[Held]]
    /// The program each claimant runs, for the line printed when it ends.
    var programs: [(domain: UInt64, name: String)] = []

    /// Decodes and answers one request; a failed send only loses that client.
    mutating func handle(_ words: [UInt64], from connection: Connection) {
        let request: DeviceRequest
        do throws(DeviceManagerRefusal) { request = try DeviceRequest(words: words) } catch {
            _ = try? connection.send(refusalWords(error))
            return
        }
        switch request {
        case .describe(let index):
            guard index < table.entries.count else { return refuse(.noSuchFunction, connection) }
            let entry = table.entries[index]
            _ = try? connection.send(FunctionSummary(index: index, function: entry.function, claimant: entry.claimant ?? 0).words)
        case .bar(let index, let position):
            guard index < table.entries.count, position < table.entries[index].function.bars.count else { return refuse(.noSuchFunction, connection) }
            let register = table.entries[index].function.bars[position]
            let isHeld = held[index].contains { grant in
                switch grant.resource {
                case .ioPorts(let bar, _, _), .deviceMemory(let bar, _, _): return bar == register.index
                default: return false
                }
            }
            _ = try? connection.send(BarSummary(register: register, isHeld: isHeld).words)
        case .claim(let selector):
            claim(selector, for: connection)
        case .dmaMemory(let bytes):
            giveDMAMemory(bytes, to: connection)
        case .msix(let index):
            guard index < table.entries.count else { return refuse(.noSuchFunction, connection) }
            let function = table.entries[index].function
            guard let msix = function.msix else { return refuse(.noMSIX, connection) }
            let enabled = space.read(function.address, offset: msix.offset) & MSIXCapability.enableBit != 0
            _ = try? connection.send(MSIXSummary(capability: msix, isEnabled: enabled).words)
        case .setMSIX(let index, let enabled):
            setMSIX(index, enabled: enabled, for: connection)
        }
    }

    /// Turns a claimed function's MSI-X on (and its INTx off) or off (and INTx on
    /// again), for its claimant only: configuration space stays devmgr's.
    mutating func setMSIX(_ index: Int, enabled: Bool, for connection: Connection) {
        guard index < table.entries.count else { return refuse(.noSuchFunction, connection) }
        guard table.entries[index].claimant == connection.peer.rawValue else { return refuse(.notClaimed, connection) }
        let function = table.entries[index].function
        guard let msix = function.msix else { return refuse(.noMSIX, connection) }
        // INTx off before MSI-X on, and back on only after MSI-X is off: never both.
        if enabled { space.updateCommand(of: function.address, enable: .interruptDisable) }
        guard space.setMSIX(of: function.address, at: msix, enabled: enabled) else { return refuse(.deviceRefused, connection) }
        if !enabled { space.updateCommand(of: function.address, enable: [], disable: .interruptDisable) }
        _ = try? connection.send(MSIXSummary(capability: msix, isEnabled: enabled).words)
    }

    func refuse(_ refusal: DeviceManagerRefusal, _ connection: Connection) {
        _ = try? connection.send(refusalWords(refusal))
    }

    mutating func claim(_ selector: DeviceSelector, for connection: Connection) {
        let domain = connection.peer.rawValue
        let index: Int
        do throws(DeviceManagerRefusal) { index = try table.decideClaim(selector, by: domain) } catch { return refuse(error, connection) }
        let function = table.entries[index].function
        table.claim(index, by: domain)
        if !programs.contains(where: { $0.domain == domain }) {
            programs.append((domain, (try? Monitor.program(of: connection.peer)) ?? "?"))
        }
        // Decoding for the kinds of BAR it has, bus mastering, and its INTx line.
        var enable: PCICommand = [.busMaster]
        for register in function.bars {
            if case .io = register.bar { enable.insert(.ioSpace) } else { enable.insert(.memorySpace) }
        }
        // A claim starts with MSI-X off (as the last driver's teardown left it) and INTx on.
        if let msix = function.msix { _ = space.setMSIX(of: function.address, at: msix, enabled: false) }
        space.updateCommand(of: function.address, enable: enable, disable: .interruptDisable)
        let grants = held[index]
        guard (try? connection.send(FunctionSummary(index: index, function: function, claimant: UInt64(grants.count)).words)) != nil else { return }
        for grant in grants {
            guard (try? connection.send(ResourceGrant(grant.resource).words, carrying: Slots.leaf(grant.slot))) != nil else { return }
        }
    }

    mutating func giveDMAMemory(_ bytes: UInt64, to connection: Connection) {
        let domain = connection.peer.rawValue
        do throws(DeviceManagerRefusal) { try table.decideDMA(bytes: bytes, by: domain, pieceLimit: MemoryService.pieceBytes) } catch {
            return refuse(error, connection)
        }
        guard let key = Slots.pieces.first(where: { Slots.leaf($0).type == .null }) else { return refuse(.outOfResources, connection) }
        let piece = Slots.leaf(key), pages = Int(bytes / 4096)
        let frames = (0..<pages).map { Slots.leaf(Slots.frames.lowerBound + UInt32($0)) }
        let base: UInt64
        do throws(MonitorStatus) {
            base = try Monitor.allocate(bytes, into: piece).base
            try Monitor.retype(piece, into: frames)
        } catch {
            if piece.type != .null { _ = try? Monitor.free(piece) }
            return refuse(.outOfResources, connection)
        }
        // Recorded before anything is sent: from here the memory is freed only by the teardown.
        table.recordDMA(key: UInt64(key), bytes: bytes, for: domain)
        defer { for frame in frames { _ = try? frame.delete() } }
        guard (try? connection.send(DMAMemorySummary(physicalBase: base, pages: pages).words)) != nil else { return }
        for (page, frame) in frames.enumerated() {
            let grant = ResourceGrant(.dmaPage(page: page, address: base + UInt64(page * 4096)))
            guard (try? connection.send(grant.words, carrying: frame)) != nil else { return }
        }
    }

    /// `domain` ended: stop its devices, then free its memory, then take its
    /// capabilities back, in DriverTeardown's order, and say so.
    mutating func tearDown(_ domain: UInt64) {
        var teardown = table.driverEnded(domain, resetPort: virtioLegacyStatusPort)
        var addresses: [String] = [], stopped = false, reset = false, msixOff = false, freed: UInt64 = 0
        while let step = teardown.next {
            var succeeded = true
            switch step {
            case .stopBusMastering(let address):
                space.updateCommand(of: address, enable: [], disable: .busMaster)
                succeeded = !space.command(of: address).contains(.busMaster)
                if !addresses.contains(address.description) { addresses.append(address.description) }
                stopped = succeeded
                // Its messages stop too: MSI-X off, so the next driver starts on INTx.
                if let msix = table.entries.first(where: { $0.function.address == address })?.function.msix,
                   space.read(address, offset: msix.offset) & MSIXCapability.enableBit != 0 {
                    msixOff = space.setMSIX(of: address, at: msix, enabled: false)
                }
            case .resetVirtio(let address, let port):
                succeeded = false
                if let index = table.entries.firstIndex(where: { $0.function.address == address }),
                   let ports = held[index].first(where: { if case .ioPorts(0, _, _) = $0.resource { return true } else { return false } }) {
                    let capability = Slots.leaf(ports.slot)
                    succeeded = (try? capability.write(port: port, value: 0)) != nil && (try? capability.read(port: port)) == 0
                }
                reset = succeeded
            case .freeMemory(let keys):
                freed = table.bytes(of: keys)
                for key in keys { _ = try? Monitor.free(Slots.leaf(UInt32(key))) }
                table.forget(pieces: keys)
                let name = programs.first(where: { $0.domain == domain })?.name ?? "a driver"
                print("devmgr: \(name) (domain \(SystemDomainID(rawValue: domain))) ended: \(addresses.joined(separator: " "))"
                      + "\(stopped ? " bus mastering off," : "")\(msixOff ? " MSI-X off," : "")\(reset ? " device reset," : "") \(freed >> 10) KiB freed")
            case .release(let functions):
                if freed == 0 {
                    let name = programs.first(where: { $0.domain == domain })?.name ?? "a driver"
                    print("devmgr: \(name) (domain \(SystemDomainID(rawValue: domain))) ended: \(addresses.joined(separator: " "))"
                          + "\(stopped ? " bus mastering off," : "")\(msixOff ? " MSI-X off," : "")\(reset ? " device reset," : "") no DMA memory")
                }
                // Every copy it was given goes, on every core (revoke keeps devmgr's own).
                for index in functions { for grant in held[index] { revokeCopies(Slots.leaf(grant.slot)) } }
                table.release(functions)
                programs.removeAll { $0.domain == domain }
            }
            teardown.finished(step, succeeded: succeeded)
        }
        if teardown.isQuarantined {
            print("devmgr: domain \(SystemDomainID(rawValue: domain)) ended but \(addresses.joined(separator: " ")) did not stop: its memory stays held")
        }
    }
}

/// Takes back every copy of `capability` but devmgr's own. A copy that went to another
/// core made the object shared: then the kernel refuses devmgr's own revoke
/// (`sharedAcrossCores`), and the monitors revoke it on every core.
func revokeCopies(_ capability: Capability) {
    do throws(InvocationStatus) {
        _ = try capability.revoke()
    } catch .sharedAcrossCores {
        do throws(MonitorStatus) { try Monitor.revoke(capability) } catch {
            print("devmgr: revoking a driver's copies on other cores: \(error)")
        }
    } catch {
        print("devmgr: revoking a driver's copies: \(error)")
    }
}

// MARK: Test clients

func fail(_ message: String) -> Never {
    print("devmgr: \(message)")
    exit(1)
}

let virtioNet = DeviceSelector.device(vendor: VirtioNetwork.vendor, device: VirtioNetwork.transitionalDevice)

/// The listing's line for 00:03.0's network device.
func networkListing() -> DeviceManager.Listing {
    let listings: [DeviceManager.Listing]
    do throws(DeviceManager.Failure) { listings = try DeviceManager.list() } catch { fail("list: \(error)") }
    guard let listing = listings.first(where: { $0.function.vendor == VirtioNetwork.vendor && $0.function.device == VirtioNetwork.transitionalDevice }) else {
        fail("devmgr lists no 1af4:1000")
    }
    return listing
}

func claimTwice() -> Never {
    let claim: DeviceManager.Claim
    do throws(DeviceManager.Failure) { claim = try DeviceManager.claim(virtioNet) { _ in nil } } catch { fail("the first claim: \(error)") }
    let listing = networkListing()
    guard listing.claimant == Program.identity else { fail("\(claim.function.address) is not listed as this domain's") }
    print(listing.line)
    do throws(DeviceManager.Failure) {
        _ = try DeviceManager.claim(virtioNet) { _ in nil }
        fail("a second claim of \(claim.function.address) was granted")
    } catch .refused(.alreadyClaimed) {
        print("devmgr: a second claim of \(claim.function.address) was refused (already claimed)")
    } catch {
        fail("the second claim: \(error)")
    }
    exit(0)
}

/// A driver on another core than devmgr (`oncore 1`): it claims the network device and
/// works with what the monitors carried to its core: it reads the device's features and
/// status through the BAR0 port capability, maps BAR1's device frame and reads it, takes
/// DMA memory, and is refused a port past the BAR. Then it ends, and devmgr frees the
/// function (`remote-test` shows it).
func remoteDriver() -> Never {
    let ports = Capability(slot: 2), device = Capability(slot: 3), frames = [Capability(slot: 4), Capability(slot: 5)]
    let claim: DeviceManager.Claim
    do throws(DeviceManager.Failure) {
        claim = try DeviceManager.claim(virtioNet) { resource in
            switch resource {
            case .ioPorts(0, _, _): return ports
            case .deviceMemory(1, _, _): return device
            default: return nil
            }
        }
    } catch {
        fail("remote driver: claim: \(error)")
    }
    let core = Program.identity.core
    guard let (base, count) = claim.ioPorts(bar: 0), ports.type == .ioPortRange else { fail("remote driver: no ports for BAR 0 on core \(core)") }
    let features: UInt32, status: UInt32
    do throws(InvocationStatus) {
        features = try ports.read(port: base + LegacyRegister.deviceFeatures.offset, width: .doubleWord)
        status = try ports.read(port: base + LegacyRegister.deviceStatus.offset)
    } catch {
        fail("remote driver: reading the device on core \(core): \(error)")
    }
    print("devmgr: remote driver: core \(core) claimed \(claim.function.address), BAR0 ports 0x\(hex(UInt64(base), digits: 4))+\(count): "
          + "features 0x\(hex(UInt64(features), digits: 8))\(features & VirtioNetwork.macFeature != 0 ? " (MAC)" : ""), status 0x\(hex(UInt64(status), digits: 2))")
    // Bad input: a port one past the BAR's last.
    do throws(InvocationStatus) {
        _ = try ports.read(port: base + count)
        fail("remote driver: port 0x\(hex(UInt64(base + count), digits: 4)) past BAR0 was read")
    } catch .outsideRange {
        print("devmgr: remote driver: port 0x\(hex(UInt64(base + count), digits: 4)) past BAR0 refused (outsideRange)")
    } catch {
        fail("remote driver: the port past BAR0: \(error)")
    }
    // BAR1's device frame, mapped uncached in this core's page tables.
    var bar1: (base: UInt64, bytes: UInt64)? = nil
    for grant in claim.grants { if case .deviceMemory(1, let b, let bytes) = grant.resource { bar1 = (b, bytes) } }
    guard let bar1, device.type == .deviceFrame else { fail("remote driver: no device frame for BAR1 on core \(core)") }
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 30, pml4Entry: 5)
        try table.map(device, at: 0, rights: [.read, .write])
    } catch {
        fail("remote driver: mapping BAR1: \(error)")
    }
    let word = UnsafeMutablePointer<UInt32>(bitPattern: UInt(5 << 39))!.pointee
    print("devmgr: remote driver: BAR1 device frame 0x\(hex(bar1.base, digits: 8)) (\(bar1.bytes >> 10) KiB) mapped on core \(core), first word 0x\(hex(UInt64(word), digits: 8))")
    let physical: UInt64
    do throws(DeviceManager.Failure) { physical = try DeviceManager.dmaMemory(bytes: 8192, into: frames) } catch {
        fail("remote driver: DMA memory: \(error)")
    }
    guard frames.allSatisfy({ $0.type == .frame }) else { fail("remote driver: DMA frames missing") }
    print("devmgr: remote driver: 8 KiB of DMA memory at 0x\(hex(physical, digits: 8)); ending")
    exit(0)
}

/// Starts `remote-driver` on core 1, waits for its end and for devmgr to free the
/// network device (devmgr says what it stopped and freed), then claims the device here.
func remoteTest() -> Never {
    let driver: SystemDomainID
    do throws(MonitorStatus) { driver = try Monitor.spawn("devmgr", arguments: "remote-driver", on: 1) } catch {
        fail("starting the driver on core 1: \(error)")
    }
    let end: DomainEnd
    do throws(MonitorStatus) { end = try Monitor.awaitEnd(of: driver) } catch { fail("awaiting the driver: \(error)") }
    print("devmgr: the remote driver (domain \(driver)) ended: \(end)")
    let start = user_timestamp()
    while networkListing().claimant != nil {
        guard user_timestamp() &- start < 1 << 36 else { fail("devmgr never freed 00:03.0") }
        try? SystemCall.wait(until: user_timestamp() &+ (1 << 24))
    }
    let ports = Capability(slot: 2)
    let claim = claimNetworkPorts(into: ports, failing: "the claim after the remote driver")
    guard let (base, _) = claim.ioPorts(bar: 0), (try? ports.read(port: base + LegacyRegister.deviceStatus.offset)) != nil else {
        fail("\(claim.function.address) claimed again, but its ports do not answer")
    }
    print("devmgr: \(claim.function.address) is free again and claimed on core \(Program.identity.core)")
    exit(0)
}

/// A client that sends what no client library sends: each must be refused as
/// malformed, and devmgr must go on answering.
func sendGarbage() -> Never {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Connection.connect(to: DeviceManager.name) } catch { fail("connect: \(error)") }
    var random = user_timestamp() | 1
    var garbage: [[UInt64]] = [[0, 0, 0], [0xFF, 0, 0], [1 << 16 | 1, 0, 0], [1, UInt64.max, 0], [2, 0, 6], [3, 0, 0],
                               [3 | 9 << 8, 0, 0], [3 | 1 << 8, 1 << 40, 0], [4, 4096, 7]]
    for _ in 0..<200 {
        random ^= random << 13; random ^= random >> 7; random ^= random << 17
        garbage.append([random | 1 << 16, random &* 3, random >> 3])
    }
    for words in garbage {
        do throws(Connection.Failure) {
            try connection.send(words)
            let answer = try connection.receive()
            guard answerStatus(answer).refusal == .malformed else { fail("0x\(String(words[0], radix: 16)) 0x\(String(words[1], radix: 16)) 0x\(String(words[2], radix: 16)) was not refused as malformed") }
        } catch {
            fail("the connection failed: \(error)")
        }
    }
    let listed = networkListing()
    print("devmgr: \(garbage.count) malformed requests refused; devmgr still lists \(listed.function.address)")
    exit(0)
}

/// A client that asks the MSI-X requests what devmgr must refuse: where the table is
/// of a function without MSI-X and of a function past the list, and MSI-X on for the
/// network device, which this domain did not claim. Each must be refused as it should
/// and change nothing: the device's MSI-X stays as it was.
func msixRefusals() -> Never {
    let listings: [DeviceManager.Listing]
    do throws(DeviceManager.Failure) { listings = try DeviceManager.list() } catch { fail("list: \(error)") }
    let network = networkListing()
    guard let plain = listings.first(where: { listing in
        do throws(DeviceManager.Failure) { _ = try DeviceManager.msix(of: listing.function) } catch .refused(.noMSIX) { return true } catch {}
        return false
    }) else { fail("every function has MSI-X, or none was refused as without it") }
    let before: MSIXSummary
    do throws(DeviceManager.Failure) { before = try DeviceManager.msix(of: network.function) } catch { fail("msix of \(network.function.address): \(error)") }
    var past = network.function
    past.index = listings.count + 100
    func outcome(_ body: () throws(DeviceManager.Failure) -> Void) -> String {
        do throws(DeviceManager.Failure) { try body(); return "granted" } catch .refused(let refusal) { return "refused (\(refusal))" } catch { return "\(error)" }
    }
    let missing = outcome { () throws(DeviceManager.Failure) in _ = try DeviceManager.msix(of: past) }
    let unclaimed = outcome { () throws(DeviceManager.Failure) in try DeviceManager.setMSIX(of: network.function, enabled: true) }
    let unclaimedOff = outcome { () throws(DeviceManager.Failure) in try DeviceManager.setMSIX(of: network.function, enabled: false) }
    let after: MSIXSummary
    do throws(DeviceManager.Failure) { after = try DeviceManager.msix(of: network.function) } catch { fail("msix of \(network.function.address): \(error)") }
    let line = "devmgr: msix of \(plain.function.address) refused (\(DeviceManagerRefusal.noMSIX)), of function \(past.index) \(missing); "
        + "setMSIX of \(network.function.address) by a domain that did not claim it: on \(unclaimed), off \(unclaimedOff); "
        + "its MSI-X table in BAR \(after.capability.tableBAR), \(after.capability.tableSize) entries, \(after.isEnabled ? "on" : "off") as before"
    guard missing == "refused (\(DeviceManagerRefusal.noSuchFunction))", unclaimed == "refused (\(DeviceManagerRefusal.notClaimed))",
          unclaimedOff == unclaimed, after == before else { fail("not refused as it should be: \(line)") }
    print(line)
    exit(0)
}

func crashTest(_ how: String) -> Never {
    guard how == "fault" || how == "kill" else { fail("crash-test fault|kill") }
    let driver: SystemDomainID
    do throws(MonitorStatus) { driver = try Monitor.spawn("devmgr", arguments: how == "kill" ? "driver hang" : "driver fault", on: 0) } catch {
        fail("starting the driver: \(error)")
    }
    // It claims the device and starts it; then it faults, or hangs and is killed here
    // once it has held the device a moment.
    let start = user_timestamp()
    if how == "kill" {
        while networkListing().claimant != driver {
            guard user_timestamp() &- start < 1 << 35, (try? Monitor.isAlive(driver)) == true else { fail("the driver never held the device") }
            try? SystemCall.wait(until: user_timestamp() &+ (1 << 24))
        }
        try? SystemCall.wait(until: user_timestamp() &+ (1 << 28))
        do throws(MonitorStatus) { try Monitor.kill(driver) } catch { fail("killing the driver: \(error)") }
    }
    let end: DomainEnd
    do throws(MonitorStatus) { end = try Monitor.awaitEnd(of: driver) } catch { fail("awaiting the driver: \(error)") }
    print("devmgr: the driver (domain \(driver)) ended: \(end)")
    // devmgr says what it did before it frees the function.
    while networkListing().claimant != nil {
        guard user_timestamp() &- start < 1 << 36 else { fail("devmgr never took the device back") }
        try? SystemCall.wait(until: user_timestamp() &+ (1 << 24))
    }
    print("devmgr: the dead driver's device is free again")
    exit(0)
}

/// Claims the network device keeping only the ports of its BAR 0, in `ports`; fails with
/// `what` if devmgr refuses.
func claimNetworkPorts(into ports: Capability, failing what: String) -> DeviceManager.Claim {
    do throws(DeviceManager.Failure) {
        return try DeviceManager.claim(virtioNet) { resource in
            if case .ioPorts(0, _, _) = resource { return ports }
            return nil
        }
    } catch {
        fail("\(what): \(error)")
    }
}

/// A driver that starts the device with receive buffers in its DMA memory, so the
/// device would write frames into it, and then dies without stopping it.
func runDriver(_ how: String) -> Never {
    let ports = Capability(slot: 2), frames = (0..<16).map { Capability(slot: 10 + UInt32($0)) }
    let claim = claimNetworkPorts(into: ports, failing: "driver: claim")
    guard let (base, _) = claim.ioPorts(bar: 0), ports.type == .ioPortRange else { fail("driver: no ports for BAR 0") }
    let physical: UInt64
    do throws(DeviceManager.Failure) { physical = try DeviceManager.dmaMemory(bytes: 65536, into: frames) } catch {
        fail("driver: DMA memory: \(error)")
    }
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 30, pml4Entry: 5)
        for (page, frame) in frames.enumerated() { try table.map(frame, at: page, rights: [.read, .write]) }
    } catch {
        fail("driver: mapping: \(error)")
    }
    let window = UnsafeMutableRawPointer(bitPattern: UInt(5 << 39))!
    window.initializeMemory(as: UInt8.self, repeating: 0, count: 65536)
    func write(_ register: LegacyRegister, _ value: UInt32) {
        let width: PortWidth = register.width == 4 ? .doubleWord : register.width == 2 ? .word : .byte
        _ = try? ports.write(port: base + register.offset, width: width, value: value)
    }
    write(.deviceStatus, 0)
    write(.deviceStatus, UInt32(DeviceStatus([.acknowledge, .driver]).rawValue))
    write(.driverFeatures, 0)
    write(.queueSelect, UInt32(VirtioNetwork.receiveQueue))
    let size = Int((try? ports.read(port: base + LegacyRegister.queueSize.offset, width: .word)) ?? 0)
    guard let layout = SplitQueueLayout(size: size), layout.byteCount <= 3 * 4096 else { fail("driver: queue of \(size)") }
    write(.queueAddress, UInt32(physical / UInt64(SplitQueueLayout.alignment)))
    var queue = SplitQueue(layout: layout, memory: window)
    for buffer in 0..<12 {
        _ = queue.give(buffer: buffer, address: physical + UInt64(4 * 4096 + buffer * 2048), length: 2048, direction: .fromDevice)
    }
    write(.deviceStatus, UInt32(DeviceStatus([.acknowledge, .driver, .driverReady]).rawValue))
    write(.queueNotify, UInt32(VirtioNetwork.receiveQueue))
    print("devmgr: driver: \(claim.function.address) started, 12 receive buffers in DMA memory at 0x\(hex(physical, digits: 8))")
    if how == "hang" {
        while true { try? SystemCall.wait(until: user_timestamp() &+ (1 << 32)) }
    }
    // A fault: the kernel stops the domain, which cannot reset its device.
    UnsafeMutablePointer<UInt64>(bitPattern: 0x10)!.pointee = 1
    fail("driver: still running after the fault")
}

// (Last: a top-level constant is set only when the code reaches it.)
switch arguments.first {
case nil: serve()
case "claim-twice"?: claimTwice()
case "garbage"?: sendGarbage()
case "remote-driver"?: remoteDriver()
case "remote-test"?: remoteTest()
case "msix-refusals"?: msixRefusals()
case "crash-test"?: crashTest(arguments[1] ?? "fault")
case "driver"?: runDriver(arguments[1] ?? "fault")
default:
    print("usage: devmgr [claim-twice | remote-test | remote-driver | garbage | msix-refusals | crash-test fault|kill | driver fault|hang]")
    exit(2)
}

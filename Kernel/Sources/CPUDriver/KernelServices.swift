// What the CPU driver does for the holder of the kernel capability, its core's monitor:
// start a program from the boot image, stop a domain, and report every domain's start
// and end, so that the monitor's replica of the domain table (shared with the other
// monitors by protocol) follows what runs on its core; on core 0, hand over the
// knowledge base the kernel built at boot, which the monitors then replicate; say
// whether a domain runs or sleeps (for `ps`); and for
// the shell, the commands that need the kernel and the boot image's program names; and
// for capabilities that cross cores, what the monitor's protocols need of this core's
// database (describe, adopt, markShared, sweep, retypeShared) and memory for the
// memory service (grantMemory); and for spanned domains, the place of a new dispatcher,
// the dispatcher itself, and the release of an ended domain's memory. Every
// argument is untrusted: the strings are copied from the monitor's memory with the
// usual checks, and a bad one gets a status.
import ABI
import Arch
import Basics
import BootInfo
import Capabilities
import Channel
import KernelMessages
import KnowledgeBase
import Memory
import ShellCommands
import ShootdownProtocol

/// Starts and ends of this core's domains, waiting for the monitor to read them.
struct DomainEvents {
    /// The most that wait; a monitor that stops reading loses the oldest, counted.
    static let limit = 256
    var waiting: [DomainEvent] = []
    var lost = 0

    mutating func append(_ event: DomainEvent) {
        if waiting.count == Self.limit {
            waiting.removeFirst()
            lost += 1
        }
        waiting.append(event)
    }
}

extension CoreState {
    /// Records a domain's start or end for the monitor (not the monitor's own, and
    /// nothing before there is a monitor), and wakes it.
    func recordDomainEvent(_ domain: Domain, _ kind: DomainEvent.Kind, status: Int64 = 0) {
        guard let monitor = monitorDomain, domain.id != monitor else { return }
        domainEvents.append(DomainEvent(kind: kind, domain: domain.id, status: status, program: Array(domain.name.utf8)))
        notificationArrived()
    }

    /// Core `stopped` said it stops for good: its monitor's peers stop waiting on it
    /// (their protocols' `coreStopped`), so this core's monitor hears of it once.
    func coreStopped(_ stopped: CoreID) {
        guard !stoppedCores[stopped.rawValue] else { return }
        stoppedCores[stopped.rawValue] = true
        if shootdowns != nil { perform(shootdowns!.coreStopped(stopped)) }
        guard monitorDomain != nil else { return }
        domainEvents.append(DomainEvent(kind: .coreStopped, domain: stopped.rawValue, program: []))
        notificationArrived()
    }

    /// Tells every other core that this one stops for good (`KernelMessage.stopping`):
    /// the panic path's last words. Straight into each ring that has room, then an IPI;
    /// nothing allocated and no lock taken, since the heap or a lock may be what broke.
    func announceStopping() {
        let message = KernelMessage.stopping.encode()
        for core in links.indices where links[core] != nil && links[core]!.broken == nil {
            guard (try? links[core]!.sender.send(message)) == true else { continue }
            apic.sendInterrupt(LocalAPIC.notifyVector, to: apicIDs[core])
        }
    }

    /// The kernel-capability invocations, once the capability rules passed them.
    func performKernelService(_ invocation: Invocation, for domain: Domain) -> (InvocationStatus, UInt64) {
        switch invocation {
        case .spawn(let name, let nameLength, let arguments, let argumentsLength):
            guard nameLength <= UInt64(DomainEvent.nameBytes), argumentsLength <= 1024 else { return (.countTooLarge, 0) }
            guard let nameBytes = copyFromUser(domain, address: name, length: Int(nameLength)),
                  let argumentBytes = copyFromUser(domain, address: arguments, length: Int(argumentsLength)) else {
                return (.badBuffer, 0)
            }
            guard let program = bootImage?.program(named: nameBytes) else { return (.noSuchProgram, 0) }
            guard let started = try? spawn(program, arguments: argumentBytes) else { return (.outOfMemory, 0) }
            return (.success, UInt64(started.id))
        case .kill(let target):
            guard let victim = domains.first(where: { UInt64($0.id) == target }), victim.id != domain.id else { return (.noSuchDomain, 0) }
            // A dispatcher of another core's domain is stopped when that domain ends (the
            // unspan protocol) or is killed: its home core reports the domain's end.
            stop(victim, because: victim.rootTable == nil ? "its domain on another core ended" : "killed by its monitor")
            return (.success, 0)
        case .domainEvent(let buffer):
            guard let event = domainEvents.waiting.first else { return (.success, 0) }
            guard copyToUser(domain, address: buffer, words: event.encoded, dryRun: true) else { return (.badBuffer, 0) }
            _ = copyToUser(domain, address: buffer, words: event.encoded, dryRun: false)
            domainEvents.waiting.removeFirst()
            return (.success, 1)
        case .poolFrame(let core, let page, let destination):
            // Another core's page, for a binding its monitor set up: only pages of the
            // binding pools, never anything else.
            guard core < UInt64(min(coreCount, MonitorRingLayout.maximumCores)), page < UInt64(BindingPool.pagesPerCore) else {
                return (.outsideRange, 0)
            }
            let base = Link.bindingPage(core: Int(core), page: Int(page), count: coreCount, area: channelArea)
            return capabilityStatus { () throws(CapabilityError) in
                try capabilities.createRoot(.frame, base: base, size: BindingPool.pageBytes, at: destination, in: domain.cspace)
            }
        case .knowledge(let buffer, let length):
            guard let knowledge else { return (.noKnowledge, 0) }
            return copyBytes(knowledge.encoded(), to: buffer, length: length, for: domain)
        case .command(let line, let length):
            guard length <= UInt64(ShellCommand.lineLimit) else { return (.countTooLarge, 0) }
            guard let bytes = copyFromUser(domain, address: line, length: Int(length)) else { return (.badBuffer, 0) }
            return KernelCommands(state: self).execute(ShellCommand(parsing: bytes)) ? (.success, 0) : (.notAKernelCommand, 0)
        case .echo(let bytes, let length, let line, let lineLength):
            let limit = UInt64(InvocationWords.consoleLineLimit)
            guard length <= limit, lineLength <= limit else { return (.countTooLarge, 0) }
            guard let echo = copyFromUser(domain, address: bytes, length: Int(length)),
                  let shown = copyFromUser(domain, address: line, length: Int(lineLength)) else { return (.badBuffer, 0) }
            Console.echo(echo, state: self)
            consoleLineShown = shown
            return (.success, 0)
        case .domainState(let target):
            guard let asked = domains.first(where: { UInt64($0.id) == target }), asked.state.isRunnable else { return (.noSuchDomain, 0) }
            // The asker has the core now; any other domain that is not waiting has it next.
            let state: DomainRunState = asked.waiting == nil ? .running : .sleeping
            return (.success, state.rawValue)
        case .describe(let slot, let buffer):
            guard let held = try? capabilities.identify(slot, in: domain.cspace), !held.isNull else { return (.slotEmpty, 0) }
            let words = [UInt64(held.type.rawValue), held.base, held.size]
            guard copyToUser(domain, address: buffer, words: words, dryRun: true) else { return (.badBuffer, 0) }
            _ = copyToUser(domain, address: buffer, words: words, dryRun: false)
            return (.success, 0)
        case .adopt(let type, let base, let size, let destination):
            // A new root only for another core's memory: never this core's share (its
            // allocator's), the kernels' links or the kernel image; this core's own
            // objects only as copies of what lives. A device frame only inside the
            // device window every kernel was told of at boot, which holds no RAM; ports
            // and interrupts only inside their spaces (the roots' rules). Beyond that the
            // kernel trusts its monitor, which names only objects the protocols carried
            // (as Barrelfish's do).
            let (end, overflow) = base.addingReportingOverflow(size)
            guard !overflow, size > 0 else { return (.regionExhausted, 0) }
            let own = (type == .physicalRAM || type == .frame)
                && isOwnMemory(PhysicalRange(start: PhysicalAddress(base), end: PhysicalAddress(end)))
            let window = deviceWindow.map { $0.start.rawValue..<$0.end.rawValue } ?? 0..<0
            return capabilityStatus { () throws(CapabilityError) in
                try capabilities.adopt(type, base: base, size: size, mayCreateRoot: !own, deviceMemory: window,
                                       at: destination, in: domain.cspace)
            }
        case .markShared(let slot, let shared):
            return capabilityStatus { () throws(CapabilityError) in
                if shared { try capabilities.markShared(slot, in: domain.cspace) } else { try capabilities.unmarkShared(slot, in: domain.cspace) }
            }
        case .sweep(let slot):
            return capabilityStatus { () throws(CapabilityError) in _ = try capabilities.sweep(slot, in: domain.cspace) }
        case .retypeShared(let slot, let size, let offset, let destination):
            return capabilityStatus { () throws(CapabilityError) in
                _ = try capabilities.retypeShared(slot, to: .frame, size: size, count: 1, offset: offset, into: destination, in: domain.cspace)
            }
        case .grantMemory(let bytes, let destination):
            // A block for the memory service: it stays the monitor's, which never ends.
            guard bytes >= 4096, bytes.nonzeroBitCount == 1, bytes <= 1 << 30 else { return (.sizeNotAllowed, 0) }
            let frames = Int(bytes / 4096)
            guard let first = CoreBlock.current!.pointee.frames.allocate(count: frames, alignment: frames) else { return (.outOfMemory, 0) }
            do {
                try capabilities.createRoot(.physicalRAM, base: first.rawValue, size: bytes, at: destination, in: domain.cspace)
            } catch {
                try? CoreBlock.current!.pointee.frames.free(first, count: frames)
                return (InvocationStatus(error), 0)
            }
            return (.success, 0)
        case .spanPlace(let local, let address, let buffer, let core):
            guard copyToUser(domain, address: buffer, words: [0, 0], dryRun: true) else { return (.badBuffer, 0) }
            guard let place = spanPlace(of: local, frameAddress: address, for: core) else { return (.badAddress, 0) }
            _ = copyToUser(domain, address: buffer, words: [place.root, place.frame], dryRun: false)
            return (.success, 0)
        case .span(let buffer):
            guard let bytes = copyFromUser(domain, address: buffer, length: 32) else { return (.badBuffer, 0) }
            var words = [UInt64](repeating: 0, count: 4)
            for (index, byte) in bytes.enumerated() { words[index / 8] |= UInt64(byte) << (8 * UInt64(index % 8)) }
            let home = SystemDomainID(rawValue: words[0])
            guard home.core != id.rawValue, home.core < coreCount else { return (.outsideRange, 0) }
            do throws(SpawnError) {
                return (.success, UInt64(try spanDispatcher(of: home, root: words[1], frame: words[2], frameAddress: words[3]).id))
            } catch {
                switch error {
                case .capabilities(let failure): return (InvocationStatus(failure), 0)
                default: return (.outOfMemory, 0)
                }
            }
        case .releaseSpanned(let local):
            return releaseSpanned(local) ? (.success, 0) : (.noSuchDomain, 0)
        case .bootFile(let name, let length, let page, let frame):
            guard length >= 1, length <= UInt64(BootImage.nameBytes),
                  let bytes = copyFromUser(domain, address: name, length: Int(length)) else { return (.badBuffer, 0) }
            guard let file = bootImage?.file(named: bytes) else { return (.noSuchFile, 0) }
            guard let (capability, _) = try? capabilities.lookup(frame, in: domain.cspace), capability.type == .frame,
                  capability.size == CapabilityType.pageBytes, capability.rights.contains(.write) else { return (.wrongType, 0) }
            let size = UInt64(file.bytes.count)
            guard page < max(1, (size + 4095) / 4096) else { return (.outsideRange, size) }
            let start = Int(page) * 4096, count = min(4096, file.bytes.count - start)
            let destination = UnsafeMutableRawPointer(bitPattern: UInt(capability.base))!
            destination.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
            if count > 0, let source = file.bytes.bytes.baseAddress { destination.copyMemory(from: source + start, byteCount: count) }
            return (.success, size)
        case .adoptKnowledge(let buffer, let length):
            guard length <= UInt64(KnowledgeEncoding.size(cores: coreCount, caches: coreCount * KnowledgeEncoding.maximumCaches, dimension: coreCount)),
                  let bytes = copyFromUser(domain, address: buffer, length: Int(length)) else { return (.badBuffer, 0) }
            return (adoptKnowledge(bytes), 0)
        case .programNames(let buffer, let length):
            var names: [UInt8] = []
            for program in bootImage?.programs ?? [] { names += program.name + [0] }
            return copyBytes(names, to: buffer, length: length, for: domain)
        default:
            return (.unknownOperation, 0)
        }
    }

    /// `.success`, or the status of the capability rule `body` broke.
    func capabilityStatus(_ body: () throws(CapabilityError) -> Void) -> (InvocationStatus, UInt64) {
        do { try body() } catch { return (InvocationStatus(error), 0) }
        return (.success, 0)
    }

    /// `bytes` into `length` bytes at `buffer` (8-byte aligned, writable user memory):
    /// their count, or what went wrong (`bufferTooSmall` with the count needed).
    func copyBytes(_ bytes: [UInt8], to buffer: UInt64, length: UInt64, for domain: Domain) -> (InvocationStatus, UInt64) {
        guard length >= UInt64(bytes.count) else { return (.bufferTooSmall, UInt64(bytes.count)) }
        var words = [UInt64](repeating: 0, count: (bytes.count + 7) / 8)
        for (index, byte) in bytes.enumerated() { words[index / 8] |= UInt64(byte) << (8 * UInt64(index % 8)) }
        guard copyToUser(domain, address: buffer, words: words, dryRun: true) else { return (.badBuffer, 0) }
        _ = copyToUser(domain, address: buffer, words: words, dryRun: false)
        return (.success, UInt64(bytes.count))
    }
}

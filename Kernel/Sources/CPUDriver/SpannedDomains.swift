// Spanned domains (docs/spanning.md): one domain with a dispatcher on several cores, all
// running in the page tables of its home core, where it was spawned. Only the home's
// kernel ever writes those tables; another core's kernel only loads them into CR3 to run
// its dispatcher. So that no core runs on memory that has become something else, the
// home's kernel holds the domain's memory at its end until its monitor says every other
// core stopped the dispatchers (the monitors' span protocol, Core's Spans.swift), and
// the other cores' dispatchers are made from their own memory.
//
// The kernel trusts its monitor for the place it names (as for `adopt`): the home's
// kernel read it from the domain's own tables, and this kernel only refuses memory of
// its own share, the links and the kernel image.
import ABI
import Arch
import Basics
import Capabilities
import CapabilityProtocols
import Memory

extension CoreState {
    /// Whether `range` touches memory this kernel owns: its share (its allocator's), the
    /// kernels' links or the kernel image. Another core's memory that a monitor names
    /// must not.
    func isOwnMemory(_ range: PhysicalRange) -> Bool {
        let links = PhysicalRange(start: PhysicalAddress(channelArea), end: PhysicalAddress(channelArea + Link.areaBytes(cores: coreCount)))
        return (share + [links, KernelImage.range]).contains { $0.overlaps(range) }
    }

    /// This core's domain `local`'s PML4 and the page mapped writable at `address` in
    /// it, for a dispatcher on another core; nil if there is no such domain or page. The
    /// domain is held at its end from now on, whatever becomes of the span.
    func spanPlace(of local: UInt64, frameAddress address: UInt64, for core: UInt64) -> (root: UInt64, frame: UInt64)? {
        guard core < UInt64(coreCount), core != UInt64(id.rawValue),
              let domain = domains.first(where: { UInt64($0.id) == local }), domain.rootTable != nil,
              address & 0xFFF == 0, UserMode.userRange.contains(address),
              let frame = domain.addressSpace.translate(address, writable: true, frames: CoreMemory()) else { return nil }
        domain.spannedElsewhere = true
        domain.spanCores.insert(CoreID(Int(core)))
        return (domain.addressSpace.root.rawValue, frame.rawValue)
    }

    /// A dispatcher here for `home` (another core's domain) in the address space whose
    /// PML4 is at `root`, with its frame at `frame`, seen at `frameAddress`. Its CSpace
    /// and dispatcher object come from this core's memory; the CSpace holds a copy of
    /// this core's monitor's endpoint and the right to notify any domain (slot 49, as the
    /// monitor's `hello` gives), nothing else. It starts at its run upcall, as the frame
    /// says (the library filled it, disabled).
    func spanDispatcher(of home: SystemDomainID, root: UInt64, frame: UInt64, frameAddress: UInt64) throws(SpawnError) -> Domain {
        for physical in [root, frame] {
            guard physical & 0xFFF == 0, physical != 0,
                  !isOwnMemory(PhysicalRange(start: PhysicalAddress(physical), end: PhysicalAddress(physical) + 4096)) else {
                throw .capabilities(.regionInUse)
            }
        }
        guard frameAddress & 0xFFF == 0, UserMode.userRange.contains(frameAddress) else { throw .capabilities(.outsideRange) }
        let memory = CoreBlock.current!
        guard let rootFrame = memory.pointee.frames.allocate(count: 1, alignment: 1) else { throw .outOfMemory }
        guard let block = memory.pointee.frames.allocate(count: 1, alignment: 1) else {
            try? memory.pointee.frames.free(rootFrame)
            throw .outOfMemory
        }
        let frames = [rootFrame, block]
        guard case .success(let keeperSlot) = keeper.take(for: KernelCNodes.keeperOwner, quota: .max, &capabilities) else {
            for page in frames { try? memory.pointee.frames.free(page) }
            throw .outOfMemory
        }
        var cspace: CSpace? = nil
        let dispatcher: ObjectID, context: UserContext
        do throws(CapabilityError) {
            let space = try capabilities.createCSpace(at: rootFrame, slotCount: DomainGrant.cnodeSlots)
            cspace = space
            let setUp = CapabilityAddress.root(InitialSlot.setUp)
            try capabilities.createRoot(.physicalRAM, base: block.rawValue, size: 4096, at: setUp, in: space)
            try capabilities.copy(setUp, in: space, to: .root(keeperSlot.index), in: keeper.cspace(of: keeperSlot))
            _ = try capabilities.retype(setUp, to: .dispatcher, size: 0, count: 1, into: .root(InitialSlot.dispatcher), in: space)
            try capabilities.delete(setUp, in: space)
            applyMemoryEffects()
            let (made, object) = try capabilities.lookup(.root(InitialSlot.dispatcher), in: space, ofType: [.dispatcher])
            dispatcher = object
            context = UserContext(at: UnsafeMutableRawPointer(bitPattern: UInt(made.base))!, entry: 0, stack: 0)
            if let monitor = domains.first(where: { $0.id == monitorDomain }) {
                try capabilities.mint(.root(InitialSlot.serviceEndpoint), in: monitor.cspace, to: .root(InitialSlot.monitor),
                                      in: space, rights: [.write, .grant], badge: UInt64(nextDomainID + 1))
                try capabilities.mint(.root(InitialSlot.notify), in: monitor.cspace, to: .root(InitialSlot.deviceMemory),
                                      in: space, rights: [.write])
            }
        } catch {
            release(cspace: cspace, sharedPages: nil, keeperSlot: keeperSlot, frames: frames)
            throw .capabilities(error)
        }
        nextDomainID += 1
        let frameWords = CoreMemory().pointer(to: PhysicalAddress(frame))
        var name: [UInt8] = []
        for index in 0..<(DispatcherFrame.programNameBytes - 1) {
            let byte = frameWords.load(fromByteOffset: DispatcherFrame.programName + index, as: UInt8.self)
            guard byte != 0 else { break }
            name.append(byte)
        }
        let domain = Domain(id: nextDomainID, name: String(decoding: name, as: UTF8.self),
                            addressSpace: UserAddressSpace(root: PhysicalAddress(root)), rootTable: nil, cspace: cspace!,
                            sharedPages: nil, keeperSlot: keeperSlot, context: context, dispatcher: dispatcher,
                            dispatcherFrame: PhysicalAddress(frame), frameObject: nil, dispatcherAddress: frameAddress,
                            frames: frames, block: PhysicalRange(start: block, end: block + 4096))
        domain.setFrameWord(DispatcherFrame.identity, SystemDomainID(core: id.rawValue, local: UInt32(domain.id)).rawValue)
        domain.setFrameWord(DispatcherFrame.tracing, Tracing.isOn ? 1 : 0)
        domain.setFrameWord(DispatcherFrame.selfAddress, frameAddress)
        domain.pendingUpcall = .run
        domains.append(domain)
        recordDomainEvent(domain, .started)
        return domain
    }

    /// Every other core stopped the dispatchers of this core's ended domain `local`: its
    /// memory goes back with the next `releaseEnded`. False if no such domain is held.
    func releaseSpanned(_ local: UInt64) -> Bool {
        guard let domain = ended.first(where: { UInt64($0.id) == local && $0.spannedElsewhere }) else { return false }
        domain.spannedElsewhere = false
        return true
    }
}

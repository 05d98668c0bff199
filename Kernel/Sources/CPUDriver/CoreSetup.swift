// What every core does to become a running CPU driver, the bootstrap core and the
// others alike, once it has its block: its own descriptor tables and interrupt stacks,
// its local APIC and timer, its state and its links.
import Arch
import Basics
import KernelMessages
import Memory
import KnowledgeBase

enum CoreSetup {
    static let interruptStackBytes = 16 * 1024
    static let ticksPerSecond: UInt64 = 100

    /// Allocates this core's GDT/TSS/IDT and IST stacks from its own frames and loads them.
    static func installDescriptors() -> Bool {
        let block = CoreBlock.current!
        let stackFrames = interruptStackBytes / Int(FrameAllocator.frameSize)
        guard let tables = block.pointee.frames.allocate(count: 2),
              let nmi = block.pointee.frames.allocate(count: stackFrames),
              let doubleFault = block.pointee.frames.allocate(count: stackFrames),
              let machineCheck = block.pointee.frames.allocate(count: stackFrames),
              let userTraps = block.pointee.frames.allocate(count: stackFrames) else { return false }
        let memory = block.pointee.frames.pointer(to: tables)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Descriptors.bytesNeeded)
        let top = UInt64(interruptStackBytes)
        Descriptors.install(in: memory, interruptStacks: (nmi.rawValue + top, doubleFault.rawValue + top, machineCheck.rawValue + top),
                            userTrapStack: userTraps.rawValue + top)
        UserMode.enableSystemCalls()
        return true
    }

    /// Calibrates this core's APIC timer against the TSC and starts the periodic tick.
    static func startTimer(_ apic: LocalAPIC, tscHz: UInt64) {
        let sampleCycles = tscHz / 100                                   // 10 ms
        let rate = apic.measureTimerRate(tscCycles: sampleCycles) * 100  // timer ticks per second
        apic.startPeriodicTimer(count: UInt32(clamping: rate / ticksPerSecond))
    }

    /// Opens a link to every other core.
    static func openLinks(_ state: CoreState, area: UInt64) {
        state.channelArea = area
        for core in 0..<state.coreCount where core != state.id.rawValue {
            state.links[core] = Link(from: state.id, to: CoreID(core), peerAPIC: state.apicIDs[core],
                                     count: state.coreCount, area: area)
        }
    }
}

/// Where an application core starts in Swift (from the trampoline), on the stack its
/// hand-off names, with interrupts off.
func applicationCoreMain(_ handoffAddress: UInt64) {
    let handoff = UnsafeMutablePointer<BootHandoff>(bitPattern: UInt(handoffAddress))!
    // 0. (Tests) answer too late: the bootstrap core has given up on this core by now,
    // and must have put it back into INIT, so what follows never runs.
    if handoff.pointee.answerLate {
        let start = CPU.timestamp()
        while CPU.timestamp() - start < handoff.pointee.tscHz / 1000 * BootHandoff.lateMilliseconds { CPU.relax() }
    }

    // 1. Own memory first: nothing may allocate before the block exists.
    let installed = withUnsafePointer(to: handoff.pointee.shareRanges) { ranges in
        CoreBlock.install(core: handoff.pointee.core,
                          share: UnsafeBufferPointer(start: UnsafeRawPointer(ranges).assumingMemoryBound(to: PhysicalRange.self),
                                                     count: handoff.pointee.shareRangeCount),
                          stack: handoff.pointee.stack)
    }
    guard installed != nil else { Panic.stop(reason: "could not set up this core's memory") }

    // 2. Descriptor tables and interrupt stacks.
    guard CoreSetup.installDescriptors() else { Panic.stop(reason: "out of memory for descriptor tables") }

    // 3. Copy what this core needs from the hand-off into its own state.
    let count = handoff.pointee.coreCount
    var apicIDs: [APICID] = []
    for i in 0..<count { apicIDs.append(handoff.pointee.apicIDs[i]) }
    var share: [PhysicalRange] = []
    for i in 0..<handoff.pointee.shareRangeCount { share.append(handoff.pointee.shareRanges[i]) }
    let apic = LocalAPIC.enable()
    let state = CoreState(id: handoff.pointee.core, apicID: handoff.pointee.apicID, apicIDs: apicIDs, apic: apic,
                          tscHz: handoff.pointee.tscHz, share: share, testMode: handoff.pointee.testMode,
                          streamMessages: handoff.pointee.streamMessages)
    state.attach()
    state.deviceWindow = handoff.pointee.deviceWindow
    state.bootImage = loadBootImage(handoff.pointee.bootImage)

    // 4. Links to the other cores.
    CoreSetup.openLinks(state, area: handoff.pointee.channelArea)

    // 5. Say so, report this core's place, then tell the bootstrap core through the
    //    hand-off (its last use), so it can start the next core while this one
    //    calibrates its timer.
    print("core \(state.id.rawValue) up (apic \(state.apicID.rawValue))")
    let facts = state.ownFacts()
    state.send(.place(facts.place, caches: facts.caches), to: .bootstrap)
    Volatile.store(1, to: &handoff.pointee.alive)
    CoreSetup.startTimer(apic, tscHz: state.tscHz)

    // 6. The event loop. The monitor starts when core 0 says which cores came up
    //    (`startMonitor`), so that every monitor knows the same set.
    state.run()
}

// The bootstrap core's boot, one ordered step at a time (entry.S calls this in 64-bit
// mode on the boot stack, interrupts off). Until step 6 this core allocates from the
// boot arena; everything parsed here is untrusted firmware input and is checked.
import Arch
import Basics
import KernelMessages
import BootInfo
import ACPI
import Memory
import KnowledgeBase

/// Boot information and firmware tables are read through the boot page tables, which
/// map the first 4 GiB.
let bootMapped = IdentityMappedMemory(limit: 4 * .gibibyte)

func bootFailure(_ what: StaticString, _ message: StaticString, _ detail: UInt64?) -> Never {
    print("boot: \(what): \(message)\(detail.map { " (\($0))" } ?? "")")
    Panic.stop(reason: "cannot boot without it")
}

func bootstrapCoreMain() -> Never {
    // 1. Early console and trap handler (exceptions from here on print a panic); the
    //    legacy interrupt controller is silenced before any interrupt is enabled.
    SerialPort.initialize()
    LegacyPIC.disable()
    trapHandler = CoreState.handleTrap
    UserMode.directionFlagLeaked = { Panic.stop(reason: "user mode's direction flag reached the kernel") }
    print("\nSwordfish: a multikernel in Swift")

    // 2. Boot information: PVH start info, memory map, command line.
    let startInfo: PVHStartInfo
    let memoryMap: [MemoryMapEntry]
    do {
        startInfo = try PVHStartInfo.parse(at: KernelImage.startInfoAddress, memory: bootMapped)
        memoryMap = try startInfo.memoryMap(memory: bootMapped)
    } catch {
        bootFailure("PVH start info", error.message, error.detail)
    }
    let commandLine: KernelCommandLine
    do { commandLine = try startInfo.commandLine(memory: bootMapped) } catch {
        print("boot: command line ignored: \(error.message)")
        commandLine = KernelCommandLine([])
    }
    // The boot image (user programs) is the first boot module, if QEMU was given one.
    var bootImageRange: PhysicalRange? = nil
    do { bootImageRange = try startInfo.modules(memory: bootMapped).first } catch {
        print("boot: boot modules ignored: \(error.message)")
    }
    let testMode = commandLine.contains(flag: "test")
    // `skip-core=N` (tests only): core N answers too late: it is started, but waits
    // past the start-up timeout before it runs, as if it were slow or dead, to show that
    // it is reported, the boot goes on, and it is put back into INIT so it never runs
    // on another core's trampoline and hand-off.
    let skippedCore = commandLine.integer(of: "skip-core")
    // `stream=N`: messages per pair in the channel stress test (default 100,000).
    let streamMessages = min(max(commandLine.integer(of: "stream") ?? 100_000, 1), 10_000_000)

    // 3. Time: the TSC frequency, from CPUID or measured against the PIT.
    let tscHz = Clock.measureTSCFrequency()

    // 4. Cores: the MADT's enabled processors; if it is unusable, this core alone.
    let apic = LocalAPIC.enable()
    let madt = Result { () throws(ACPIError) -> MADT in
        guard let rsdp = startInfo.rsdpAddress else { throw .noRootTable }
        return try ACPITables.locate(rsdp: rsdp, memory: bootMapped).madt(memory: bootMapped)
    }
    let cores = CoreList.make(madt: madt, bootstrap: apic.id, limit: coreLimit(memoryMap))
    let srat = systemResourceAffinity(startInfo)
    let numa = srat?.processorDomains ?? []
    for note in cores.notes { describe(note) }
    print("boot: \(cores.count) core(s), local APIC in \(apic.mode == .x2APIC ? "x2APIC" : "xAPIC") mode, TSC \(tscHz / 1_000_000) MHz")

    // 5. The kernel's own page tables: all RAM and firmware tables, and the interrupt
    //    controllers' registers uncached.
    let mappedTop: PhysicalAddress
    do {
        mappedTop = try KernelAddressSpace.build(memory: kernelMemory(memoryMap), devices: deviceRegisters(apic, madt))
    } catch {
        bootFailure("kernel page tables", "could not map memory", nil)
    }

    // 6. Memory: set aside the channel area, then cut RAM into one share per core.
    let plan: MemoryPlan
    do {
        plan = try MemoryPlan.make(
            usable: memoryMap.usableRanges,
            reserved: [PhysicalRange(start: PhysicalAddress(0), end: PhysicalAddress(.mebibyte)), KernelImage.range]
                + (bootImageRange.map { [$0] } ?? []),
            cores: cores.count, channelAreaBytes: Link.areaBytes(cores: cores.count),
            limit: mappedTop, numa: srat.map { numaLayout($0, cores: cores.apicIDs) })
    } catch {
        bootFailure("memory plan", "not enough memory for the cores", UInt64(cores.count))
    }
    if plan.ignoredBytes > 0 { print("boot: \(plan.ignoredBytes / .mebibyte) MiB of RAM above the mapped limit is not used") }
    if plan.isNodeAware { print("boot: each core's memory is on its own NUMA node") }

    // 7. This core's block: its own frame allocator and heap from share 0.
    let installed = plan.shares[0].withUnsafeBufferPointer {
        CoreBlock.install(core: .bootstrap, share: $0, stack: KernelImage.bootStack)
    }
    guard installed != nil else { bootFailure("memory", "share 0 unusable", nil) }

    // 8. Descriptor tables, state, links, timer.
    guard CoreSetup.installDescriptors() else { bootFailure("memory", "no room for descriptor tables", nil) }
    let state = CoreState(id: .bootstrap, apicID: apic.id, apicIDs: cores.apicIDs, apic: apic, tscHz: tscHz,
                          share: plan.shares[0], testMode: testMode, streamMessages: streamMessages)
    state.attach()
    state.memoryPlan = (plan, srat.map { numaLayout($0, cores: cores.apicIDs) })
    state.deviceWindow = memoryMap.deviceWindowBelow4GiB
    // Device interrupts for user domains go through this core's I/O APICs (mapped in 5).
    if case .success(let table) = madt, !table.ioAPICs.isEmpty {
        state.interruptRouting = InterruptRouting(madt: table, controllers: table.ioAPICs.map {
            IOAPIC(address: $0.address, globalInterruptBase: $0.globalInterruptBase)
        })
    }
    // The boot image must lie in memory the kernel mapped; only then do others see it.
    let mappedMemory = kernelMemory(memoryMap).normalized
    if let range = bootImageRange, !mappedMemory.contains(where: { $0.start <= range.start && range.end <= $0.end }) {
        print("boot: boot image ignored: it does not lie in mapped RAM")
        bootImageRange = nil
    }
    state.bootImage = loadBootImage(bootImageRange)
    if state.bootImage == nil { bootImageRange = nil }
    let channelArea = plan.channelArea.start.rawValue
    UnsafeMutableRawPointer(bitPattern: UInt(channelArea))!.initializeMemory(as: UInt8.self, repeating: 0, count: Int(plan.channelArea.size))
    CoreSetup.openLinks(state, area: channelArea)
    CoreSetup.startTimer(apic, tscHz: tscHz)
    print("core 0 up (apic \(apic.id.rawValue))")

    // 9. Every other core, one at a time; one that does not answer within a second is
    //    reported and left out.
    let coresStart = CPU.timestamp()
    startApplicationCores(state, plan: plan, channelArea: channelArea, bootImage: bootImageRange, skipping: skippedCore)
    let coresDone = CPU.timestamp()

    // 10. What the machine is like: every core's place, the round trip between every
    //     pair of cores, NUMA nodes; then the multicast tree everyone will use.
    var live = CoreSet()
    for core in 0..<state.coreCount where !state.failedCores[core] { live.insert(CoreID(core)) }
    state.buildKnowledge(live: live, numaDomains: numa)
    state.distribute(state.knowledge!.multicastTree(from: .bootstrap, kind: .numaAware))
    let perMillisecond = max(tscHz / 1000, 1)
    print("boot: other cores started in \((coresDone - coresStart) / perMillisecond) ms, knowledge base built in \((CPU.timestamp() - coresDone) / perMillisecond) ms")

    // 11. Every core's monitor, this one's last: each is told which cores came up.
    for core in 1..<max(state.coreCount, 1) where live.contains(CoreID(core)) { state.send(.startMonitor(live), to: CoreID(core)) }
    state.startMonitor(live: live)

    // 12. The shell, or the in-kernel tests, or the benchmarks.
    if testMode { SelfTests.runAll(on: state) }
    if commandLine.contains(flag: "bench") { BenchMode.run(on: state, quick: commandLine.contains(flag: "quick")) }
    state.startShell()
    state.run()
}

func startApplicationCores(_ state: CoreState, plan: MemoryPlan, channelArea: UInt64, bootImage: PhysicalRange?, skipping: Int?) {
    state.skippedCore = skipping
    let apicTable = UnsafeMutablePointer<APICID>.allocate(capacity: max(state.coreCount, 1))
    for (i, id) in state.apicIDs.enumerated() { apicTable[i] = id }
    for core in 1..<max(state.coreCount, 1) {
        let share = plan.shares[core]
        guard share.count <= BootHandoff.maxShareRanges, let first = share.first,
              first.size > BootHandoff.stackBytes + 64 * FrameAllocator.frameSize else {
            print("core \(core): share of memory unusable; not started")
            state.failedCores[core] = true
            continue
        }
        var ranges = InlineArray<8, PhysicalRange>(repeating: first)
        for (i, range) in share.enumerated() { ranges[i] = range }
        let stackTop = first.end.rawValue
        let handoff = UnsafeMutablePointer<BootHandoff>.allocate(capacity: 1)
        handoff.initialize(to: BootHandoff(
            core: CoreID(core), apicID: state.apicIDs[core], tscHz: state.tscHz, testMode: state.testMode,
            streamMessages: state.streamMessages, bootImage: bootImage,
            channelArea: channelArea, apicIDs: UnsafePointer(apicTable), coreCount: state.coreCount,
            shareRanges: ranges, shareRangeCount: share.count,
            deviceWindow: state.deviceWindow, stack: (stackTop - BootHandoff.stackBytes)..<stackTop))
        let alive = { Volatile.load(UnsafePointer(UnsafeMutableRawPointer(handoff).advanced(by: MemoryLayout<BootHandoff>.offset(of: \BootHandoff.alive)!).assumingMemoryBound(to: UInt64.self))) != 0 }
        if core == skipping {
            handoff.pointee.answerLate = true
            state.lateCore = (core, handoff, CPU.timestamp())
        }
        CoreStartup.start(state.apicIDs[core], using: state.apic, pageTableRoot: KernelAddressSpace.root,
                          stackTop: stackTop, handoff: UInt64(UInt(bitPattern: handoff)),
                          entry: { applicationCoreMain($0) }, tscHz: state.tscHz, isAlive: alive)
        if state.waitUntil(milliseconds: BootHandoff.answerMilliseconds, alive) {
            // The new core sent its "up" line before it wrote `alive`; take it in now so
            // the boot log lists the cores in order, before the prompt.
            state.poll()
        } else {
            // Back into INIT before the trampoline is prepared for the next core.
            CoreStartup.stop(state.apicIDs[core], using: state.apic)
            print("core \(core) (apic \(state.apicIDs[core].rawValue)) did not start: no answer within 1 s; put back into INIT")
            state.failedCores[core] = true
            state.links[core] = nil
        }
    }
}

/// The most cores this machine's RAM supports: the channel area grows with the square of
/// the core count, so it may take at most an eighth of RAM (and a message's core set
/// caps the count too). Cores beyond this are left out, with a note, instead of failing
/// the memory plan.
func coreLimit(_ map: [MemoryMapEntry]) -> Int {
    let usable = map.usableRanges.reduce(UInt64(0)) { $0 + $1.size }
    var limit = CoreSet.capacity
    while limit > 1 && Link.areaBytes(cores: limit) > usable / 8 { limit -= 1 }
    return limit
}

/// What the kernel maps as memory: the first MiB (firmware data, the AP trampoline),
/// the kernel image, usable RAM and the ACPI tables.
func kernelMemory(_ map: [MemoryMapEntry]) -> [PhysicalRange] {
    var ranges = [PhysicalRange(start: PhysicalAddress(0), end: PhysicalAddress(.mebibyte)), KernelImage.range]
    ranges += map.usableRanges
    for entry in map where entry.kind == .acpiReclaimable || entry.kind == .acpiNonVolatile {
        ranges.append(PhysicalRange(start: entry.range.start.alignedDown(to: 4096), end: entry.range.end.alignedUp(to: 4096)))
    }
    return ranges
}

/// The local APIC's page and every I/O APIC's page.
func deviceRegisters(_ apic: LocalAPIC, _ madt: Result<MADT, ACPIError>) -> [PhysicalRange] {
    func page(_ address: UInt64) -> PhysicalRange {
        let start = PhysicalAddress(address).alignedDown(to: 4096)
        return PhysicalRange(start: start, end: start + 4096)
    }
    var pages = [page(apic.base)]
    if case .success(let table) = madt { pages += table.ioAPICs.map { page($0.address.rawValue) } }
    return pages
}

/// The SRAT, if the firmware gave one (QEMU does with -numa) and it is sound.
func systemResourceAffinity(_ startInfo: PVHStartInfo) -> SRAT? {
    guard let rsdp = startInfo.rsdpAddress else { return nil }
    do {
        return try ACPITables.locate(rsdp: rsdp, memory: bootMapped).srat(memory: bootMapped)
    } catch {
        print("boot: SRAT unusable (\(error.message)); no NUMA information")
        return nil
    }
}

/// Which node each core (by core number) and each memory range is on, for the memory
/// plan.
func numaLayout(_ srat: SRAT, cores: [APICID]) -> MemoryPlan.NUMALayout {
    MemoryPlan.NUMALayout(coreNodes: cores.map { srat.domain(of: $0) },
                          memory: srat.memory.filter { !$0.isHotPluggable }.map { ($0.range, $0.domain) })
}

/// The programs in the boot image at `range`, which the bootstrap core checked lies in
/// mapped RAM. Every core reads the same bytes, which nothing writes after boot.
func loadBootImage(_ range: PhysicalRange?) -> BootImage? {
    guard let range, range.size > 0, range.size < 1 << 32,
          let start = UnsafeRawPointer(bitPattern: UInt(range.start.rawValue)) else { return nil }
    do {
        return try BootImage(ByteReader(UnsafeRawBufferPointer(start: start, count: Int(range.size))))
    } catch {
        print("boot: boot image unusable: \(error.message)")
        return nil
    }
}

func describe(_ note: CoreListNote) {
    if case .madtUnavailable(let error) = note {
        print("boot: MADT unusable (\(error.message)\(error.detail.map { " \($0)" } ?? "")); starting core 0 only")
    } else {
        print("boot: \(note.message)\(note.detail.map { " (\($0))" } ?? "")")
    }
}

bootstrapCoreMain()

// Misbehaves on purpose, in the way its argument names, so the kernel's tests can check
// that only this domain stops: `kernel-read`, `kernel-write`, `unmapped`, `noncanonical`,
// `privileged`, `bad-syscall`, `bad-pointer`, `bad-trace`, `direction-flag` (spins across timer ticks
// with DF set), `syscall-registers` (what a system call keeps and clears), `isolation a` and `isolation b` (run together: neither sees the other's
// memory at the same address), `exit`; or that capability invocations are
// refused with the right status: `cap-wrong-type`, `cap-rights`, `cap-overlap`,
// `cap-bad-slot`; or that its own address space, built from page-table and frame
// capabilities, changes only as the rules allow: `map-double`, `map-occupied`,
// `map-refusals`, `map-write-unmap`, `map-revoked` (which must stop with a page fault),
// `block-not-held`; `resume-noncanonical` (must be stopped by the kernel), `cnode-copy`
// (must leave nothing behind); `revoke-monitor` (revokes its badged copy of the
// monitor's endpoint: the monitor must go on serving, this domain included);
// `wait-after-ask` (after a reply from the monitor, a wait for anything sleeps until its
// deadline: the reply its ask took leaves nothing to wake it); `msi` (the kernel's
// self-test of message-signalled interrupts gives it an interrupt capability in slot 6
// and sends its core the vector once IRQ 200 is connected). Exit status 0 means the kernel answered as it should.
import SwordfishUser
import UserRuntimeC

/// What `body`'s invocations were refused with, nil if all went through.
func refusal<Result>(_ body: @autoclosure () throws(InvocationStatus) -> Result) -> InvocationStatus? {
    do throws(InvocationStatus) {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Prints what each step answered and exits 0 only if each answered as expected.
func expect(_ results: [(String, InvocationStatus?, InvocationStatus?)]) -> Never {
    var line = "probe:"
    var good = true
    for (what, got, wanted) in results {
        line += " " + what + " " + (got.map { $0.name } ?? "ok")
        if got != wanted { good = false; line += " (expected " + (wanted.map { $0.name } ?? "ok") + ")" }
    }
    print(line)
    exit(good ? 0 : 1)
}

/// At the same virtual address in every domain running this program; each domain has
/// its own frame behind it.
nonisolated(unsafe) var marker: UInt64 = 0

let what = arguments.first ?? ""
if what == "kernel-read" { _ = user_read(0x10_0000) }                 // the kernel image
else if what == "kernel-write" { user_write(0x10_0000, 0) }
else if what == "unmapped" { _ = user_read(0x0000_7000_0000_0000) }
else if what == "noncanonical" { _ = user_read(0x8000_0000_0000_0000) }
else if what == "privileged" { user_halt() }
else if what == "bad-syscall" {
    let result = SystemCall.raw(9999)
    print("probe: system call 9999 answered \(result.status)")
    exit(result.status == SystemCallStatus.invalidSystemCall.rawValue ? 0 : 1)
} else if what == "bad-pointer" {
    let print = SystemCallNumber.print.rawValue
    let kernel = SystemCall.raw(print, 0x10_0000, 16)
    let unmapped = SystemCall.raw(print, 0x0000_7000_0000_0000, 16)
    let huge = SystemCall.raw(print, 0x80_0000_0000, 1 << 40)
    Swift.print("probe: bad pointers answered \(kernel.status) \(unmapped.status) \(huge.status)")
    let bad = SystemCallStatus.badAddress.rawValue
    exit(kernel.status == bad && unmapped.status == bad && huge.status == SystemCallStatus.badLength.rawValue ? 0 : 1)
} else if what == "bad-trace" {
    // Kinds only the kernel records, no kind, no channel, bits past the fields; then
    // one a domain may record.
    let trace = SystemCallNumber.trace.rawValue, mark = UInt64(TraceEventKind.mark.rawValue)
    let refused = [SystemCall.raw(trace, 0), SystemCall.raw(trace, 0xFFFF), SystemCall.raw(trace, UInt64(TraceEventKind.systemCallEntry.rawValue)),
                   SystemCall.raw(trace, mark, 9), SystemCall.raw(trace, mark | 1 << 16), SystemCall.raw(trace, mark, 1 << 16)]
    let accepted = SystemCall.raw(trace, mark, 0, 1, 2)
    Swift.print("probe: bad trace events answered \(refused.map { String($0.status) }.joined(separator: " ")), a mark \(accepted.status)")
    exit(refused.allSatisfy { $0.status == SystemCallStatus.notRecordable.rawValue } && accepted.status == 0 ? 0 : 1)
} else if what == "cap-wrong-type" {
    // Slot 0 is a CNode: it cannot be retyped into a frame.
    expect([("retype a CNode into a frame", refusal(try Capability.rootCNode.retype(to: .frame, size: 4096, into: Capability(slot: 5))),
             .retypeNotAllowed)])
} else if what == "cap-rights" {
    // A frame from the RAM; a read-only copy of it; then an attempt to mint all rights
    // back from that copy: rights only shrink, so the last copy is read-only too.
    let frame = Capability(slot: 4), readOnly = Capability(slot: 2), again = Capability(slot: 3)
    let made = refusal(try Capability.ram.retype(to: .frame, size: 4096, into: frame))
    let first = refusal(try frame.mint(to: readOnly, rights: [.read]))
    let second = refusal(try readOnly.mint(to: again, rights: .all))
    let rights = (try? again.identify())?.rights
    if rights != [.read] { print("probe: the last copy has rights \(rights?.rawValue ?? 0xFF), not read only"); exit(1) }
    expect([("retype", made, nil), ("mint read-only", first, nil), ("mint all from it", second, nil)])
} else if what == "cap-overlap" {
    // All of the RAM into one frame, then another frame from the same RAM: no room —
    // two live objects never overlap.
    expect([("all of the RAM", refusal(try Capability.ram.retype(to: .frame, size: DomainRAM.bytes, into: Capability(slot: 4))), nil),
            ("one more page", refusal(try Capability.ram.retype(to: .frame, size: 4096, into: Capability(slot: 5))), .regionExhausted)])
} else if what == "cap-bad-slot" {
    // Copying from an empty slot, a slot past the CNode, a malformed address (raw: the
    // typed API cannot make one), an unknown operation.
    let identify = CapabilityOperation.identify.rawValue
    expect([("copy from an empty slot", refusal(try Capability(slot: 9).copy(to: Capability(slot: 10))), .slotEmpty),
            ("identify past the CNode", refusal(try Capability(slot: 1000).identify()), .invalidSlot),
            ("a malformed address", InvocationStatus(rawValue: Capability.invokeRaw(1 << 40, identify).status), .badAddress),
            ("operation 77", InvocationStatus(rawValue: Capability.invokeRaw(1, 77).status), .unknownOperation)])
} else if what.hasPrefix("map-") {
    // A page table for the 2 MiB at 1 TiB (PML4 entry 2, untouched by the program's
    // own layout) in slots 3–5, a frame in slot 6, mapped read-write at `window`.
    let window: UInt64 = 2 << 39
    let frame = Capability(slot: 6), copy = Capability(slot: 7)
    let table: Capability
    do throws(InvocationStatus) {
        table = try makePageTable(from: .ram, into: 3, pml4Entry: 2)
        try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        try table.map(frame, at: 0, rights: [.read, .write])
    } catch {
        print("probe: setting up the window: \(error)")
        exit(1)
    }
    if what == "map-double" {
        // The same copy again, elsewhere, is refused; another copy maps fine.
        expect([("the same copy again", refusal(try table.map(frame, at: 1)), .alreadyMapped),
                ("a copy", refusal(try frame.copy(to: copy)), nil),
                ("the copy", refusal(try table.map(copy, at: 1)), nil)])
    } else if what == "map-occupied" {
        // Another frame into the entry in use.
        expect([("another frame", refusal(try Capability.ram.retype(to: .frame, size: 4096, into: copy)), nil),
                ("into the entry in use", refusal(try table.map(copy, at: 0)), .entryOccupied)])
    } else if what == "map-refusals" {
        // RAM into a page table, a page table into the PML4; the kernel's slot 0 and
        // the upper half of the PML4; entry 512; a read-only copy mapped writable; an
        // empty entry unmapped; an 8 KiB frame; map invoked on a frame.
        let pdpt = Capability(slot: 8), readOnly = Capability(slot: 9), big = Capability(slot: 10)
        expect([("RAM", refusal(try table.map(.ram, at: 1)), .wrongType),
                ("a page table into the PML4", refusal(try Capability.ownPML4.map(Capability(slot: 5), at: 3)), .wrongType),
                ("a PDPT", refusal(try Capability.ram.retype(to: .pdpt, into: pdpt)), nil),
                ("into the kernel's slot", refusal(try Capability.ownPML4.map(pdpt, at: 0)), .entryReserved),
                ("into the upper half", refusal(try Capability.ownPML4.map(pdpt, at: 256)), .entryReserved),
                ("entry 512", refusal(try table.map(copy, at: 512)), .entryOutOfRange),
                ("a read-only copy", refusal(try frame.mint(to: readOnly, rights: [.read])), nil),
                ("mapped writable", refusal(try table.map(readOnly, at: 1, rights: [.read, .write])), .insufficientRights),
                ("unmap an empty entry", refusal(try table.unmap(at: 1)), .entryEmpty),
                ("an 8 KiB frame", refusal(try Capability.ram.retype(to: .frame, size: 8192, into: big)), nil),
                ("mapped into a page", refusal(try table.map(big, at: 1)), .pageSizeMismatch),
                ("map on a frame", refusal(try frame.map(readOnly, at: 1)), .wrongType)])
    } else if what == "map-write-unmap" {
        // Write through the mapping, unmap it, map the same frame one page further on:
        // the value is there.
        user_write(window, 0x5EED_F00D)
        let unmapped = refusal(try table.unmap(at: 0))
        let remapped = refusal(try table.map(frame, at: 1))
        let seen = user_read(window + 4096)
        if seen != 0x5EED_F00D { print("probe: read \(seen) through the new mapping"); exit(1) }
        expect([("unmap", unmapped, nil), ("map again", remapped, nil)])
    } else if what == "map-revoked" {
        // Revoking the frame through another copy takes the mapped copy, and its
        // mapping, away: the next write faults and stops this domain.
        user_write(window, 1)
        let copied = refusal(try frame.copy(to: copy))
        let revoked = refusal(try copy.revoke())
        print("probe: copy \(copied.map { $0.name } ?? "ok"), revoke \(revoked.map { $0.name } ?? "ok"); writing to the revoked page")
        user_write(window, 2)
        print("probe: the write to a revoked page went through")
        exit(1)
    }
} else if what == "resume-noncanonical" {
    // A `syscall` in the last two bytes of the user half: its return address is the
    // first non-canonical one. The kernel must stop the domain, not `iretq` there.
    let last: UInt64 = 0x0000_7FFF_FFFF_F000
    do throws(InvocationStatus) {
        var parent = Capability.ownPML4
        for (index, type) in [CapabilityType.pdpt, .pageDirectory, .pageTable].enumerated() {
            let table = Capability(slot: 3 + UInt32(index))
            try Capability.ram.retype(to: type, into: table)
            try parent.map(table, at: index == 0 ? 255 : 511)
            parent = table
        }
        try Capability.ram.retype(to: .frame, size: 4096, into: Capability(slot: 6))
        try parent.map(Capability(slot: 6), at: 511, rights: [.read, .write, .execute])
    } catch {
        print("probe: setting up the last page: \(error)")
        exit(1)
    }
    user_write(last + 0xFF8, 0x050F_0000_0000_0000)          // bytes 0F 05 (syscall) at the page's end
    user_call(last + 0xFFE)
    print("probe: returned to a non-canonical address")
    exit(1)
} else if what == "block-not-held" {
    // The domain holds no copy of the RAM block its address space was made from (a
    // revoke through one would take the kernel's copy too).
    let block = Capability(.leaf(InitialSlot.addressSpace, InitialSlot.addressSpaceRAM))
    let identity = try? block.identify()
    exit(identity?.type == .null ? 0 : 1)
} else if what == "cnode-copy" {
    // A copy of its own root CNode's capability: the domain's end must still destroy
    // the CNode (the kernel's leak checks after the tests notice if not).
    let copy = Capability(slot: 20)
    let copied = refusal(try Capability.rootCNode.copy(to: copy))
    if copied == nil && copy.type != .cnode { print("probe: the copy holds type \(copy.type.rawValue)"); exit(1) }
    expect([("copy of the root CNode", copied, nil)])
} else if what == "direction-flag" {
    // Spins with DF set until the timer has preempted it at least twice (each time the
    // kernel ran with the flag cleared, or its string copies would have run backwards),
    // and the flag must still be set when it is back.
    let before = Thread.preemptions
    var kept = true
    var rounds = 0
    while Thread.preemptions < before + 2 && rounds < 100 {
        kept = kept && user_spin_with_direction_flag(10_000_000) != 0
        rounds += 1
    }
    print("probe: \(Thread.preemptions - before) preemptions with DF set, flag kept \(kept)")
    exit(kept && Thread.preemptions >= before + 2 ? 0 : 1)
} else if what == "syscall-registers" {
    // A system call answered at once: the vector registers (all ones before) must come
    // back zeroed, whatever the kernel kept in them, and the unusual MXCSR and x87
    // control word set before it must come back as they were.
    let wrong = user_syscall_register_check(0xFFFF)
    if wrong != 0 { print("probe: after a system call: \(wrong & 1 != 0 ? "vector registers not zeroed " : "")\(wrong & 2 != 0 ? "MXCSR changed " : "")\(wrong & 4 != 0 ? "x87 control word changed" : "")") }
    exit(wrong == 0 ? 0 : 1)
} else if what == "isolation", let which = arguments[1] {
    // Two of these run together, each with its own marker value: each finds zero at
    // the marker, writes its value, lets the other run and finds its own value still
    // there. Whichever runs first, a shared frame would fail one of the two.
    let own = 0xA5A5_0000 | UInt64(which.utf8.last ?? 0)
    let seen = marker
    marker = own
    for _ in 0..<50 { yield() }
    if seen != 0 || marker != own { print("probe: isolation saw \(seen) before and \(marker) after writing \(own)") }
    exit(seen == 0 && marker == own ? 0 : 1)
} else if what == "revoke-monitor" {
    let monitor = Capability(slot: InitialSlot.monitor)
    let revoked = refusal(try monitor.revoke())
    let asked: InvocationStatus? = (try? Monitor.ping(core: 0)) == nil ? .noReceiver : nil
    expect([("revoke", revoked, nil), ("ask the monitor", asked, nil)])
} else if what == "wait-after-ask" {
    // Nothing else can come: this domain receives only its replies, and nobody notifies it.
    // The first ask says hello first, which carries a capability and so is not a `call`:
    // if the monitor's answer comes while this domain still runs (it was preempted
    // between its send and its wait), the answer leaves the edge set and one later wait
    // ends early, once (a hint, never a spin). That ask is made before the count.
    do throws(MonitorStatus) { try Monitor.ping(core: 0) } catch {
        print("probe: the monitor did not answer: \(error)")
        exit(1)
    }
    try? SystemCall.wait(until: user_timestamp() &+ 1)
    var early = 0
    for _ in 0..<5 {
        do throws(MonitorStatus) { try Monitor.ping(core: 0) } catch {
            print("probe: the monitor did not answer: \(error)")
            exit(1)
        }
        let deadline = user_timestamp() &+ 2_000_000
        try? SystemCall.wait(until: deadline)
        if user_timestamp() < deadline { early += 1 }
    }
    print("probe: \(early) of 5 waits after an ask returned before their deadline")
    exit(early == 0 ? 0 : 1)
} else if what == "msi" {
    // IRQ 200 has no ISA line and no I/O APIC input: only a message can deliver it.
    let interrupts = Capability(slot: InitialSlot.interrupts), endpoint = Capability(slot: 4)
    var results: [(String, InvocationStatus?, InvocationStatus?)] = []
    results.append(("endpoint", refusal(try Capability.ram.retype(to: .endpoint, into: endpoint)), nil))
    results.append(("line", refusal(try interrupts.connect(irq: 200, to: endpoint)), .noInterruptController))
    results.append(("empty-endpoint", refusal(try interrupts.connectMessageSignalled(irq: 200, to: Capability(slot: 3))), .slotEmpty))
    results.append(("on-RAM", refusal(try Capability.ram.connectMessageSignalled(irq: 200, to: endpoint)), .wrongType))
    var target: MessageSignalledTarget? = nil
    do throws(InvocationStatus) {
        target = try interrupts.connectMessageSignalled(irq: 200, to: endpoint)
        results.append(("message", nil, nil))
    } catch {
        results.append(("message", error, nil))
    }
    results.append(("again", refusal(try interrupts.connectMessageSignalled(irq: 200, to: endpoint)), .alreadyConnected))
    // The kernel sends the vector once it sees the connection: it must arrive here.
    var arrived: UInt64 = 0
    let deadline = user_timestamp() &+ (1 << 34)
    while target != nil, arrived == 0, user_timestamp() < deadline {
        do throws(InvocationStatus) {
            let words = try endpoint.receive()
            if let message = InterruptMessage(words: (words[0], words[1], words[2])), message.irq == 200 { arrived = message.count }
        } catch .endpointEmpty {
            _ = try? SystemCall.wait(until: deadline)
        } catch {
            break
        }
    }
    results.append(("arrived", arrived > 0 ? nil : .endpointEmpty, nil))
    results.append(("acknowledge", refusal(try interrupts.acknowledge(irq: 200)), nil))
    results.append(("disconnect", refusal(try interrupts.disconnect(irq: 200)), nil))
    results.append(("disconnect-again", refusal(try interrupts.disconnect(irq: 200)), .notConnected))
    if let target {
        print("probe: core \(Program.identity.core): message 0x\(String(target.data, radix: 16)) to 0x\(String(target.address, radix: 16)), \(arrived) arrived")
    }
    expect(results)
} else if what == "exit" {
    exit(7)
}
print("probe: nothing happened for '\(arguments.rest(from: 0))'")
exit(99)

// The system calls: a small fixed set, every argument checked before anything
// changes. A call the kernel does not know, or a pointer that is not the caller's own
// user memory, gets an error status; nothing a domain passes can stop the core.
//
// The calls, their numbers and statuses are declared once in the ABI module
// (Core/Sources/ABI/SystemCall.swift), which user programs build too; invocations'
// operations and statuses likewise (`CapabilityOperation`, `InvocationStatus`).
import Arch
import ABI
import Basics
import Capabilities

extension CoreState {
    func handleSystemCall(from domain: Domain) {
        let context = domain.context
        switch SystemCallNumber(rawValue: context.systemCallNumber) {
        case .print:
            let address = context.argument(0), length = context.argument(1)
            guard length <= SystemCallNumber.printLimit else { return context.setResult(status: SystemCallStatus.badLength.rawValue) }
            guard let bytes = copyFromUser(domain, address: address, length: Int(length)) else {
                return context.setResult(status: SystemCallStatus.badAddress.rawValue)
            }
            for byte in bytes { Console.put(byte) }
            context.setResult(status: SystemCallStatus.success.rawValue)
        case .exit:
            domain.state = .exited(status: Int64(bitPattern: context.argument(0)))
        case .yield:
            context.setResult(status: SystemCallStatus.success.rawValue)
        case .invoke:
            invoke(from: domain)
        case .resume:
            // On success the registers are the save area's, results and all.
            let status = resume(domain, from: context.argument(0))
            if status != .success { context.setResult(status: status.rawValue) }
        case .wait:
            forgetDeadEndpoints()
            // With a deadline there is always something to wait for: the time.
            let deadline = context.argument(0) == 0 ? nil : context.argument(0)
            guard deadline != nil || endpointQueues.contains(where: { $0.receiver == domain.id })
                    || notificationReceiver == domain.id else {
                return context.setResult(status: SystemCallStatus.nothingToWaitFor.rawValue)
            }
            context.setResult(status: SystemCallStatus.success.rawValue)
            if domain.messageArrived || domain.notified {
                domain.messageArrived = false
                domain.notified = false
            } else {
                domain.waiting = .anyEndpoint(deadline: deadline)
            }
        case .unhandledFault:
            guard let fault = domain.lastFault else { return context.setResult(status: SystemCallStatus.noFault.rawValue) }
            stop(domain, exception: fault.vector, errorCode: fault.errorCode, faultAddress: fault.address,
                 instructionPointer: fault.instructionPointer)
        case .trace:
            guard let kind = TraceEventKind(rawValue: UInt16(truncatingIfNeeded: context.argument(0))), context.argument(0) >> 16 == 0,
                  kind.isRecordableByDomains,
                  let channel = TraceChannel(rawValue: UInt16(truncatingIfNeeded: context.argument(1))), context.argument(1) >> 16 == 0 else {
                return context.setResult(status: SystemCallStatus.notRecordable.rawValue)
            }
            Tracing.record(kind, channel: channel, domain: UInt32(truncatingIfNeeded: domain.id), a: context.argument(2), b: context.argument(3))
            context.setResult(status: SystemCallStatus.success.rawValue)
        case nil:
            context.setResult(status: SystemCallStatus.invalidSystemCall.rawValue)
        }
    }

    /// A capability invocation, and after it, if it let go of memory that a spanned
    /// domain here may map, the shootdown that makes it safe to reuse (Shootdowns.swift).
    func invoke(from domain: Domain) {
        droppedTranslations = DroppedTranslations()
        perform(invocationBy: domain)
        if !domain.spannedElsewhere { shootDownDroppedTranslations() }
    }

    /// Decodes every word first, then lets the capability rules check the capabilities
    /// and act.
    func perform(invocationBy domain: Domain) {
        let context = domain.context
        guard let target = CapabilityAddress(encoded: context.argument(0)) else {
            return context.setResult(status: InvocationStatus(InvocationError.badAddress).rawValue)
        }
        let invocation: Invocation
        do {
            invocation = try Invocation.decode(operation: context.argument(1), context.argument(2), context.argument(3),
                                               context.argument(4), context.argument(5))
        } catch {
            return context.setResult(status: InvocationStatus(error).rawValue)
        }
        // Memory a spanning domain lets go of may still be in another core's TLB, and no
        // kernel here can tell when every core dropped it: what it holds stays held
        // until its end, which the monitors' unspan protocol guards (docs/spanning.md).
        if domain.spannedElsewhere, invocation.releasesOrReusesMemory {
            return context.setResult(status: InvocationStatus.spanningDomain.rawValue)
        }
        switch invocation {
        case .send(let words, let capability):
            context.setResult(status: send(from: domain, on: target, words: words, capability: capability).rawValue)
        case .receive(let destination, let buffer):
            let status = receive(by: domain, on: target, destination: destination, buffer: buffer)
            context.setResult(status: status.rawValue, value: status == .success ? domain.receivedBadge : 0)
        case .wait:
            context.setResult(status: wait(by: domain, on: target).rawValue)
        case .call(let words, let receiver):
            call(from: domain, on: target, words: words, receivingOn: receiver)
        case .notify(let core, let local):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                notify(core: Int(core), domain: local)
                context.setResult(status: InvocationStatus.success.rawValue)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .spawn, .kill, .domainEvent, .poolFrame, .knowledge, .command, .programNames, .echo, .domainState,
             .describe, .adopt, .markShared, .sweep, .retypeShared, .grantMemory, .spanPlace, .span, .releaseSpanned, .adoptKnowledge, .bootFile:
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                let (status, value) = performKernelService(invocation, for: domain)
                context.setResult(status: status.rawValue, value: value)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .unmapEverywhere(_, let address), .protectEverywhere(_, _, let address):
            // The change is made only if its shootdown can be asked for.
            let protect = if case .protectEverywhere = invocation { true } else { false }
            guard let change = change(of: domain, address: address, pages: 1, protect: protect) else {
                return context.setResult(status: InvocationStatus.outsideRange.rawValue)
            }
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                let (status, stopped) = shootDown(change, for: domain)
                context.setResult(status: status.rawValue, value: stopped)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .connect(let irq, let endpoint):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                guard let irq = UInt8(exactly: irq) else { return context.setResult(status: InvocationStatus.outsideRange.rawValue) }
                context.setResult(status: connect(irq, to: endpoint, for: domain).rawValue)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .connectMessageSignalled(let irq, let endpoint):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                guard let irq = UInt8(exactly: irq) else { return context.setResult(status: InvocationStatus.outsideRange.rawValue) }
                let (status, target) = connectMessageSignalled(irq, to: endpoint, for: domain)
                context.setResult(status: status.rawValue, value: target?.word ?? 0)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .disconnect(let irq), .acknowledge(let irq):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                guard let irq = UInt8(exactly: irq) else { return context.setResult(status: InvocationStatus.notConnected.rawValue) }
                let status = if case .acknowledge = invocation { acknowledge(irq, for: domain) } else { disconnect(irq, for: domain) }
                context.setResult(status: status.rawValue)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .portIn(let port, let width):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                // The rules checked that the whole access lies in the range, so the port fits 16 bits.
                context.setResult(status: InvocationStatus.success.rawValue, value: UInt64(PortIO.read(UInt16(port), width: width)))
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        case .portOut(let port, let width, let value):
            do {
                _ = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                PortIO.write(UInt16(port), width: width, value: value)
                context.setResult(status: InvocationStatus.success.rawValue)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        default:
            do {
                let result = try invocation.perform(on: &capabilities, target: target, in: domain.cspace)
                context.setResult(status: InvocationStatus.success.rawValue, value: result.value)
            } catch {
                context.setResult(status: InvocationStatus(error).rawValue)
            }
        }
    }

    /// The bytes at `address` in the domain's memory, or nil if any of them is not
    /// mapped for user access.
    func copyFromUser(_ domain: Domain, address: UInt64, length: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        let frames = CoreMemory()
        var cursor = address
        var remaining = length
        while remaining > 0 {
            guard let physical = domain.addressSpace.translate(cursor, frames: frames) else { return nil }
            let inPage = min(remaining, Int(4096 - (cursor & 0xFFF)))
            let source = frames.pointer(to: physical).assumingMemoryBound(to: UInt8.self)
            bytes.append(contentsOf: UnsafeBufferPointer(start: source, count: inPage))
            cursor += UInt64(inPage)
            remaining -= inPage
        }
        return bytes
    }
}

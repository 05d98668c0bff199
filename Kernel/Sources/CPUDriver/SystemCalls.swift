// The system calls: a small fixed set, every argument checked before anything
// changes. A call the kernel does not know, or a pointer that is not the caller's own
// user memory, gets an error status; nothing a domain passes can stop the core.
//
//   0 print(address, length)   write bytes to the console (length ≤ 4096)
//   1 exit(status)             end the domain
//   2 yield                    let the next domain on this core run
//   3 invoke(capability, operation, a0, a1, a2, a3)
//                              a capability invocation (Core/Sources/Capabilities/
//                              Invocation.swift lists the operations); RDX returns a value
//   4 resume(area)             continue, enabled, from the save area at `area` (a
//                              dispatcher's user-level scheduler resuming a thread);
//                              does not return on success
//   5 wait                     sleep until a message arrives on an endpoint the domain
//                              receives on (at once if one came since the last wait),
//                              or one of them dies (its waitset has nothing to do)
//   6 unhandledFault           the dispatcher gives up on the fault it was handed: the
//                              kernel stops the domain and reports the fault
//
// Status (RAX on return): 0 success, 1 invalid system call, 2 bad address, 3 bad length,
// 4 bad save area, 5 nothing to wait for, 6 no fault; invocations: 16–20 refused while
// decoding, 32–61 refused by the capability rules or the message code
// (`InvocationStatus`).
import Arch
import ABI
import Basics
import Capabilities

enum SystemCallNumber {
    static let print: UInt64 = 0
    static let exit: UInt64 = 1
    static let yield: UInt64 = 2
    static let invoke: UInt64 = 3
    static let resume: UInt64 = 4
    static let wait: UInt64 = 5
    static let unhandledFault: UInt64 = 6
}

enum SystemCallStatus: UInt64 {
    case success = 0, invalidSystemCall, badAddress, badLength, badSaveArea, nothingToWaitFor, noFault
}

extension CoreState {
    func handleSystemCall(from domain: Domain) {
        let context = domain.context
        switch context.systemCallNumber {
        case SystemCallNumber.print:
            let address = context.argument(0), length = context.argument(1)
            guard length <= 4096 else { return context.setResult(status: SystemCallStatus.badLength.rawValue) }
            guard let bytes = copyFromUser(domain, address: address, length: Int(length)) else {
                return context.setResult(status: SystemCallStatus.badAddress.rawValue)
            }
            for byte in bytes { Console.put(byte) }
            context.setResult(status: SystemCallStatus.success.rawValue)
        case SystemCallNumber.exit:
            domain.state = .exited(status: Int64(bitPattern: context.argument(0)))
        case SystemCallNumber.yield:
            context.setResult(status: SystemCallStatus.success.rawValue)
        case SystemCallNumber.invoke:
            invoke(from: domain)
        case SystemCallNumber.resume:
            // On success the registers are the save area's, results and all.
            let status = resume(domain, from: context.argument(0))
            if status != .success { context.setResult(status: status.rawValue) }
        case SystemCallNumber.wait:
            forgetDeadEndpoints()
            guard endpointQueues.contains(where: { $0.receiver == domain.id }) else {
                return context.setResult(status: SystemCallStatus.nothingToWaitFor.rawValue)
            }
            context.setResult(status: SystemCallStatus.success.rawValue)
            if domain.messageArrived { domain.messageArrived = false } else { domain.waiting = .anyEndpoint }
        case SystemCallNumber.unhandledFault:
            guard let fault = domain.lastFault else { return context.setResult(status: SystemCallStatus.noFault.rawValue) }
            stop(domain, exception: fault.vector, errorCode: fault.errorCode, faultAddress: fault.address,
                 instructionPointer: fault.instructionPointer)
        default:
            context.setResult(status: SystemCallStatus.invalidSystemCall.rawValue)
        }
    }

    /// A capability invocation: decode every word first, then let the capability rules
    /// check the capabilities and act.
    func invoke(from domain: Domain) {
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
        switch invocation {
        case .send(let words, let capability):
            context.setResult(status: send(from: domain, on: target, words: words, capability: capability).rawValue)
        case .receive(let destination, let buffer):
            context.setResult(status: receive(by: domain, on: target, destination: destination, buffer: buffer).rawValue)
        case .wait:
            context.setResult(status: wait(by: domain, on: target).rawValue)
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

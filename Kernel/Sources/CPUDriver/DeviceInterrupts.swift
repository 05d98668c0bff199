// Device interrupts for user domains, as Barrelfish delivers them: a domain holding an
// interrupt capability connects an ISA IRQ to one of its endpoints, and every interrupt
// then arrives there as a same-core message from the kernel (`InterruptMessage`: a
// marker, the IRQ, a count). The kernel routes the IRQ through the MADT's interrupt
// source overrides to its global system interrupt, programs the I/O APIC to send it to
// this core at a vector of its own, and on each interrupt counts up the message still
// waiting on the endpoint, if there is one, instead of queueing another, so an
// interrupt storm costs no memory. A message that finds the endpoint full stays counted
// here and goes with the next interrupt.
//
// A level-triggered line (a PCI device's INTx, shared and asserted until the device is
// quieted) is masked at the I/O APIC when its interrupt arrives, before the EOI, and
// stays masked until the driver says it has quieted the device (`acknowledge`): else
// the line, still asserted after the EOI, would interrupt again at once, forever.
//
// Only the bootstrap core has the MADT and the I/O APICs (`InterruptRouting`), since
// only its monitor holds interrupt capabilities; on other cores connect answers
// `noInterruptController`. When a domain ends, its interrupts are masked and forgotten.
import Arch
import ABI
import ACPI
import Basics
import Capabilities

/// The machine's interrupt wiring as the bootstrap core found it at boot.
struct InterruptRouting {
    let madt: MADT
    let controllers: [IOAPIC]
}

/// One IRQ delivered to a domain's endpoint.
struct InterruptConnection {
    let irq: UInt8
    let route: InterruptRoute
    let controller: IOAPIC
    let vector: UInt8
    /// The domain that connected it (only it may disconnect).
    let domain: Int
    let endpoint: ObjectID
    /// Interrupts not yet counted into a message on the endpoint.
    var pending: UInt64 = 0
    /// A level-triggered line masked since its last interrupt, until the driver acknowledges.
    var held = false
}

extension CoreState {
    /// The vectors device interrupts get: above the legacy PIC's (32–47, masked) and
    /// below the CPU driver's own (248 up).
    static var deviceVectors: Range<UInt8> { 48 ..< 248 }

    /// Connects ISA IRQ `irq` to `endpoint` for `domain` (the capability rules have
    /// checked the interrupt capability's range and the endpoint capability).
    func connect(_ irq: UInt8, to endpoint: CapabilityAddress, for domain: Domain) -> InvocationStatus {
        guard let routing = interruptRouting else { return .noInterruptController }
        let route = routing.madt.route(isaIRQ: irq)
        guard let controller = routing.controllers.first(where: { $0.handles(route.globalInterrupt) }),
              apicID.rawValue < 256 else { return .noInterruptController }
        guard !interruptConnections.contains(where: { $0.irq == irq || $0.route.globalInterrupt == route.globalInterrupt }) else {
            return .alreadyConnected
        }
        guard let vector = Self.deviceVectors.first(where: { vector in !interruptConnections.contains { $0.vector == vector } }) else {
            return .noFreeVector
        }
        guard let (_, object) = try? capabilities.lookup(endpoint, in: domain.cspace, ofType: [.endpoint]) else {
            return InvocationStatus(CapabilityError.slotEmpty)
        }
        // The endpoint needs a receiver for messages to wait on it: the connecting
        // domain becomes it unless some domain already receives there.
        if !endpointQueues.contains(where: { $0.endpoint == object }) {
            guard endpointQueues.filter({ $0.receiver == domain.id }).count < EndpointQueue.perDomain else {
                return .tooManyEndpoints
            }
            endpointQueues.append(EndpointQueue(endpoint: object, receiver: domain.id))
        }
        interruptConnections.append(InterruptConnection(irq: irq, route: route, controller: controller, vector: vector,
                                                        domain: domain.id, endpoint: object))
        controller.route(route.globalInterrupt, vector: vector, to: apicID,
                         activeLow: route.activeLow, levelTriggered: route.levelTriggered)
        return .success
    }

    /// Masks and forgets `irq`, if `domain` connected it.
    func disconnect(_ irq: UInt8, for domain: Domain) -> InvocationStatus {
        guard let index = interruptConnections.firstIndex(where: { $0.irq == irq && $0.domain == domain.id }) else {
            return .notConnected
        }
        forgetInterrupt(at: index)
        return .success
    }

    /// Lets `irq`'s line interrupt again after its driver quieted the device; nothing
    /// to do for an edge-triggered line, which was never held.
    func acknowledge(_ irq: UInt8, for domain: Domain) -> InvocationStatus {
        guard let index = interruptConnections.firstIndex(where: { $0.irq == irq && $0.domain == domain.id }) else {
            return .notConnected
        }
        let connection = interruptConnections[index]
        if connection.route.levelTriggered, connection.held {
            interruptConnections[index].held = false
            connection.controller.setHeld(connection.route.globalInterrupt, false)
        }
        return .success
    }

    /// Masks and forgets every interrupt a finished domain connected.
    func forgetInterrupts(of domain: Domain) {
        while let index = interruptConnections.firstIndex(where: { $0.domain == domain.id }) { forgetInterrupt(at: index) }
    }

    func forgetInterrupt(at index: Int) {
        let connection = interruptConnections.remove(at: index)
        connection.controller.mask(connection.route.globalInterrupt)
    }

    /// An interrupt came on `vector` (from the trap handler, before the EOI).
    func deviceInterruptArrived(vector: UInt8) {
        guard let index = interruptConnections.firstIndex(where: { $0.vector == vector }) else { return }
        interruptConnections[index].pending &+= 1
        let connection = interruptConnections[index]
        if connection.route.levelTriggered {
            connection.controller.setHeld(connection.route.globalInterrupt, true)
            interruptConnections[index].held = true
        }
        // An endpoint that died takes its interrupt with it: no one can receive it.
        guard capabilities.isAlive(connection.endpoint) else { return forgetInterrupt(at: index) }
        guard let queue = endpointQueues.firstIndex(where: { $0.endpoint == connection.endpoint }) else { return }
        if let waiting = endpointQueues[queue].messages.firstIndex(where: { $0.interrupt == connection.irq }) {
            endpointQueues[queue].messages[waiting].words[2] &+= connection.pending
        } else {
            guard endpointQueues[queue].messages.count < EndpointQueue.capacity else { return }
            let words = InterruptMessage(irq: connection.irq, count: connection.pending).words
            endpointQueues[queue].messages.append(WaitingMessage(sender: connection.domain, words: MessageWords(words.0, words.1, words.2),
                                                                 capabilitySlot: nil, interrupt: connection.irq))
        }
        interruptConnections[index].pending = 0
        messageArrived(at: queue)
    }
}

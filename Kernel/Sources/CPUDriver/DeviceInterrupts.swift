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
//
// A message-signalled interrupt (MSI-X, `connectMessageSignalled`) needs no I/O APIC:
// the device writes the vector straight to this core's local APIC, so it works on
// every core. The kernel takes a free vector of this core, records the connection
// under the IRQ of the interrupt capability that authorised it (the messages name that
// IRQ, as for a line), and answers the address and data the driver writes into its
// device's table (the encoding is the architecture's: `MessageSignalled`). It is
// edge-triggered: nothing is held, and acknowledge changes nothing. Disconnect and the
// domain's end forget it; a message the device still sends then finds no connection
// and is dropped after its EOI.
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

/// Where a connected interrupt comes from: an I/O APIC's input, or a device's message.
enum InterruptSource {
    case line(InterruptRoute, IOAPIC)
    case message
}

/// One IRQ delivered to a domain's endpoint.
struct InterruptConnection {
    let irq: UInt8
    let source: InterruptSource
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
    /// Connects ISA IRQ `irq` to `endpoint` for `domain` (the capability rules have
    /// checked the interrupt capability's range and the endpoint capability).
    func connect(_ irq: UInt8, to endpoint: CapabilityAddress, for domain: Domain) -> InvocationStatus {
        // The vector first, so an IRQ already delivered here is refused alike on every
        // core, I/O APIC or not.
        let vector: UInt8
        switch freeVector(for: irq) {
        case .success(let free): vector = free
        case .failure(let status): return status
        }
        guard let routing = interruptRouting else { return .noInterruptController }
        let route = routing.madt.route(isaIRQ: irq)
        guard let controller = routing.controllers.first(where: { $0.handles(route.globalInterrupt) }),
              apicID.rawValue < 256 else { return .noInterruptController }
        guard !interruptConnections.contains(where: { connection in
            if case .line(let other, _) = connection.source, other.globalInterrupt == route.globalInterrupt { return true }
            return false
        }) else {
            return .alreadyConnected
        }
        guard let object = receivingEndpoint(endpoint, for: domain) else { return InvocationStatus(CapabilityError.slotEmpty) }
        guard object.isValid else { return .tooManyEndpoints }
        interruptConnections.append(InterruptConnection(irq: irq, source: .line(route, controller), vector: vector,
                                                        domain: domain.id, endpoint: object.id))
        controller.route(route.globalInterrupt, vector: vector, to: apicID,
                         activeLow: route.activeLow, levelTriggered: route.levelTriggered)
        return .success
    }

    /// Connects a device's message-signalled interrupt, standing for `irq`, to
    /// `endpoint` for `domain` (the capability rules have checked the interrupt
    /// capability's range and the endpoint capability): the status, and the message the
    /// device is to write.
    func connectMessageSignalled(_ irq: UInt8, to endpoint: CapabilityAddress, for domain: Domain) -> (InvocationStatus, MessageSignalledTarget?) {
        let vector: UInt8
        switch freeVector(for: irq) {
        case .success(let free): vector = free
        case .failure(let status): return (status, nil)
        }
        guard let (address, data) = MessageSignalled.message(vector: vector, to: apicID) else { return (.noInterruptController, nil) }
        guard let object = receivingEndpoint(endpoint, for: domain) else { return (InvocationStatus(CapabilityError.slotEmpty), nil) }
        guard object.isValid else { return (.tooManyEndpoints, nil) }
        interruptConnections.append(InterruptConnection(irq: irq, source: .message, vector: vector, domain: domain.id, endpoint: object.id))
        return (.success, MessageSignalledTarget(address: address, data: data))
    }

    /// The vector a new connection of `irq` gets on this core (`DeviceVectors`' rule).
    private func freeVector(for irq: UInt8) -> Result<UInt8, InvocationStatus> {
        DeviceVectors.allocate(for: irq, connected: interruptConnections.map { $0.irq }, inUse: interruptConnections.map { $0.vector })
    }

    /// The endpoint object at `endpoint`, with a queue for messages to wait on: the
    /// connecting domain becomes its receiver unless some domain already receives
    /// there. Nil if the slot holds no endpoint; not valid if the domain has as many
    /// endpoints as it may.
    private func receivingEndpoint(_ endpoint: CapabilityAddress, for domain: Domain) -> (id: ObjectID, isValid: Bool)? {
        guard let (_, object) = try? capabilities.lookup(endpoint, in: domain.cspace, ofType: [.endpoint]) else { return nil }
        if !endpointQueues.contains(where: { $0.endpoint == object }) {
            guard endpointQueues.filter({ $0.receiver == domain.id }).count < EndpointQueue.perDomain else { return (object, false) }
            endpointQueues.append(EndpointQueue(endpoint: object, receiver: domain.id))
        }
        return (object, true)
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
        if case .line(let route, let controller) = connection.source, route.levelTriggered, connection.held {
            interruptConnections[index].held = false
            controller.setHeld(route.globalInterrupt, false)
        }
        return .success
    }

    /// Masks and forgets every interrupt a finished domain connected.
    func forgetInterrupts(of domain: Domain) {
        while let index = interruptConnections.firstIndex(where: { $0.domain == domain.id }) { forgetInterrupt(at: index) }
    }

    func forgetInterrupt(at index: Int) {
        let connection = interruptConnections.remove(at: index)
        if case .line(let route, let controller) = connection.source { controller.mask(route.globalInterrupt) }
    }

    /// An interrupt came on `vector` (from the trap handler, before the EOI).
    func deviceInterruptArrived(vector: UInt8) {
        guard let index = interruptConnections.firstIndex(where: { $0.vector == vector }) else { return }
        interruptConnections[index].pending &+= 1
        let connection = interruptConnections[index]
        if case .line(let route, let controller) = connection.source, route.levelTriggered {
            controller.setHeld(route.globalInterrupt, true)
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

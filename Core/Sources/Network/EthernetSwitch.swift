// netd's switch (docs/network.md, "netd, the service"): the driver carries frames
// between the device and its clients, each client a port with the Ethernet address
// netd gave it. A frame goes where its destination names, as on a switch whose table
// never has to learn: netd assigned every address on its side, so it knows them all
// from the start. A client is untrusted: a frame whose source is not the client's own
// address is dropped (no client can pose as another, or as the gateway), and a frame
// too short to hold an Ethernet header goes nowhere.

/// One side of the switch: the device (the wire to QEMU's network), or client `n`.
public enum SwitchPort: Equatable, Sendable {
    case device
    case client(Int)
}

/// Why the switch dropped a frame.
public enum SwitchDrop: Error, Equatable, Sendable {
    /// Shorter than an Ethernet header.
    case runt
    /// From a client, with a source address that is not the client's.
    case spoofed
    /// From the device, to an address no client has.
    case noClient
}

public struct EthernetSwitch: Equatable, Sendable {
    /// The address of each client port (nil: no client there).
    public private(set) var clients: [EthernetAddress?]

    public init(ports: Int) { clients = [EthernetAddress?](repeating: nil, count: ports) }

    /// The address netd gives the client on port `port`: the device's own plus one plus
    /// the port, so none is the device's and every port has its own.
    public static func address(ofClient port: Int, device: EthernetAddress) -> EthernetAddress {
        EthernetAddress(rawValue: device.rawValue &+ 1 &+ UInt64(port))
    }

    public mutating func attach(_ address: EthernetAddress, at port: Int) {
        guard clients.indices.contains(port) else { return }
        clients[port] = address
    }

    public mutating func detach(_ port: Int) {
        guard clients.indices.contains(port) else { return }
        clients[port] = nil
    }

    /// Where a frame from `from` goes: the ports to copy it to (never back to `from`),
    /// or why it is dropped. A group address (broadcast or multicast: the first byte's
    /// low bit) goes to every other port; a client's address to that client; from a
    /// client, anything else to the device.
    public func route(_ frame: UnsafeRawBufferPointer, from: SwitchPort) -> Result<[SwitchPort], SwitchDrop> {
        guard frame.count >= 14 else { return .failure(.runt) }
        let destination = EthernetAddress(bytes: Array(frame[0..<6]))
        let source = EthernetAddress(bytes: Array(frame[6..<12]))
        if case .client(let port) = from {
            guard clients.indices.contains(port), let own = clients[port], own == source else { return .failure(.spoofed) }
        }
        if frame[0] & 1 != 0 {
            var ports: [SwitchPort] = from == .device ? [] : [.device]
            for (port, address) in clients.enumerated() where address != nil && from != .client(port) { ports.append(.client(port)) }
            return .success(ports)
        }
        if let port = clients.firstIndex(where: { $0 == destination }) {
            return from == .client(port) ? .success([]) : .success([.client(port)])
        }
        return from == .device ? .failure(.noClient) : .success([.device])
    }
}

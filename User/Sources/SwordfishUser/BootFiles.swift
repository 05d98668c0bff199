// Files of the boot image (User/Files, packed beside the programs by `swordfish build`):
// the web server's site, or any data a program wants from outside it. A domain reads
// one page at a time through its monitor, which has its kernel copy the page into a
// frame the domain lends it (`MonitorRequest.bootFile`), so no domain ever maps memory
// that is not its own.
import ABI

public enum BootFiles {
    /// The whole of the boot image's file `name` (`www/index.html`). `noSuchName` if the
    /// image has none; `outOfResources` without a free library slot or a page of RAM
    /// (a domain that spans cores can retype no RAM: read files before spanning).
    public static func read(_ name: String) throws(MonitorStatus) -> [UInt8] {
        let frame = try LibrarySlots.take()
        do throws(InvocationStatus) {
            _ = try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        } catch {
            throw .outOfResources
        }
        defer { _ = try? frame.delete() }
        let view = try LibrarySlots.take()
        do throws(InvocationStatus) { try frame.copy(to: view) } catch { throw .outOfResources }
        let address = try ChannelWindow.map(view)
        defer { ChannelWindow.unmap(address) }
        let page = UnsafeRawPointer(bitPattern: UInt(address))!
        var bytes: [UInt8] = []
        var size = 1
        var index = 0
        while index * 4096 < size {
            size = try Monitor.bootFile(name, page: index, into: frame)
            let count = min(4096, size - index * 4096)
            if count > 0 { bytes += UnsafeRawBufferPointer(start: page, count: count) }
            index += 1
        }
        return bytes
    }
}

import Foundation

/// The initial RAM file system of the Linux guest: busybox, the benchmark program and an
/// `/init` that runs it and ends QEMU.
///
/// The Debian kernel unpacks an uncompressed `newc` archive as readily as a compressed
/// one, so the archive is written as it is: a few megabytes that QEMU loads in no time.
public enum LinuxGuestInitramfs {
    /// Where the benchmark program sits in the guest.
    public static let benchmarkPath = "/swordfish-bench"

    /// The busybox applets `/init` calls by name.
    static let applets = ["sh", "mount", "ip", "poweroff", "insmod", "httpd"]

    /// The modules of QEMU's virtio network device, in the order they load (the Debian
    /// kernel builds the driver as a module), each as `/lib/<name>.ko`.
    public static let networkModules = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                                        "failover", "net_failover", "virtio_net"]
    /// Where busybox's httpd serves from (the `http-requests` row).
    public static let siteRoot = "/www"

    /// `/init`: busybox's shell runs it with the words after `--` on the kernel command
    /// line as arguments (`quick`), which it passes on to the benchmark program. The
    /// program ends QEMU through isa-debug-exit, exactly as the Swordfish kernel does;
    /// `poweroff -f` (ACPI, and QEMU's `-no-reboot`) is the fallback.
    public static let initScript = """
        #!/bin/sh
        # The Linux guest of `swordfish bench` (written by LinuxGuestInitramfs.swift).
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        ip link set lo up
        # `-- httpd`: the http-requests row. The network as QEMU's user network gives it,
        # busybox's httpd on port 80, then wait for a line on the console (the tool's halt).
        if [ "$1" = httpd ]; then
            for module in \(networkModules.joined(separator: " ")); do insmod /lib/$module.ko; done
            ip link set eth0 up
            ip addr add 10.0.2.15/24 dev eth0
            ip route add default via 10.0.2.2
            httpd -p 80 -h \(siteRoot) && echo "httpd: serving 10.0.2.15 port 80"
            read line
            \(benchmarkPath) exit 0
            poweroff -f
        fi
        if \(benchmarkPath) "$@"; then status=0; else status=1; fi
        \(benchmarkPath) exit $status
        poweroff -f

        """

    /// The archive: directories, `/dev/console` (so that `/init` has a console before
    /// anything is mounted), busybox with its applet links, the program and `/init`.
    /// `modules` go to `/lib`, `site` (paths from `/`) under `siteRoot`.
    public static func archive(busybox: [UInt8], benchmark: [UInt8], modules: [(name: String, contents: [UInt8])] = [],
                               site: [(path: String, contents: [UInt8])] = []) -> [UInt8] {
        var archive = CPIOArchive()
        for directory in ["bin", "dev", "proc", "sys", "tmp", "lib", String(siteRoot.dropFirst())] {
            archive.addDirectory(directory)
        }
        for module in modules {
            archive.addFile("lib/\(module.name).ko", contents: module.contents)
        }
        for file in site {
            archive.addFile(String(siteRoot.dropFirst()) + file.path, contents: file.contents)
        }
        archive.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        archive.addFile("bin/busybox", contents: busybox, permissions: 0o755)
        for applet in applets {
            archive.addSymbolicLink("bin/\(applet)", target: "busybox")
        }
        archive.addFile(String(benchmarkPath.dropFirst()), contents: benchmark, permissions: 0o755)
        archive.addFile("init", contents: Array(initScript.utf8), permissions: 0o755)
        return archive.finish()
    }
}

/// A cpio archive in the "new ASCII" (`newc`) format, the one the Linux kernel unpacks
/// into its initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
///
/// Each entry is a 110-byte header of `070701` and thirteen 8-digit hexadecimal fields,
/// the NUL-terminated name, padding to a multiple of four bytes, the data, and padding
/// again. The archive ends with an entry named `TRAILER!!!`.
public struct CPIOArchive: Sendable {
    /// File-type bits of `mode`, as in `<sys/stat.h>`.
    public enum FileType: UInt32, Sendable {
        case directory = 0o040000
        case regular = 0o100000
        case symbolicLink = 0o120000
        case characterDevice = 0o020000
    }

    public private(set) var bytes: [UInt8] = []
    private var nextInode: UInt32 = 1

    public init() {}

    public mutating func addDirectory(_ path: String, permissions: UInt32 = 0o755) {
        add(path, type: .directory, permissions: permissions, links: 2, data: [])
    }

    public mutating func addFile(_ path: String, contents: [UInt8], permissions: UInt32 = 0o644) {
        add(path, type: .regular, permissions: permissions, data: contents)
    }

    /// A symbolic link's data is its target.
    public mutating func addSymbolicLink(_ path: String, target: String) {
        add(path, type: .symbolicLink, permissions: 0o777, data: Array(target.utf8))
    }

    public mutating func addCharacterDevice(_ path: String, major: UInt32, minor: UInt32, permissions: UInt32) {
        add(path, type: .characterDevice, permissions: permissions, data: [], device: (major, minor))
    }

    /// The archive with its trailer.
    public func finish() -> [UInt8] {
        var copy = self
        copy.append(name: "TRAILER!!!", inode: 0, mode: 0, links: 1, data: [], device: (0, 0))
        return copy.bytes
    }

    private mutating func add(
        _ path: String, type: FileType, permissions: UInt32, links: UInt32 = 1, data: [UInt8],
        device: (UInt32, UInt32) = (0, 0)
    ) {
        let inode = nextInode
        nextInode += 1
        append(name: path, inode: inode, mode: type.rawValue | (permissions & 0o7777), links: links, data: data, device: device)
    }

    private mutating func append(
        name: String, inode: UInt32, mode: UInt32, links: UInt32, data: [UInt8], device: (UInt32, UInt32)
    ) {
        let nameBytes = Array(name.utf8) + [0]
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
        // rdevminor, namesize, check (always 0 in newc).
        let fields: [UInt32] = [
            inode, mode, 0, 0, links, 0, UInt32(data.count), 0, 0, device.0, device.1,
            UInt32(nameBytes.count), 0,
        ]
        bytes += Array("070701".utf8)
        for field in fields {
            let hex = String(field, radix: 16, uppercase: true)
            bytes += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
        }
        bytes += nameBytes
        padToFour()
        bytes += data
        padToFour()
    }

    private mutating func padToFour() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}

// cat: prints a text file of the boot image (User/Files, such as www/index.html), line
// by line, through `BootFiles.read`: the monitor's kernel copies each page into a frame
// this domain lends it.
//
//   cat <file>…    each file in turn; exit 1 (after the others) if one is missing or
//                  holds bytes that are not printable text
//   cat --refusals the monitor's answers to bad requests: a file the image does not
//                  hold, a page past a file's end, and a capability that is no writable
//                  page frame (the guest test)
import SwordfishUser

if arguments.first == "--refusals" {
    let frame = Capability(slot: 8), table = Capability(slot: 9)
    do throws(InvocationStatus) {
        _ = try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        _ = try Capability.ram.retype(to: .pageTable, into: table)
    } catch {
        print("cat: no memory for the check: \(error)")
        exit(1)
    }
    let cases: [(String, Int, Capability, MonitorStatus)] = [
        ("www/none.txt", 0, frame, .noSuchName),
        ("a page past the end", 99, frame, .badAddress),
        ("a page table for the frame", 0, table, .badAddress),
        ("RAM for the frame", 0, Capability.ram, .badAddress),
    ]
    for (what, page, capability, expected) in cases {
        do throws(MonitorStatus) {
            _ = try Monitor.bootFile(what.hasPrefix("www/") ? what : "www/index.html", page: page, into: capability)
            print("cat: \(what) was answered")
            exit(1)
        } catch where error != expected {
            print("cat: \(what) answered \(error), not \(expected)")
            exit(1)
        } catch {}
    }
    print("cat: every bad request was refused")
    exit(0)
}

guard !arguments.isEmpty else {
    print("usage: cat <file>…   (files of the boot image, from User/Files: www/index.html)")
    exit(2)
}
var failed = false
for index in 0..<arguments.count {
    guard let name = arguments[index] else { continue }
    let bytes: [UInt8]
    do throws(MonitorStatus) { bytes = try BootFiles.read(name) } catch {
        print("cat: \(name): \(error == .noSuchName ? "no such file in the boot image" : "\(error)")")
        failed = true
        continue
    }
    guard bytes.allSatisfy({ $0 == 10 || $0 == 9 || ($0 >= 32 && $0 < 127) }) else {
        print("cat: \(name): \(bytes.count) bytes, not text")
        failed = true
        continue
    }
    var line: [UInt8] = []
    for byte in bytes {
        if byte == 10 {
            print(String(decoding: line, as: UTF8.self))
            line.removeAll()
        } else {
            line.append(byte)
        }
    }
    if !line.isEmpty { print(String(decoding: line, as: UTF8.self)) }
}
exit(failed ? 1 : 0)

// The files the guest's web server serves, as the server and the host's tests and
// benchmark name them: an index page and a 4 KiB file (the `http-requests` bench row),
// both files of the boot image (User/Files/www, which `swordfish build` packs beside the
// programs), and a 1 MiB file (the checksum test), a deterministic pattern made as it
// is sent rather than carried in the image the guest keeps in its RAM.

public enum HTTPSite {
    /// Where a served file's bytes come from.
    public enum Source: Equatable, Sendable {
        /// The boot image's file of this name (its path under User/Files).
        case bootFile(String)
        /// `patternByte(0) …` for this many bytes.
        case pattern(bytes: Int)
    }

    /// Each path served and where it comes from; `/` is the index page too.
    public static let files: [(path: String, source: Source)] = [
        ("/index.html", .bootFile("www/index.html")), ("/4k.bin", .bootFile("www/4k.bin")), ("/1m.bin", .pattern(bytes: 1 << 20)),
    ]

    /// The path a request's path stands for, or nil if none is served.
    public static func file(at path: String) -> String? {
        if path == "/" { return "/index.html" }
        for file in files where file.path == path { return path }
        return nil
    }

    /// Where `path` (one of `files`) comes from.
    public static func source(of path: String) -> Source? { files.first { $0.path == path }?.source }

    /// The first `count` bytes of the pattern.
    public static func pattern(bytes count: Int) -> [UInt8] { (0..<count).map(patternByte) }

    /// The pattern of the large file: printable, and no byte repeats with a short period.
    public static func patternByte(_ index: Int) -> UInt8 {
        let mixed = UInt32(truncatingIfNeeded: index) &* 2_654_435_761
        return 33 &+ UInt8(truncatingIfNeeded: (mixed >> 24) % 94)
    }
}

// The files the guest's web server serves, and the same files as the host's tests and
// benchmark expect them: an index page, a 4 KiB file (the `http-requests` bench row) and
// a 1 MiB file (the checksum test). The two large files are a deterministic pattern,
// made when the server starts rather than stored.

public enum HTTPSite {
    public static let indexPage = """
        <!DOCTYPE html>
        <html><head><title>Swordfish</title></head>
        <body><h1>Swordfish</h1>
        <p>Served by httpd, a Swordfish user program, over lwIP on the virtio network device.</p>
        <ul><li><a href="/4k.bin">4k.bin</a> (4 KiB)</li><li><a href="/1m.bin">1m.bin</a> (1 MiB)</li></ul>
        </body></html>

        """

    /// Each path served and its size; `/` is the index page too.
    public static let files: [(path: String, size: Int)] = [
        ("/index.html", indexPage.utf8.count), ("/4k.bin", 4096), ("/1m.bin", 1 << 20),
    ]

    /// The path a request's path stands for, or nil if none is served.
    public static func file(at path: String) -> String? {
        if path == "/" { return "/index.html" }
        for file in files where file.path == path { return path }
        return nil
    }

    /// The bytes of `path` (one of `files`).
    public static func contents(of path: String) -> [UInt8] {
        if path == "/index.html" { return Array(indexPage.utf8) }
        let size = files.first(where: { $0.path == path })?.size ?? 0
        var bytes = [UInt8](repeating: 0, count: size)
        for index in 0..<size { bytes[index] = patternByte(index) }
        return bytes
    }

    /// The pattern of the large files: printable, and no byte repeats with a short period.
    public static func patternByte(_ index: Int) -> UInt8 {
        let mixed = UInt32(truncatingIfNeeded: index) &* 2_654_435_761
        return 33 &+ UInt8(truncatingIfNeeded: (mixed >> 24) % 94)
    }
}

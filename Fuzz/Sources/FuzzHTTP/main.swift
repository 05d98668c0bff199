// Fuzzes the web server's request reader: the input is what a client sent on one
// connection, read request by request as the server does.

import Basics
import FuzzSupport
import HTTP

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size).bytes)
    var start = 0
    while start < bytes.count {
        do throws(HTTPError) {
            guard case .request(let request, let length) = try HTTPRequestParser.parse(bytes[start...]) else { break }
            // A request takes at least its request line, and lies inside the bytes.
            require(length > 0 && start + length <= bytes.count, "a request lies inside the bytes")
            require(length <= HTTPRequestParser.headLimit + 2 * (bytes.count - start), "a request's length is bounded")
            require(request.path.utf8.first == UInt8(ascii: "/"), "a path starts with /")
            require(request.minorVersion == 1 ? request.host != nil : true, "an HTTP/1.1 request has a Host")
            start += length
        } catch {
            _ = error.status.rawValue
            break
        }
    }
    return 0
}

runLibFuzzer(fuzzHTTP)

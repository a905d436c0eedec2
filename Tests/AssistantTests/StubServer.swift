import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-thread-per-connection HTTP/1.1 server on 127.0.0.1 for tests: records each request and answers
/// with whatever the handler writes (server-sent events, or an error).
final class StubServer: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var messages: [(role: String, content: String)] {
            (json["messages"] as? [[String: Any]] ?? []).map { ($0["role"] as? String ?? "", $0["content"] as? String ?? "") }
        }
    }

    /// Writes to one connection; `send` returns false once the client has gone.
    final class Connection {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        @discardableResult
        func send(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        func sendEvent(_ object: [String: Any]) -> Bool {
            let data = try! JSONSerialization.data(withJSONObject: object)
            return send("data: " + String(decoding: data, as: UTF8.self) + "\n\n")
        }
        func sendChunk(_ content: String) -> Bool {
            sendEvent(["choices": [["index": 0, "delta": ["content": content], "finish_reason": NSNull()]]])
        }
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var _requests: [Request] = []
    /// Connections whose client went away while the handler was writing.
    private var _disconnects = 0
    var handler: (Request, Connection) -> Void

    var requests: [Request] { lock.withLock { _requests } }
    var disconnects: Int { lock.withLock { _disconnects } }
    var url: String { "http://127.0.0.1:\(port)" }

    init(handler: @escaping (Request, Connection) -> Void) throws {
        self.handler = handler
        // The listening socket lives at a high descriptor number. A descriptor closed twice elsewhere in the
        // test process (an HTTP client's socket torn down on cancel, then closed again) hits the lowest
        // numbers, which a socket opened just after would get: the next test's server stopped listening
        // and its client was refused. Up here no stale close reaches it.
        let opened = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let listener = fcntl(opened, F_DUPFD, Int32(512 + Int.random(in: 0..<256)))
        close(opened)
        guard listener >= 0 else { throw NSError(domain: "stub", code: Int(errno)) }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw NSError(domain: "stub", code: Int(errno)) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        self.listener = listener
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops listening. The accept thread closes the socket once its accept fails, so the descriptor is not
    /// reused by another socket while that thread may still call accept on it.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(listener)
                return
            }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            data += buffer[0..<n]
            if let r = findCRLFCRLF(data) { headerEnd = r }
        }
        let head = String(decoding: data[0..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(data[(headerEnd! + 4)...])
        while body.count < length {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            body += buffer[0..<n]
        }
        let request = Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: Data(body))
        lock.withLock { _requests.append(request) }
        let connection = Connection(fd: fd)
        handler(request, connection)
    }

    /// Counts a client that went away (handlers call this when `send` fails).
    func noteDisconnect() { lock.withLock { _disconnects += 1 } }

    private func findCRLFCRLF(_ d: [UInt8]) -> Int? {
        guard d.count >= 4 else { return nil }
        for i in 0...(d.count - 4) where d[i] == 13 && d[i + 1] == 10 && d[i + 2] == 13 && d[i + 3] == 10 { return i }
        return nil
    }

    static let sseHeader = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
}

import Foundation

/// A ring buffer of fixed capacity; the oldest element is overwritten when full.
public struct RingBuffer<Element>: Sequence {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        storage = Array(repeating: nil, count: capacity)
    }

    public var capacity: Int { storage.count }
    public var isFull: Bool { count == capacity }

    public mutating func append(_ element: Element) {
        storage[(head + count) % capacity] = element
        if isFull {
            head = (head + 1) % capacity
        } else {
            count += 1
        }
    }

    public func makeIterator() -> AnyIterator<Element> {
        var i = 0
        return AnyIterator {
            guard i < self.count else { return nil }
            defer { i += 1 }
            return self.storage[(self.head + i) % self.capacity]
        }
    }
}

enum Shape: CustomStringConvertible {
    case circle(radius: Double)
    case rectangle(width: Double, height: Double)

    var area: Double {
        switch self {
        case .circle(let r): return .pi * r * r
        case let .rectangle(w, h): return w * h
        }
    }

    var description: String { "Shape(area: \(String(format: "%.3f", area)))" }
}

@MainActor
final class ViewModel: ObservableObject {
    @Published var items: [String] = []
    private var task: Task<Void, Never>?

    func load(from url: URL) {
        task?.cancel()
        task = Task { [weak self] in
            do {
                let (data, _) = try await URLSession.shared.data(from: url)
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                self?.items = lines.map(String.init)
            } catch {
                self?.items = ["error: \(error.localizedDescription)"]
            }
        }
    }
}

var ring = RingBuffer<Int>(capacity: 3)
for x in 1...5 { ring.append(x * x) }
print(Array(ring), ring.count >= 3 ? "full" : "partial")

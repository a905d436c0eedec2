/// An element that knows which of two comes out of a `PriorityQueue` first.
protocol Prioritized {
    static func before(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap: `pop` returns the element that comes `before` all others. The merge loops of both
/// tokenizers take their next merge from one.
struct PriorityQueue<Element: Prioritized> {
    private(set) var items: [Element] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: Element) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Element.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < n && Element.before(items[l], items[best]) { best = l }
                if r < n && Element.before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return first
    }
}

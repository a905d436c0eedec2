"""The ten edit scenarios of `make eval-edits`: a file, a request, and a check of the edited file.

Each scenario is a dict:
  name     short identifier
  path     the file's name in the scenario's directory
  content  the file before the edit
  request  what the user asks (the file is put in context with --file)
  check    Python scenarios: code run with the edited module imported as `m`;
           Swift scenarios: a main.swift compiled together with the edited file.
The checks fail on the original files (run.py --self-check verifies this).
"""

PYTHON = [
    dict(
        name="py-stack-pop-none",
        path="stack.py",
        content='''class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()

    def peek(self):
        return self.items[-1]

    def __len__(self):
        return len(self.items)
''',
        request="Make pop return None when the stack is empty.",
        check='''s = m.Stack()
assert s.pop() is None
s.push(1); s.push(2)
assert s.pop() == 2 and s.pop() == 1 and s.pop() is None
assert len(s) == 0
''',
    ),
    dict(
        name="py-fahrenheit-bug",
        path="temperature.py",
        content='''def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 - 32


def fahrenheit_to_celsius(fahrenheit):
    return (fahrenheit - 32) * 5 / 9
''',
        request="celsius_to_fahrenheit(100) returns 148 but it should return 212. Fix the bug.",
        check='''assert abs(m.celsius_to_fahrenheit(100) - 212) < 1e-9
assert abs(m.celsius_to_fahrenheit(0) - 32) < 1e-9
assert abs(m.fahrenheit_to_celsius(212) - 100) < 1e-9
''',
    ),
    dict(
        name="py-rectangle-perimeter",
        path="shapes.py",
        content='''class Rectangle:
    def __init__(self, width, height):
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height
''',
        request="Add a perimeter method to Rectangle.",
        check='''r = m.Rectangle(3, 4)
assert r.area() == 12
assert r.perimeter() == 14
''',
    ),
    dict(
        name="py-total-discount",
        path="cart.py",
        content='''def total(items):
    """Sum of price * quantity over the items (dicts with 'price' and 'quantity')."""
    result = 0
    for item in items:
        result += item["price"] * item["quantity"]
    return result
''',
        request="Add an optional discount parameter to total: a fraction between 0 and 1, default 0, "
                "that reduces the result (discount=0.1 takes 10% off).",
        check='''items = [{"price": 10, "quantity": 2}, {"price": 5, "quantity": 4}]
assert m.total(items) == 40
assert abs(m.total(items, discount=0.1) - 36) < 1e-9
assert abs(m.total(items, 0.5) - 20) < 1e-9
''',
    ),
    dict(
        name="py-word-count-case",
        path="words.py",
        content='''def word_counts(text):
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts
''',
        request="Make word_counts ignore case: count words in lowercase, so 'The' and 'the' are the same word.",
        check='''c = m.word_counts("The cat and the hat")
assert c == {"the": 2, "cat": 1, "and": 1, "hat": 1}, c
''',
    ),
]

SWIFT = [
    dict(
        name="swift-stack-pop-optional",
        path="Stack.swift",
        content='''struct Stack<Element> {
    private var items: [Element] = []

    mutating func push(_ item: Element) {
        items.append(item)
    }

    mutating func pop() -> Element {
        return items.removeLast()
    }

    var count: Int { items.count }
}
''',
        request="Make pop return nil instead of crashing when the stack is empty (its return type becomes Element?).",
        check='''var s = Stack<Int>()
precondition(s.pop() == nil)
s.push(1)
s.push(2)
precondition(s.pop() == 2)
precondition(s.pop() == 1)
precondition(s.pop() == nil)
precondition(s.count == 0)
print("ok")
''',
    ),
    dict(
        name="swift-fahrenheit-bug",
        path="Temperature.swift",
        content='''func fahrenheit(celsius: Double) -> Double {
    return celsius * 5 / 9 + 32
}

func celsius(fahrenheit: Double) -> Double {
    return (fahrenheit - 32) * 5 / 9
}
''',
        request="fahrenheit(celsius: 100) returns 87.6 but it should return 212. Fix the bug.",
        check='''precondition(abs(fahrenheit(celsius: 100) - 212) < 1e-9)
precondition(abs(fahrenheit(celsius: 0) - 32) < 1e-9)
precondition(abs(celsius(fahrenheit: 212) - 100) < 1e-9)
print("ok")
''',
    ),
    dict(
        name="swift-palindrome-case",
        path="Palindrome.swift",
        content='''func isPalindrome(_ text: String) -> Bool {
    let characters = Array(text)
    return characters == characters.reversed()
}
''',
        request="Make isPalindrome ignore letter case and spaces, so 'Never odd or even' is a palindrome.",
        check='''precondition(isPalindrome("Never odd or even"))
precondition(isPalindrome("racecar"))
precondition(!isPalindrome("hello"))
print("ok")
''',
    ),
    dict(
        name="swift-counter-reset",
        path="Counter.swift",
        content='''struct Counter {
    private(set) var count = 0

    mutating func increment() {
        count += 1
    }
}
''',
        request="Add a mutating func reset() to Counter that sets count back to 0.",
        check='''var c = Counter()
c.increment()
c.increment()
precondition(c.count == 2)
c.reset()
precondition(c.count == 0)
c.increment()
precondition(c.count == 1)
print("ok")
''',
    ),
    dict(
        name="swift-fibonacci",
        path="Sequences.swift",
        content='''func factorial(_ n: Int) -> Int {
    return n <= 1 ? 1 : n * factorial(n - 1)
}
''',
        request="Add a func fibonacci(_ n: Int) -> Int that returns the nth Fibonacci number "
                "(fibonacci(0) is 0, fibonacci(1) is 1, fibonacci(10) is 55).",
        check='''precondition(fibonacci(0) == 0)
precondition(fibonacci(1) == 1)
precondition(fibonacci(10) == 55)
precondition(factorial(5) == 120)
print("ok")
''',
    ),
]

SCENARIOS = PYTHON + SWIFT

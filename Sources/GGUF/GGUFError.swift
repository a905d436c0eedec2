/// What is wrong with a GGUF file, and where.
///
/// Every failure names the file position (byte offset), the metadata key or the tensor it concerns,
/// so that a one-line message is enough to see what is wrong.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case cannotOpen, empty, truncated, badMagic, unsupportedVersion, absurdCount
        case badString, badValueType, badArray, badAlignment, duplicateKey
        case unknownTensorType, badTensorShape, tensorOutOfBounds, overlappingTensors, duplicateTensor
        case missingKey, wrongKeyType
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

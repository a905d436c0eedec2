/// Why the engine cannot do what was asked. The message names what failed and why in one line.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case unsupportedArchitecture, unsupportedTensorType, missingTensor, badShape, badMetadata, badInput, contextFull }
    public let kind: Kind
    public let message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

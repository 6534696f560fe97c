import CCairo
import CCairoShim
import Foundation

/// Draws a `Chart` as a PNG with cairo (an image surface; text through cairo's toy font API, which finds
/// DejaVu Sans through fontconfig), encoded by `PNGEncoder`. The same chart gives the same bytes:
/// nothing here reads the clock and the PNG has no timestamp.
public enum ChartPNG {
    static let ink = (0.13, 0.13, 0.14)
    static let muted = (0.37, 0.39, 0.41)
    static let grid = (0.90, 0.90, 0.91)
    static let series = (0.12, 0.31, 0.47)
    static let red = (0.78, 0.16, 0.16)
    static let amber = (0.85, 0.42, 0.0)
    static let reference = (0.40, 0.40, 0.45)
    static let font = "DejaVu Sans"

    /// Why charts cannot be drawn (empty when they can): libcairo is opened at the first chart.
    public static var loadError: String { String(cString: tm_cairo_load_error()) }

    /// The PNG bytes, or nil if cairo could not be loaded (`loadError` says why) or allocate the surface.
    public static func render(_ chart: Chart) -> [UInt8]? {
        guard tm_cairo_load() != 0 else { return nil }
        let layout = ChartLayout(chart)
        guard let surface = tm_cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(ChartLayout.width), Int32(ChartLayout.height))
        else { return nil }
        defer { tm_cairo_surface_destroy(surface) }
        guard tm_cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = tm_cairo_create(surface) else { return nil }
        defer { tm_cairo_destroy(cr) }
        draw(chart, layout, cr)
        tm_cairo_surface_flush(surface)
        guard let data = tm_cairo_image_surface_get_data(surface) else { return nil }
        return PNGEncoder.encode(pixels: data, width: Int(tm_cairo_image_surface_get_width(surface)),
                                 height: Int(tm_cairo_image_surface_get_height(surface)),
                                 stride: Int(tm_cairo_image_surface_get_stride(surface)))
    }

    static func draw(_ chart: Chart, _ l: ChartLayout, _ cr: OpaquePointer) {
        let p = l.plot
        colour(cr, (1, 1, 1))
        tm_cairo_paint(cr)

        text(cr, fit(cr, chart.title, size: 15, bold: true, width: ChartLayout.width - 32), x: 16, y: 24, size: 15, bold: true, colour: ink)
        if !chart.subtitle.isEmpty {
            text(cr, fit(cr, chart.subtitle, size: 11.5, bold: false, width: ChartLayout.width - 32), x: 16, y: 42, size: 11.5, colour: muted)
        }

        // Grid and y labels.
        tm_cairo_set_line_width(cr, 1)
        for t in l.yTicks {
            colour(cr, grid)
            tm_cairo_move_to(cr, p.left, t.position.rounded() + 0.5)
            tm_cairo_line_to(cr, p.right, t.position.rounded() + 0.5)
            tm_cairo_stroke(cr)
            let w = textWidth(cr, t.label, size: 11, bold: false)
            text(cr, t.label, x: p.left - 8 - w, y: t.position + 4, size: 11, colour: muted)
        }
        colour(cr, muted)
        tm_cairo_move_to(cr, p.left, p.bottom.rounded() + 0.5)
        tm_cairo_line_to(cr, p.right, p.bottom.rounded() + 0.5)
        tm_cairo_stroke(cr)
        for t in l.xTicks {
            let w = textWidth(cr, t.label, size: 11, bold: false)
            let x = min(max(t.position - w / 2, 4), ChartLayout.width - 4 - w)
            text(cr, t.label, x: x, y: p.bottom + 18, size: 11, colour: muted)
            tm_cairo_move_to(cr, t.position.rounded() + 0.5, p.bottom)
            tm_cairo_line_to(cr, t.position.rounded() + 0.5, p.bottom + 4)
            tm_cairo_stroke(cr)
        }

        drawLines(cr, l)

        // The series: a line through each run of drawn points, a dot on each.
        colour(cr, series)
        tm_cairo_set_line_width(cr, 2.2)
        tm_cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        // A dense series antialiased is mostly grey fringe that compresses badly; crisp pixels keep the
        // PNG under the 30 KB an email or a Teams card should carry (SPEC §12).
        let dense = l.points.count > Int(l.plot.width) / 2
        if dense {
            tm_cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE)
            tm_cairo_set_line_width(cr, 1)
        }
        for run in l.segments where run.count > 1 {
            tm_cairo_move_to(cr, l.points[run[0]].x, l.points[run[0]].y!)
            for i in run.dropFirst() { tm_cairo_line_to(cr, l.points[i].x, l.points[i].y!) }
            tm_cairo_stroke(cr)
        }
        tm_cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT)
        if l.points.count <= 60 {
            for pt in l.points.dropLast() {
                guard let y = pt.y else { continue }
                tm_cairo_arc(cr, pt.x, y, 2.8, 0, 2 * .pi)
                tm_cairo_fill(cr)
            }
        }
        // Points not drawn as values: a hollow mark on the axis, never at a height that would give them away.
        var notes: [String] = []
        tm_cairo_set_line_width(cr, 1.4)
        for pt in l.points where pt.y == nil {
            colour(cr, muted)
            tm_cairo_new_sub_path(cr)
            tm_cairo_arc(cr, pt.x, p.bottom, 3.5, 0, 2 * .pi)
            tm_cairo_stroke(cr)
            if let n = pt.note, !notes.contains(n) { notes.append(n) }
        }
        drawLatest(cr, chart, l)
        if !notes.isEmpty {
            let legend = "○ not shown: " + notes.joined(separator: "; ")
            text(cr, fit(cr, legend, size: 10.5, bold: false, width: ChartLayout.width - 32), x: 16, y: ChartLayout.height - 8, size: 10.5, colour: muted)
        }
    }

    /// Thresholds dashed in their colour, context values dotted grey, each labelled at the right edge;
    /// labels are pushed apart so two close lines stay readable.
    static func drawLines(_ cr: OpaquePointer, _ l: ChartLayout) {
        let p = l.plot
        var labelY: [Double] = []
        for line in l.lines.sorted(by: { $0.y < $1.y }) {
            let c = line.kind == .red ? red : line.kind == .amber ? amber : reference
            colour(cr, c)
            tm_cairo_set_line_width(cr, line.kind == .reference ? 1.3 : 1.6)
            let dashes: [Double] = line.kind == .reference ? [2, 3] : [7, 4]
            tm_cairo_set_dash(cr, dashes, Int32(dashes.count), 0)
            tm_cairo_move_to(cr, p.left, line.y.rounded() + 0.5)
            tm_cairo_line_to(cr, p.right, line.y.rounded() + 0.5)
            tm_cairo_stroke(cr)
            tm_cairo_set_dash(cr, nil, 0, 0)
            var y = line.y + 4
            if let previous = labelY.last, y - previous < 13 { y = previous + 13 }
            labelY.append(y)
            text(cr, fit(cr, line.label, size: 11, bold: false, width: ChartLayout.width - p.right - 10), x: p.right + 6, y: y,
                 size: 11, colour: c)
        }
    }

    /// The newest point: larger, in its level's colour, with its value written beside it.
    static func drawLatest(_ cr: OpaquePointer, _ chart: Chart, _ l: ChartLayout) {
        guard let last = l.points.last, let latest = chart.latest else { return }
        let c = chart.latestLevel == .red ? red : chart.latestLevel == .amber ? amber : series
        guard let y = last.y, let value = latest.value else {
            text(cr, "latest: not shown", x: max(l.plot.left, last.x - 90), y: l.plot.bottom - 10, size: 11, bold: true, colour: muted)
            return
        }
        colour(cr, (1, 1, 1))
        tm_cairo_arc(cr, last.x, y, 7.5, 0, 2 * .pi)
        tm_cairo_fill(cr)
        colour(cr, c)
        tm_cairo_arc(cr, last.x, y, 5.5, 0, 2 * .pi)
        tm_cairo_fill(cr)
        let label = ChartText.number(value)
        let w = textWidth(cr, label, size: 13, bold: true)
        // Up and to the left of the point: the right edge belongs to the lines' labels.
        let above = y - 12 > l.plot.top - 6
        text(cr, label, x: max(2, last.x - 10 - w), y: above ? y - 10 : y + 20, size: 13, bold: true, colour: c)
    }

    // MARK: Text

    static func colour(_ cr: OpaquePointer, _ c: (Double, Double, Double)) { tm_cairo_set_source_rgb(cr, c.0, c.1, c.2) }

    static func setFont(_ cr: OpaquePointer, size: Double, bold: Bool) {
        tm_cairo_select_font_face(cr, font, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        tm_cairo_set_font_size(cr, size)
    }

    static func text(_ cr: OpaquePointer, _ s: String, x: Double, y: Double, size: Double, bold: Bool = false,
                     colour c: (Double, Double, Double)) {
        setFont(cr, size: size, bold: bold)
        colour(cr, c)
        tm_cairo_move_to(cr, x, y)
        tm_cairo_show_text(cr, printable(s))
    }

    static func textWidth(_ cr: OpaquePointer, _ s: String, size: Double, bold: Bool) -> Double {
        setFont(cr, size: size, bold: bold)
        var e = cairo_text_extents_t()
        tm_cairo_text_extents(cr, printable(s), &e)
        return e.x_advance
    }

    /// Shortened with an ellipsis to fit `width`.
    static func fit(_ cr: OpaquePointer, _ s: String, size: Double, bold: Bool, width: Double) -> String {
        guard textWidth(cr, s, size: size, bold: bold) > width else { return s }
        var chars = Array(s)
        while !chars.isEmpty, textWidth(cr, String(chars) + "…", size: size, bold: bold) > width { chars.removeLast() }
        return String(chars) + "…"
    }

    /// Control characters (a label with CR/LF in it) become spaces: cairo would draw boxes.
    static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }
}

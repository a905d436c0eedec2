import Terminal

/// The slot the diff pane plugs into. The pane draws itself into a rectangle and, while focused (Ctrl+O),
/// receives the keys; Esc gives focus back to the input unless the pane handles it.
public protocol SidePane: Sendable {
    var title: String { get }
    func render(into buffer: inout ScreenBuffer, rect: Rect, focused: Bool)
    /// Handles a key while focused; `releaseFocus` sends focus back to the input box.
    func handle(_ key: KeyEvent) -> (pane: any SidePane, effects: [Effect], releaseFocus: Bool)
}

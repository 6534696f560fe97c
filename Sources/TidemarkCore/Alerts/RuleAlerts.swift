/// One rule's active (pending or firing) alerts in flat storage: the alerts in one dense array, found by
/// series labels or by id through indexes into it.
///
/// Why not a dictionary of alerts: a rule over every worker is stepped once per series on each
/// evaluation, and most of those steps only need to look. Reading an alert in place from an array
/// costs nothing, where reading it out of a dictionary copies a struct of a dozen references (two
/// dozen atomic operations); a series with no alert costs one hash lookup of its precomputed hash.
struct RuleAlerts: Sendable {
    /// Dense: a removed alert's place is taken by the last one.
    private(set) var alerts: [Alert] = []
    /// Each alert's series labels, parallel to `alerts` (kept, not rebuilt from `seriesLabels`).
    private var labels: [Labels] = []
    private var slotByLabels: [Labels: Int] = [:]
    private var slotByID: [String: Int] = [:]

    init() {}

    init(_ alerts: some Sequence<Alert>) {
        for a in alerts { upsert(a) }
    }

    var count: Int { alerts.count }
    var isEmpty: Bool { alerts.isEmpty }

    subscript(id id: String) -> Alert? {
        slotByID[id].map { alerts[$0] }
    }

    /// Where the alert of a series is, if it has one.
    func slot(of seriesLabels: Labels) -> Int? { slotByLabels[seriesLabels] }

    func id(of seriesLabels: Labels) -> String? { slotByLabels[seriesLabels].map { alerts[$0].id } }

    /// The alert with this id of the series with these labels is stored as `alert` (added when new).
    mutating func upsert(_ alert: Alert, labels seriesLabels: Labels? = nil) {
        if let slot = slotByID[alert.id] {
            alerts[slot] = alert
            return
        }
        let key = seriesLabels ?? Labels(alert.seriesLabels)
        slotByID[alert.id] = alerts.count
        slotByLabels[key] = alerts.count
        alerts.append(alert)
        labels.append(key)
    }

    /// Replaces the alert in `slot` (the same alert, a new state).
    mutating func replace(at slot: Int, with alert: Alert) { alerts[slot] = alert }

    /// Removes the alert with this id; returns it, or nil when there was none.
    @discardableResult
    mutating func remove(id: String) -> Alert? {
        guard let slot = slotByID.removeValue(forKey: id) else { return nil }
        slotByLabels[labels[slot]] = nil
        let last = alerts.count - 1
        if slot != last {
            alerts.swapAt(slot, last)
            labels.swapAt(slot, last)
            slotByID[alerts[slot].id] = slot
            slotByLabels[labels[slot]] = slot
        }
        labels.removeLast()
        return alerts.removeLast()
    }
}

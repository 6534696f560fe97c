/// The values of expressions that several rules (or context entries) of one evaluation share, each
/// computed once. Rules often repeat an expression with other thresholds or beside each other as context;
/// the series cannot change during one evaluation, so the value is the same for all of them.
///
/// Only expressions used more than once are kept, and each is let go after its last use, so memory
/// holds at most the shared values still to be used, never one vector per rule.
struct SharedEvaluations<Source: SeriesSource> {
    private let source: Source
    private var usesLeft: [MetricExpression: Int] = [:]
    private var values: [MetricExpression: ExpressionValue] = [:]

    /// `expressions`: every expression the evaluation will ask for, with repeats.
    init(source: Source, expressions: some Sequence<MetricExpression>) {
        self.source = source
        for e in expressions { usesLeft[e, default: 0] += 1 }
        usesLeft = usesLeft.filter { $0.value > 1 }
    }

    /// How many values are held now.
    var kept: Int { values.count }

    mutating func value(of expression: MetricExpression) -> ExpressionValue {
        guard let left = usesLeft[expression] else { return expression.evaluate(source) }
        let value = values[expression] ?? expression.evaluate(source)
        if left > 1 {
            usesLeft[expression] = left - 1
            values[expression] = value
        } else {
            usesLeft[expression] = nil
            values[expression] = nil
        }
        return value
    }
}

/// Binary operators between values (SPEC §5, §15): scalars broadcast; vectors pair their samples as
/// PromQL does with `on`/`ignoring` and `group_left`/`group_right`; with neither, samples pair on
/// identical label sets and a label-less sample broadcasts to every label set (tidemark's rule, so
/// `10000 * cpp / population` works with a borough-wide population).

/// Applies `f` element-wise; `nil` from `f` drops the element.
func combine(_ a: ExpressionValue, _ b: ExpressionValue, _ matching: VectorMatching,
             _ f: (Double, Double) -> Double?) throws(EvaluationError) -> ExpressionValue {
    switch (a, b) {
    case (.scalar(let x), .scalar(let y)):
        return f(x, y).map(ExpressionValue.scalar) ?? .vector([])
    case (.vector(let v), .scalar(let y)):
        return .vector(v.compactMap { s in f(s.value, y).map { Sample(labels: s.labels, value: $0, asOf: s.asOf, signals: s.signals) } })
    case (.scalar(let x), .vector(let v)):
        return .vector(v.compactMap { s in f(x, s.value).map { Sample(labels: s.labels, value: $0, asOf: s.asOf, signals: s.signals) } })
    case (.vector(let left), .vector(let right)):
        if matching == .identical { return .vector(identicalMatch(left, right, f)) }
        return .vector(try matched(left, right, matching, f))
    }
}

private func identicalMatch(_ left: [Sample], _ right: [Sample], _ f: (Double, Double) -> Double?) -> [Sample] {
    var rightByLabels: [Labels: Sample] = [:]
    for s in right where rightByLabels[s.labels] == nil { rightByLabels[s.labels] = s }
    let rightUnlabelled = rightByLabels[.empty]
    if left.count == 1, left[0].labels.isEmpty, !right.isEmpty, rightUnlabelled == nil {
        let l = left[0]
        return right.compactMap { r in
            f(l.value, r.value).map { Sample(labels: r.labels, value: $0, asOf: max(l.asOf, r.asOf), signals: merged(l.signals, r.signals)) }
        }
    }
    return left.compactMap { l in
        guard let r = rightByLabels[l.labels] ?? rightUnlabelled else { return nil }
        return f(l.value, r.value).map { Sample(labels: l.labels, value: $0, asOf: max(l.asOf, r.asOf), signals: merged(l.signals, r.signals)) }
    }
}

/// The labels two samples are matched on.
func signature(_ labels: Labels, _ on: VectorMatching.Labels) -> Labels {
    switch on {
    case .identical: return Labels(labels.pairs.filter { $0.name != "__name__" }.map { ($0.name, $0.value) })
    case .on(let names): return Labels(labels.pairs.filter { names.contains($0.name) }.map { ($0.name, $0.value) })
    case .ignoring(let names):
        return Labels(labels.pairs.filter { !names.contains($0.name) && $0.name != "__name__" }.map { ($0.name, $0.value) })
    }
}

private func bySignature(_ samples: [Sample], _ on: VectorMatching.Labels) -> [Labels: [Sample]] {
    var out: [Labels: [Sample]] = [:]
    for s in samples { out[signature(s.labels, on), default: []].append(s) }
    return out
}

/// PromQL's error when the "one" side of a match has two series for one signature.
private func ambiguous(_ side: String, _ signature: Labels, _ samples: [Sample]) -> EvaluationError {
    EvaluationError(message: "many-to-many matching not allowed: the \(side) side has \(samples[0].labels) and \(samples[1].labels) "
        + "for the match group \(signature); matching labels must be unique on the \(side) side")
}

/// Each sample of the "many" side with the one sample of the other side that has its signature; the
/// "many" side's labels, plus the `include` labels copied from the "one" side.
private func manyToOne(_ many: [Sample], _ one: [Sample], _ on: VectorMatching.Labels, include: [String], oneSide: String,
                       _ f: (Double, Double) -> Double?) throws(EvaluationError) -> [Sample] {
    let ones = bySignature(one, on)
    var out: [Sample] = []
    for m in many {
        let sig = signature(m.labels, on)
        guard let os = ones[sig] else { continue }
        if os.count > 1 { throw ambiguous(oneSide, sig, os) }
        let o = os[0]
        if let v = f(m.value, o.value) {
            out.append(Sample(labels: including(include, from: o.labels, into: m.labels), value: v, asOf: max(m.asOf, o.asOf),
                              signals: merged(m.signals, o.signals)))
        }
    }
    return out.sorted { $0.labels < $1.labels }
}

private func matched(_ left: [Sample], _ right: [Sample], _ matching: VectorMatching,
                     _ f: (Double, Double) -> Double?) throws(EvaluationError) -> [Sample] {
    var out: [Sample] = []
    switch matching.cardinality {
    case .oneToOne:
        let lefts = bySignature(left, matching.labels), rights = bySignature(right, matching.labels)
        for (sig, ls) in lefts {
            guard let rs = rights[sig] else { continue }
            if ls.count > 1 { throw ambiguous("left", sig, ls) }
            if rs.count > 1 { throw ambiguous("right", sig, rs) }
            let (l, r) = (ls[0], rs[0])
            // PromQL: one-to-one keeps the `on` labels, or drops the `ignoring` ones.
            let labels: Labels
            switch matching.labels {
            case .on: labels = sig
            case .ignoring, .identical: labels = signature(l.labels, matching.labels)
            }
            if let v = f(l.value, r.value) {
                out.append(Sample(labels: labels, value: v, asOf: max(l.asOf, r.asOf), signals: merged(l.signals, r.signals)))
            }
        }
    case .manyToOne(let include):
        return try manyToOne(left, right, matching.labels, include: include, oneSide: "right", f)
    case .oneToMany(let include):
        // group_right is group_left seen from the other side, the operands kept in their order.
        return try manyToOne(right, left, matching.labels, include: include, oneSide: "left") { f($1, $0) }
    }
    return out.sorted { $0.labels < $1.labels }
}

/// The "many" side's labels (without `__name__`), with the `group_left(…)` labels copied from the "one" side.
private func including(_ names: [String], from one: Labels, into many: Labels) -> Labels {
    var d = many.dictionary
    d["__name__"] = nil
    for n in names { d[n] = one[n] }
    return Labels(d.compactMapValues { $0.isEmpty ? nil : $0 })
}

/// `and`, `or`, `unless` (PromQL): a left sample is kept when some right sample has its signature
/// (`and`), when none has (`unless`); `or` adds the right samples whose signature the left lacks.
func setOperation(_ op: MetricExpression.SetOperator, _ a: ExpressionValue, _ b: ExpressionValue,
                  _ matching: VectorMatching) throws(EvaluationError) -> ExpressionValue {
    guard case .vector(let left) = a, case .vector(let right) = b else {
        throw EvaluationError(message: "\(op.rawValue) needs a series on both sides, not a number")
    }
    let rightSignatures = Set(right.map { signature($0.labels, matching.labels) })
    switch op {
    case .and: return .vector(left.filter { rightSignatures.contains(signature($0.labels, matching.labels)) })
    case .unless: return .vector(left.filter { !rightSignatures.contains(signature($0.labels, matching.labels)) })
    case .or:
        let leftSignatures = Set(left.map { signature($0.labels, matching.labels) })
        return .vector(left + right.filter { !leftSignatures.contains(signature($0.labels, matching.labels)) })
    }
}

/// The signals of two combined samples (nil, the common case, stays nil without allocating).
@inline(__always)
func merged(_ a: [String]?, _ b: [String]?) -> [String]? {
    guard let a else { return b }
    guard let b else { return a }
    return a + b
}

import CLinuxShim
import Dispatch

extension Daemon {
    /// How long after the last piece of work (start-up, a drop, a staleness check, a flush) the daemon gives
    /// memory back. Short, because it is cheap: the next drop faults back what it runs, which measured
    /// ~1 ms (drop → webhook p50 4.2 ms with each drop after a trim, 3.2 ms warm; BENCHMARKS.md, "Idle
    /// footprint"). A burst re-arms it with every slice, so it never runs in the middle of one.
    static let idleTrimDelay: DispatchTimeInterval = .seconds(2)

    /// (Re)arms the one-shot idle trim: `idleTrimDelay` after the last piece of work, the pages of program
    /// text that start-up or that work touched are returned to the kernel, and freed heap with them. They
    /// are clean pages of the executable, which stay in the page cache and come back on the next fault
    /// (minor faults, no disk read while the page cache holds them). One timer, re-armed per
    /// piece of work, never repeating: an idle daemon does not wake for it.
    func scheduleIdleTrim() {
        dispatchPrecondition(condition: .onQueue(queue))
        // Flushes come in slices during a burst: moving the armed timer's deadline is cheaper than a new one.
        if let armed = idleTrimTimer {
            armed.schedule(deadline: .now() + Self.idleTrimDelay, leeway: .seconds(1))
            return
        }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + Self.idleTrimDelay, leeway: .seconds(1))
        t.setEventHandler { [weak self] in
            guard let self, !self.stopping else { return }
            let released = tm_release_idle_pages()
            self.log.debug("idle: returned program pages to the kernel", [("mapped_bytes", "\(released)")])
            self.idleTrimTimer?.cancel()
            self.idleTrimTimer = nil
        }
        t.resume()
        idleTrimTimer = t
    }
}

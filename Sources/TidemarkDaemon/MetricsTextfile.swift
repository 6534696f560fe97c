import Dispatch
import Foundation
import TidemarkCore

/// `metrics: { textfile, every }` (SPEC §17): the `tidemark metrics` text written for node_exporter's
/// textfile collector, atomically (a temporary file in the same directory, then rename), so the
/// collector never reads half a file. No HTTP server. A failed write is logged, counted and retried at
/// the next tick.
extension Daemon {
    func startMetricsTextfile() {
        dispatchPrecondition(condition: .onQueue(queue))
        textfileTimer?.cancel()
        textfileTimer = nil
        guard let settings = loaded.configuration.metricsTextfile else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(settings.every.milliseconds))
        t.schedule(deadline: .now(), repeating: interval, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.writeMetricsTextfile() }
        t.resume()
        textfileTimer = t
    }

    func writeMetricsTextfile() {
        guard let settings = loaded.configuration.metricsTextfile else { return }
        do {
            let text = try metricsText(now: now())
            try Daemon.writeAtomically(text, to: settings.path)
            if textfileFailing {
                textfileFailing = false
                log.info("metrics textfile: writing again", [("path", settings.path)])
            }
        } catch {
            metrics.count("textfile_write_errors")
            if !textfileFailing { log.warning("metrics textfile: cannot write \(settings.path): \(error); retrying every \(settings.every)") }
            textfileFailing = true
        }
    }

    struct TextfileError: Error, CustomStringConvertible { let description: String }

    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw TextfileError(description: String(cString: strerror(errno))) }
        var ok = true
        Array(text.utf8).withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n <= 0 { ok = false; break }
                written += n
            }
        }
        let error = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(ok ? errno : error))
            unlink(temporary)
            throw TextfileError(description: message)
        }
    }
}

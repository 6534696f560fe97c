/// tidemark's own version, shown by `--version`, `status` and the `User-Agent` header.
public enum TidemarkVersion {
    public static let current = "0.1.0"
}

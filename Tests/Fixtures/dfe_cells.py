"""How a cell of a DfE table reads, for the independent checks: a number, a marker, or nothing."""

MEANINGS = {"c": "suppressed", "x": "unavailable", "z": "not_applicable", "u": "low_reliability",
            "low": "rounds_to_zero", ":": "unavailable", "..": "unavailable"}


def cell(text):
    """None for an empty cell, a float for a number, "marker:MEANING" for a GSS/DfE symbol."""
    t = text.strip()
    if t == "":
        return None
    try:
        return float(t.replace(",", ""))
    except ValueError:
        key = t.lower()
        if key.startswith("[") and key.endswith("]"):
            key = key[1:-1].strip()
        return "marker:" + MEANINGS[key]

"""Text from outside pkgfactory (file names, paths, messages holding them) made safe to print."""


def printable(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (surrogate-escaped by the OS layer) and control
    characters as \\xNN: a terminal obeys ESC sequences, a line break forges a line, and a
    lone surrogate crashes an encoder, so a hostile name could mislead or crash a report."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)

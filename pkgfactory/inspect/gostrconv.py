"""Go's strconv.QuotedPrefix and strconv.Unquote for string literals.

Build settings in Go module info are quoted with strconv.Quote when they hold
spaces, quotes or control characters (e.g. -ldflags="-s -w"); reading them
back exactly as Go does keeps our output equal to `go version -m`.
"""

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}


class GoQuoteError(ValueError):
    pass


def quoted_prefix(s: str) -> str:
    """The leading Go string literal of s ("..." or `...`)."""
    if not s or s[0] not in "`\"":
        raise GoQuoteError("not a quoted string")
    q = s[0]
    i = 1
    while i < len(s):
        c = s[i]
        if c == q:
            return s[: i + 1]
        if q == '"':
            if c == "\n":
                break
            if c == "\\":
                i += 1
        i += 1
    raise GoQuoteError("unterminated quoted string")


def unquote(s: str) -> str:
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "`\"":
        raise GoQuoteError("invalid quoted string")
    body = s[1:-1]
    if s[0] == "`":
        if "`" in body:
            raise GoQuoteError("backquote inside raw string")
        return body.replace("\r", "")
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"' or c == "\n":
            raise GoQuoteError("unescaped quote or newline")
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= len(body):
            raise GoQuoteError("trailing backslash")
        e = body[i + 1]
        i += 2
        if e in _SIMPLE:
            out.append(_SIMPLE[e])
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i:i + n]
            if len(digits) != n or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise GoQuoteError(f"bad \\{e} escape")
            v = int(digits, 16)
            i += n
            if e == "x":
                out.append(v)
            else:
                if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                    raise GoQuoteError("invalid code point")
                out += chr(v).encode()
        elif e in "01234567":
            digits = body[i - 1:i + 2]
            if len(digits) != 3 or any(d not in "01234567" for d in digits):
                raise GoQuoteError("bad octal escape")
            v = int(digits, 8)
            if v > 255:
                raise GoQuoteError("octal escape out of range")
            out.append(v)
            i += 2
        else:
            raise GoQuoteError(f"unknown escape \\{e}")
    return out.decode("utf-8", "replace")

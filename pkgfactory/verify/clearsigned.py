"""An InRelease file read exactly as apt reads it.

apt does not hand InRelease to gpgv whole: it splits the file itself
(SplitClearSignedFile in apt-pkg/contrib/gpgv.cc, apt 2.x) and refuses what
its parser and gpgv's could read differently: anything before the
"BEGIN PGP SIGNED MESSAGE" line, unsigned lines after the signature, armor
headers starting with '-', and lines in the message starting with '-' that
are neither the signature line nor dash-escaped. The message it keeps is
the signed lines, dash-escapes removed, joined by newlines without a final
one. verify does the same, then checks the signature over that message, so
what it parses is what apt would use.
"""

from __future__ import annotations

BEGIN_MESSAGE = b"-----BEGIN PGP SIGNED MESSAGE-----"
BEGIN_SIGNATURE = b"-----BEGIN PGP SIGNATURE-----"
END_SIGNATURE = b"-----END PGP SIGNATURE-----"


class NotAsAptReadsIt(ValueError):
    pass


def _lines(data: bytes) -> list[bytes]:
    # Lines as getline() gives them; apt strips the line end and then trailing
    # blanks (RFC 4880 section 7.1).
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [line.rstrip(b"\r\n").rstrip(b" \t") for line in parts]


def split(data: bytes) -> tuple[bytes, bytes]:
    """(message, armored signature) of a clearsigned file; NotAsAptReadsIt says why apt would refuse it."""
    lines = _lines(data)
    if not lines or lines[0] != BEGIN_MESSAGE:
        if BEGIN_MESSAGE in lines:
            raise NotAsAptReadsIt("text before the signed message: apt refuses it "
                                  "(does not start with a signed message block)")
        raise NotAsAptReadsIt("not a clearsigned file: apt would read it as unsigned and refuse it")
    i = 1
    while True:  # armor headers, up to an empty line
        if i >= len(lines):
            raise NotAsAptReadsIt("ends inside the armor headers")
        if lines[i] == b"":
            i += 1
            break
        if lines[i].startswith(b"-"):
            raise NotAsAptReadsIt("an armor header line starts with '-': apt refuses it")
        i += 1
    message = []
    while True:
        if i >= len(lines):
            raise NotAsAptReadsIt("no signature after the signed message")
        line = lines[i]
        i += 1
        if line.startswith(b"-"):
            if line == BEGIN_SIGNATURE:
                break
            if not line.startswith(b"- "):
                raise NotAsAptReadsIt("a line of the signed message starts with '-' without being "
                                      "dash-escaped: apt refuses it")
            line = line[2:]
        message.append(line)
    signature = [BEGIN_SIGNATURE]
    open_signature = True
    for line in lines[i:]:
        if open_signature:
            if line == END_SIGNATURE:
                open_signature = False
            elif line.startswith(b"-"):
                raise NotAsAptReadsIt("a line of the signature starts with '-': apt refuses it")
        elif line == BEGIN_SIGNATURE:
            open_signature = True
        else:
            raise NotAsAptReadsIt("unsigned text after the signature: apt refuses it (contains unsigned lines)")
        signature.append(line)
    if open_signature:
        raise NotAsAptReadsIt("the signature is not closed")
    return b"\n".join(message), b"\n".join(signature) + b"\n"


def canonical(text: bytes) -> bytes:
    """A plain file (Release) in the form split() gives the signed message, for comparing the two."""
    return b"\n".join(_lines(text))

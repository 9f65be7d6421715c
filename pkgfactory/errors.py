"""The one exception type users see.

Every expected failure (bad input, missing tool, unknown target) raises
PkgfError with a message that fits on one line; the CLI prints it and exits
with ``exit_code``. Anything else is a bug and is reported as such.
"""


class PkgfError(Exception):
    """``code`` names the kind of failure in ``--json`` errors (``{"error": {"code": ...}}``)."""

    exit_code = 2
    code = "error"

    def __init__(self, message: str, exit_code: int | None = None, code: str | None = None):
        # Collapse newlines: a multi-line message breaks the one-line contract
        # that scripts grepping our stderr rely on.
        super().__init__(" ".join(str(message).split()))
        if exit_code is not None:
            self.exit_code = exit_code
        if code is not None:
            self.code = code


class InputError(PkgfError):
    """The user gave us something we cannot use (file, value, option)."""

    code = "bad-input"


def not_utf8(label, e: UnicodeDecodeError) -> InputError:
    """The one wording for a file of ours (project, profile, config) that is not UTF-8 text."""
    return InputError(f"{label}: not UTF-8 text (byte {e.start})")

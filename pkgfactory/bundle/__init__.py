"""The offline bundle: layout, installer script, archive."""

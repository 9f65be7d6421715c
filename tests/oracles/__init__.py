"""Reference rpm releases the rpm targets really run, as container images (see build.py)."""

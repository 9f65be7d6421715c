import sys
from pathlib import Path

# Test helpers (gobuild, fixtures_*) are plain modules next to the tests.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [
    "fixtures_go",
    "fixtures_images",  # container_engine, debian_image (container images section)
]

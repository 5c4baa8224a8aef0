"""Size of what `make build` produced (sam build, then compiled): the layer and each function, unzipped and zipped."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

from local import runtime, template


def _sizes(directory: Path) -> dict[str, Any]:
    unzipped = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(directory):
            for name in sorted(files):
                path = Path(root) / name
                unzipped += path.stat().st_size
                archive.write(path, path.relative_to(directory))
    return {"unzipped_bytes": unzipped, "zipped_bytes": len(buffer.getvalue())}


def measure() -> dict[str, Any]:
    built = {"SharedLayer": runtime.BUILD_DIR / "SharedLayer"}
    for logical_id in template.functions(template.cached()):
        built[logical_id] = runtime.BUILD_DIR / logical_id
    return {name: _sizes(path) for name, path in built.items()}

"""Write static/js/catalogue.js from the engine's command and event catalogues (simulator/catalogue.py).

.venv/bin/python scripts/generate_catalogue_js.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.catalogue import JS_PATH, javascript_module  # noqa: E402

if __name__ == "__main__":
    (ROOT / JS_PATH).write_text(javascript_module(), encoding="utf-8")
    print(f"wrote {JS_PATH}")

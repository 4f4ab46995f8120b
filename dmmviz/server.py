"""The server entry point: `python -m dmmviz.server [daphne options]` runs Daphne on dmmviz.asgi:application.

The process tuning lives here, not in a module that tests or management commands import, and only when
settings.DMMVIZ_PROCESS_TUNING is on (the default; DMMVIZ_PROCESS_TUNING=0 turns it off). Both are for the tail of
the websocket latency (the p99 of bench/ws.py):
- What exists once the application is loaded (Django, Daphne, the engine's modules) lives as long as the process.
  gc.freeze() leaves it out of the garbage collector's full passes, which otherwise walk it again each time and stall
  every socket of the process for tens of milliseconds.
- Saves run in Django's database thread (dmmviz/web/batching.py), which needs the interpreter lock a few times per
  trip. While the event loop is busy, each time it would wait out the switch interval (5 ms by default). At 0.5 ms
  the loop lets go sooner.
"""

from __future__ import annotations

import gc
import os
import sys

APPLICATION = "dmmviz.asgi:application"


def tune_process() -> bool:
    """Apply the process tuning if the settings ask for it; True if applied. Call after the application is loaded."""
    from django.conf import settings

    if not getattr(settings, "DMMVIZ_PROCESS_TUNING", False):
        return False
    gc.freeze()
    sys.setswitchinterval(0.0005)
    return True


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")
    from daphne.cli import CommandLineInterface

    import dmmviz.asgi  # noqa: F401  (load everything first, so that gc.freeze() covers it)

    tune_process()
    args = list(sys.argv[1:] if argv is None else argv)
    CommandLineInterface().run([*args, APPLICATION])


if __name__ == "__main__":
    main()

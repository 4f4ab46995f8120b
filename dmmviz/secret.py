"""The secret key Django signs cookies with: never a public default.

Where it comes from, first match wins:
1. the environment variable DMMVIZ_SECRET_KEY (a real deployment's secret store);
2. the key file, DMMVIZ_SECRET_KEY_FILE or ``.secret_key`` in the project directory (gitignored), made on first use
   (`make setup` / `make run`, or the first start) with 50 random bytes' worth of characters and file mode 0600.
If the file cannot be written, settings fall back to a known default and the system check ``dmmviz.E001`` (run by
`manage.py migrate`, `check` and `make run`) refuses to go on, naming what to set.

`python -m dmmviz.secret` makes the file if it is missing and prints its path (the Makefile's setup rule runs it).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Keys that are public (this repository's history, deploy/env.example's placeholder): never sign with one.
KNOWN_DEFAULTS = frozenset({"dmmviz-local-only-not-secret", "django-insecure-dmmviz", "change-me", ""})
FALLBACK = "dmmviz-local-only-not-secret"


def key_file() -> Path:
    return Path(os.environ.get("DMMVIZ_SECRET_KEY_FILE") or BASE_DIR / ".secret_key")


def ensure_key_file(path: Path | None = None) -> Path:
    """Create the key file (mode 0600) if it does not exist; safe when several processes start at once."""
    path = path or key_file()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(tmp, path)  # atomic and never overwrites: the first process to get here wins
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path


def secret_key() -> str:
    """The key to sign with (see the module docstring); FALLBACK only when no file can be made."""
    from_env = os.environ.get("DMMVIZ_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    try:
        return ensure_key_file().read_text(encoding="utf-8").strip() or FALLBACK
    except OSError:
        return FALLBACK


def check_secret_key(app_configs: object = None, **kwargs: object) -> list:
    """System check: a known, public key signs nothing (registered in dmmviz/web/apps.py)."""
    from django.conf import settings
    from django.core.checks import Error

    if settings.SECRET_KEY in KNOWN_DEFAULTS or len(settings.SECRET_KEY) < 32:
        return [Error(
            "SECRET_KEY is a public default (or shorter than 32 characters): anyone could forge this site's cookies.",
            hint=f"Set DMMVIZ_SECRET_KEY, or let `make setup` create {key_file()} (mode 0600); see docs/security.md.",
            id="dmmviz.E001",
        )]
    return []


def refuse_public_key() -> None:
    """For server entry points that run no system checks (asgi.py): stop at start rather than sign with a public key."""
    from django.core.exceptions import ImproperlyConfigured

    problems = check_secret_key()
    if problems:
        raise ImproperlyConfigured(f"{problems[0].msg} {problems[0].hint}")


if __name__ == "__main__":
    if os.environ.get("DMMVIZ_SECRET_KEY", "").strip():
        print("secret key: from DMMVIZ_SECRET_KEY")
    else:
        made = not key_file().exists()
        where = ensure_key_file()
        print(f"secret key: {where}{' (new, mode 0600)' if made else ''}")
    sys.exit(0)

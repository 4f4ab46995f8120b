"""`manage.py expire_uploads`: delete anonymous scenario uploads older than DMMVIZ_UPLOAD_TTL_DAYS (default 7).

An upload by a visitor who is not logged in is tied to their browser session; once that is long gone nobody can see,
rename or delete it, so it goes. Uploads by an account, published ones and built-in ones stay. Sessions started from
an expired upload keep their own copy of the scenario. `make run` runs this at start; run it from cron on a server.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from dmmviz.web.models import Scenario


def expired_uploads(now: Any = None) -> Any:
    cutoff = (now or timezone.now()) - timedelta(days=settings.DMMVIZ_UPLOAD_TTL_DAYS)
    # owner_key set: uploaded from a browser without an account (rows made by scripts have neither owner nor key)
    return Scenario.objects.filter(builtin=False, public=False, owner=None, created__lt=cutoff).exclude(owner_key="")


class Command(BaseCommand):
    help = "Delete anonymous scenario uploads older than DMMVIZ_UPLOAD_TTL_DAYS days."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only say how many would go")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        old = expired_uploads()
        count = old.count()
        if not dry_run:
            old.delete()
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} anonymous upload{'s' if count != 1 else ''} older than "
                          f"{settings.DMMVIZ_UPLOAD_TTL_DAYS} days")

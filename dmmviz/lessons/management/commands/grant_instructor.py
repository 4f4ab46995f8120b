"""`manage.py grant_instructor USER [--revoke] [--create]`: make a user an instructor (or stop them being one).

An instructor is a member of the "instructors" group: they create lessons and change the ones they own, in the pages
and in the admin (so they are also made staff; the admin shows them only their own lessons).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dmmviz.lessons.permissions import INSTRUCTORS, ensure_instructors_group


class Command(BaseCommand):
    help = "Add a user to the instructors group (and make them staff, for the admin)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="remove the user from the instructors group")
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the user first if missing (asks no password: set one with changepassword)",
        )

    def handle(self, *args: Any, username: str, revoke: bool = False, create: bool = False, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            if not create:
                raise CommandError(
                    f"no user {username!r} (create it with createsuperuser, the sign-up page, or --create)"
                ) from None
            user = User.objects.create_user(username=username)
            self.stdout.write(
                f"created user {username!r} with no usable password; set one with: manage.py changepassword {username}"
            )
        group = ensure_instructors_group()
        if revoke:
            user.groups.remove(group)
            if not user.is_superuser:
                user.is_staff = False
                user.save(update_fields=["is_staff"])
            self.stdout.write(f"{username} is no longer an instructor")
            return
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        self.stdout.write(f"{username} is now an instructor (group {INSTRUCTORS!r})")

from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "dmmviz.lessons"
    label = "lessons"
    verbose_name = "Lessons"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from dmmviz import access

        from .permissions import ensure_instructors_group, session_claims

        # The one ownership rule for sessions (dmmviz/access.py) learns who owns the sessions this app makes.
        access.register_claims(session_claims)

        # The "instructors" group exists (with its lesson permissions) as soon as the tables do, so an administrator
        # can grant the role in the admin without running a command first.
        post_migrate.connect(ensure_instructors_group, sender=self)

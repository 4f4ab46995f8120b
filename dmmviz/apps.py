"""The project itself as an app: site-wide checks that belong to no one feature.

INSTALLED_APPS names it "dmmviz.apps.SiteConfig".
"""

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "dmmviz"
    label = "dmmviz_site"
    verbose_name = "dmmviz: site"

    def ready(self) -> None:
        from django.core import checks

        from .secret import check_secret_key

        # A public signing key fails `manage.py check`, `migrate` and so `make run` (docs/security.md).
        checks.register(check_secret_key, checks.Tags.security)

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dmmviz.web"
    label = "web"
    verbose_name = "dmmviz: scenarios and sessions"

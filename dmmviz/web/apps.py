from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dmmviz.web"
    label = "web"
    verbose_name = "dmmviz: scenarios and sessions"

    def ready(self) -> None:
        # The per-process state of the websocket side (locks, tabs, presence, live cache): one object, made here.
        from . import live, process

        state = process.ProcessState.from_settings()
        process.install(state)
        live.cache = state.cache

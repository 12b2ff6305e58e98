from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tongxin.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from tongxin.core import crypto, jobs

        crypto.self_test()
        jobs.connect_failure_recording()

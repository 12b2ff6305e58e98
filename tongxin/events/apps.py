from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "tongxin.events"
    label = "events"
    verbose_name = "事件诉求"

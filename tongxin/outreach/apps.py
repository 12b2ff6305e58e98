from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "tongxin.outreach"
    label = "outreach"
    verbose_name = "服务群众"

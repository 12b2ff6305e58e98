from django.apps import AppConfig


class CobuildConfig(AppConfig):
    name = "tongxin.cobuild"
    label = "cobuild"
    verbose_name = "共驻共建"

"""Password rules Django lacks: 3 of the 4 character classes (SECURITY.md 2, 等保 §8.1.4.1a)."""

from __future__ import annotations

import string

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_CLASSES = (
    lambda c: c in string.ascii_uppercase,
    lambda c: c in string.ascii_lowercase,
    lambda c: c in string.digits,
    lambda c: not c.isalnum(),
)


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        present = sum(1 for test in _CLASSES if any(test(c) for c in password))
        if present < self.min_classes:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、特殊符号中的至少 %(n)d 类。"),
                code="password_too_simple",
                params={"n": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、特殊符号中的至少 %(n)d 类。") % {
            "n": self.min_classes
        }


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's length rule with a Chinese message.

    Django 5.2 changed this message's msgid and its zh-Hans catalogue still carries the old one,
    so the stock validator answers Chinese users in English.
    """

    def get_error_message(self) -> str:
        return _("密码太短，至少需要 %(n)d 个字符。") % {"n": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要 %(n)d 个字符。") % {"n": self.min_length}

"""Small helpers for people templates."""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core.scoping import has_role
from tongxin.people.rules import PEOPLE_ROLES

register = template.Library()


@register.filter
def people_staff(user: Any) -> bool:
    """Does the user hold a territorial people role (sees households, buildings, counts)?"""
    return has_role(user, PEOPLE_ROLES)


@register.filter
def age_on(person: Any, day: Any) -> int | None:
    return person.age_on(day)


@register.filter
def get_item(mapping: dict, key: str) -> Any:
    return mapping.get(key)

"""Small display helpers of the outreach pages."""

from __future__ import annotations

from django import template

register = template.Library()

# State code → Bootstrap colour; the codes of all four workflows are distinct enough to share.
_COLOURS = {
    "pending": "warning",
    "declined": "secondary",
    "withdrawn": "secondary",
    "open": "primary",
    "claimed": "info",
    "fulfilled": "warning",
    "confirmed": "success",
    "placed": "primary",
    "taken": "info",
    "done": "warning",
    "rated": "success",
    "cancelled": "secondary",
    "signed_up": "primary",
    "checked_in": "info",
    "completed": "success",
    "approved": "success",
    "rejected": "secondary",
}


@register.filter
def state_colour(state: str) -> str:
    return _COLOURS.get(state, "light")


@register.filter
def masked(name: str) -> str:
    from tongxin.outreach.selectors import mask_name

    return mask_name(name)


@register.filter
def distance(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{round(metres)} m"


@register.filter
def action_label(action: str) -> str:
    """A history row's action in words (the row stores the code)."""
    from tongxin.outreach.models import HoursClaimAction, OrderAction, SignupAction, WishAction

    for choices in (WishAction, OrderAction, SignupAction, HoursClaimAction):
        if action in choices.values:
            return str(choices(action).label)
    return action

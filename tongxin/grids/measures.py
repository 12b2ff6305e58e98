"""Measures the grid map can colour grids by, pluggable by other apps.

A measure is a key, a label and a function from a list of grid ids (OrgNode ids, already limited
to what the user may see) to `{grid id: number}`; grids missing from the answer count as 0.
The function must run a fixed number of queries whatever the number of grids.

Another app registers its own from its AppConfig.ready(), e.g. the events app:

    from tongxin.grids.measures import register_measure
    register_measure("events_open", _("未办结事件"), open_event_counts, order=40)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MeasureFn = Callable[[list[int]], dict[int, float]]


@dataclass(frozen=True)
class Measure:
    key: str
    label: str | Promise
    fn: MeasureFn
    unit: str | Promise = ""
    order: int = 100


_REGISTRY: dict[str, Measure] = {}


def register_measure(
    key: str,
    label: str | Promise,
    fn: MeasureFn,
    *,
    unit: str | Promise = "",
    order: int = 100,
) -> None:
    """Add (or replace, for reloads) a measure; `key` goes in URLs, so keep it a slug."""
    if not key.replace("_", "").isalnum():
        raise ValueError(f"measure key must be a slug: {key!r}")
    _REGISTRY[key] = Measure(key=key, label=label, fn=fn, unit=unit, order=order)


def unregister_measure(key: str) -> None:
    _REGISTRY.pop(key, None)


def measures() -> list[Measure]:
    return sorted(_REGISTRY.values(), key=lambda m: (m.order, m.key))


def get_measure(key: str) -> Measure | None:
    return _REGISTRY.get(key)


DEFAULT_MEASURE = "households"


def measure_values(key: str, grid_ids: Iterable[int]) -> dict[int, float]:
    measure = _REGISTRY[key]
    ids = sorted({int(i) for i in grid_ids})
    if not ids:
        return {}
    values = measure.fn(ids)
    return {int(k): v for k, v in values.items() if int(k) in set(ids)}


# ---------------------------------------------------------------------------------------------
# built-in measures


def _figure(name: str) -> MeasureFn:
    def compute(ids: list[int]) -> dict[int, float]:
        from tongxin.grids.selectors import figures_for

        return {pk: getattr(f, name) for pk, f in figures_for(ids).items()}

    return compute


def _visits_last_30_days(ids: list[int]) -> dict[int, float]:
    from tongxin.grids.models import Visit

    since = timezone.localdate() - timedelta(days=30)
    rows = (
        Visit.objects.filter(node_id__in=ids, visited_on__gte=since)
        .order_by()
        .values_list("node_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def _open_follow_ups(ids: list[int]) -> dict[int, float]:
    from tongxin.grids.models import FollowUp, FollowUpStatus

    rows = (
        FollowUp.objects.filter(visit__node_id__in=ids)
        .filter(Q(status=FollowUpStatus.OPEN))
        .order_by()
        .values_list("visit__node_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


register_measure("households", _("户数"), _figure("households"), unit=_("户"), order=10)
register_measure("population", _("人口"), _figure("population"), unit=_("人"), order=20)
register_measure("members", _("党员"), _figure("members"), unit=_("名"), order=30)
register_measure("visits_30d", _("近30天走访"), _visits_last_30_days, unit=_("次"), order=60)
register_measure("follow_ups_open", _("待办跟进事项"), _open_follow_ups, unit=_("项"), order=70)

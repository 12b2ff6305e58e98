"""`make bench`: each figure is a ratio against a floor measured in the same run.

Absolute times depend on the machine; ratios against a bare baseline on the same database in the
same process do not, so they can be compared between runs and machines. Results are printed and
written to bench/out/results.json.

1. audit append: `audit()` (SM3 chain, lock, JSON) per write vs a bare ORM INSERT of a row of the
   same width — what tamper-evidence costs each service write.
2. scoped org list: GET /api/v1/orgs/ as a street admin (scope filter, serializer, pagination)
   vs a bare Django view returning the same page of rows with one query.
3. subtree query: all nodes under a street by materialized-path prefix vs the same set found by
   walking parent links level by level (what a plain adjacency list would need).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TONGXIN_DATA_DIR", tempfile.mkdtemp(prefix="tongxin-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
os.environ["TONGXIN_JOBS_IMMEDIATE"] = "1"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from tongxin.accounts.models import User  # noqa: E402
from tongxin.core.audit import audit  # noqa: E402
from tongxin.core.models import JobFailure  # noqa: E402
from tongxin.orgs.models import Level, OrgNode  # noqa: E402


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over `repeat` calls, after a short warm-up."""
    for _ in range(min(20, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_audit_append() -> dict[str, float]:
    def one_audit() -> None:
        with transaction.atomic():
            audit(actor=None, username="bench", action="bench.write", changes={"n": 1})

    def one_insert() -> None:
        with transaction.atomic():
            JobFailure.objects.create(task_name="bench.write", task_id="1", error="{}")

    audited = per_call(one_audit, 500)
    bare = per_call(one_insert, 500)
    return {"audit_append_s": audited, "bare_insert_s": bare, "ratio": audited / bare}


def _bare_org_page(request):
    rows = list(
        OrgNode.objects.order_by("path").values("id", "name", "level", "path", "parent_id")[:50]
    )
    return JsonResponse({"results": rows})


urlpatterns = [path("bare/orgs/", _bare_org_page)]


def bench_org_list(user: User) -> dict[str, float]:
    client = Client()
    client.force_login(user)
    scoped = per_call(lambda: client.get("/api/v1/orgs/?page_size=50"), 200)
    with override_settings(ROOT_URLCONF=__name__):
        bare = per_call(lambda: client.get("/bare/orgs/"), 200)
    return {"scoped_list_s": scoped, "bare_view_s": bare, "ratio": scoped / bare}


def _walk_children(root: OrgNode) -> set[int]:
    found: set[int] = {root.pk}
    frontier = [root.pk]
    while frontier:
        frontier = list(OrgNode.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.update(frontier)
    return found


def bench_subtree(street: OrgNode) -> dict[str, float]:
    def by_path() -> set[int]:
        under = OrgNode.objects.filter(path__startswith=street.path)
        return set(under.values_list("pk", flat=True))

    assert by_path() == _walk_children(street)
    prefix = per_call(by_path, 300)
    walk = per_call(lambda: _walk_children(street), 300)
    return {"path_prefix_s": prefix, "parent_walk_s": walk, "ratio": prefix / walk}


def main() -> None:
    call_command("migrate", verbosity=0)
    if not OrgNode.objects.exists():
        call_command("seed_demo", seed=2019, stdout=io.StringIO())
    street_admin = User.objects.get(username="demo_street")
    street = OrgNode.objects.get(level=Level.STREET, name="镇海街道")
    results = {
        "database": connection.vendor,
        "audit_append_vs_bare_insert": bench_audit_append(),
        "scoped_org_list_vs_bare_view": bench_org_list(street_admin),
        "subtree_prefix_vs_parent_walk": bench_subtree(street),
    }
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for name, figures in results.items():
        if isinstance(figures, dict):
            detail = ", ".join(f"{k}={v * 1000:.3f}ms" for k, v in figures.items() if k != "ratio")
            print(f"{name:<34} ratio {figures['ratio']:.2f}   ({detail})")
        else:
            print(f"{name:<34} {figures}")


if __name__ == "__main__":
    main()

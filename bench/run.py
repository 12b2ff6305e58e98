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
4. member import: a 50,000-member .xlsx (bench/generate_members.py: valid, unique ID numbers and
   phones) imported as a street admin through the whole job — upload, read, check every row,
   duplicates against the database, seal ID numbers and phones (SM4-GCM + HMAC-SM3 index),
   commit — vs reading the same file with python-calamine alone. The goal is within 3×. The
   imported members are removed afterwards, so the bench can run again on the same database.

`bench/run.py import` runs only the import benchmark (`--rows N` for another size).
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

sys.path.insert(0, str(ROOT / "bench"))
import generate_members  # noqa: E402


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


def _calamine_read(path: Path) -> float:
    """Seconds to read every cell of the file with python-calamine and nothing else."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    book.close()
    elapsed = time.perf_counter() - start
    assert len(rows) > 1
    return elapsed


class _Phases:
    """Times the phases of one import job by wrapping the functions the job calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)
        seconds = self.seconds

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def bench_member_import(user: User, rows: int = 50_000) -> dict[str, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tongxin.core import import_jobs, imports
    from tongxin.core.models import ImportJob, ImportStatus
    from tongxin.orgs.exports import ancestor_names, name_chain, place_label
    from tongxin.people import services
    from tongxin.people.imports import MemberImporter
    from tongxin.people.models import PartyMember, Person

    grids = list(
        OrgNode.objects.filter(
            path__startswith=OrgNode.objects.get(name="镇海街道").path,
            level=Level.GRID,
            closed_at__isnull=True,
        ).order_by("path")
    )
    names = ancestor_names(g.path for g in grids)
    places = [place_label(name_chain(g.path, names)) for g in grids]
    path = Path(tempfile.mkdtemp(prefix="tongxin-bench-import-")) / "members.xlsx"
    generate_members.write(path, rows, places)
    content = path.read_bytes()

    imports.importers()  # a worker has found the import kinds before its first job
    read = min(_calamine_read(path) for _ in range(3))  # the floor: best of three
    last_person = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_member = PartyMember.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    phases = _Phases()
    phases.wrap(imports, "read_sheet", "read_s")
    phases.wrap(imports, "validate", "check_rows_s")
    phases.wrap(MemberImporter, "existing_values", "duplicates_in_db_s")
    phases.wrap(services, "_match_persons", "seal_and_recheck_s")
    phases.wrap(services, "_save_persons", "insert_persons_s")
    phases.wrap(imports, "commit", "commit_s")
    try:
        start = time.perf_counter()
        job = import_jobs.import_job_create(
            actor=user, kind="members", upload=SimpleUploadedFile("members.xlsx", content)
        )  # TONGXIN_JOBS_IMMEDIATE: the job runs as soon as the upload is committed
        total = time.perf_counter() - start
    finally:
        phases.restore()
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.SUCCEEDED, (job.status, job.message, job.errors[:5])
    assert job.result == {"created": rows}, job.result
    # Leave the database as it was (the audit trail keeps its records: it is append-only).
    # Plain DELETEs: nothing else refers to rows that were created a moment ago.
    with connection.cursor() as cursor:
        for model, last in ((PartyMember, last_member), (Person, last_person)):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id > %s", [last])  # noqa: S608
    path.unlink()
    parts = phases.seconds
    # The validation figure includes its database duplicate check; the commit includes sealing.
    return {
        "rows": rows,
        "import_job_s": total,
        "calamine_read_s": read,
        **{k: parts.get(k, 0.0) for k in sorted(parts)},
        "other_s": total
        - parts.get("read_s", 0)
        - parts.get("check_rows_s", 0)
        - parts.get("commit_s", 0),
        "ratio": total / read,
    }


def _print(name: str, figures: object) -> None:
    if not isinstance(figures, dict):
        print(f"{name:<34} {figures}")
        return
    detail = ", ".join(
        f"{k}={v:.0f}" if k == "rows" else f"{k}={v * 1000:.3f}ms"
        for k, v in figures.items()
        if k != "ratio"
    )
    print(f"{name:<34} ratio {figures['ratio']:.2f}   ({detail})")


def main(argv: list[str]) -> None:
    call_command("migrate", verbosity=0)
    if not OrgNode.objects.exists():
        call_command("seed_demo", seed=2019, stdout=io.StringIO())
    street_admin = User.objects.get(username="demo_street")
    street = OrgNode.objects.get(level=Level.STREET, name="镇海街道")
    only_import = "import" in argv
    rows = int(argv[argv.index("--rows") + 1]) if "--rows" in argv else 50_000
    results: dict[str, object] = {"database": connection.vendor}
    if not only_import:
        results["audit_append_vs_bare_insert"] = bench_audit_append()
        results["scoped_org_list_vs_bare_view"] = bench_org_list(street_admin)
        results["subtree_prefix_vs_parent_walk"] = bench_subtree(street)
    # As a worker runs it in production: with DEBUG on, Django keeps every statement and its
    # parameters (tens of thousands per import) in memory, which is not what is measured here.
    with override_settings(DEBUG=False):
        results["member_import_vs_calamine_read"] = bench_member_import(street_admin, rows)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    name = "results.json" if not only_import else "results-import.json"
    (out / name).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for key, figures in results.items():
        _print(key, figures)


if __name__ == "__main__":
    main(sys.argv[1:])

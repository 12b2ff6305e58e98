"""Import jobs: upload → background check → all-or-nothing commit, with progress and audit.

Every import runs as a huey job, small ones too, so pages and API clients see one behaviour:
the upload answers at once with a job, whose status and progress they poll.

    pending ──► validating ──► committing ──► succeeded
                    │               └──────► error              (nothing written)
                    └──► failed_validation / error              (nothing written)

- The upload is checked synchronously (extension, size, that it is really an .xlsx archive and
  not a zip bomb); the job then reads, checks every row (`processed_rows` advances every N
  rows), and either commits everything in one transaction or stores the error report.
- A job is claimed by a conditional UPDATE from `pending`, so running the task twice (a retry, a
  duplicate enqueue) never imports twice.
- The uploaded file is deleted when the job finishes, whatever the outcome (SECURITY.md 15);
  the error report holds row, column and message only, never cell values.
- Audit: `core.import.upload`, `core.import.commit` (rows created) in the commit's transaction,
  `core.import.failed_validation` (error count). Only the job's creator ever sees a job.
"""

from __future__ import annotations

import logging
import uuid
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import imports
from tongxin.core.audit import audit
from tongxin.core.models import AuditOutcome, ImportJob, ImportStatus

logger = logging.getLogger(__name__)

STORED_ERRORS = 200  # the first errors kept on the job for pages and the API
DEFAULT_PROGRESS_EVERY = 500
DEFAULT_STALE_HOURS = 6
DEFAULT_RETENTION_DAYS = 30
# An .xlsx is a zip of XML; text compresses ~10×, so 25× the upload limit is generous for real
# files and still refuses a zip bomb before calamine inflates it.
UNCOMPRESSED_FACTOR = 25


def progress_every() -> int:
    return max(1, int(getattr(settings, "IMPORT_PROGRESS_EVERY", DEFAULT_PROGRESS_EVERY)))


# ---------------------------------------------------------------------------------------------
# selectors


def import_jobs_for(user: Any) -> QuerySet[ImportJob]:
    """The user's own jobs: an import's rows and errors are nobody else's business."""
    if user is None or not user.is_authenticated:
        return ImportJob.objects.none()
    return ImportJob.objects.filter(created_by=user).order_by("-created_at", "-id")


def get_import_job_for_user(user: Any, pk: Any) -> ImportJob:
    """The job, or 404 for anyone but its creator (the same answer as "does not exist")."""
    try:
        found = import_jobs_for(user).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404
    return found


def get_importer_for_user(user: Any, kind: str) -> imports.Importer:
    """The importer of `kind` for this user: 404 for an unknown kind, 403 if not theirs to use."""
    importer_class = imports.get_importer(kind)
    if importer_class is None:
        raise Http404
    importer = importer_class(user)
    if not importer.allowed():
        raise PermissionDenied
    return importer


# ---------------------------------------------------------------------------------------------
# upload


def check_upload(upload: UploadedFile | None) -> None:
    """Refuse what is not a plausible .xlsx before it is stored (ValidationError on `file`)."""
    if upload is None:
        raise ValidationError({"file": _("请选择要上传的文件。")})
    name = (upload.name or "").lower()
    if not name.endswith(".xlsx"):
        raise ValidationError(
            {"file": _("请上传 .xlsx 格式的 Excel 文件（.xls、.csv 等格式请先另存为 .xlsx）。")}
        )
    if not upload.size:
        raise ValidationError({"file": _("文件是空的。")})
    limit = imports.max_bytes()
    if upload.size > limit:
        raise ValidationError(
            {"file": _("文件过大：不能超过 %(mb)d MB。") % {"mb": limit // (1024 * 1024)}}
        )
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        names, inflated = set(), 0
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names:
        raise ValidationError(
            {"file": _("该文件不是有效的 .xlsx 文件（已损坏，或设有打开密码）。")}
        )
    if inflated > limit * UNCOMPRESSED_FACTOR:
        raise ValidationError({"file": _("文件解压后过大，无法导入。")})


def import_job_create(*, actor: Any, kind: str, upload: UploadedFile | None) -> ImportJob:
    """Store the upload as a pending job and queue it (after commit). Audited, refusals too."""
    try:
        importer = get_importer_for_user(actor, kind)
    except PermissionDenied:
        audit(
            actor=actor,
            action="core.import.upload",
            outcome=AuditOutcome.DENIED,
            object_type="core.importjob",
            changes={"kind": kind},
        )
        raise
    check_upload(upload)
    assert upload is not None
    original = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
    with transaction.atomic():
        job = ImportJob(
            kind=importer.kind,
            created_by=actor,
            file_name=original,
            file_size=upload.size or 0,
        )
        # A random stored name: the user's file name never becomes a path on the server.
        job.file.save(f"{uuid.uuid4().hex}.xlsx", upload, save=False)
        job.save()
        audit(
            actor=actor,
            action="core.import.upload",
            obj=job,
            changes={"kind": job.kind, "file_name": original, "size": job.file_size},
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from tongxin.core.tasks import import_job_task

    import_job_task(job_id)


# ---------------------------------------------------------------------------------------------
# running


def _claim(job_id: int) -> bool:
    """Move a pending job to validating; False when it was already taken or finished."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.VALIDATING, started_at=timezone.now()
    )
    return claimed == 1


def _set(job: ImportJob, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def _discard_upload(job: ImportJob) -> None:
    if job.file:
        try:
            job.file.delete(save=False)
        except OSError:  # already gone: nothing to keep
            logger.warning("import job %s: upload already removed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def _finish(job: ImportJob, status: str, **fields: Any) -> None:
    _set(job, status=status, finished_at=timezone.now(), **fields)


def _fail_validation(job: ImportJob, issues: list[imports.Issue], total: int) -> None:
    report = imports.error_report_bytes(issues)
    job.error_report.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(report), save=False)
    with transaction.atomic():
        _finish(
            job,
            ImportStatus.FAILED_VALIDATION,
            error_report=job.error_report.name,
            error_count=len(issues),
            errors=[issue.as_dict() for issue in issues[:STORED_ERRORS]],
            total_rows=total,
        )
        audit(
            actor=job.created_by,
            action="core.import.failed_validation",
            obj=job,
            outcome=AuditOutcome.FAILURE,
            changes={"kind": job.kind, "rows": total, "errors": len(issues)},
        )


def run_import_job(job_id: int) -> str | None:
    """Run one job to its end; a job that is not pending is left alone (idempotent).

    Returns the final status, or None when there was nothing to do.
    """
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        _run(job)
    except Exception:
        logger.exception("import job %s failed", job_id)
        _finish(job, ImportStatus.ERROR, message=_("导入过程中发生系统错误，未导入任何数据。"))
        raise  # recorded as a JobFailure for the system administrator (core/jobs.py)
    finally:
        _discard_upload(job)
    return job.status


def _run(job: ImportJob) -> None:
    actor = job.created_by
    importer_class = imports.get_importer(job.kind)
    importer = importer_class(actor) if importer_class else None
    if importer is None or not importer.allowed():
        _finish(job, ImportStatus.ERROR, message=_("您已无权进行此类导入，未导入任何数据。"))
        return
    try:
        sheet = imports.read_sheet(job.file.path, preferred=str(importer.title))
    except imports.FileProblem as problem:
        _fail_validation(job, [imports.Issue(None, "", str(problem))], 0)
        return

    def progress(done: int, total: int) -> None:
        _set(job, processed_rows=done, total_rows=total)

    outcome = imports.validate(importer, sheet, progress=progress, progress_every=progress_every())
    del sheet  # the raw cells are no longer needed; the clean rows are
    if outcome.issues:
        _fail_validation(job, outcome.issues, outcome.total)
        return
    _set(job, status=ImportStatus.COMMITTING, total_rows=outcome.total)
    try:
        with transaction.atomic():
            created = imports.commit(importer, outcome.rows, actor)
            audit(
                actor=actor,
                action="core.import.commit",
                obj=job,
                changes={"kind": job.kind, "rows": outcome.total, "created": created},
            )
            _finish(
                job,
                ImportStatus.SUCCEEDED,
                processed_rows=outcome.total,
                result={"created": created},
            )
    except (IntegrityError, ValidationError, PermissionDenied) as exc:
        # Checked a moment ago, refused now: someone registered the same record or changed the
        # user's rights meanwhile. The transaction rolled back; nothing was written.
        logger.warning("import job %s refused at commit: %r", job.pk, exc)
        message = (
            " ".join(exc.messages)
            if isinstance(exc, ValidationError)
            else _(
                "写入时数据已发生变化（例如他人刚登记了相同的记录），未导入任何数据，请重新上传。"
            )
        )
        _finish(job, ImportStatus.ERROR, message=message[:500])


# ---------------------------------------------------------------------------------------------
# housekeeping


def import_housekeeping(now: Any = None) -> dict[str, int]:
    """Jobs whose worker died are closed as errors; leftover uploads and old reports removed."""
    now = now or timezone.now()
    stale_after = timedelta(hours=getattr(settings, "IMPORT_STALE_HOURS", DEFAULT_STALE_HOURS))
    keep = timedelta(days=getattr(settings, "IMPORT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    stale = ImportJob.objects.filter(
        status__in=[ImportStatus.VALIDATING, ImportStatus.COMMITTING],
        started_at__lt=now - stale_after,
    )
    closed = 0
    for job in stale:
        _finish(job, ImportStatus.ERROR, message=_("导入任务中断，未导入任何数据，请重新上传。"))
        closed += 1
    uploads = 0
    for job in ImportJob.objects.exclude(file="").filter(
        status__in=[ImportStatus.SUCCEEDED, ImportStatus.FAILED_VALIDATION, ImportStatus.ERROR]
    ):
        _discard_upload(job)
        uploads += 1
    reports = 0
    for job in ImportJob.objects.exclude(error_report="").filter(finished_at__lt=now - keep):
        job.error_report.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(error_report="")
        reports += 1
    return {"stale": closed, "uploads": uploads, "reports": reports}

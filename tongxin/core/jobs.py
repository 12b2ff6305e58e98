"""Background-job plumbing: failed jobs are recorded for the system administrator."""

from __future__ import annotations

import logging
from typing import Any

from huey import signals
from huey.contrib.djhuey import HUEY

logger = logging.getLogger(__name__)


def record_failure(signal: str, task: Any, exc: BaseException | None = None) -> None:
    from tongxin.core.models import JobFailure

    JobFailure.objects.create(
        task_name=task.name,
        task_id=str(task.id),
        args_repr=repr((task.args, task.kwargs))[:2000],
        error=f"{type(exc).__name__}: {exc}" if exc else "",
        retries_left=task.retries or 0,
    )
    logger.error("job %s %s failed: %r", task.name, task.id, exc)


def connect_failure_recording() -> None:
    HUEY.signal(signals.SIGNAL_ERROR)(record_failure)

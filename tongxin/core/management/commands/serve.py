"""Serve the site and run one background-job worker beside it (what `make run` starts).

The web server is gunicorn; the worker is huey's consumer with periodic jobs enabled. Stopping
either (or Ctrl-C) stops both, so a half-running installation is never left behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tongxin.demo.accounts import describe_accounts


class Command(BaseCommand):
    help = "Run gunicorn and the huey worker together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, port: int, host: str, web_workers: int, **opts: Any) -> None:
        self._print_welcome(host, port)
        children = [
            subprocess.Popen([sys.executable, "manage.py", "run_huey", "--flush-locks"]),
            subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "tongxin.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(web_workers),
                    "--access-logfile",
                    "-",
                    "--timeout",
                    "120",
                ]
            ),
        ]

        def stop(*_: Any) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop()
            for child in children:
                child.wait(timeout=30)

    def _print_welcome(self, host: str, port: int) -> None:
        self.stdout.write(self.style.SUCCESS(f"同心 Tongxin: http://{host}:{port}/"))
        self.stdout.write(f"API docs: http://{host}:{port}/api/docs/")
        if not settings.PRODUCTION:
            lines = describe_accounts()
            if lines:
                self.stdout.write(f"Demo accounts (password {settings.DEMO_PASSWORD}):")
                self.stdout.write("\n".join(lines))

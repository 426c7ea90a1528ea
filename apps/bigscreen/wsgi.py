"""The gunicorn entry point: ``gunicorn -c apps/bigscreen/gunicorn.conf.py apps.bigscreen.wsgi:server``."""

from __future__ import annotations

from apps.bigscreen.app import create_app

app = create_app()
server = app.server

"""The gunicorn entry point: ``gunicorn -c apps/sso/gunicorn.conf.py apps.sso.wsgi:server``."""

from __future__ import annotations

from apps.sso.app import create_app

app = create_app()
server = app

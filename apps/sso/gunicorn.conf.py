"""gunicorn settings of the sign-in provider: port from SSO_PORT (default 8100), workers from SSO_WORKERS.

Run ``.venv/bin/gunicorn -c apps/sso/gunicorn.conf.py apps.sso.wsgi:server``. The app is not preloaded:
each worker opens its own database connections after the fork (and they share one signing key file).
"""

import os

bind = f"{os.environ.get('SSO_HOST', '127.0.0.1')}:{int(os.environ.get('SSO_PORT', '8100'))}"
workers = max(1, int(os.environ.get("SSO_WORKERS", "2")))
preload_app = False
worker_class = "sync"
timeout = 30
graceful_timeout = 15
keepalive = 5
limit_request_line = 8190
accesslog = "-"
# Authorization codes travel in query strings: log the path only, never the query.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
loglevel = os.environ.get("SSO_LOG_LEVEL", "info")
proc_name = "jinfu-sso"

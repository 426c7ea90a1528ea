"""gunicorn settings of the wall: port from BIGSCREEN_PORT, workers from BIGSCREEN_WORKERS (default 2).

Run ``.venv/bin/gunicorn -c apps/bigscreen/gunicorn.conf.py apps.bigscreen.wsgi:server``. The app is
not preloaded, so each worker opens its own database connections after the fork.
"""

import os

bind = f"{os.environ.get('BIGSCREEN_HOST', '0.0.0.0')}:{int(os.environ.get('BIGSCREEN_PORT', '8050'))}"
workers = max(1, int(os.environ.get("BIGSCREEN_WORKERS", "2")))
preload_app = False
worker_class = "sync"
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("BIGSCREEN_LOG_LEVEL", "info")
proc_name = "jinfu-bigscreen"

"""The wall display (大屏) of the service hall: a full-screen Dash app served by gunicorn."""

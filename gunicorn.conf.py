"""Gunicorn settings for `marketpass serve` and for production (`gunicorn -c gunicorn.conf.py`)."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
# WSGI entry point when gunicorn is started directly.
wsgi_app = "webapp:create_app()"

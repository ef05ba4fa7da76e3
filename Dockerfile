# MarketPass under gunicorn. Data: the bundled snapshot is loaded into the SQLite store on
# first start (a volume at /app/var keeps it); MARKETPASS_SEARCH_URL selects Elasticsearch.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MARKETPASS_DB=/app/var/marketpass.db HOST=0.0.0.0 PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY search ./search
COPY crawlers ./crawlers
COPY webapp ./webapp
COPY translations ./translations
COPY babel.cfg gunicorn.conf.py ./
RUN pip install --no-cache-dir -e . \
    && pybabel -q compile -d translations \
    && useradd --create-home --uid 10001 marketpass \
    && mkdir -p /app/var && chown marketpass /app/var
USER marketpass
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"
CMD ["sh", "-c", "marketpass load-snapshot --if-empty && exec gunicorn -c gunicorn.conf.py"]

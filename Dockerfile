# Sputnik in one container: `python -m bot run` as a non-root user, the shipped history and
# expert views baked in, metrics and /healthz on 9108 (HEALTHCHECK probes it with Python: slim
# images have no curl), the SQLite store on a volume. `make lint` runs hadolint on this file.
#   docker build -t sputnik .
#   docker run -d --name sputnik -e DISCORD_TOKEN -v sputnik-data:/var/lib/sputnik sputnik
# compose.yaml runs it beside Redis (AOF on); deploy/sputnik.service is a systemd unit.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    SPUTNIK_STORE_URL=sqlite:////var/lib/sputnik/sputnik.db \
    SPUTNIK_METRICS_PORT=9108

WORKDIR /app

RUN groupadd --system --gid 10001 sputnik \
    && useradd --system --uid 10001 --gid sputnik --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin sputnik

# Dependencies first (a code change rebuilds only the layers below them).
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY jobs/ jobs/
RUN pip install --no-cache-dir .

# The shipped daily history and the expert views; the live backfill's cache beside them.
COPY data/ data/
RUN mkdir -p /var/lib/sputnik data/history-live \
    && chown sputnik:sputnik /var/lib/sputnik data/history-live

USER 10001:10001
VOLUME ["/var/lib/sputnik"]
EXPOSE 9108

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SPUTNIK_METRICS_PORT', '9108') + '/healthz', timeout=4)"]

# `python -m bot` from /app runs the code in /app/bot (the working directory comes first).
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]

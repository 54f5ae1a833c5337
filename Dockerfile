# The bot as an image: the locked dependencies, the wheel built from this tree, a user
# that is not root. The config is mounted (BOT_CONFIG names it); the SQLite store lives
# on the /data volume (or set DATABASE_URL to PostgreSQL). README "Deploying" has the
# commands.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /deps/requirements.txt
RUN pip install --require-hashes -r /deps/requirements.txt && rm -r /deps
COPY --from=build /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -r /wheels
COPY config.example.toml /etc/bot/config.example.toml
RUN useradd --system --uid 10001 --home-dir /data --create-home bot
USER bot
WORKDIR /data
VOLUME /data
# The relative default store (sqlite:///bot.db) lands on the volume, in WORKDIR.
ENV BOT_CONFIG=/etc/bot/bot.toml \
    PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=4)"
CMD ["python", "-m", "bot", "serve"]

# syntax=docker/dockerfile:1.7
#
# One image for every role of the ANPR hit-stream service; the command picks the role:
#
#   docker run IMAGE ingest    # gateway, :8080
#   docker run IMAGE matcher   # matcher, metrics and health on :9102
#   docker run IMAGE api       # control-room API, :8000
#   docker run IMAGE notify    # webhook deliveries, metrics and health on :9103
#   docker run IMAGE archive   # read archive consumer, metrics and health on :9104
#   docker run IMAGE run       # all of them in one process (embedded bus, no Kafka needed)
#
# Settings come from ANPR_* environment variables (docs/configuration.md). No HEALTHCHECK:
# orchestrators probe GET /healthz (alive) and GET /readyz (ready) on the role's port.
#
#   docker build -t anpr-hitstream .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the project's wheel and the wheels of its dependencies --------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest of the checkout out).
COPY pyproject.toml README.md ./
COPY anpr ./anpr
COPY ingest ./ingest
COPY matcher ./matcher
COPY api ./api
COPY notify ./notify
COPY anpr_cli ./anpr_cli
COPY simulator ./simulator
RUN pip wheel --wheel-dir /wheels .

# ---- runtime: slim Python, the installed wheels, a non-root user ----------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="anpr-hitstream" \
      org.opencontainers.image.description="ANPR hit-stream: gateway, matcher and control-room API (role chosen by command)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ANPR_HOST=0.0.0.0 \
    ANPR_DATA_DIR=/var/lib/anpr

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can check it and volumes can be chowned.
RUN groupadd --system --gid 10001 anpr \
 && useradd --system --uid 10001 --gid anpr --home-dir /var/lib/anpr --no-create-home \
        --shell /usr/sbin/nologin anpr \
 && install -d -o anpr -g anpr -m 0750 /var/lib/anpr

# The wheels are bind-mounted from the build stage, so they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/anpr_hitstream-*.whl \
 && anpr --version

USER 10001:10001
WORKDIR /var/lib/anpr

# gateway, API, matcher (metrics and health)
EXPOSE 8080 8000 9102 9103 9104

# anpr handles SIGTERM itself: it stops every server and the Kafka clients before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["anpr"]
CMD ["run"]

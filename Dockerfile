# syntax=docker/dockerfile:1
# ybgate: multi-stage build, runs the gatekeeper (hot path) as a non-root user.
#   docker build -t ybgate .
#   docker run -p 8000:8000 -e YBGATE_DATABASE_URL=postgresql+asyncpg://... \
#              -e YBGATE_REDIS_URL=redis://... ybgate
# Other processes from the same image: `ybgate serve admin`, `ybgate relay`, `ybgate migrate`.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY csrc ./csrc
COPY app ./app
RUN python -m venv /opt/ybgate && /opt/ybgate/bin/pip install --upgrade pip \
    && /opt/ybgate/bin/pip install .

FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system ybgate && useradd --system --gid ybgate --home-dir /srv/ybgate \
    --create-home ybgate
COPY --from=build /opt/ybgate /opt/ybgate
ENV PATH=/opt/ybgate/bin:$PATH PYTHONUNBUFFERED=1 \
    YBGATE_DECISION_LOG_DIR=/srv/ybgate/decisions
WORKDIR /srv/ybgate
USER ybgate
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["ybgate"]
CMD ["serve", "gatekeeper", "--host", "0.0.0.0", "--port", "8000"]

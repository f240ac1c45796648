# One image for every Lendflow process; the command picks which:
#   lendflow api --skip-migrations | lendflow worker --skip-migrations | lendflow migrate | lendflow simulator
#   lendflow pipeline --skip-migrations --stage validation|trusted|bridge|outbox|housekeeping
# It runs as the unprivileged user 10001 and with a read-only root filesystem: the only places it
# writes are $LENDFLOW_RUN_DIR (/var/lib/lendflow) and /tmp, which Kubernetes mounts as emptyDir
# volumes (infra/helm/lendflow) and compose leaves writable.

# Build stage: the project and its dependencies into a virtual environment, compiled to bytecode
# here since the running container cannot write .pyc files next to the sources.
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/lendflow

WORKDIR /src
COPY pyproject.toml README.md ./
COPY lendflow ./lendflow
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY integrations ./integrations
COPY domain ./domain
COPY storage ./storage
COPY pipeline ./pipeline
COPY simulator ./simulator
RUN /opt/lendflow/bin/pip install . \
    && /opt/lendflow/bin/python -m compileall -q /opt/lendflow/lib

# Runtime stage: the virtual environment only, no build tools, no sources outside it.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/lendflow/bin:$PATH HOME=/tmp \
    LENDFLOW_ENVIRONMENT=production LENDFLOW_RUN_DIR=/var/lib/lendflow

# The contract's fonts (activities/contract_document.py): DejaVu, for the accents of Portuguese.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 lendflow \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lendflow \
    && mkdir -p /var/lib/lendflow \
    && chown 10001:10001 /var/lib/lendflow

COPY --from=build /opt/lendflow /opt/lendflow

USER 10001:10001
WORKDIR /var/lib/lendflow
VOLUME ["/var/lib/lendflow", "/tmp"]

# api 8000, simulator 8090, pipeline metrics and probes 9108, worker metrics 9109 and probes 9110.
EXPOSE 8000 8090 9108 9109 9110
CMD ["lendflow", "api", "--host", "0.0.0.0"]

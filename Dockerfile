# One image for every Lendflow process; the command picks which (`lendflow api`, `lendflow worker`, ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LENDFLOW_ENVIRONMENT=production LENDFLOW_RUN_DIR=/var/lib/lendflow

WORKDIR /app
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
RUN pip install --no-cache-dir . && useradd --system --uid 10001 lendflow \
    && mkdir -p /var/lib/lendflow && chown lendflow /var/lib/lendflow
USER lendflow

EXPOSE 8000 8090
CMD ["lendflow", "api", "--host", "0.0.0.0"]

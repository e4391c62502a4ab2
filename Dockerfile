# One image for web (gunicorn), worker and beat. Build: docker compose build
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir vendor && cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
    node_modules/luxon/build/global/luxon.min.js node_modules/chartjs-adapter-luxon/dist/chartjs-adapter-luxon.umd.min.js vendor/

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/base.txt

COPY . .
COPY --from=assets /assets/vendor/ static/vendor/
RUN pybabel compile --domain=django --directory=locale
# Static files are collected at build time; collectstatic needs only a placeholder configuration.
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    REDIS_URL=redis://build:6379/0 python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 tracker && mkdir -p /app/var && chown tracker /app/var
USER tracker
EXPOSE 8000
# The web process's readiness (it answers and reaches its database). docker-compose.yml gives the worker and
# beat checks of their own; /health/ (everything) is for the monitoring system, /api/v1/ping/ for liveness.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck_http.py", "/health/ready/"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

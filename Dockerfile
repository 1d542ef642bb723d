# One small image for the console and the nodes: `hpo-node` by default, `hpo-console ...` on request.
#
#   docker build -t zmq-hpo .
#   docker run --rm -it --init zmq-hpo hpo-console sample.toml     # the TUI, 2 nodes inside
#   docker run -d --init -v "$PWD/bundle:/keys:ro" zmq-hpo \
#       hpo-node --connect tcp://CONSOLE_HOST:5555 --keys /keys      # a node on another machine
#
# docker-compose.yml runs the whole topology (MinIO, keys, nodes, console) from this one image.
# The user is uid 10001: a bind-mounted key bundle (files mode 0600) must belong to it, or run the
# container with --user set to the files' owner.

ARG PYTHON_VERSION=3.12

# --- build: the package and its dependencies in a venv. Only /opt/venv leaves this stage, so the
# source tree, pip's isolated build environments (setuptools) and any caches stay behind. Every
# dependency ships a wheel, so no compiler is needed here either.
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# pyproject.toml names README.md as the package's long description, so the build needs it.
COPY pyproject.toml README.md constraints.txt ./
COPY console ./console
COPY node ./node
# Not editable: the venv must work on its own once /src is gone. --constraint pins every
# dependency, direct and transitive, to the versions the tests ran with (constraints.txt).
RUN /opt/venv/bin/pip install --no-cache-dir --constraint constraints.txt ".[console]"

# --- runtime: the same Python base (the venv's interpreter links to it), the venv, a user.
FROM python:${PYTHON_VERSION}-slim
LABEL org.opencontainers.image.title="zmq-hpo" \
      org.opencontainers.image.description="Distributed hyperparameter search over ZeroMQ: hpo-console and hpo-node"

# A fixed uid/gid, so files written to volumes (checkpoints, keys) have a predictable owner.
RUN groupadd --system --gid 10001 hpo \
 && useradd --system --uid 10001 --gid hpo --create-home --home-dir /home/hpo --shell /usr/sbin/nologin hpo

COPY --from=build /opt/venv /opt/venv

# PYTHONUNBUFFERED: the headless console's lines reach `docker logs` as they happen.
# PYTHONDONTWRITEBYTECODE: the venv is compiled already and read-only to the user.
# HPO_CACHE_DIR: where nodes keep datasets fetched from the object store.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HPO_CACHE_DIR=/app/cache

# The working folder holds the demo search; the console checkpoints to runs/ (a volume in compose).
# /keys is where compose mounts the CurveZMQ key volume. All three are made here, owned by the user,
# because a fresh named volume takes its owner and mode from the image's folder: the non-root
# user can then write to it. The keys folder is 0700, as `hpo-console keys init` makes it.
WORKDIR /app
COPY sample.toml ./
RUN mkdir -p /app/runs /app/cache /keys \
 && chown hpo:hpo /app/runs /app/cache /keys \
 && chmod 0700 /keys

# Numeric, so a host or Kubernetes (runAsNonRoot) can tell without /etc/passwd that it is not root.
USER 10001:10001

# The console's port: the only one nodes need to reach.
EXPOSE 5555

# Exec form, so no shell sits between the container and the program: `env` looks the command up
# on PATH and exec()s it, leaving the program itself as the container's main process (PID 1, or
# the only child of the init that `docker run --init` / compose's `init: true` adds). SIGTERM from
# `docker stop` therefore reaches hpo-node or hpo-console directly, which hand back or checkpoint
# their trials. The init (rather than one baked in here) reaps the node's trial processes.
# `env` rather than a fixed program keeps one image for both roles: the command names the program
# (`hpo-node`, `hpo-console ...`), as in `docker run IMAGE hpo-node --connect ...`.
ENTRYPOINT ["/usr/bin/env", "--"]
CMD ["hpo-node"]

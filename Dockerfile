# syntax=docker/dockerfile:1
# Multi-stage build: compile with the C libraries samael's `xmlsec` feature needs, run on a
# slim Debian with only their runtime parts, as a non-root user.
#
#   docker build -t idp-sync .
#   docker run -p 8080:8080 -v idp-sync-data:/var/lib/idp-sync idp-sync
#
# Mount your own config at /etc/idp-sync/idp-sync.toml and set IDP_SYNC_CONFIG to it;
# pass secrets as environment variables named by its *_env keys (or files via *_file).

FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config libssl-dev libxml2-dev libxmlsec1-dev libxslt1-dev \
      libclang1-14 libclang-common-14-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
# The bundled SQLite's and jemalloc's build options (see .cargo/config.toml); make builds
# jemalloc.
COPY .cargo .cargo
# Stubs for every target Cargo.toml declares (the manifest must be complete to build).
RUN mkdir -p src benches/idp-sync-bench \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/idp-sync-bench/main.rs \
 && cargo build --release --locked --bin idp-sync \
 && rm -rf src
COPY src src
COPY migrations migrations
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin idp-sync

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libxmlsec1 libxmlsec1-openssl libxml2 libxslt1.1 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/idp-sync --shell /usr/sbin/nologin idp-sync \
 && install -d -o idp-sync -g idp-sync -m 0700 /var/lib/idp-sync
COPY --from=build /src/target/release/idp-sync /usr/local/bin/idp-sync
WORKDIR /opt/idp-sync
COPY config ./config
ENV IDP_SYNC_CONFIG=/opt/idp-sync/config/idp-sync.example.toml \
    IDP_SYNC__SERVER__LISTEN=0.0.0.0:8080 \
    IDP_SYNC__DATABASE__URL=sqlite:///var/lib/idp-sync/idp-sync.db \
    IDP_SYNC_LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2
USER idp-sync
VOLUME ["/var/lib/idp-sync"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/idp-sync"]
CMD ["serve"]

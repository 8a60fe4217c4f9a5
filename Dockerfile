# gonogo in a container: built with the Rust toolchain in one stage, run from a slim Debian
# as a user without privileges. Templates, migrations and fonts are inside the binary.
#   docker build -t gonogo .
#   docker run -v ./gonogo.toml:/etc/gonogo/gonogo.toml:ro -e GONOGO_DISCORD__TOKEN=... gonogo
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gonogo

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/gonogo --create-home gonogo
COPY --from=build /src/target/release/gonogo /usr/local/bin/gonogo
USER gonogo
# The embedded SQLite default lives here; give database.url a postgres:// url for replicas.
WORKDIR /var/lib/gonogo
ENV GONOGO_HTTP__LISTEN=0.0.0.0:8080
EXPOSE 8080
# Liveness only: /healthz also needs the database and, on the leader, Discord.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/livez"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gonogo"]
CMD ["run", "--config", "/etc/gonogo/gonogo.toml"]

# A small image with only the web-messaging-tester binary.
#
#   docker build -t web-messaging-tester .
#   docker run --rm -v "$PWD:/work" web-messaging-tester scripted tests/ --simulate tests/bot.yml
#   docker run --rm -p 4000:4000 -v "$PWD:/work" web-messaging-tester \
#       simulate bot.yml --host 0.0.0.0 --port 4000
#
# Stage 1 builds with the locked dependency versions; stage 2 keeps the binary, the CA
# certificates (reqwest trusts the system store for the Platform API and model providers) and
# an unprivileged user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin web-messaging-tester \
 && strip target/release/web-messaging-tester

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work --shell /usr/sbin/nologin tester
COPY --from=build /src/target/release/web-messaging-tester /usr/local/bin/web-messaging-tester
USER 10001
WORKDIR /work
EXPOSE 4000
ENTRYPOINT ["web-messaging-tester"]
CMD ["--help"]

# attribution-node: build with `docker build -f docker/node.Dockerfile -t attribution-node .` from the
# repository root. Multi-stage: a Rust builder (protoc, wasm target) and a slim runtime image.
FROM rust:1.95-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rustup target add wasm32v1-none && rustup component add rust-src \
    && cargo build --locked --release -p attribution-node --features attribution-runtime/metadata-hash

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 attribution
COPY --from=builder /src/target/release/attribution-node /usr/local/bin/attribution-node
USER attribution
# p2p, RPC, Prometheus
EXPOSE 30333 9944 9615
VOLUME ["/home/attribution/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD curl -sf -H 'Content-Type: application/json' \
    -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' http://127.0.0.1:9944 || exit 1
ENTRYPOINT ["attribution-node", "--base-path", "/home/attribution/data"]
CMD ["--dev", "--rpc-external", "--rpc-cors", "all", "--prometheus-external"]

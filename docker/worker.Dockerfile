# attribution-worker (CPU backend): `docker build -f docker/worker.Dockerfile -t attribution-worker .`
# The worker is its own cargo workspace; it never compiles FRAME. For GPUs build with
# `--build-arg FEATURES=cuda` on a CUDA base image (cudarc loads the driver at run time).
FROM rust:1.95-bookworm AS builder
ARG FEATURES=""
WORKDIR /src
COPY . .
RUN cd worker && cargo build --locked --release --features "${FEATURES}"

FROM debian:bookworm-slim
RUN useradd --create-home --uid 1000 attribution
COPY --from=builder /src/worker/target/release/attribution-worker /usr/local/bin/attribution-worker
USER attribution
WORKDIR /home/attribution
ENTRYPOINT ["attribution-worker"]
CMD ["--help"]

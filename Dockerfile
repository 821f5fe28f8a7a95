# doorman: a static binary on a distroless, non-root base.
#   docker build -t doorman .
#   docker run -p 5000:5000 -e DOORMAN_GOOGLE_CLIENT_ID=... \
#     -v $PWD/whitelist:/etc/doorman:ro -v doorman-keys:/var/lib/doorman doorman
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/doorman . \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/doorman /usr/local/bin/doorman
# The secret file is created here on first start when none is mounted;
# keep it on a volume (or mount a Secret) so sessions survive restarts.
COPY --from=build --chown=65532:65532 /out/state /var/lib/doorman
ENV DOORMAN_LISTEN=0.0.0.0:5000 \
    DOORMAN_WHITELIST=/etc/doorman/whitelist.txt \
    DOORMAN_SECRET_FILE=/var/lib/doorman/doorman.key
VOLUME /var/lib/doorman
EXPOSE 5000
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s CMD ["/usr/local/bin/doorman", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/doorman"]

# doorman: a static binary on a distroless, non-root base (user 65532).
#   docker build --build-arg VERSION=v1.0.0 -t doorman .
#   docker run -d -p 127.0.0.1:5000:5000 \
#     -e DOORMAN_GOOGLE_CLIENT_ID=... -e DOORMAN_COOKIE_DOMAIN=.example.com \
#     -e DOORMAN_PUBLIC_URL=https://auth.example.com \
#     -v /etc/doorman:/etc/doorman:ro -v doorman-keys:/var/lib/doorman doorman
# /etc/doorman on the host is a directory holding whitelist.txt (readable by
# 65532; 0644 does). Mount the directory, not the file, so that edits reach
# doorman. README.md, "Docker", has the whole command.
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

# The worker image: `docker build -t streamsegments .` (used by docker-compose.kafka.yml).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/StreamSegments.Worker -c Release -o /app

# aspnet, not runtime: `run` serves its health probes and Prometheus metrics with Kestrel.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# FASTER state (one directory per task); a volume keeps checkpoints across restarts, so a restore reads only the changelog tail.
VOLUME /var/lib/streamsegments
ENV State__Directory=/var/lib/streamsegments
# /health/live, /health/ready, /metrics
EXPOSE 9464
ENTRYPOINT ["./StreamSegments.Worker"]
CMD ["run"]

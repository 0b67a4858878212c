# The worker image: `docker build -t streamsegments .` (used by docker-compose.kafka.yml).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/StreamSegments.Worker -c Release -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
# FASTER state (one directory per task); a volume keeps checkpoints across restarts, so a restore reads only the changelog tail.
VOLUME /var/lib/streamsegments
ENV State__Directory=/var/lib/streamsegments
ENTRYPOINT ["./StreamSegments.Worker"]
CMD ["run"]

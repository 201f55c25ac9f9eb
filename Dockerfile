# Build stage: compile the TypeScript and the SQLite driver (better-sqlite3 is a native addon).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY card-view ./card-view
# The build also compiles the JSON Schema validators ahead of time (scripts/compile-validators.mjs),
# which reads the policy schemas.
COPY scripts ./scripts
COPY policies ./policies
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies (with the compiled driver), compiled code, the database
# migrations and the policy data only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY src/records/migrations ./src/records/migrations
COPY policies ./policies
COPY config ./config
# The embedded SQLite database (used when DATABASE_URL is unset) lives in DATA_DIR.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
EXPOSE 3000
# The same node flags as `npm start` (package.json); test/start-command.test.ts keeps them equal.
CMD ["node", "--max-semi-space-size=4", "dist/src/server.js"]

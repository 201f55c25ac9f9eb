# Build stage: compile the TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY card-view ./card-view
RUN npm run build

# Runtime stage: production dependencies, compiled code and the policy data only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY policies ./policies
COPY config ./config
USER node
EXPOSE 3000
CMD ["node", "dist/src/server.js"]

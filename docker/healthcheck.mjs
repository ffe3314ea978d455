// Container healthcheck (the slim image has no curl): GET /healthz of the service in this
// container. The service is $SERVICE (set by the entrypoint, or by the container's
// environment); unset, every service's port is tried, since a container runs only one.
const ports = {
  gateway: process.env.GATEWAY_PORT || '3000',
  auth: process.env.AUTH_PORT || '3001',
  event: process.env.EVENT_PORT || '3002',
};
const service = process.env.SERVICE;
const candidates = service && ports[service] ? [ports[service]] : Object.values(ports);
const bind = process.env.HOST;
const host = !bind || bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;

for (const port of candidates) {
  try {
    const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (res.status === 200) process.exit(0);
  } catch {
    // not this port, or not up yet
  }
}
console.error(`healthcheck: no healthy service on ${host} port(s) ${candidates.join(', ')}`);
process.exit(1);

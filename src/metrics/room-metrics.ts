import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the room counts for its operator (GET /v1/metrics, Prometheus text). Labels are names from
 * the policy and the routes (collaborations, datasets, diagnostic codes), never a data value, a key
 * or a principal's identity.
 */
export interface RoomMetrics {
  request(route: string, method: string, status: number, seconds: number): void;
  refused(code: string): void;
  epsilonSpent(collaboration: string, dataset: string, epsilon: number): void;
  groupsSuppressed(collaboration: string, groups: number): void;
  uploaded(collaboration: string, dataset: string, bytes: number): void;
  queryRan(mode: string, seconds: number): void;
  psiSessionOpened(collaboration: string): void;
  render(): Promise<{ contentType: string; text: string }>;
}

/** A registry of its own per room (two rooms in one process, as in tests, never share counters). */
export function prometheusMetrics(): RoomMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cleanroom_process_' });
  const requests = new Counter({
    name: 'cleanroom_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'cleanroom_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'cleanroom_refusals_total',
    help: 'Refused requests by error or diagnostic code',
    labelNames: ['code'],
    registers: [registry],
  });
  const epsilon = new Counter({
    name: 'cleanroom_dp_epsilon_spent_total',
    help: 'Differential-privacy epsilon charged, by collaboration and dataset',
    labelNames: ['collaboration', 'dataset'],
    registers: [registry],
  });
  const suppressed = new Counter({
    name: 'cleanroom_groups_suppressed_total',
    help: 'Result groups withheld for falling under a minimum group size',
    labelNames: ['collaboration'],
    registers: [registry],
  });
  const uploadBytes = new Counter({
    name: 'cleanroom_upload_bytes_total',
    help: 'Plaintext bytes of committed uploads, by collaboration and dataset',
    labelNames: ['collaboration', 'dataset'],
    registers: [registry],
  });
  const queries = new Histogram({
    name: 'cleanroom_query_duration_seconds',
    help: 'Query latency inside the room (plan, run, release), by mode',
    labelNames: ['mode'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const psi = new Counter({
    name: 'cleanroom_psi_sessions_opened_total',
    help: 'PSI sessions opened, by collaboration',
    labelNames: ['collaboration'],
    registers: [registry],
  });
  return {
    request: (route, method, status, seconds) => {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route }, seconds);
    },
    refused: (code) => refusals.inc({ code }),
    epsilonSpent: (collaboration, dataset, value) => epsilon.inc({ collaboration, dataset }, value),
    groupsSuppressed: (collaboration, groups) => suppressed.inc({ collaboration }, groups),
    uploaded: (collaboration, dataset, bytes) => uploadBytes.inc({ collaboration, dataset }, bytes),
    queryRan: (mode, seconds) => queries.observe({ mode }, seconds),
    psiSessionOpened: (collaboration) => psi.inc({ collaboration }),
    render: async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
  };
}

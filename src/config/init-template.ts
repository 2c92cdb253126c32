// The commented cutover.yaml that `cutover init` writes: the keys a first deploy needs set, every
// other key commented out at its default, so the file documents itself and parses as written.
import { parse } from 'yaml';

export interface InitTemplateInput {
  readonly app: string;
  /** The command that starts one instance, e.g. `npm start` or `node server.js`. */
  readonly start: string;
}

export function renderInitTemplate(input: InitTemplateInput): string {
  const app = scalar(input.app);
  const start = scalar(input.start);
  return `# cutover.yaml: how cutover deploys ${input.app}. Keep it in the app's repo: it is sent with
# each deployment, so a config change is part of a release. Every key is documented in
# docs/config.md; a commented-out value is the default. Durations: 500ms, 30s, 2m or 1h.

app: ${app}
# hosts: [${input.app}.example.com]  # Host names routed to the app; none = the catch-all app.

# process: cutover starts and stops the instances. external: you run them yourself.
runtime: process
start: ${start}  # each instance gets its own PORT
# cwd: .  # where start runs, relative to the release directory
instances: 2
# env:  # PORT is set by cutover; secrets are read when an instance starts, never stored
#   NODE_ENV: production
#   DB_PASSWORD: { fromEnv: ${input.app.toUpperCase().replaceAll('-', '_')}_DB_PASSWORD }
#   API_KEY: { fromFile: /etc/${input.app}/api-key }
# stop:  # how an instance is stopped once its color is drained
#   signal: SIGTERM
#   timeout: 10s  # then SIGKILL

# An instance is up after \`rise\` passes in a row and down after \`fall\` failures.
health:
  path: /
  # interval: 1s
  # timeout: 2s  # per check
  # rise: 2
  # fall: 3
  # startTimeout: 30s  # how long new instances have to come up before the deploy is refused

# Checked on the idle color before any user sees it; one failure refuses the release.
smoke:
  - path: /
    status: 200
  # - path: /api/version
  #   method: GET
  #   bodyContains: ok
  #   json: { data.ready: true }
  #   timeout: 5s
  # - command: ./smoke.sh  # gets the idle color's URL in CUTOVER_URL; exit 0 passes
  #   timeout: 60s

# warmup:  # requests sent to the idle color before the flip (off by default)
#   requests: 100  # or duration: 10s
#   paths: [/]
#   concurrency: 4

# switch:
#   drainTimeout: 30s  # in-flight requests of the old color get this long
#   websocketGrace: 10s  # then open WebSockets are closed (1001)
#   probeWindow: 30s  # after the flip, probe the new live color this long
#   probeInterval: 1s
#   probePaths: [/]  # default: the health path
#   failureThreshold: 1%  # an error rate above this flips back
#   autoRollback: true

# standby:
#   rollbackWindow: 10m  # the old color stays warm this long for \`cutover rollback\`
#   after: stop  # or keep

# rto: 1s  # recovery time objective that \`cutover drill\` measures against
# database:  # leave out: no schema steps
#   url: { fromEnv: DATABASE_URL }  # postgres://..., sqlite:<path>, or { fromFile: PATH }
#   env: DATABASE_URL  # the variable the app reads it from
# migrations:
#   dir: migrations/
#   lockTimeout: 5s  # per file; a longer lock wait is retried
#   statementTimeout: 60s
#   retries: 3
#   compat:  # checks of both releases on a migrated shadow copy
#     command: npm test  # gets CUTOVER_DATABASE_URL and DATABASE_URL
#     smoke: true  # also start one instance of each release on the shadow for the smoke checks
#     writes: writes.sql  # the release's INSERT/UPDATE/DELETE, run in a rolled-back transaction
#   contract: auto  # run contract files once the standby is retired; or manual

# strategy: bluegreen  # or canary, rolling (\`cutover deploy --strategy\` overrides it)
# canary:
#   steps:
#     - { weight: 5%, pause: 1m }
#     - { weight: 25%, pause: 1m }
#   analysis:
#     minRequests: 50  # judge a step only after this many canary requests
#     maxErrorRate: 1%
#     maxP99Ratio: 1.5  # canary p99 over live p99
# rolling:
#   batch: 1  # instances replaced at a time (no instant rollback)
#   pause: 10s
# drift:  # a difference from the live release not expected here stops a deployment
#   expect: [env.APP_VERSION]  # snapshot keys meant to differ between releases
#   files: [config/app.json]  # config files the app reads, hashed into the snapshot
#   enforce: true  # false: report drift, never refuse
`;
}

/** Plain when YAML reads it back as the same string; double-quoted (JSON is valid YAML) if not. */
function scalar(value: string): string {
  try {
    if ((parse(`v: ${value}  # c`) as { v?: unknown } | null)?.v === value) return value;
  } catch {
    // Not plain YAML: quote it.
  }
  return JSON.stringify(value);
}

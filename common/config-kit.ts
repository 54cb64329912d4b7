// The building blocks of the configuration schemas (broker/config.ts, agent/config.ts,
// ingestor/config.ts): zod/mini, the same engine as zod with a functional API, so only the
// parts used end up in the agent's Pi bundle (the full zod was a third of the file and ~10 MB
// of memory). Import zod/mini as a namespace in each schema file, never re-exported from
// here: esbuild cannot tree-shake a re-exported namespace and would bundle all of zod.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// English messages ("expected number, received string"); zod/mini loads no locale by itself.
z.config(en());

export const port = z.number().check(z.int(), z.minimum(0), z.maximum(65535));
export const positiveInt = z.number().check(z.int(), z.positive());
export const nonNegativeInt = z.number().check(z.int(), z.minimum(0));
export const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
/** Hostname or glob (* and ?) of allowed MQTT usernames. */
export const hostPattern = z.string().check(z.regex(/^[A-Za-z0-9_.*?-]+$/, 'must be a hostname or a glob of one (letters, digits, . _ - * ?)'));
export const hostname = z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/, 'must be a hostname (letters, digits, . _ -)'));
export const def = z._default;
export const opt = z.optional;


/**
 * `<service>.metrics` of the broker and the ingestor (README "Self-metrics"): /metrics,
 * /healthz and /readyz over HTTP, off unless enabled (`machmon up` turns them on), on
 * loopback unless told otherwise.
 */
export const metricsSchema = (defaultPort: number) =>
  z.prefault(
    z.strictObject({
      enabled: def(z.boolean(), false),
      host: def(nonEmpty, '127.0.0.1'),
      port: def(port, defaultPort),
    }),
    {},
  );

// The coded errors of Machmon. Every code is listed in ERROR_CODES with what it means;
// a test checks that the README documents each one.

export const ERROR_CODES = {
  CONFIG_INVALID: 'The configuration (file or MACHMON_* environment) does not fit the schema; the message names the key.',
  CONFIG_UNREADABLE: 'The configuration file cannot be read or is not valid JSON.',
  PAYLOAD_INVALID: 'An MQTT payload is not a valid protobuf message of the metric its topic names, or its values are out of range.',
  TOPIC_INVALID: 'An MQTT topic is not machmon/<hostname>/<metric> with a known metric.',
  SENSOR_UNREADABLE: 'A sysfs or procfs file the agent reads is missing or malformed.',
  INFLUX_UNAVAILABLE: 'InfluxDB did not answer or answered 5xx/429; the write is retried with backoff.',
  INFLUX_REJECTED: 'InfluxDB refused points for their content (HTTP 400); they are logged, counted and not retried.',
  INFLUXD_FAILED: 'machmon up could not use its own InfluxDB: something that is not InfluxDB answers on influxd.port, or influxd did not start.',
  BROKER_START_FAILED: 'The broker cannot listen on a configured port (in use, no permission) or open its session store under broker.dataDir (another broker uses it).',
  METRICS_START_FAILED: 'The broker or the ingestor cannot serve its self-metrics on <service>.metrics.host and port (in use, no permission).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MachmonError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ConfigError extends MachmonError {
  constructor(message: string, options?: { cause?: unknown; code?: 'CONFIG_INVALID' | 'CONFIG_UNREADABLE' }) {
    super(options?.code ?? 'CONFIG_INVALID', message, options);
  }
}

export class PayloadError extends MachmonError {
  /** Short machine-readable reason, used as the label of the rejection counter. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown; code?: 'PAYLOAD_INVALID' | 'TOPIC_INVALID' }) {
    super(options?.code ?? 'PAYLOAD_INVALID', message, options);
    this.reason = reason;
  }
}

export class SensorError extends MachmonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SENSOR_UNREADABLE', message, options);
  }
}

/** Short text of an error for a log line: its errno code (ENOENT, EACCES...) when it has one, else its message. */
export const errText = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));

// Why the broker turned something away, counted per reason on the broker object (read by
// tests, /metrics and the MachmonBroker points: broker/metrics.ts).
import type { Client } from 'aedes';

export const REFUSAL_REASONS = [
  /** CONNACK 4: no password or an empty one. */
  'empty_password',
  /** CONNACK 4: the password is neither the fleet's, nor the readers', nor this username's host key. */
  'bad_password',
  /** CONNACK 4: right password but no username. */
  'no_username',
  /** CONNACK 5: the username is not a hostname (wildcards, '/', spaces...). */
  'bad_username',
  /** CONNACK 5: neither in allowedHosts nor a reader. */
  'host_not_allowed',
  /** CONNACK 5: the username is in broker.revokedHosts. */
  'host_revoked',
  /** CONNACK 5: a reader's username with the fleet password or a host key (an agent's secret). */
  'agent_credential_for_reader',
  /** CONNACK 5: a host's username with the reader password. */
  'reader_credential_for_agent',
  /** CONNACK 5: Home Assistant's username with another secret than broker.homeAssistant.password. */
  'wrong_credential_for_home_assistant',
  /** CONNACK 5: broker.homeAssistant.password with another username than Home Assistant's. */
  'home_assistant_credential_for_other',
  /** CONNACK 5: the fleet password, but broker.auth is hostKeys. */
  'fleet_password_disabled',
  /** CONNACK 5: a host key, but broker.auth is fleetPassword. */
  'host_keys_disabled',
  /** CONNACK 5: a username other than the CN of the client certificate. */
  'cert_name_mismatch',
  /** CONNACK 5: the Last Will's topic is one this client may not publish to. */
  'will_not_allowed',
  /** CONNACK 2: a client of another username is connected with this client id. */
  'client_id_in_use',
  /** Too many refusals waiting out their delay: the connection is dropped without CONNACK. */
  'too_many_pending',
  'publish_denied',
  'subscribe_denied',
  /** A packet declared (or a PUBLISH carried) more than maxPayloadBytes. */
  'payload_too_large',
  'malformed_packet',
  /** No CONNECT within connectTimeoutMs. */
  'connect_timeout',
  /** More than maxOutgoingBufferBytes waiting to be sent to the client. */
  'slow_consumer',
  /** A connected client whose login the reloaded config no longer admits (revoked, no longer allowed, another auth mode): disconnected. */
  'dropped_on_reload',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** The reasons that refuse a login (a CONNACK refusal, or no CONNACK at all); the others act on a logged-in client or a connection. */
export const LOGIN_REFUSALS: ReadonlySet<RefusalReason> = new Set<RefusalReason>([
  'empty_password', 'bad_password', 'no_username', 'bad_username', 'host_not_allowed', 'host_revoked',
  'agent_credential_for_reader', 'reader_credential_for_agent', 'fleet_password_disabled', 'host_keys_disabled',
  'cert_name_mismatch', 'will_not_allowed', 'client_id_in_use', 'too_many_pending',
]);
export type Refusals = Record<RefusalReason, number>;

export const newRefusals = (): Refusals => Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Refusals;

/** An error the broker raised on purpose and already logged; the generic client-error log skips it. */
export class RefusedError extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly returnCode?: 2 | 4 | 5,
  ) {
    super(message);
    this.name = 'RefusedError';
  }
}

/** The client's address as its connection saw it. */
export function addressOf(client: Client | null | undefined): string {
  const conn = client?.conn as { remoteAddress?: string } | undefined;
  return conn?.remoteAddress ?? 'unknown';
}

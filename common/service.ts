/** A long-running part of Machmon (broker, ingestor, agent) started by the CLI or a test. */
export interface Service {
  /** Stops accepting work, flushes what can be flushed and releases sockets and files. */
  stop(): Promise<void>;
}

// The "influxd" section (README "Configuration reference"): the InfluxDB that `machmon up`
// runs itself when none is configured and none answers (cli/influxd.ts).
import * as z from 'zod/mini';
import { def, port } from '../common/config-kit.js';

export const influxdSchema = z.strictObject({
  /** auto: start Debian's influxd when ingestor.influx.url is not set and nothing answers on port; never: do not. */
  start: def(z.enum(['auto', 'never']), 'auto'),
  /** Its HTTP port on 127.0.0.1; the ingestor's default URL follows it. */
  port: def(port, 8086),
  /** Its meta, data and WAL directories and its config file. */
  dataDir: def(z.string(), './data/influxdb'),
  /** Its output. */
  logFile: def(z.string(), './data/influxd.log'),
});

export type InfluxdConfig = Readonly<z.infer<typeof influxdSchema>>;

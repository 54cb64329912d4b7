// Temperature (README "Metric groups"): every real sensor of every configured source, one row each,
// tagged with its sensor id and source, in the configured source order:
//   w1      every 1-Wire sensor (DS18B20 and the other w1_therm families),
//   thermal every SoC thermal zone,
//   gpio    the configured GPIO pin through onoff (a digital over-temperature output),
//   mock    27 + random 0-10 °C, only when no real source gave a value this cycle.
// A sensor that cannot be read (bad CRC, the 85 °C power-on reset value, EIO) is skipped and
// its reason logged once until it reads again. No child process, ever.
import { cachedFor } from './shared/cached.js';
import { logOnce } from './shared/log-once.js';
import { errText } from '../../common/errors.js';
import { listW1Sensors, readW1Sensor } from '../read/w1.js';
import { listThermalZones, readThermalZone, thermalSensorId } from '../read/thermal.js';
import { listGpioChips, mapBcmPin, openGpioInput, type GpioInput } from '../read/gpio.js';
import type { TemperatureRow } from '../../proto/gen/machmon.js';
import { NoDataError, type CollectorContext, type CollectorEntry, type Collector } from './types.js';

type Row = TemperatureRow;

export const MOCK_BASE_CELSIUS = 27;
export const MOCK_SPREAD_CELSIUS = 10;
/** Thermal zones do not come and go at run time; the list is refreshed this often anyway. */
const ZONE_LIST_TTL_MS = 5 * 60_000;

type GpioState = { kind: 'unopened' } | { kind: 'open'; input: GpioInput; sensor: string } | { kind: 'off' };

export function createTemperature(ctx: CollectorContext): Collector<'temperature'> {
  const { config, paths, log } = ctx;
  const once = logOnce(log);
  const sources = config.temperature.sources;
  const w1Devices = paths.sensorSys('bus', 'w1', 'devices');
  const thermalClass = paths.sensorSys('class', 'thermal');
  const zoneList = cachedFor(ZONE_LIST_TTL_MS, () => listThermalZones(thermalClass));
  let gpio: GpioState = { kind: 'unopened' };

  async function readW1(rows: Row[]) {
    const sensors = await listW1Sensors(w1Devices);
    if (sensors.length === 0) {
      once.log('w1:none', 'debug', { dir: w1Devices }, 'no 1-Wire temperature sensor');
      return;
    }
    once.clear('w1:none');
    for (const sensor of sensors) {
      let result;
      try {
        result = await readW1Sensor(w1Devices, sensor);
      } catch (err) {
        once.log(`w1:${sensor}:error`, 'warn', { sensor, reason: errText(err) }, '1-Wire sensor unreadable, skipped');
        continue;
      }
      if (result === undefined) {
        once.log(`w1:${sensor}:nofile`, 'warn', { sensor }, '1-Wire sensor has neither w1_slave nor temperature, skipped');
        continue;
      }
      if (!result.ok) {
        once.log(`w1:${sensor}:${result.reason}`, 'warn', { sensor, reason: result.detail }, '1-Wire reading is not a temperature, skipped');
        continue;
      }
      for (const k of once.keys) if (k.startsWith(`w1:${sensor}:`)) once.clear(k);
      rows.push({ sensor, source: 'w1', degreesCelsius: result.celsius });
    }
  }

  async function readThermal(rows: Row[]) {
    const zones = await zoneList.get();
    if (zones.length === 0) {
      once.log('thermal:none', 'debug', { dir: thermalClass }, 'no thermal zone');
      return;
    }
    once.clear('thermal:none');
    const values = await Promise.allSettled(zones.map((z) => readThermalZone(thermalClass, z.zone)));
    values.forEach((v, i) => {
      const zone = zones[i]!;
      const sensor = thermalSensorId(zone);
      if (v.status === 'fulfilled') {
        once.clear(`thermal:${zone.zone}`);
        rows.push({ sensor, source: 'thermal', degreesCelsius: v.value });
      } else {
        once.log(`thermal:${zone.zone}`, 'warn', { sensor, reason: errText(v.reason) }, 'thermal zone unreadable, skipped');
        zoneList.clear(); // the zone may have gone: list again next cycle
      }
    });
  }

  async function openGpio(): Promise<GpioState> {
    const cfg = config.temperature.gpio;
    if (!cfg) {
      once.log('gpio:unconfigured', 'debug', {}, 'GPIO temperature source not configured (temperature.gpio)');
      return { kind: 'off' };
    }
    const mapping = mapBcmPin(await listGpioChips(paths.sensorSys('class', 'gpio')), cfg.pin);
    if (!mapping.ok) {
      once.log('gpio:off', 'info', { pin: cfg.pin, reason: mapping.reason }, 'GPIO temperature source off');
      return { kind: 'off' };
    }
    const opened = await openGpioInput(mapping.sysfsNumber, cfg.activeLow);
    if (!opened.ok) {
      once.log('gpio:off', 'info', { pin: cfg.pin, sysfsNumber: mapping.sysfsNumber, reason: opened.reason }, 'GPIO temperature source off');
      return { kind: 'off' };
    }
    log.info({ pin: cfg.pin, sysfsNumber: mapping.sysfsNumber, chip: mapping.chip.label }, 'GPIO temperature source on');
    return { kind: 'open', input: opened.input, sensor: `gpio${cfg.pin}` };
  }

  async function readGpio(rows: Row[]) {
    if (gpio.kind === 'unopened') gpio = await openGpio();
    if (gpio.kind !== 'open') return;
    const cfg = config.temperature.gpio!;
    try {
      const active = gpio.input.read() === 1;
      once.clear('gpio:read');
      rows.push({ sensor: gpio.sensor, source: 'gpio', degreesCelsius: active ? cfg.degreesWhenActive : cfg.degreesWhenInactive });
    } catch (err) {
      once.log('gpio:read', 'warn', { sensor: gpio.sensor, reason: errText(err) }, 'GPIO pin unreadable, skipped');
    }
  }

  const readers = { w1: readW1, thermal: readThermal, gpio: readGpio } as const;

  return {
    name: 'temperature',
    async collect() {
      const rows: Row[] = [];
      for (const source of sources) {
        if (source === 'mock') continue;
        try {
          await readers[source](rows);
        } catch (err) {
          once.log(`${source}:error`, 'warn', { source, reason: errText(err) }, 'temperature source unreadable');
        }
      }
      if (rows.length === 0 && sources.includes('mock')) {
        once.log('mock', 'info', { sources }, 'no real temperature sensor gave a value: reporting the mock');
        rows.push({ sensor: 'mock', source: 'mock', degreesCelsius: MOCK_BASE_CELSIUS + Math.random() * MOCK_SPREAD_CELSIUS });
      } else if (rows.length > 0) {
        once.clear('mock');
      }
      if (rows.length === 0) throw new NoDataError(`no temperature from sources ${sources.join(', ')}`);
      return { rows };
    },
    close() {
      if (gpio.kind === 'open') {
        try {
          gpio.input.close();
        } catch {
          // unexport failed (pin already gone): nothing left to release
        }
      }
      gpio = { kind: 'off' };
    },
  };
}

export const collector: CollectorEntry<'temperature'> = {
  defaultEnabled: true,
  create: createTemperature,
};

// canh-collector serve: run the collector until SIGINT or SIGTERM; SIGHUP reloads the
// alerting config (systemctl reload).
import { createLogger } from '@canh/core';
import { Collector } from '../collector.ts';
import type { CollectorConfig } from '../config.ts';

export async function serve(config: CollectorConfig, file: string): Promise<number> {
  const log = createLogger({ name: 'canh-collector', level: config.log_level });
  const collector = await Collector.create(config, { log, configFile: file });
  // systemctl reload (ExecReload=kill -HUP): re-read the file, apply `alerting:`.
  const onHup = (): void => {
    log.info({ file }, 'SIGHUP: reloading the alerting config');
    collector.reload().catch((err: unknown) => log.error({ err }, 'reload failed'));
  };
  process.on('SIGHUP', onHup);
  await collector.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info('stopping');
  await collector.stop();
  process.off('SIGHUP', onHup);
  return 0;
}

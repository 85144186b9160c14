// The ESLint rules that keep packages and plugins apart (eslint/import-boundaries.js).
import { describe, it } from 'vitest';
import { RuleTester } from 'eslint';
import { join } from 'node:path';
import boundaries from '../eslint/import-boundaries.js';

const root = join(import.meta.dirname, '..');
const at = (rel: string) => join(root, rel);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2024, sourceType: 'module' } });

// RuleTester reports through describe/it when these are globals; vitest's are passed in.
Object.assign(RuleTester, { describe, it, itOnly: it.only });

describe('canh/no-cross-package', () => {
  tester.run('no-cross-package', boundaries.rules['no-cross-package'], {
    valid: [
      { filename: at('collector/src/influx/spool.ts'), code: "import { DiskSpool } from '@canh/core';" },
      { filename: at('collector/src/cli.ts'), code: "const m = await import('@canh/agent/config');" },
      { filename: at('agent/src/inputs/ping/index.ts'), code: "import { x } from '../../rate.ts';" },
      { filename: at('collector/src/influx/writer.test.ts'), code: "import { startInfluxd } from '../../../test/helpers/influxd.ts';" },
      { filename: at('test/helpers/pipeline.ts'), code: "import { Agent } from '../../agent/src/agent.ts';" },
    ],
    invalid: [
      {
        filename: at('collector/src/influx/spool.ts'),
        code: "import { DiskSpool } from '../../../agent/src/spool/disk.ts';",
        errors: [{ messageId: 'cross' }],
      },
      { filename: at('collector/src/duration.ts'), code: "export { duration } from '../../agent/src/duration.ts';", errors: [{ messageId: 'cross' }] },
      { filename: at('collector/src/cli.ts'), code: "const m = await import('../../agent/src/config.ts');", errors: [{ messageId: 'cross' }] },
      { filename: at('agent/src/golden.test.ts'), code: "import { goldenFrames } from '../../protocol/src/testdata.ts';", errors: [{ messageId: 'cross' }] },
      { filename: at('collector/src/alerts/store.ts'), code: "import { x } from '../../../test/helpers/smtp.ts';", errors: [{ messageId: 'cross' }] },
    ],
  });
});

describe('canh/no-sibling-plugin', () => {
  tester.run('no-sibling-plugin', boundaries.rules['no-sibling-plugin'], {
    valid: [
      { filename: at('agent/src/inputs/swap/index.ts'), code: "import { readProc } from '../procfs.ts';" },
      { filename: at('agent/src/inputs/swap/swap.test.ts'), code: "import { swap } from './index.ts';" },
      { filename: at('agent/src/inputs/index.ts'), code: "import { mem } from './mem/index.ts';" },
      { filename: at('agent/src/detectors/windows_eventlog/index.ts'), code: "import { x } from '../baseline.ts';" },
    ],
    invalid: [
      { filename: at('agent/src/inputs/swap/index.ts'), code: "import { parseMeminfo } from '../mem/parse.ts';", errors: [{ messageId: 'sibling' }] },
      {
        filename: at('agent/src/detectors/suspicious_process/index.ts'),
        code: "import { x } from '../accounts/parse.ts';",
        errors: [{ messageId: 'sibling' }],
      },
      { filename: at('agent/src/detectors/listening_ports/index.ts'), code: "export * from '../../inputs/ping/parse.ts';", errors: [{ messageId: 'sibling' }] },
    ],
  });
});

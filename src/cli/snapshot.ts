// `flotilla snapshot restore FILE --data-dir D --name N --initial-cluster ... [--initial-cluster-token T]
//  [--initial-advertise-peer-urls U]`: a new cluster's data directory from a backup taken with
// `etcdctl snapshot save` against Flotilla. Run it once per member, then start the members.

import { BackupError, restoreBackup } from '../server/backup.js';
import { ConfigError, parseServerConfig } from '../server/config.js';

export async function snapshot(argv: readonly string[]): Promise<number> {
  const [action, file, ...flags] = argv;
  if (action !== 'restore' || file === undefined || file.startsWith('--')) {
    process.stderr.write(
      'usage: flotilla snapshot restore FILE --data-dir D --name N --initial-cluster ...\n',
    );
    return 2;
  }
  try {
    const config = parseServerConfig(flags);
    const { appliedIndex } = await restoreBackup(file, config);
    process.stdout.write(
      `restored ${file} into ${config.dataDir} (member ${config.name}, log starts after index ${appliedIndex})\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof BackupError) {
      process.stderr.write(`flotilla snapshot restore: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

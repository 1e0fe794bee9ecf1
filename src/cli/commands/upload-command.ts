import type { Command } from 'commander';
import { uploadFile } from '../../client/upload-file.ts';
import { signedClient } from '../client-options.ts';
import { collabOption, keyOption, urlOption } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { print } from '../output.ts';
import { progressBar } from '../progress.ts';

export function registerUploadCommand(program: Command): void {
  program
    .command('upload')
    .description('encrypt a CSV or Parquet file on this machine and upload it as the next version of a dataset')
    .addOption(collabOption())
    .requiredOption('--dataset <name>', 'the dataset, as the policy declares it')
    .requiredOption('--file <path>', 'the CSV or Parquet file to encrypt and upload')
    .addOption(keyOption("provider's key file"))
    .addOption(urlOption())
    .option('--allow-empty', 'replace the data even if the file has no rows (otherwise the room refuses it)', false)
    .action(
      async (o: { collab: string; dataset: string; file: string; key: string; url: string; allowEmpty: boolean }) => {
        const { client, key } = await signedClient(o.url, o.key);
        const bar = progressBar(`encrypt+upload ${o.dataset}`);
        try {
          const result = await uploadFile({
            client,
            key,
            collaboration: o.collab,
            dataset: o.dataset,
            file: o.file,
            allowEmpty: o.allowEmpty,
            onProgress: (p) => bar.update(p.bytesRead, p.totalBytes),
          });
          bar.stop();
          const envelope = escapeTerminal(result.envelopeSha256.slice(0, 16));
          print(
            `uploaded ${escapeTerminal(o.dataset)} version ${result.version}: ${result.rows} rows, ` +
              `envelope ${envelope}…, audit entry ${result.auditSeq}\n`,
          );
        } finally {
          bar.stop();
        }
      },
    );
}

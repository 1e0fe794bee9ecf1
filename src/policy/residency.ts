import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import type { Dataset } from './collaboration.ts';

/**
 * Where the room runs and which regions' data it may process: the operator's declaration (room
 * configuration, not a collaboration's policy, which members write). A dataset is read, loaded or
 * released only when its declared region is one the room may process.
 */
export interface Residency {
  readonly region: string;
  readonly processes: readonly string[];
}

/** One diagnostic per dataset whose region the room may not process (deny by default: none listed, none allowed). */
export function residencyDiagnostics(residency: Residency, datasets: readonly Dataset[]): Diagnostic[] {
  return datasets
    .filter((d) => !residency.processes.includes(d.region))
    .map((d) =>
      diagnostic(
        'REGION_NOT_ALLOWED',
        `Dataset "${d.name}" is declared in region "${d.region}"; this room runs in "${residency.region}" and may ` +
          `process only ${residency.processes.map((r) => `"${r}"`).join(', ') || 'no region'}.`,
        'room.residency.processes',
        { dataset: d.name, region: d.region, roomRegion: residency.region, processes: [...residency.processes] },
      ),
    );
}

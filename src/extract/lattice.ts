/**
 * A full-domain generalisation: one level per quasi-identifier, 0 = as stored, each level coarser
 * than the one before (age 1 → 5 → 10 → `*`).
 */
export type LevelVector = readonly number[];

/**
 * The generalisation lattice of a set of quasi-identifiers: every level vector from all zeros (the
 * data as stored) to every attribute at its top level. A node's successors generalise one attribute
 * one level further; its predecessors undo one such step. Immutable.
 */
export class Lattice {
  readonly size: number;
  private readonly all: readonly LevelVector[];

  constructor(readonly topLevels: readonly number[]) {
    if (topLevels.length === 0) throw new RangeError('a lattice needs at least one quasi-identifier');
    if (topLevels.some((t) => !Number.isInteger(t) || t < 0))
      throw new RangeError('top levels are non-negative integers');
    this.size = topLevels.reduce((n, t) => n * (t + 1), 1);
    const all: LevelVector[] = [];
    const walk = (prefix: number[]): void => {
      if (prefix.length === topLevels.length) {
        all.push(Object.freeze([...prefix]));
        return;
      }
      for (let level = 0; level <= (topLevels[prefix.length] as number); level++) walk([...prefix, level]);
    };
    walk([]);
    this.all = Object.freeze(all.sort((a, b) => this.height(a) - this.height(b) || compareVectors(a, b)));
  }

  /** Every node, finest first (by height, then lexicographically). */
  nodes(): readonly LevelVector[] {
    return this.all;
  }

  get bottom(): LevelVector {
    return this.all[0] as LevelVector;
  }

  get top(): LevelVector {
    return this.all[this.all.length - 1] as LevelVector;
  }

  /** The number of generalisation steps from the bottom. */
  height(node: LevelVector): number {
    return node.reduce((sum, level) => sum + level, 0);
  }

  successors(node: LevelVector): LevelVector[] {
    return node.flatMap((level, i) =>
      level < (this.topLevels[i] as number) ? [node.map((l, j) => (j === i ? l + 1 : l))] : [],
    );
  }

  predecessors(node: LevelVector): LevelVector[] {
    return node.flatMap((level, i) => (level > 0 ? [node.map((l, j) => (j === i ? l - 1 : l))] : []));
  }

  key(node: LevelVector): string {
    return node.join(',');
  }

  /** `coarse` generalises every attribute at least as far as `fine`. */
  generalises(coarse: LevelVector, fine: LevelVector): boolean {
    return coarse.every((level, i) => level >= (fine[i] as number));
  }
}

/** Lexicographic order of level vectors, for deterministic ties. */
export function compareVectors(a: LevelVector, b: LevelVector): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

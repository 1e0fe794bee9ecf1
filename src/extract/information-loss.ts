import type { LevelVector } from './lattice.ts';

/**
 * One quasi-identifier as the data holds it: for each stored value, the people who hold it and
 * what it becomes at every level of its hierarchy (`levels[0]` is the value itself, the last entry
 * its top level, often `*`). Levels must nest: values that share a generalisation at one level
 * share it at every coarser level.
 */
export interface AttributeDomain {
  readonly values: readonly { readonly people: number; readonly levels: readonly string[] }[];
}

/** People per generalised value at one level. */
function groupSizes(domain: AttributeDomain, level: number): Map<string, { people: number; leaves: number }> {
  const sizes = new Map<string, { people: number; leaves: number }>();
  for (const value of domain.values) {
    const group = value.levels[level];
    if (group === undefined) throw new RangeError(`a value has no generalisation at level ${level}`);
    const size = sizes.get(group) ?? { people: 0, leaves: 0 };
    size.people += value.people;
    size.leaves += 1;
    sizes.set(group, size);
  }
  return sizes;
}

const topLevel = (domain: AttributeDomain): number => (domain.values[0]?.levels.length ?? 1) - 1;

/**
 * Non-uniform entropy at each level (de Waal and Willenborg 1999; ARX's default): the bits a person's
 * stored value loses by generalisation, summed over people, Σ_v c_v · log2(C_g(v) / c_v), where c_v
 * people hold v and C_g(v) hold a value generalised to the same g. 0 at level 0.
 */
export function nonUniformEntropyByLevel(domain: AttributeDomain): number[] {
  return Array.from({ length: topLevel(domain) + 1 }, (_, level) => {
    const sizes = groupSizes(domain, level);
    let bits = 0;
    for (const value of domain.values) {
      if (value.people === 0) continue;
      const group = sizes.get(value.levels[level] as string) as { people: number };
      bits += value.people * Math.log2(group.people / value.people);
    }
    return bits;
  });
}

/**
 * The Loss metric at each level (Iyengar 2002): per person, the share of the attribute's other
 * stored values their generalised value also stands for, (leaves(g) − 1) / (leaves − 1), summed
 * over people. 0 at level 0; the number of people when everything is generalised to one value.
 */
export function lossMetricByLevel(domain: AttributeDomain): number[] {
  const leaves = domain.values.length;
  return Array.from({ length: topLevel(domain) + 1 }, (_, level) => {
    if (leaves <= 1) return 0;
    const sizes = groupSizes(domain, level);
    let loss = 0;
    for (const value of domain.values) {
      const group = sizes.get(value.levels[level] as string) as { leaves: number };
      loss += (value.people * (group.leaves - 1)) / (leaves - 1);
    }
    return loss;
  });
}

/**
 * A node's information loss as the sum of its attributes' losses at their levels, scaled so that the
 * data as stored is 0 and everything at its top level is 1. Both measures above decompose this way,
 * so each is computed once per attribute and level, never per node.
 */
export function decomposedLoss(byLevel: readonly (readonly number[])[]): (node: LevelVector) => number {
  const top = byLevel.reduce((sum, levels) => sum + (levels[levels.length - 1] ?? 0), 0);
  return (node) => {
    const sum = node.reduce((total, level, i) => {
      const value = byLevel[i]?.[level];
      if (value === undefined) throw new RangeError(`attribute ${i} has no level ${level}`);
      return total + value;
    }, 0);
    return top === 0 ? 0 : sum / top;
  };
}

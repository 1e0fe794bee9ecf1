import { compareVectors, type Lattice, type LevelVector } from './lattice.ts';

export interface SearchProgress {
  /** nodes the check ran on */
  readonly checked: number;
  /** nodes whose outcome is known, checked or inferred */
  readonly known: number;
  readonly total: number;
}

export interface LatticeSearch {
  readonly lattice: Lattice;
  /**
   * Whether a node meets the rules (k people per class, l, t, within the suppression limit). Must be
   * monotone: if a node meets them, every coarser node does; merging classes never makes a class
   * smaller. The search relies on it to infer outcomes it does not check.
   */
  readonly check: (node: LevelVector) => Promise<boolean>;
  /** Information loss of a node: must never decrease when an attribute is generalised further. */
  readonly loss: (node: LevelVector) => number;
  readonly onProgress?: (progress: SearchProgress) => void;
}

export interface SearchResult {
  /** the node meeting the rules with the least loss (ties: lower, then lexicographically first); none if none does */
  readonly optimum: LevelVector | undefined;
  readonly loss: number | undefined;
  readonly checked: number;
  /** nodes known to meet the rules, checked or inferred */
  readonly satisfying: number;
  readonly total: number;
}

/**
 * Flash-style search (Kohlmayer et al., "Flash: efficient, stable and optimal k-anonymity", 2012):
 * from the finest untagged node, walk up through untagged successors (the least lossy first) to
 * build a path, binary-search the path for its lowest node that meets the rules, and tag by
 * monotonicity: a node that meets them tags every coarser node, one that fails tags every finer
 * node. Every node ends up tagged, most without a check, so the optimum over the tagged-satisfying
 * nodes is the optimum over the whole lattice (the same one `exhaustiveSearch` finds).
 */
export async function flashSearch(search: LatticeSearch): Promise<SearchResult> {
  const { lattice, check } = search;
  const tags = new Map<string, boolean>();
  let checked = 0;
  const tagged = (node: LevelVector) => tags.has(lattice.key(node));
  const spread = (from: LevelVector, outcome: boolean): void => {
    const next = outcome ? (n: LevelVector) => lattice.successors(n) : (n: LevelVector) => lattice.predecessors(n);
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop() as LevelVector;
      const key = lattice.key(node);
      // A tagged node already carried its outcome beyond it. (With a monotone check no tag can
      // contradict this one; with a check that is not, the release still verifies its own node.)
      if (node !== from && tags.has(key)) continue;
      tags.set(key, outcome);
      stack.push(...next(node));
    }
  };
  const byLoss = (a: LevelVector, b: LevelVector) => search.loss(a) - search.loss(b) || compareVectors(a, b);
  for (const start of lattice.nodes()) {
    if (tagged(start)) continue;
    const path = [start];
    for (;;) {
      const up = lattice
        .successors(path[path.length - 1] as LevelVector)
        .filter((n) => !tagged(n))
        .sort(byLoss)[0];
      if (!up) break;
      path.push(up);
    }
    let low = 0;
    let high = path.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const node = path[middle] as LevelVector;
      let outcome = tags.get(lattice.key(node));
      if (outcome === undefined) {
        outcome = await check(node);
        checked += 1;
        spread(node, outcome);
        search.onProgress?.({ checked, known: tags.size, total: lattice.size });
      }
      if (outcome) high = middle - 1;
      else low = middle + 1;
    }
  }
  return best(search, (node) => tags.get(lattice.key(node)) === true, checked);
}

/** Checks every node: the reference the search is tested against, and the benchmark's baseline. */
export async function exhaustiveSearch(search: LatticeSearch): Promise<SearchResult> {
  const outcomes = new Map<string, boolean>();
  for (const node of search.lattice.nodes()) {
    outcomes.set(search.lattice.key(node), await search.check(node));
    search.onProgress?.({ checked: outcomes.size, known: outcomes.size, total: search.lattice.size });
  }
  return best(search, (node) => outcomes.get(search.lattice.key(node)) === true, outcomes.size);
}

function best(search: LatticeSearch, satisfies: (node: LevelVector) => boolean, checked: number): SearchResult {
  let optimum: LevelVector | undefined;
  let optimumLoss = Infinity;
  let satisfying = 0;
  for (const node of search.lattice.nodes()) {
    if (!satisfies(node)) continue;
    satisfying += 1;
    const loss = search.loss(node);
    // nodes() is ordered by height, then lexicographically: the first of equal loss wins.
    if (loss < optimumLoss) {
      optimum = node;
      optimumLoss = loss;
    }
  }
  return {
    optimum,
    loss: optimum ? optimumLoss : undefined,
    checked,
    satisfying,
    total: search.lattice.size,
  };
}

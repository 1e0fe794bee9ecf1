import type { CollaborationDocument } from './policy-document.ts';

/** Whether a change lets more out (or to more people), less, or neither clearly. */
export type Effect = 'loosens' | 'tightens' | 'changes';

/** One difference between two policy documents, at a JSON pointer into the new one (or the old, if removed). */
export interface PolicyChange {
  readonly pointer: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
  /** what it concerns: the collaboration, a member, a dataset, a PSI pair */
  readonly scope: string;
  readonly effect: Effect;
  /** one sentence an officer reads */
  readonly sentence: string;
}

// Arrays of named things are compared by name, so reordering them is not a change.
const KEYS: Readonly<Record<string, string>> = {
  members: 'id',
  principals: 'id',
  datasets: 'name',
  columns: 'name',
  joins: 'dataset',
};

/** Numbers whose rise lets more out (+1) or less (−1). */
const NUMBER_DIRECTION: Readonly<Record<string, 1 | -1>> = {
  minGroupSize: -1,
  k: -1,
  l: -1,
  t: 1,
  maxSuppression: 1,
  minPeople: -1,
  minSetSize: -1,
  maxResultRows: 1,
  maxEpsilonPerQuery: 1,
  maxEpsilonPerModel: 1,
  epsilon: 1,
  delta: 1,
  maxGroupsPerUnit: 1,
  maxRowsPerUnit: 1,
  maxSessionsPerDay: 1,
  retentionDays: 1,
  topContributors: -1,
  maxShare: 1,
  falsePositiveRate: 1,
  epsilonBudget: 1,
};

/** Booleans where `true` lets more out (+1) or less (−1). */
const BOOLEAN_DIRECTION: Readonly<Record<string, 1 | -1>> = {
  adHocQueries: 1,
  revealIntersection: 1,
  exactCount: 1,
  dpRequired: -1,
  required: -1,
  republish: 1,
};

/** Lists whose additions let more out: who receives, which aggregates, which features. */
const GROWING_LOOSENS = new Set(['resultReceivers', 'recipients', 'aggregates', 'attributes', 'joins', 'releaseTo']);

/** How open a column class is, least to most. */
const CLASS_OPENNESS = ['blocked', 'identifier', 'quasi', 'dimension', 'metric'];

const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

function scopeOf(path: readonly string[], oldDoc: unknown, newDoc: unknown): string {
  const [top, second] = path;
  if (top === 'datasets' && second !== undefined) return `dataset ${second}`;
  if (top === 'members' && second !== undefined) return `member ${second}`;
  if (top === 'psi' && second !== undefined) {
    const pair = (doc: unknown) => (isObject(doc) && Array.isArray(doc.psi) ? doc.psi[Number(second)] : undefined);
    const rule = (pair(newDoc) ?? pair(oldDoc)) as { server?: string; client?: string } | undefined;
    return rule ? `PSI ${rule.server} ↔ ${rule.client}` : `PSI rule ${second}`;
  }
  return 'collaboration';
}

function effectOf(path: readonly string[], kind: PolicyChange['kind'], before: unknown, after: unknown): Effect {
  const key = path.at(-1) ?? '';
  const parent = path.at(-2) ?? '';
  if (kind === 'changed' && typeof before === 'number' && typeof after === 'number' && key in NUMBER_DIRECTION) {
    const up = after > before ? 1 : -1;
    return up * (NUMBER_DIRECTION[key] as number) > 0 ? 'loosens' : 'tightens';
  }
  if (kind === 'changed' && typeof before === 'boolean' && typeof after === 'boolean' && key in BOOLEAN_DIRECTION)
    return (after ? 1 : -1) * (BOOLEAN_DIRECTION[key] as number) > 0 ? 'loosens' : 'tightens';
  if (kind === 'changed' && key === 'class' && typeof before === 'string' && typeof after === 'string')
    return CLASS_OPENNESS.indexOf(after) > CLASS_OPENNESS.indexOf(before) ? 'loosens' : 'tightens';
  // An entry added to (removed from) a list of receivers, recipients, aggregates, features or joins.
  const list = /^\d+$/.test(key) ? parent : key;
  if ((kind === 'added' || kind === 'removed') && (GROWING_LOOSENS.has(list) || GROWING_LOOSENS.has(parent)))
    return kind === 'added' ? 'loosens' : 'tightens';
  if ((kind === 'added' || kind === 'removed') && ['features', 'labels', 'categories', 'perPerson'].includes(parent))
    return kind === 'added' ? 'loosens' : 'tightens';
  // A whole rule block (dp, model, extract, dominance) appearing opens a path or adds a guard.
  if ((kind === 'added' || kind === 'removed') && parent === 'rules')
    return ['dp', 'model', 'extract'].includes(key) === (kind === 'added') ? 'loosens' : 'tightens';
  if ((kind === 'added' || kind === 'removed') && path[0] === 'psi' && path.length === 2)
    return kind === 'added' ? 'loosens' : 'tightens';
  return 'changes';
}

function sentenceOf(change: Omit<PolicyChange, 'sentence'>, path: readonly string[]): string {
  const where = path.length > 0 ? path.join('.') : 'the document';
  const verb = change.effect === 'changes' ? '' : ` (${change.effect})`;
  if (change.kind === 'added') return `${where} is added: ${show(change.after)}${verb}.`;
  if (change.kind === 'removed') return `${where} is removed (was ${show(change.before)})${verb}.`;
  return `${where} changes from ${show(change.before)} to ${show(change.after)}${verb}.`;
}

/**
 * The differences between two policy documents, one per changed leaf (or whole added or removed
 * entry), with a JSON pointer, its scope and whether it loosens or tightens what leaves. Named
 * entries (members, principals, datasets, columns, joins) are matched by name, so reordering is not
 * a change; other arrays are compared as values, in order.
 */
export function diffPolicies(oldDoc: CollaborationDocument, newDoc: CollaborationDocument): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const record = (path: string[], pointer: string, kind: PolicyChange['kind'], before: unknown, after: unknown) => {
    const partial = {
      pointer,
      kind,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
      scope: scopeOf(path, oldDoc, newDoc),
      effect: effectOf(path, kind, before, after),
    };
    changes.push({ ...partial, sentence: sentenceOf(partial, path) });
  };
  const walk = (a: unknown, b: unknown, path: string[], pointer: string) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const key = path.at(-1) ?? '';
    const named = KEYS[key];
    if (named && Array.isArray(a) && Array.isArray(b)) {
      const byName = (list: unknown[]) =>
        new Map(list.filter(isObject).map((item, i) => [String(item[named] ?? i), { item, i }]));
      const before = byName(a);
      const after = byName(b);
      for (const [name, { item, i }] of before)
        if (!after.has(name)) record([...path, name], `${pointer}/${i}`, 'removed', item, undefined);
      for (const [name, { item, i }] of after) {
        const old = before.get(name);
        if (!old) record([...path, name], `${pointer}/${i}`, 'added', undefined, item);
        else walk(old.item, item, [...path, name], `${pointer}/${i}`);
      }
      return;
    }
    if (isObject(a) && isObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const next = `${pointer}/${escape(k)}`;
        if (!(k in b)) record([...path, k], next, 'removed', a[k], undefined);
        else if (!(k in a)) record([...path, k], next, 'added', undefined, b[k]);
        else walk(a[k], b[k], [...path, k], next);
      }
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.every((v) => !isObject(v)) && b.every((v) => !isObject(v))) {
      // Lists of plain values (receivers, aggregates, levels): what was added, what removed.
      const text = (v: unknown) => JSON.stringify(v);
      const olds = new Set(a.map(text));
      const news = new Set(b.map(text));
      b.forEach((v, i) => !olds.has(text(v)) && record([...path, String(i)], `${pointer}/${i}`, 'added', undefined, v));
      a.forEach(
        (v, i) => !news.has(text(v)) && record([...path, String(i)], `${pointer}/${i}`, 'removed', v, undefined),
      );
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && key === 'psi') {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i += 1) {
        const next = `${pointer}/${i}`;
        if (i >= b.length) record([...path, String(i)], next, 'removed', a[i], undefined);
        else if (i >= a.length) record([...path, String(i)], next, 'added', undefined, b[i]);
        else walk(a[i], b[i], [...path, String(i)], next);
      }
      return;
    }
    record(path, pointer, 'changed', a, b);
  };
  walk(oldDoc, newDoc, [], '');
  return changes;
}

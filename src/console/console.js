// Cleanroom console: one page, no build step. Every request is signed here with the officer's key,
// exactly as the CLI signs it (src/auth/request-signature.ts); the key lives in this module's memory
// only. Values from the room are put in the page as text (textContent), never as HTML.

const encoder = new TextEncoder();
const session = { key: null, collaboration: null, caller: null, policy: null, status: null };
const PAGE = 50;

// ---------- bytes ----------
const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const base64url = (bytes) => toBase64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256Hex = async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes));

// ---------- DOM ----------
// Characters that change what text looks like without being seen (bidi overrides and isolates,
// zero-width marks, other controls but newline and tab): another member's text could show `'GB'`
// while holding a literal that never equals it. They are shown as \u{…} escapes, like the CLI does.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;
export const visible = (text) =>
  text.replace(HIDDEN, (c) => `\\u{${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}}`);
const hasHidden = (text) => new RegExp(HIDDEN.source).test(text);

/** h('td', { class: 'num' }, 'text', node): an element; strings become text nodes, never markup. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(visible(String(child))));
  }
  return element;
}
const $ = (id) => document.getElementById(id);
const table = (headings, rows) =>
  h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
const tag = (text, kind) => h('span', { class: `tag ${kind}` }, text);
const shortHash = (hash) => `${hash.slice(0, 12)}…`;
const when = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : '—';

function say(text, kind = '') {
  const status = $('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

/** A refusal as the room states it: its code, its sentence, and where (diagnostics carry rule and position). */
class Refusal extends Error {
  constructor(status, error) {
    super(error?.message ?? `The room answered ${status}.`);
    this.status = status;
    this.code = error?.code ?? `HTTP_${status}`;
    this.details = error?.details ?? {};
  }
}
function explain(error) {
  if (!(error instanceof Refusal)) return `Could not reach the room: ${error.message}`;
  const diagnostics = Array.isArray(error.details?.diagnostics) ? error.details.diagnostics : [];
  const rules = diagnostics.map((d) => ` [${d.code}${d.path ? ` at ${d.path}` : ''}] ${d.message}`).join('');
  return `Refused (${error.code}): ${error.message}${rules}`;
}

// ---------- signed requests ----------
async function signedFetch(method, path, body) {
  if (!session.key) throw new Error('sign in first');
  const text = body === undefined ? '' : JSON.stringify(body);
  const contentSha256 = await sha256Hex(encoder.encode(text));
  const timestamp = String(Date.now());
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const canonical = ['CLEANROOM-REQUEST-V1', method, path, timestamp, nonce, contentSha256].join('\n');
  const signature = nacl.sign.detached(encoder.encode(canonical), session.key.secretKey);
  const headers = {
    'x-cleanroom-key': session.key.publicKeyText,
    'x-cleanroom-timestamp': timestamp,
    'x-cleanroom-nonce': nonce,
    'x-cleanroom-content-sha256': contentSha256,
    'x-cleanroom-signature': toBase64(signature),
  };
  if (text) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, ...(text ? { body: text } : {}) });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Refusal(response.status, answer?.error);
  return answer;
}
const collaborationPath = (rest = '') => `/v1/collaborations/${encodeURIComponent(session.collaboration)}${rest}`;

/** What an officer signs, byte for byte as the room checks it (src/query/template.ts, policy-acceptance.ts). */
const reviewBytes = (hash, decision) =>
  encoder.encode(`cleanroom-template-review-v1:${session.collaboration}:${hash}:${decision}`);
const acceptanceBytes = (hash) => encoder.encode(`cleanroom-policy-acceptance-v1:${session.collaboration}:${hash}`);
const signText = (bytes) => toBase64(nacl.sign.detached(bytes, session.key.secretKey));

// ---------- sign in ----------
async function readKeyFile(file) {
  let parsed;
  try {
    parsed = JSON.parse(await file.text());
  } catch {
    throw new Error('the file is not a Cleanroom key file (JSON)');
  }
  if (parsed?.type !== 'cleanroom-ed25519-secret-key' || typeof parsed.secretKey !== 'string')
    throw new Error('the file is not a Cleanroom secret key (type cleanroom-ed25519-secret-key)');
  const secretKey = fromBase64(parsed.secretKey);
  if (secretKey.length !== 64) throw new Error('the secret key is not 64 bytes');
  const pair = nacl.sign.keyPair.fromSecretKey(secretKey);
  const publicKeyText = toBase64(pair.publicKey);
  if (parsed.publicKey && parsed.publicKey !== publicKeyText)
    throw new Error('the key file’s public key does not belong to its secret key');
  return { name: parsed.name ?? 'key', publicKeyText, secretKey: pair.secretKey };
}

async function signIn(event) {
  event.preventDefault();
  const file = $('keyfile').files?.[0];
  if (!file) return say('Choose your key file.', 'bad');
  try {
    session.key = await readKeyFile(file);
    $('keyfile').value = '';
    session.collaboration = $('collaboration').value;
    await refreshCollaboration();
    $('signin').hidden = true;
    $('nav').hidden = false;
    $('view').hidden = false;
    say('');
    if (!location.hash || location.hash === '#/') location.hash = '#/reviews';
    else route();
  } catch (error) {
    session.key = null;
    say(`Sign-in failed: ${error instanceof Refusal ? explain(error) : error.message}`, 'bad');
  }
}

async function refreshCollaboration() {
  const answer = await signedFetch('GET', collaborationPath());
  session.caller = answer.caller;
  session.policy = answer.policy;
  session.status = answer.status;
  $('who').textContent =
    `${answer.caller.principal} (${answer.caller.roles.join(', ')} of ${answer.caller.member}) · ` +
    `${answer.status.title ?? session.collaboration}`;
}
const isOfficer = () => session.caller?.roles.includes('officer');

// ---------- views ----------
const VIEWS = { reviews, review, policy, budgets, audit, datasets };

let routing = 0;
async function route() {
  if (!session.key) return;
  // Only the latest navigation renders: a slow answer for a page left behind is dropped.
  const turn = ++routing;
  const [section, ...rest] = location.hash.replace(/^#\/?/, '').split('?')[0].split('/');
  const name = VIEWS[section] ? section : 'reviews';
  for (const link of document.querySelectorAll('nav a'))
    if (link.dataset.section === (name === 'review' ? 'reviews' : name)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  const view = $('view');
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await VIEWS[name](...rest.map(decodeURIComponent));
    if (turn !== routing) return;
    view.replaceChildren(...[content].flat(Infinity).filter((node) => node instanceof Node));
  } catch (error) {
    if (turn === routing) view.replaceChildren(h('p', {}, explain(error)));
  }
  document.title = `Cleanroom console · ${name}`;
}

const KINDS = [
  { kind: 'query', label: 'Query', path: '/templates' },
  { kind: 'extract', label: 'Extract', path: '/extract-templates' },
  { kind: 'model', label: 'Model', path: '/model-templates' },
];

/** Where a template stands for the signed-in member. */
function standing(template) {
  const mine = template.reviews.filter((r) => r.member === session.caller.member);
  const rejected = template.reviews.some((r) => r.decision === 'reject');
  if (template.runnable) return tag('approved: runnable', 'good');
  if (rejected) return tag('rejected', 'bad');
  if (template.requiredMembers.includes(session.caller.member) && mine.length === 0)
    return tag('requires your review', 'warn');
  return tag('awaiting others', 'warn');
}

async function reviews() {
  const lists = await Promise.all(
    KINDS.map(async (k) => ({ ...k, templates: (await signedFetch('GET', collaborationPath(k.path))).templates })),
  );
  const rows = lists.flatMap((k) =>
    k.templates.map((t) =>
      h(
        'tr',
        {},
        h('td', {}, k.label),
        h('td', {}, h('a', { href: `#/review/${k.kind}/${encodeURIComponent(t.name)}` }, t.name)),
        h('td', {}, t.proposedBy),
        h('td', { class: 'hash' }, shortHash(t.hash)),
        h('td', {}, t.requiredMembers.join(', ')),
        h('td', {}, standing(t)),
      ),
    ),
  );
  return [
    h('h2', {}, 'Templates to review'),
    h(
      'p',
      { class: 'muted' },
      'An officer of every member whose data a template reads signs its content hash before it can run.',
    ),
    rows.length > 0
      ? table(['Kind', 'Template', 'Proposed by', 'Hash', 'Needs approval of', 'State'], rows)
      : h('p', {}, 'No templates have been proposed.'),
  ];
}

// A small SQL layout for reading: a line per clause, parts of a select list on their own lines.
// Quoted text and identifiers are kept whole; only the layout changes, never a token.
const CLAUSES =
  /^(SELECT|FROM|WHERE|GROUP BY|HAVING|ORDER BY|LIMIT|OFFSET|UNION ALL|UNION|QUALIFY|WINDOW|(?:LEFT |RIGHT |FULL |INNER |CROSS |SEMI |ANTI )?(?:OUTER )?JOIN|ON)\b/i;
export function formatSql(sql) {
  // Comments are tokens (a line comment runs to its newline, and the line ends after it: joining the
  // next line onto it would show live code as commented out); a word stops where a comment starts;
  // a quote left open is one character like any other. Nothing of the text may be dropped.
  const tokens =
    sql.match(
      /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*'|"(?:[^"]|"")*"|\s+|[(),]|(?:[^\s(),'"\-/]|-(?!-)|\/(?!\*))+|['"]/g,
    ) ?? [];
  let out = '';
  let depth = 0;
  let line = '';
  const flush = () => {
    if (line.trim()) out += `${'  '.repeat(Math.max(0, depth))}${line.trim()}\n`;
    line = '';
  };
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (/^\s+$/.test(token)) {
      line += ' ';
      continue;
    }
    const ahead = tokens
      .slice(i, i + 6)
      .filter((t) => !/^\s+$/.test(t))
      .join(' ');
    const clause = ahead.match(CLAUSES);
    if (clause && token.toUpperCase() === clause[1].split(' ')[0].toUpperCase()) {
      flush();
      const words = clause[1].split(' ').length;
      let taken = 0;
      while (taken < words) {
        if (!/^\s+$/.test(tokens[i])) taken += 1;
        line += tokens[i];
        i += 1;
      }
      i -= 1;
      line = line.toUpperCase();
      continue;
    }
    if (token.startsWith('--')) {
      line += token;
      flush();
      continue;
    }
    if (token === '(') depth += 1;
    if (token === ')') depth -= 1;
    line += token;
    if (token === ',' && depth === 0) flush();
  }
  flush();
  return out.trimEnd();
}

/** A dry run on synthetic rows of the declared columns: the released shape, before anyone signs. */
function dryRunSection(k, t) {
  const inputs = Object.entries(t.document.parameters ?? {}).map(([name, spec]) => {
    const id = `dry-${name}`;
    const control =
      spec.type === 'enum'
        ? h(
            'select',
            { id, name },
            spec.values.map((v) => h('option', { value: v }, v)),
          )
        : h('input', { id, name, placeholder: spec.type });
    return h('label', { for: id }, `${name} `, control);
  });
  const out = h('div', { id: 'dry-run-result' });
  const run = async () => {
    const params = {};
    for (const [name, spec] of Object.entries(t.document.parameters ?? {})) {
      const raw = $(`dry-${name}`).value;
      if (raw === '') continue;
      params[name] =
        spec.type === 'integer' || spec.type === 'number' ? Number(raw) : spec.type === 'list' ? JSON.parse(raw) : raw;
    }
    out.replaceChildren(h('p', { class: 'muted' }, 'Running on synthetic rows…'));
    try {
      const answer = await signedFetch('POST', collaborationPath(`${k.path}/${encodeURIComponent(t.name)}/dry-run`), {
        params,
      });
      out.replaceChildren(
        h('p', { class: 'muted' }, answer.synthetic.note),
        h(
          'p',
          {},
          `${answer.rows.length} groups released, ${answer.groupsSuppressed} suppressed, from ` +
            `${answer.synthetic.people.toLocaleString('en')} synthetic people per dataset.`,
        ),
        table(
          answer.columns.map((c) => c.name),
          answer.rows.map((row) =>
            h(
              'tr',
              {},
              row.map((cell) => h('td', {}, cell === null ? 'NULL' : String(cell))),
            ),
          ),
        ),
      );
    } catch (error) {
      out.replaceChildren(h('p', {}, explain(error)));
    }
  };
  return [
    h('h3', {}, 'Dry run on synthetic rows'),
    h(
      'p',
      { class: 'muted' },
      'Runs the template, checked and thresholded as it would be, on made-up rows of the declared columns. ' +
        'No stored row is read; the run is audited.',
    ),
    h(
      'div',
      { class: 'actions' },
      inputs,
      h('button', { type: 'button', id: 'dry-run', class: 'secondary', onclick: run }, 'Dry run'),
    ),
    out,
  ];
}

function reportSection(report) {
  if (!report) return [];
  return [
    h('h3', {}, 'What the checker found'),
    h(
      'dl',
      { class: 'grid' },
      h('dt', {}, 'Datasets read'),
      h('dd', {}, (report.datasets ?? []).join(', ') || '—'),
      report.threshold && [
        h('dt', {}, 'Minimum group size'),
        h('dd', {}, `${report.threshold.minGroupSize} distinct ${report.threshold.privacyUnits.join(', ')}`),
        h('dt', {}, 'Most rows released'),
        h('dd', {}, String(report.threshold.maxResultRows)),
        h('dt', {}, 'Threshold rule'),
        h('dd', {}, report.threshold.rule),
      ],
      report.parameters && [h('dt', {}, 'Parameters'), h('dd', {}, report.parameters.join(', ') || 'none')],
    ),
    report.columns &&
      table(
        ['Dataset', 'Column', 'Class'],
        report.columns.map((c) => h('tr', {}, h('td', {}, c.dataset), h('td', {}, c.column), h('td', {}, c.class))),
      ),
    report.outputs &&
      table(
        ['Output', 'Kind', 'Aggregates'],
        report.outputs.map((o) =>
          h('tr', {}, h('td', {}, o.name), h('td', {}, o.kind), h('td', {}, o.aggregates.join(', ') || '—')),
        ),
      ),
  ];
}

function dpSection(document) {
  const dp = document.dp;
  if (!dp) return [h('h3', {}, 'Differential privacy'), h('p', {}, 'None: released under the group minimum only.')];
  return [
    h('h3', {}, 'Differential privacy'),
    h(
      'dl',
      { class: 'grid' },
      Object.entries(dp).map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : v)]),
    ),
  ];
}

async function review(kind, name) {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k || !name) return reviews();
  const t = await signedFetch('GET', collaborationPath(`${k.path}/${encodeURIComponent(name)}`));
  const document = t.document;
  const hashCell = h('code', { class: 'hash', id: 'review-hash', 'data-testid': 'review-hash' }, t.hash);
  const reason = h('textarea', { id: 'review-reason', rows: 2, cols: 60, maxlength: 2000 });
  const mayReview = isOfficer() && t.requiredMembers.includes(session.caller.member);
  const texts = [];
  JSON.stringify(document, (_key, value) => (typeof value === 'string' && texts.push(value), value));
  const hidden = texts.some(hasHidden);
  const decide = async (decision) => {
    // The hash signed is the one this page shows (read back from the page at the moment of signing).
    const shown = $('review-hash').textContent.trim();
    const body = { hash: shown, decision, signature: signText(reviewBytes(shown, decision)) };
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      await signedFetch('POST', collaborationPath(`${k.path}/${encodeURIComponent(name)}/approvals`), body);
      say(`Signed and recorded: ${decision} of ${name} at ${shortHash(shown)}.`, 'good');
      await route();
    } catch (error) {
      say(explain(error), 'bad');
    }
  };
  return [
    h('p', {}, h('a', { href: '#/reviews' }, '← All templates')),
    h('h2', {}, `${k.label} template: ${t.name}`),
    h(
      'dl',
      { class: 'grid' },
      h('dt', {}, 'Content hash'),
      h('dd', {}, hashCell),
      h('dt', {}, 'Proposed by'),
      h('dd', {}, t.proposedBy),
      h('dt', {}, 'Description'),
      h('dd', {}, document.description ?? '—'),
      h('dt', {}, 'State'),
      h('dd', {}, standing(t)),
      h('dt', {}, 'Needs approval of'),
      h('dd', {}, t.requiredMembers.join(', ')),
    ),
    hidden &&
      h(
        'p',
        { class: 'status bad', id: 'hidden-characters' },
        'This template contains invisible or direction-changing characters. They are shown below as \\u{…} ' +
          'escapes: read the text as escaped, not as it would otherwise appear.',
      ),
    document.sql && [h('h3', {}, 'SQL as proposed'), h('pre', {}, h('code', {}, formatSql(document.sql)))],
    t.rewrittenSql && [
      h('h3', {}, 'SQL as the room runs it'),
      h('details', {}, h('summary', {}, 'Rewritten by the checker'), h('pre', {}, h('code', {}, t.rewrittenSql))),
    ],
    document.parameters && [
      h('h3', {}, 'Parameters the analyst fills in'),
      table(
        ['Parameter', 'Type', 'Allowed'],
        Object.entries(document.parameters).map(([name, spec]) => {
          const { type, ...limits } = spec ?? {};
          // Each allowed value on its own, as JSON: "GB, DE" and "GB", "DE" must not look alike.
          const allowed = Array.isArray(limits.values)
            ? limits.values.map((v) => h('code', {}, JSON.stringify(v)))
            : Object.keys(limits).length > 0
              ? h('code', {}, JSON.stringify(limits))
              : 'any';
          return h('tr', {}, h('td', {}, name), h('td', {}, type ?? '—'), h('td', { class: 'values' }, allowed));
        }),
      ),
    ],
    reportSection(t.report),
    k.kind === 'query' && (mayReview || t.proposedBy === session.caller.principal) && dryRunSection(k, t),
    dpSection(document),
    !document.sql && [h('h3', {}, 'Template document'), h('pre', {}, h('code', {}, JSON.stringify(document, null, 2)))],
    h('h3', {}, 'Reviews of this hash'),
    t.reviews.length > 0
      ? table(
          ['Member', 'Officer', 'Decision', 'Reason', 'When'],
          t.reviews.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, r.member),
              h('td', {}, r.principal),
              h('td', {}, r.decision),
              h('td', {}, r.reason ?? ''),
              h('td', {}, when(r.reviewedAt)),
            ),
          ),
        )
      : h('p', {}, 'None yet.'),
    mayReview
      ? h(
          'div',
          { class: 'sign', role: 'group', 'aria-labelledby': 'sign-title' },
          h('h3', { id: 'sign-title' }, 'Your decision'),
          h(
            'p',
            {},
            'Approving signs, with your key in this page, the text ',
            h('code', {}, `cleanroom-template-review-v1:${session.collaboration}:<the hash above>:approve`),
            '. A rejection needs a reason.',
          ),
          h('label', { for: 'review-reason' }, 'Reason (shown to the proposer) '),
          reason,
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', id: 'approve', onclick: () => decide('approve') }, 'Approve and sign'),
            h(
              'button',
              {
                type: 'button',
                id: 'reject',
                class: 'danger',
                onclick: () => (reason.value.trim() ? decide('reject') : say('A rejection needs a reason.', 'bad')),
              },
              'Reject and sign',
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Only an officer of a member whose data it reads reviews this template.'),
  ];
}

async function policy() {
  await refreshCollaboration();
  const since = await signedFetch('GET', collaborationPath('/policy/changes'));
  const s = session.status;
  const p = session.policy;
  const accepted = new Set(s.acceptedBy.map((a) => a.member));
  const accept = async () => {
    const shown = $('policy-hash').textContent.trim();
    try {
      await signedFetch('POST', collaborationPath('/acceptances'), {
        policyHash: shown,
        signature: signText(acceptanceBytes(shown)),
      });
      say(`Signed and recorded: acceptance of policy ${shortHash(shown)}.`, 'good');
      await route();
    } catch (error) {
      say(explain(error), 'bad');
    }
  };
  return [
    h('h2', {}, `Policy: ${s.title}`),
    h(
      'dl',
      { class: 'grid' },
      h('dt', {}, 'Policy hash'),
      h('dd', {}, h('code', { class: 'hash', id: 'policy-hash' }, s.policyHash)),
      h('dt', {}, 'State'),
      h('dd', {}, s.active ? tag('active: accepted by every member', 'good') : tag('not active', 'warn')),
      h('dt', {}, 'Awaiting'),
      h('dd', {}, s.awaiting.join(', ') || 'nobody'),
    ),
    isOfficer() && !accepted.has(session.caller.member)
      ? h(
          'div',
          { class: 'sign' },
          h('p', {}, 'Your member has not accepted this policy hash. Accepting signs it with your key in this page.'),
          h('button', { type: 'button', id: 'accept', onclick: accept }, 'Accept and sign'),
        )
      : null,
    changesSection(since),
    h('h3', {}, 'Acceptances'),
    s.acceptedBy.length === 0
      ? h('p', {}, 'No member has accepted this version yet.')
      : table(
          ['Member', 'Officer', 'When'],
          s.acceptedBy.map((a) =>
            h('tr', {}, h('td', {}, a.member), h('td', {}, a.principal), h('td', {}, when(a.acceptedAt))),
          ),
        ),
    h('h3', {}, 'Members'),
    table(
      ['Member', 'Principals and roles'],
      (p.members ?? []).map((m) =>
        h(
          'tr',
          {},
          h('td', {}, m.id ?? m.name),
          h('td', {}, (m.principals ?? []).map((x) => `${x.id ?? x.name} (${(x.roles ?? []).join(', ')})`).join('; ')),
        ),
      ),
    ),
    h('h3', {}, 'Datasets and their rules'),
    table(
      ['Dataset', 'Owner', 'Person', 'Group minimum', 'DP budget', 'Region', 'Retention'],
      (p.datasets ?? []).map((d) =>
        h(
          'tr',
          {},
          h('td', {}, d.name),
          h('td', {}, d.owner),
          h('td', {}, d.rules?.privacyUnit ?? '—'),
          h('td', { class: 'num' }, d.rules?.minGroupSize ?? '—'),
          h('td', {}, d.rules?.dp ? `ε ${d.rules.dp.budget.epsilon} per ${d.rules.dp.budget.period}` : 'no DP queries'),
          h('td', {}, d.region ?? '—'),
          h('td', {}, d.retentionDays ? `${d.retentionDays} days` : '—'),
        ),
      ),
    ),
    h('details', {}, h('summary', {}, 'The policy document'), h('pre', {}, h('code', {}, JSON.stringify(p, null, 2)))),
  ];
}

/** What changed since the signed-in member last accepted the policy (the room keeps every served version). */
function changesSection(since) {
  if (!since.accepted) return h('p', {}, `${since.member} has not accepted any version of this policy yet.`);
  const accepted = `${since.member} accepted ${shortHash(since.accepted.policyHash)} on ${when(since.accepted.acceptedAt)}`;
  if (since.changes === null) return h('p', {}, `${accepted}; the room has no copy of that version to compare with.`);
  if (since.changes.length === 0) return h('p', { class: 'muted' }, `${accepted}: the current version.`);
  const effect = { loosens: 'bad', tightens: 'good', changes: 'warn' };
  return [
    h('h3', { id: 'policy-changes' }, `What changed since ${accepted}`),
    table(
      ['Concerns', 'Effect', 'Change', 'Where'],
      since.changes.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, c.scope),
          h('td', {}, tag(c.effect, effect[c.effect] ?? 'warn')),
          h('td', {}, c.sentence),
          h('td', {}, h('code', {}, c.pointer)),
        ),
      ),
    ),
  ];
}

const cost = (c) => `ε ${Number(c.epsilon.toFixed(6))}${c.delta ? `, δ ${c.delta.toExponential(2)}` : ''}`;

async function budgets() {
  const mine = await signedFetch('GET', collaborationPath('/budget'));
  const owned = await signedFetch('GET', collaborationPath('/budget/spending')).catch(() => null);
  return [
    h('h2', {}, 'Privacy budgets'),
    h('h3', {}, `What ${mine.member} has spent`),
    table(
      ['Dataset', 'Period', 'Limit', 'Spent', 'Remaining'],
      mine.budgets.map((b) =>
        h(
          'tr',
          {},
          h('td', {}, b.dataset),
          h('td', {}, b.period === 'total' ? 'in total' : `${b.period} from ${b.periodStart}`),
          h('td', {}, cost(b.limit)),
          h('td', {}, cost(b.spent)),
          h('td', {}, cost(b.remaining)),
        ),
      ),
    ),
    owned && owned.datasets.length > 0
      ? [
          h('h3', {}, `Spent on ${owned.member}'s datasets, by member`),
          table(
            ['Dataset', 'Period', 'Member', 'Spent', 'Of limit'],
            owned.datasets.flatMap((d) =>
              (d.byMember.length > 0 ? d.byMember : [{ member: '—', spent: { epsilon: 0, delta: 0 } }]).map((m) =>
                h(
                  'tr',
                  {},
                  h('td', {}, d.dataset),
                  h('td', {}, d.period === 'total' ? 'in total' : `${d.period} from ${d.periodStart}`),
                  h('td', {}, m.member),
                  h('td', {}, cost(m.spent)),
                  h('td', {}, cost(d.limit)),
                ),
              ),
            ),
          ),
        ]
      : null,
  ];
}

function auditFilters() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return Object.fromEntries(
    ['actor', 'action', 'dataset', 'since', 'until', 'offset'].map((k) => [k, params.get(k) ?? '']),
  );
}

async function audit() {
  const filters = auditFilters();
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) query.set(k, v);
  query.set('limit', String(PAGE));
  const page = await signedFetch('GET', collaborationPath(`/audit?${query}`));
  const offset = Number(filters.offset || 0);
  const input = (name, label, type = 'text') =>
    h('label', {}, label, h('input', { name, type, value: filters[name], id: `audit-${name}` }));
  const go = (changes) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filters, ...changes })) if (v) next.set(k, v);
    location.hash = `#/audit?${next}`;
  };
  const form = h(
    'form',
    {
      class: 'inline',
      id: 'audit-filters',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(event.target);
        go({ ...Object.fromEntries(data.entries()), offset: '' });
      },
    },
    input('actor', 'Actor'),
    input('action', 'Action'),
    input('dataset', 'Dataset'),
    input('since', 'Since (ISO date)'),
    input('until', 'Until (ISO date)'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const exportChain = async () => {
    try {
      const whole = await signedFetch('GET', collaborationPath('/audit'));
      const ndjson = whole.entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
      const link = h('a', {
        href: URL.createObjectURL(new Blob([ndjson], { type: 'application/x-ndjson' })),
        download: `${session.collaboration}-audit.ndjson`,
      });
      document.body.append(link);
      link.click();
      link.remove();
      say(
        `Exported ${whole.entries.length} entries. Check them offline: cleanroom audit-verify --file <file>.`,
        'good',
      );
    } catch (error) {
      say(explain(error), 'bad');
    }
  };
  const datasetOf = (e) =>
    [e.details?.dataset, ...(Array.isArray(e.details?.datasets) ? e.details.datasets : [])].filter(Boolean).join(', ');
  return [
    h('h2', {}, 'Audit trail'),
    h(
      'p',
      { class: 'muted' },
      'Every act is an entry signed by the room and chained to the one before. The export is the whole chain.',
    ),
    form,
    h(
      'div',
      { class: 'pager' },
      h(
        'span',
        {},
        `${page.total} matching entries; showing ${page.entries.length ? offset + 1 : 0}–${offset + page.entries.length}`,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: offset === 0,
          onclick: () => go({ offset: String(Math.max(0, offset - PAGE)) }),
        },
        'Newer',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: offset + PAGE >= page.total,
          onclick: () => go({ offset: String(offset + PAGE) }),
        },
        'Older',
      ),
      h('button', { type: 'button', id: 'export', onclick: exportChain }, 'Export NDJSON'),
    ),
    table(
      ['Seq', 'Time (UTC)', 'Actor', 'Action', 'Dataset', 'Details'],
      page.entries.map((e) =>
        h(
          'tr',
          {},
          h('td', { class: 'num' }, e.seq),
          h('td', {}, when(e.at)),
          h('td', {}, e.actor),
          h('td', {}, e.action),
          h('td', {}, datasetOf(e)),
          h(
            'td',
            {},
            h(
              'details',
              {},
              h('summary', {}, 'show'),
              h(
                'pre',
                {},
                h('code', {}, JSON.stringify({ details: e.details, hash: e.hash, prevHash: e.prevHash }, null, 2)),
              ),
            ),
          ),
        ),
      ),
    ),
  ];
}

async function datasets() {
  const declared = session.policy.datasets ?? [];
  const statuses = await Promise.all(
    declared.map((d) =>
      signedFetch('GET', collaborationPath(`/datasets/${encodeURIComponent(d.name)}`)).catch((error) => ({ error })),
    ),
  );
  // The room computes expiry (upload + retentionDays); its retention sweep deletes the version then.
  const expiry = (_d, current) => (current?.expiresAt ? when(current.expiresAt) : '—');
  return [
    h('h2', {}, 'Datasets'),
    table(
      ['Dataset', 'Owner', 'Region', 'Version', 'Rows', 'Uploaded', 'Retention', 'Expires'],
      declared.map((d, i) => {
        const current = statuses[i]?.current ?? null;
        return h(
          'tr',
          {},
          h('td', {}, d.name),
          h('td', {}, d.owner),
          h('td', {}, d.region ?? '—'),
          h('td', { class: 'num' }, current ? current.version : 'not uploaded'),
          h('td', { class: 'num' }, current ? current.rows.toLocaleString('en') : '—'),
          h('td', {}, current ? when(current.uploadedAt) : '—'),
          h('td', {}, d.retentionDays ? `${d.retentionDays} days` : '—'),
          h('td', {}, expiry(d, current)),
        );
      }),
    ),
  ];
}

// ---------- start ----------
async function start() {
  if (!globalThis.nacl || !crypto.subtle) {
    say('This page needs Web Crypto and tweetnacl (open it over https or on localhost).', 'bad');
    return;
  }
  try {
    // A policy file the room could not load is quarantined; officers see it before anything else.
    const health = await (await fetch('/v1/health')).json();
    if (health.status !== 'ok')
      say(
        `The room is ${health.status}: ` +
          (health.quarantinedPolicies ?? [])
            .map((q) => `policy file ${q.file} is quarantined (${q.problems} problems; the operator's log lists them)`)
            .join('; '),
        'bad',
      );
    const room = await (await fetch('/v1/room')).json();
    $('collaboration').replaceChildren(...room.collaborations.map((id) => h('option', { value: id }, id)));
  } catch {
    say('Could not reach the room.', 'bad');
  }
  $('signin-form').addEventListener('submit', signIn);
  window.addEventListener('hashchange', route);
}
// Loaded by the page; imported by tests for formatSql alone.
if (typeof document !== 'undefined') start();

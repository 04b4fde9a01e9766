import { KEYS_YML } from './keys.generated.js';

/** A key of a map under a key (processes.<type>.memory, healthcheck.path): a row of its table. */
export interface SubkeyDoc {
  key: string;
  summary: string;
  type: string;
  default: string;
}

/** What src/config/keys.yml says of one paas.yml key (see that file's header). */
export interface KeyDoc {
  key: string;
  summary: string;
  init?: string;
  intro?: string;
  facts?: Record<string, string>;
  example?: string;
  text?: string;
  keys?: SubkeyDoc[];
}

/** Every paas.yml key, in the order of the reference. */
export const KEY_DOCS = KEYS_YML as readonly KeyDoc[];

/** The description of `key` (a path such as build.args); a key without one is a bug of paas. */
export function keyDoc(key: string): KeyDoc {
  const doc = KEY_DOCS.find((d) => d.key === key);
  if (!doc) throw new Error(`src/config/keys.yml does not describe ${key}`);
  return doc;
}

/** Where the map of a key with subkeys sits: processes.<type>.replicas, cron.<name>.schedule, healthcheck.path. */
function subkeyPrefix(key: string): string {
  return key === 'processes' ? 'processes.<type>' : key === 'cron' || key === 'volumes' ? `${key}.<name>` : key;
}

/** Every key path keys.yml describes (processes' subkeys as processes.<type>.replicas, cron's as cron.<name>.schedule). */
export function documentedKeyPaths(): string[] {
  return KEY_DOCS.flatMap((doc) => [doc.key, ...(doc.keys ?? []).map((sub) => `${subkeyPrefix(doc.key)}.${sub.key}`)]);
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function renderKey(doc: KeyDoc): string {
  const parts = [`${doc.key.includes('.') ? '###' : '##'} ${doc.key}`, doc.summary];
  if (doc.intro) parts.push(doc.intro);
  if (doc.facts) parts.push(table(['', ''], Object.entries(doc.facts)));
  if (doc.example) parts.push(`\`\`\`yaml\n${doc.example}\n\`\`\``);
  if (doc.text) {
    const keys = doc.keys ? table(['Key', 'What', 'Type and format', 'Default'], doc.keys.map((sub) => [`\`${sub.key}\``, sub.summary, sub.type, sub.default])) : '';
    parts.push(doc.text.replace('{{keys}}', keys));
  }
  return parts.join('\n\n');
}

export const REFERENCE_START = '<!-- The key sections below are rendered from src/config/keys.yml by `npm run docs`: edit that file, not these sections. -->';
export const REFERENCE_END = '<!-- end of the sections rendered from src/config/keys.yml -->';

/** docs/paas-yml.md's key sections, between their markers. */
export function renderKeyReference(): string {
  return [REFERENCE_START, ...KEY_DOCS.map(renderKey), REFERENCE_END].join('\n\n');
}

/** `markdown` (docs/paas-yml.md) with its key sections replaced by the rendered ones. */
export function withKeyReference(markdown: string): string {
  const start = markdown.indexOf(REFERENCE_START);
  const end = markdown.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error('docs/paas-yml.md has lost the markers of its rendered key sections');
  return `${markdown.slice(0, start)}${renderKeyReference()}${markdown.slice(end + REFERENCE_END.length)}`;
}

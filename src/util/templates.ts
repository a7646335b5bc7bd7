import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../cluster/port.js';

/** templates/ sits at the package root, above src/ (tsx) or dist/src/ (built). */
function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('templates/ directory not found next to the vnode installation');
}

/** Renders a multi-document YAML template; values are substituted as JSON strings so they cannot inject YAML. */
export function renderTemplate(name: string, values: Record<string, string>): KubeObject[] {
  const raw = readFileSync(path.join(templatesDir(), name), 'utf8');
  const text = raw.replace(/"\{\{(\w+)\}\}"/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return JSON.stringify(v);
  });
  return parseAllDocuments(text).map((d) => d.toJSON() as KubeObject).filter((o) => o && typeof o === 'object');
}

export function readTemplate(name: string): string {
  return readFileSync(path.join(templatesDir(), name), 'utf8');
}

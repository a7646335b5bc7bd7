import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../cluster/port.js';
import { packageFile } from './package-files.js';

/** Renders a multi-document YAML template; values are substituted as JSON strings so they cannot inject YAML. */
export function renderTemplate(name: string, values: Record<string, string>): KubeObject[] {
  const raw = packageFile(`templates/${name}`).toString('utf8');
  const text = raw.replace(/"\{\{(\w+)\}\}"/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${name}: no value for {{${key}}}`);
    return JSON.stringify(v);
  });
  return parseAllDocuments(text).map((d) => d.toJSON() as KubeObject).filter((o) => o && typeof o === 'object');
}

export function readTemplate(name: string): string {
  return packageFile(`templates/${name}`).toString('utf8');
}

/** Add-on versions in order: v2.13.1 < v2.14.0 (their numeric parts in turn; anything after them is ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => (/(\d+(?:\.\d+)*)/.exec(v)?.[1] ?? '0').split('.').map(Number);
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

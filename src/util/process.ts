/** Is a process of this pid running (signal 0: a check, nothing is sent)? */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Whether a process with this pid exists on this machine. Signal 0 checks without sending anything; EPERM means the
 * process exists but belongs to another user, so it counts as alive.
 * @example if (!isProcessAlive(owner)) takeOver();
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

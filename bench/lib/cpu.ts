import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc
 * (clock ticks of 10 ms); with `mainThread`, only its main thread's (the
 * event loop's: a worker thread's time is not in it).
 */
export function cpuMs(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

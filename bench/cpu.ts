// Where the machine's CPU goes during a load run, per process group (Linux /proc; clock ticks are
// 10 ms here). The ratios in bench/partner-api.ts compare throughputs on shared cores, so this says
// which process took the cores: the BFF, Keycloak, PostgreSQL, Redis or the load generator itself.
import { readdirSync, readFileSync } from 'node:fs';

export type CpuGroups = Record<string, number>;

function ticks(statLine: string): number {
  const fields = statLine.split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

/**
 * CPU time in ms per group since boot: `bff` and any other named pid, `keycloak` (the java process
 * listening on keycloakPort), `postgres`, `redis`, `loadgen` (this process) and `machine` (all busy
 * time, idle excluded).
 */
export function cpuSnapshot(pids: Record<string, number | undefined>, keycloakPort: number): CpuGroups {
  const groups: CpuGroups = { keycloak: 0, postgres: 0, redis: 0 };
  for (const [name, pid] of Object.entries(pids)) {
    const stat = pid === undefined ? undefined : read(`/proc/${pid}/stat`);
    groups[name] = stat ? ticks(stat) * 10 : 0;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.indexOf(')'));
    if (comm === 'postgres') groups.postgres! += ticks(stat) * 10;
    else if (comm === 'redis-server') groups.redis! += ticks(stat) * 10;
    else if (comm === 'java' && read(`/proc/${entry}/cmdline`)?.includes(`--http-port=${keycloakPort}`)) groups.keycloak! += ticks(stat) * 10;
  }
  const usage = process.cpuUsage();
  groups.loadgen = (usage.user + usage.system) / 1000;
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  groups.machine = (cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!) * 10;
  return groups;
}

/** µs of CPU per request for each group between two snapshots. */
export function perRequest(before: CpuGroups, after: CpuGroups, requests: number): CpuGroups {
  return Object.fromEntries(Object.keys(after).map((k) => [k, requests === 0 ? 0 : ((after[k]! - (before[k] ?? 0)) * 1000) / requests]));
}

export const formatCpu = (cpu: CpuGroups) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');

// Child processes of the bench (the service, the baselines, the loopback FHIR server) and what
// /proc says about them: resident memory (now and peak) and CPU time. Every process is a child of
// its own so that its memory and CPU are its own, not the load generator's.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every Linux this runs on. */
const CLOCK_TICKS_PER_S = 100;

/** Resident set size (VmRSS) and its high-water mark (VmHWM) of a process, in MB. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** User + system CPU time a process has used so far, in milliseconds. */
export function cpuMsOf(pid) {
  return cpuMsIn(`/proc/${pid}/stat`);
}

/**
 * The same for the process's main thread alone (the thread whose id is the process id): the one
 * thread that parses, decides and answers every HTTP call, so the one that bounds the rate, where
 * the process's total also counts the records worker, GC helpers and libuv's thread pool.
 */
export function mainThreadCpuMsOf(pid) {
  return cpuMsIn(`/proc/${pid}/task/${pid}/stat`);
}

function cpuMsIn(statFile) {
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const stat = readFileSync(statFile, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (or rejects after timeoutMs). */
export async function waitForPort(port, timeoutMs = 10_000, child = undefined) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${child.name} exited with code ${child.exitCode} before listening`);
    const open = await new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * A node child process whose stdout and stderr go to a log file (not through the bench, whose CPU
 * drives the load). `stop()` sends SIGTERM, then SIGKILL after a grace period.
 */
/**
 * The node flags the service ships with: those of `npm start` (package.json), which the Dockerfile
 * repeats. The bench starts the service with them, so it measures what is deployed.
 */
export function shippedNodeArgs(packageJson) {
  const start = JSON.parse(readFileSync(packageJson, 'utf8')).scripts.start;
  const match = /^node((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/src\/server\.js$/.exec(start);
  if (!match) throw new Error(`package.json's start script is not "node [--flags] dist/src/server.js": ${start}`);
  return match[1].trim().split(/\s+/).filter(Boolean);
}

export class Child {
  constructor(name, script, { args = [], env = {}, logFile, nodeArgs = [] }) {
    this.name = name;
    this.logFile = logFile;
    const fd = openSync(logFile, 'a');
    this.startedAt = process.hrtime.bigint();
    this.process = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.process.name = name;
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid() {
    return this.process.pid;
  }

  memory() {
    return memoryOf(this.pid);
  }

  mainThreadCpuMs() {
    return mainThreadCpuMsOf(this.pid);
  }

  cpuMs() {
    return cpuMsOf(this.pid);
  }

  async listening(port, timeoutMs) {
    await waitForPort(port, timeoutMs, this.process);
  }

  async stop() {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The bench's environment without what would change the children's behaviour behind its back. */
function cleanEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(CDS_|POLICY_DIR$|PORT$|FHIR_TIMEOUT_MS$|BODY_LIMIT$|NODE_OPTIONS$|NODE_ENV$|DATA_DIR$|DATABASE_URL$|LOG_LEVEL$|METRICS_TOKEN$|CARD_VIEW$)/.test(name)) delete env[name];
  }
  return env;
}

/**
 * Samples a process's resident memory every `intervalMs` until stopped: the series shows whether
 * memory grows during a run, the kernel's high-water mark gives the peak.
 */
export class MemorySampler {
  constructor(child, intervalMs = 250) {
    this.samples = [];
    this.child = child;
    this.started = Date.now();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample() {
    try {
      this.samples.push({ atS: (Date.now() - this.started) / 1000, ...this.child.memory() });
    } catch {
      // the process has exited
    }
  }

  stop() {
    this.sample();
    clearInterval(this.timer);
    return {
      peakRssMb: Math.max(...this.samples.map((s) => s.peakRssMb)),
      samples: this.samples,
    };
  }
}

// Runs one client in its own process under /usr/bin/time, which reports the whole process's
// CPU (user + system) and peak RSS from the kernel's rusage; the wall time is taken here.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const TIME = '/usr/bin/time';

/** Runs `cmd args` and resolves { wallS, userS, sysS, cpuS, maxRssMB, stdout }; rejects on a non-zero exit. */
export function measure(cmd, args, { timeoutMs = 600_000, env } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-bench-'));
  const out = join(dir, 'time');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', out, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallS = (performance.now() - t0) / 1000;
      let time = '';
      try {
        time = readFileSync(out, 'utf8').trim().split('\n').pop();
      } catch {}
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`${cmd} exited with ${code}: ${stderr.slice(-2000)}`));
      const [, user, sys, rssKB] = time.split(' ').map(Number);
      resolve({ wallS, userS: user, sysS: sys, cpuS: user + sys, maxRssMB: rssKB / 1024, stdout, stderr });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Spread of a sample: (max - min) / median, as a percentage. */
export function spreadPct(xs) {
  return xs.length < 2 ? 0 : ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100;
}

/**
 * A progress bar for jobs that run in phases (read the log, replay or simulate, write the
 * report): one bar per phase on standard error, drawn only on a terminal, so logs and CI output
 * stay clean.
 */
import { SingleBar } from 'cli-progress';

/** The handle {@link phasedProgress} returns; `P` names the job's phases. */
export interface PhasedProgress<P extends string> {
  /** Pass as the job's `onProgress`: `done` of `total` units of work in phase `phase`. */
  readonly onProgress: (phase: P, done: number, total: number) => void;
  /** Clears the bar; call once the job ended, also when it failed. */
  stop(): void;
}

/** A phased progress bar; `labels` names each phase (padded to one width by the caller). */
export function phasedProgress<P extends string>(labels: Record<P, string>): PhasedProgress<P> {
  const tty = process.stderr.isTTY === true;
  const bar = new SingleBar({
    format: '{phase} [{bar}] {percentage}% | {value}/{total}',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  let current: P | null = null;
  return {
    onProgress: (phase, done, total) => {
      if (!tty) return;
      if (phase !== current) {
        if (current !== null) bar.stop();
        current = phase;
        bar.start(total, done, { phase: labels[phase] });
      } else {
        bar.update(done);
      }
    },
    stop: () => {
      if (tty && current !== null) bar.stop();
      current = null;
    },
  };
}

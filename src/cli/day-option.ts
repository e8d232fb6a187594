/**
 * The `--from`/`--to` day options of `switchboard replay` and `switchboard simulate`.
 */
import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for a calendar day "YYYY-MM-DD" (a real date: 1999-02-31 is
 * refused). Returns the text unchanged; throws commander's InvalidArgumentError naming `option`
 * and the value, which commander prints with the usage hint and exit code 1.
 */
export function dayOption(option: string): (value: string) => string {
  return (value) => {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(ms) || !new Date(ms).toISOString().startsWith(value)) throw new InvalidArgumentError(`${option} "${value}" is not a date as YYYY-MM-DD (e.g. 1999-02-07).`);
    return value;
  };
}

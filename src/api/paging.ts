/**
 * List pages (spec §2): `PageSize` (default 50, max 1000), `Page` (0-based, informational) and
 * `PageToken` (`PA<sid>` = after that record, `PB<sid>` = before it). The `meta` object carries
 * absolute URLs on our own origin that echo the request's filters; the twilio client follows
 * `next_page_url` exactly.
 */
import { badParameter } from './twilio-errors.ts';
import { Params } from './params.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
const PAGING = new Set(['PageSize', 'Page', 'PageToken']);

export interface PageMeta {
  page: number;
  page_size: number;
  first_page_url: string;
  previous_page_url: string | null;
  url: string;
  next_page_url: string | null;
  key: string;
}

export interface PageRequest {
  /** Absolute URL of the list without the query string. */
  listUrl: string;
  /** The request's query parameters. */
  query: Params;
  /** The list key, e.g. `tasks`. */
  key: string;
}

/**
 * Cuts one page out of `items` (already filtered and ordered) and returns the body
 * `{[key]: page.map(serialize), meta}`. `sidOf` names each item for the cursor.
 */
export function page<T>(req: PageRequest, items: readonly T[], sidOf: (item: T) => string, serialize: (item: T) => unknown): Record<string, unknown> {
  const q = req.query;
  const pageSize = q.integer('PageSize', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
  const pageNumber = q.integer('Page', 0) ?? 0;
  const token = q.string('PageToken');
  let start: number;
  let end: number;
  if (token === undefined) {
    start = Math.min(pageNumber * pageSize, items.length);
    end = Math.min(start + pageSize, items.length);
  } else {
    const m = /^(PA|PB)(.+)$/.exec(token);
    if (m === null) throw badParameter('PageToken', `PageToken '${token}' is not valid`);
    const at = items.findIndex((it) => sidOf(it) === m[2]);
    if (m[1] === 'PA') {
      // After the record; if it is gone, fall back to the page number.
      start = at >= 0 ? at + 1 : Math.min(pageNumber * pageSize, items.length);
      end = Math.min(start + pageSize, items.length);
    } else {
      end = at >= 0 ? at : Math.min(pageNumber * pageSize, items.length);
      start = Math.max(0, end - pageSize);
    }
  }
  const slice = items.slice(start, end);
  const filters = echoFilters(q);
  const link = (p: number, tok?: string): string => {
    const parts = [...filters, `PageSize=${pageSize}`, `Page=${p}`];
    if (tok !== undefined) parts.push(`PageToken=${encodeURIComponent(tok)}`);
    return `${req.listUrl}?${parts.join('&')}`;
  };
  const last = slice[slice.length - 1];
  const first = slice[0];
  const meta: PageMeta = {
    page: pageNumber,
    page_size: pageSize,
    first_page_url: link(0),
    previous_page_url: start > 0 && first !== undefined ? link(Math.max(0, pageNumber - 1), `PB${sidOf(first)}`) : null,
    url: link(pageNumber, token),
    next_page_url: end < items.length && last !== undefined ? link(pageNumber + 1, `PA${sidOf(last)}`) : null,
    key: req.key,
  };
  return { [req.key]: slice.map(serialize), meta };
}

/** The request's non-paging query parameters, encoded, in the order given (repeats kept). */
function echoFilters(q: Params): string[] {
  const out: string[] = [];
  for (const name of q.names()) {
    if (PAGING.has(name)) continue;
    for (const v of q.all(name)) out.push(`${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  }
  return out;
}

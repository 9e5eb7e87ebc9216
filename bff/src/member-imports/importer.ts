import { Transform, type Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { keyedHash } from '../kernel/crypto/keyed-hash.ts';
import { DomainError } from '../kernel/errors.ts';
import { checkRow, parseHeader, RowDeduper, type Header } from './csv.ts';
import type { ImportStore, NewRow } from './import-store.ts';

export interface ImporterDeps {
  store: ImportStore;
  /** HMAC key of the duplicate check's memory (values are never kept in clear). */
  hashKey: string;
  settings: {
    defaultPhoneCountry: string;
    /** A file larger than this is refused (PAYLOAD_TOO_LARGE), nothing kept. */
    maxBytes: number;
    /** More data rows than this: refused the same way. */
    maxRows: number;
    /** Rows written to PostgreSQL per statement. */
    batchSize: number;
  };
  /** Told when a file is in, so this process starts on it at once. */
  received?: (importId: string) => void;
}

/**
 * Receives one member file (decision 0035): streamed through the CSV parser, never held whole. The
 * header is checked before anything is stored (a bad one: VALIDATION_FAILED naming the columns); then
 * each row is checked as it arrives and written in batches, a bad or repeated row stored as refused
 * with its reason. A file over the size or row limit, or that is not CSV, leaves nothing. Answers the
 * import's id once every row is stored; the rows are worked on in the background (worker.ts).
 */
export async function receiveMemberFile(
  deps: ImporterDeps,
  input: { tenant: string; uploadedBy: string; body: Readable; contentLength?: number },
): Promise<string> {
  const { store, settings } = deps;
  if (input.contentLength !== undefined && input.contentLength > settings.maxBytes) throw tooLarge(settings);
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, max_record_size: 64 * 1024 });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > settings.maxBytes ? tooLarge(settings) : null, chunk);
    },
  });
  input.body.on('error', (err) => limit.destroy(err));
  // A client that goes away mid-file closes the request without ending it: the file is refused (and deleted), not awaited forever.
  let ended = false;
  input.body.once('end', () => {
    ended = true;
  });
  input.body.once('close', () => {
    if (!ended) limit.destroy(interrupted());
  });
  limit.on('error', (err) => parser.destroy(err));
  input.body.pipe(limit).pipe(parser);

  const dedupe = new RowDeduper((kind, value) => keyedHash(deps.hashKey, 'member-import-dedupe', `${kind}:${value}`));
  let header: Header | undefined;
  let width = 0;
  let importId: string | undefined;
  let total = 0;
  let batch: NewRow[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = parseHeader(record);
        width = record.length;
        importId = await store.create(input.tenant, input.uploadedBy);
        continue;
      }
      total += 1;
      if (total > settings.maxRows) throw tooLarge(settings);
      const checked = checkRow(record, header, width, settings.defaultPhoneCountry);
      const refused = checked.ok ? dedupe.check(checked.member) : checked.reason;
      batch.push({ line: info.lines, member: checked.ok ? checked.member : checked.raw, ...(refused ? { refused } : {}) });
      if (batch.length >= settings.batchSize) {
        await store.addRows(importId!, batch);
        batch = [];
      }
    }
    if (!header || !importId) {
      throw new DomainError('VALIDATION_FAILED', 'The file is empty', {
        fields: [{ field: 'columns', reason: 'required', message: 'The first row must name the columns' }],
      });
    }
    await store.addRows(importId, batch);
    await store.received(importId, total);
  } catch (err) {
    input.body.unpipe();
    input.body.resume();
    if (importId) await store.discard(importId);
    if (err instanceof CsvError) {
      throw new DomainError('VALIDATION_FAILED', 'The file is not valid CSV', {
        fields: [{ field: 'body', reason: 'malformed_csv', message: `Line ${(err as CsvError & { lines?: number }).lines ?? '?'}: ${err.code}` }],
      });
    }
    throw err;
  }
  deps.received?.(importId);
  return importId;
}

function interrupted(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'The upload was interrupted before the end of the file; nothing was kept', {
    fields: [{ field: 'body', reason: 'incomplete', message: 'Send the whole file again' }],
  });
}

function tooLarge(settings: ImporterDeps['settings']): DomainError {
  return new DomainError('PAYLOAD_TOO_LARGE', `A member file may have at most ${settings.maxRows} rows and ${settings.maxBytes} bytes; split it`, {
    fields: [{ field: 'body', reason: 'too_large', message: `At most ${settings.maxRows} rows and ${settings.maxBytes} bytes` }],
  });
}

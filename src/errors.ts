// Domain errors shared by the core and every subsystem. Each API surface maps them to its
// own wire format in one table (registry/api/error-table.ts, src/api/error-table.ts).

export type DomainErrorKind =
  | 'invalid' // the input breaks a rule; `field` names it
  | 'not_found' // `field`, when given, names the input that points at nothing
  | 'conflict' // already exists, or a state that forbids the change
  | 'unauthenticated'
  | 'forbidden'
  | 'too_many'; // a limit on queued work is reached (429)

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const invalid = (field: string, message: string) => new DomainError('invalid', message, field);
export const notFound = (message: string, field?: string) => new DomainError('not_found', message, field);
export const conflict = (message: string, field?: string) => new DomainError('conflict', message, field);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const tooMany = (message: string) => new DomainError('too_many', message);

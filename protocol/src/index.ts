export * from './messages.ts';
export * from './close-codes.ts';
export * from './codec.ts';
export * from './line-protocol.ts';
export * from './errors.ts';
export * from './time-zone.ts';
export * from './issues.ts';
export * from './rows.ts';

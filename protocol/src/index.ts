export * from './messages.ts';
export * from './close-codes.ts';
export * from './codec.ts';
export * from './line-protocol.ts';
export * from './rows.ts';
export * from './collector-message.ts';

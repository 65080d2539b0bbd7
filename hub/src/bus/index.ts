export * from './bus.ts';
export { type BusLog, consoleBusLog, silentBusLog } from './bus-log.ts';
export { MemoryBus, type MemoryBusOptions } from './memory/memory-bus.ts';
export { RedisBus, type RedisBusOptions } from './redis/redis-bus.ts';

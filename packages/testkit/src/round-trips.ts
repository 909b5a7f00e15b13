import type { Cluster, Command, Redis } from 'ioredis';

/**
 * Counts the round trips an ioredis connection makes: every command it sends, grouped so
 * that a round trip starts when a command is sent while no reply is outstanding; commands
 * sent before the replies of the earlier ones arrive (a MULTI block, parallel job adds,
 * commands to several cluster nodes at once) travel in the same one. ioredis routes every
 * command through sendCommand, those of MULTI/pipelines and of BullMQ's Lua scripts
 * (EVALSHA) included; on a Cluster, the cluster client's sendCommand sees each command once.
 */
export interface RoundTripLog {
  /** Command names per round trip, in order. */
  trips: string[][];
  reset(): void;
}

export function countRoundTrips(redis: Redis | Cluster): RoundTripLog {
  const log: RoundTripLog = {
    trips: [],
    reset() {
      log.trips = [];
    },
  };
  let outstanding = 0;
  const target = redis as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
  const send = target.sendCommand.bind(target);
  target.sendCommand = (command: Command, ...rest: unknown[]) => {
    if (outstanding === 0) log.trips.push([]);
    log.trips.at(-1)!.push(command.name);
    outstanding += 1;
    command.promise.then(
      () => (outstanding -= 1),
      () => (outstanding -= 1),
    );
    return send(command, ...rest);
  };
  return log;
}

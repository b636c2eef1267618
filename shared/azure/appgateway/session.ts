import type { NetworkInterface } from '@azure/arm-network';
import type { WindowClock } from '../../core/clock';
import type { Log } from '../../core/log';
import type { ArmClients } from '../arm';
import { gatewayTagName, nicTagName } from '../drain-tags';
import { describePool } from './shape';
import type { PoolClientOptions, PoolTarget } from './types';

/**
 * What one pool client's steps share: the ARM clients, the target, the clock, the NICs read so far, the
 * warnings already given, and how many writes were made. Each module's functions take it first.
 */
export class PoolSession {
  readonly log: Log;
  readonly clock: WindowClock;
  readonly nicCache = new Map<string, NetworkInterface>();
  private readonly warned = new Set<string>();
  gatewayWrites = 0;
  nicWrites = 0;

  constructor(
    readonly clients: ArmClients,
    readonly target: PoolTarget,
    readonly options: PoolClientOptions,
  ) {
    this.log = options.log;
    this.clock = options.clock;
  }

  /** `pool 'web' of application gateway 'agw'`. */
  get where(): string {
    return describePool(this.target);
  }

  /** The key every write to this gateway queues on (a NIC write updates the gateway too). */
  get gatewayKey(): string {
    return `${this.clients.connection.subscriptionId}/${this.target.resourceGroupName}/${this.target.applicationGatewayName}`;
  }

  /** How long to wait for an update someone else started. */
  get busyTimeoutMs(): number {
    return this.options.busyTimeoutMs ?? 30 * 60_000;
  }

  get gatewayTagName(): string {
    return gatewayTagName(this.target.backendPoolName);
  }

  get nicTagName(): string {
    return nicTagName(this.target.applicationGatewayName, this.target.backendPoolName);
  }

  /** Warns once per message (a write's change is re-applied on every attempt). */
  warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.log.warn(message);
  }

  get writes(): { gatewayWrites: number; nicWrites: number } {
    return { gatewayWrites: this.gatewayWrites, nicWrites: this.nicWrites };
  }
}

import { Args } from '@oclif/core';
import type { ServiceView } from '../agent/protocol.js';
import { PaasError } from '../errors.js';
import type { HostAddress } from '../ssh/connect.js';
import { HostCommand, hostAddresses, type HostFlagValues, type HostSession } from './host-command.js';

/** The NAME argument of the services:* commands (each command declares it: oclif reads its own statics). */
export const serviceNameArg = Args.string({ description: 'the service\'s name (see paas services)', required: true });

/**
 * The services:* commands: a service lives on one host, the first of the app's hosts (or the one
 * --host names); apps on other hosts cannot reach it.
 */
export abstract class ServiceCommand extends HostCommand {
  protected async serviceHost(flags: HostFlagValues): Promise<{ address: HostAddress; session: HostSession; hosts: number }> {
    const addresses = hostAddresses(flags, await this.configOf('.'));
    const address = addresses[0]!;
    return { address, session: await this.open(address, flags), hosts: addresses.length };
  }

  /** Links need the app on the service's host only: its other hosts could not reach it. */
  protected oneHostOnly(hosts: number, app: string): void {
    if (hosts > 1) {
      throw new PaasError('usage', `${app} runs on ${hosts} hosts, and a service runs on one: the others could not reach it`, {
        hint: 'pass --host for the one host, or run the service elsewhere and set its URL with paas config:set',
      });
    }
  }
}

export function serviceLines(host: string, services: ServiceView[]): string[] {
  if (services.length === 0) return [`${host}: no services (paas services:create postgres NAME)`];
  return [`${host}:`, ...services.map((s) => `  ${s.name.padEnd(20)} ${`${s.kind} ${s.version}`.padEnd(12)} ${s.state.padEnd(10)} ${s.status === 'creating' ? '(not finished: run services:create again) ' : ''}${s.links.length ? `linked to ${s.links.map((l) => `${l.app} as ${l.as}${l.status === 'linked' ? '' : ` (${l.status})`}`).join(', ')}` : 'not linked'}`)];
}

export function serviceInfoLines(host: string, service: ServiceView & { url: string }): string[] {
  return [
    `=== ${service.name} on ${host}`,
    `  kind       ${service.kind} ${service.version} (${service.image})`,
    `  state      ${service.state}${service.status === 'creating' ? ', not finished: run services:create again' : ''}`,
    `  url        ${service.url}`,
    `  container  ${service.container}, network ${service.network}, no published port`,
    `  data       Docker volume ${service.volume}`,
    `  links      ${service.links.map((l) => `${l.app} (${l.as})`).join(', ') || 'none'}`,
    `  created    ${service.createdAt}`,
  ];
}

/** Checks of command arguments, before any host is reached. */
import { PaasError } from '../errors.js';
import { checkHostname } from '../config/validators.js';

/** The NAME argument of domains:add / domains:remove, refused before any host is reached. */
export function checkedDomain(name: string): string {
  const problem = checkHostname(name);
  if (problem) {
    throw new PaasError('usage', problem, {
      where: 'the NAME argument',
      hint: 'give a DNS name such as shop.example.com (lowercase letters, digits, dashes and dots; an optional leading *.)',
    });
  }
  return name;
}

/** Whether the destroy may go ahead: the confirmation must name the app exactly. */
export function confirmationProblem(app: string, confirm: string | undefined, interactive: boolean): string | undefined {
  if (confirm === undefined) return interactive ? undefined : `destroying ${app} needs --confirm ${app} when there is no terminal to ask`;
  return confirm === app ? undefined : `--confirm ${JSON.stringify(confirm)} does not match the app ${app}`;
}


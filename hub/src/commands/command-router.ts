import type { Claims, CommandArgs, CommandName, CommandResult, CommandSpec } from '@opshub/schema';
import { commands } from '@opshub/schema';
import { canCommand } from '../auth/permissions.ts';
import { BusUnavailableError, type Bus } from '../bus/bus.ts';
import { ClientError, describeZodError } from '../errors.ts';

export interface CommandContext {
  readonly claims: Claims;
}

export type CommandHandler<N extends CommandName> = (args: CommandArgs<N>, ctx: CommandContext) => Promise<CommandResult<N>>;

/** One handler per command in `schema/src/commands.ts`; the type makes a missing one a compile error. */
export type CommandHandlers = { readonly [N in CommandName]: CommandHandler<N> };

/**
 * Validates, authorises and runs `cmd` frames. Streams contribute the handlers; this is the only place that
 * looks at a command's name. Every command publishes, so while the bus is unreachable each is refused here with
 * `unavailable` before its handler writes anything (a handler's own publish, inside its transaction, is the second
 * line: a bus lost mid-command rolls the write back).
 * @example await router.run('announce.send', { event: 'expo', text: 'Doors open', level: 'info' }, { claims })
 */
export class CommandRouter {
  constructor(
    private readonly handlers: CommandHandlers,
    private readonly bus: Pick<Bus, 'isHealthy' | 'kind'>,
  ) {}

  async run(name: string, rawArgs: unknown, ctx: CommandContext): Promise<unknown> {
    if (!Object.hasOwn(commands, name)) throw new ClientError('not_found', `unknown command "${name}"`);
    const commandName = name as CommandName;
    const parsed = commands[commandName].args.safeParse(rawArgs);
    if (!parsed.success) throw new ClientError('invalid', describeZodError(parsed.error, 'args'));
    const args = parsed.data as CommandArgs<CommandName> & { event: string; exhibitor?: string };
    if (!canCommand(ctx.claims, commandName, args.event, args.exhibitor)) {
      throw new ClientError('forbidden', `role "${ctx.claims.role}" may not ${name} for event "${args.event}"`);
    }
    const spec: CommandSpec = commands[commandName];
    if (spec.topic && !spec.publishesSometimes && !this.bus.isHealthy()) throw new BusUnavailableError(this.bus.kind);
    const handler = this.handlers[commandName] as CommandHandler<CommandName>;
    return handler(args, ctx);
  }
}

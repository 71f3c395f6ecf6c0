import { ApiKeyStore, isScope, SCOPES } from '../../core/auth/api-keys.js';
import { InvalidArgumentError } from '../../core/errors/retrace-error.js';
import type { SqlClient } from '../../db/sql-client.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';

export interface KeysCommandOptions {
  json: boolean;
  scope?: string;
  name?: string;
}

/**
 * `retrace keys create|list|revoke`: a thin shell over ApiKeyStore. `create` prints the key as
 * the last line, the only time it is ever shown (only its hash is stored).
 */
export async function keysCommand(sql: SqlClient, args: readonly string[], options: KeysCommandOptions): Promise<number> {
  const [action, ...rest] = args;
  const keys = new ApiKeyStore(sql);
  switch (action) {
    case 'create': {
      if (rest.length) throw new InvalidArgumentError(`retrace keys create takes no arguments (got ${rest.join(' ')}); use --scope and --name`);
      if (!isScope(options.scope)) throw new InvalidArgumentError(`retrace keys create needs --scope ${SCOPES.join('|')}`);
      const k = await keys.create({ scope: options.scope, name: options.name });
      if (options.json) {
        process.stdout.write(JSON.stringify({ id: k.id, key: k.key, scope: k.scope }) + '\n');
      } else {
        process.stdout.write(
          `Created ${k.scope} key ${k.id}${k.name ? ` (${k.name})` : ''}. Keep it now: it is not stored and cannot be shown again.\n` +
            `Send it as "Authorization: Bearer <key>".\n${k.key}\n`,
        );
      }
      return EXIT.ok;
    }
    case 'list': {
      if (rest.length) throw new InvalidArgumentError('retrace keys list takes no arguments');
      const all = await keys.list();
      if (options.json) {
        process.stdout.write(JSON.stringify(all) + '\n');
      } else if (!all.length) {
        process.stdout.write('No API keys: the server runs without authentication on loopback addresses only.\n');
      } else {
        process.stdout.write(
          table(
            ['id', 'scope', 'name', 'created', 'revoked'],
            all.map((k) => [k.id, k.scope, k.name ?? '', k.createdAt, k.revokedAt ?? '']),
          ) + '\n',
        );
      }
      return EXIT.ok;
    }
    case 'revoke': {
      if (rest.length !== 1) throw new InvalidArgumentError('retrace keys revoke needs exactly one key id (see retrace keys list)');
      const k = await keys.revoke(rest[0]);
      if (options.json) process.stdout.write(JSON.stringify(k) + '\n');
      else process.stdout.write(`revoked ${k.id} (${k.scope}${k.name ? `, ${k.name}` : ''})\n`);
      return EXIT.ok;
    }
    default:
      throw new InvalidArgumentError(
        action ? `Unknown keys action: ${action} (create, list or revoke)` : 'retrace keys needs an action: create, list or revoke',
      );
  }
}

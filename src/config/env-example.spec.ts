// .env.example is the operator's reference: it must name every variable the service reads, each with a
// comment, and its values must be valid (loading the file as it stands gives a working development config).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { projectRoot } from '../common/project-root.js';
import { CONFIG_VARIABLES, loadConfig } from './config.js';

const text = readFileSync(join(projectRoot(), '.env.example'), 'utf8');
const lines = text.split('\n');
const assignment = /^([A-Z][A-Z0-9_]*)=/;

describe('.env.example', () => {
  const listed = lines.flatMap((line) => assignment.exec(line)?.[1] ?? []);

  it('names every variable of src/config once, and nothing else', () => {
    expect([...listed].sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('explains each variable in the comment right above it', () => {
    const uncommented = lines.flatMap((line, i) => {
      const name = assignment.exec(line)?.[1];
      return name && !lines[i - 1]?.startsWith('#') ? [name] : [];
    });
    expect(uncommented).toEqual([]);
  });

  it('loads as a valid development configuration', () => {
    const config = loadConfig(parseEnv(text) as Record<string, string>);
    expect(config.env).toBe('development');
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/chancery.sqlite' });
  });
});

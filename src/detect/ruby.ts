import { PaasError } from '../errors.js';
import type { AppDir } from './appdir.js';
import type { Notes, StackDetector, StackPlan, StartCommand } from './stack.js';
import { DEFAULT_PORT } from './types.js';

const DEFAULT_RUBY = '3.1';
export const RUBY_DEFAULT_IMAGE = rubyImage(DEFAULT_RUBY);

/** The app's Gemfile and Gemfile.lock, read once. */
interface Gems {
  gemfile: string;
  lock?: string;
}

export const rubyDetector: StackDetector = {
  stack: 'ruby',
  markers: ['Gemfile'],
  plan: planRuby,
};

async function planRuby(app: AppDir, notes: Notes): Promise<StackPlan> {
  const lock = await app.read('Gemfile.lock');
  const gems: Gems = { gemfile: (await app.read('Gemfile')) ?? '', ...(lock !== undefined ? { lock } : {}) };
  if (lock !== undefined) warnAboutLockPlatforms(lock, notes);
  const baseImage = rubyImage(await rubyVersion(app, gems.gemfile, notes));
  const rails = await isRails(app, gems);
  const precompile = rails && (await hasAssets(app));
  if (precompile) notes.reasons.push('Rails with app/assets or app/javascript: assets are precompiled at build');
  return {
    packageManager: 'bundler',
    baseImage,
    manifests: lock !== undefined ? ['Gemfile', 'Gemfile.lock'] : ['Gemfile'],
    install: [
      "bundle config set --local without 'development test'",
      ...(lock !== undefined ? ['bundle config set --local frozen true'] : []),
      'bundle install --jobs 4',
    ],
    build: precompile ? ['bundle exec rails assets:precompile'] : [],
    port: DEFAULT_PORT,
    start: async (startNotes) => startCommand(app, gems, rails, startNotes),
  };
}

function rubyImage(version: string): string {
  return `ruby:${version}-slim-bookworm`;
}

/** major.minor from the Gemfile's `ruby "3.2.2"` (what bundler enforces), else .ruby-version. */
async function rubyVersion(app: AppDir, gemfile: string, notes: Notes): Promise<string> {
  const fromGemfile = /^\s*ruby\s+['"](?:[~>=\s]*)(\d+\.\d+)/m.exec(gemfile)?.[1];
  if (fromGemfile) {
    notes.reasons.push(`Gemfile ruby "${fromGemfile}": Ruby ${fromGemfile}`);
    return fromGemfile;
  }
  const rubyVersionFile = await app.read('.ruby-version');
  if (rubyVersionFile !== undefined) {
    const written = rubyVersionFile.trim();
    const version = /^(?:ruby-)?(\d+\.\d+)/.exec(written)?.[1];
    if (version) {
      notes.reasons.push(`.ruby-version "${written}": Ruby ${version}`);
      return version;
    }
    notes.warnings.push(`.ruby-version "${written}" is not a Ruby version like 3.2.2: ignored`);
  }
  notes.reasons.push(`no Ruby version in Gemfile or .ruby-version: Ruby ${DEFAULT_RUBY}`);
  return DEFAULT_RUBY;
}

/** A frozen install fails when Gemfile.lock only lists other platforms (a lock made on a Mac). */
function warnAboutLockPlatforms(lock: string, notes: Notes): void {
  const section = /^PLATFORMS\r?\n((?:[ \t]+\S.*\r?\n?)+)/m.exec(lock)?.[1];
  if (!section) return;
  const platforms = section.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  if (platforms.some((platform) => platform === 'ruby' || platform.includes('linux'))) return;
  notes.warnings.push(
    `Gemfile.lock lists only the platforms ${platforms.join(', ')}: bundle install fails on Linux; run "bundle lock --add-platform x86_64-linux aarch64-linux"`,
  );
}

function hasGem(gems: Gems, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    new RegExp(`^\\s*gem\\s+['"]${escaped}['"]`, 'm').test(gems.gemfile) ||
    new RegExp(`^ {4}${escaped} \\(`, 'm').test(gems.lock ?? '')
  );
}

async function isRails(app: AppDir, gems: Gems): Promise<boolean> {
  return hasGem(gems, 'rails') || (await app.exists('bin/rails'));
}

async function hasAssets(app: AppDir): Promise<boolean> {
  return (await app.isDirectory('app/assets')) || (await app.isDirectory('app/javascript'));
}

async function startCommand(app: AppDir, gems: Gems, rails: boolean, notes: Notes): Promise<StartCommand> {
  if (rails) {
    notes.reasons.push('rails in the Gemfile (or bin/rails): web runs rails server');
    return { command: 'bundle exec rails server -b 0.0.0.0 -p $PORT', source: 'Rails' };
  }
  if (hasGem(gems, 'puma')) {
    notes.reasons.push('puma in the Gemfile: web runs puma');
    return { command: 'bundle exec puma -b tcp://0.0.0.0:$PORT', source: 'Gemfile puma' };
  }
  if (await app.exists('config.ru')) {
    notes.reasons.push('config.ru: web runs rackup');
    return { command: 'bundle exec rackup -o 0.0.0.0 -p $PORT', source: 'config.ru' };
  }
  throw new PaasError('detect', 'the ruby app has no start command', {
    where: app.root,
    details: ['looked for: rails (Gemfile or bin/rails), puma (Gemfile), config.ru'],
    hint: 'add a Procfile with a web: line, e.g. "web: bundle exec ruby app.rb -p $PORT"',
  });
}

import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../src/detect/index.js';
import { makeTree, paasError, removeTrees } from './tree.js';

afterAll(removeTrees);

const RAILS_LOCK = ['GEM', '  remote: https://gems.example.com/', '  specs:', '    rails (7.1.3)', '', 'PLATFORMS', '  x86_64-linux', '  arm64-darwin-23', '', 'BUNDLED WITH', '   2.5.6', ''].join('\n');

describe('ruby stack', () => {
  it('plans a Rails app with assets', async () => {
    const dir = await makeTree({
      Gemfile: "source 'https://gems.example.com'\nruby '3.3.0'\ngem 'rails', '~> 7.1'\ngem 'puma'\n",
      'Gemfile.lock': RAILS_LOCK,
      'app/assets/stylesheets/app.css': '',
      'config.ru': '',
    });
    expect(await detect(dir)).toEqual({
      stack: 'ruby',
      reasons: [
        'Gemfile found: ruby',
        'Gemfile ruby "3.3": Ruby 3.3',
        'Rails with app/assets or app/javascript: assets are precompiled at build',
        'rails in the Gemfile (or bin/rails): web runs rails server',
      ],
      warnings: [],
      packageManager: 'bundler',
      baseImage: 'ruby:3.3-slim-bookworm',
      manifests: ['Gemfile', 'Gemfile.lock'],
      install: ["bundle config set --local without 'development test'", 'bundle config set --local frozen true', 'bundle install --jobs 4'],
      build: ['bundle exec rails assets:precompile'],
      processes: { web: 'bundle exec rails server -b 0.0.0.0 -p $PORT' },
      processSource: 'Rails',
      port: 8080,
    });
  });

  it('recognises an API-only Rails app by bin/rails, without precompiling', async () => {
    const dir = await makeTree({ Gemfile: "gem \"railties\"\n", 'bin/rails': '#!/usr/bin/env ruby\n' });
    expect(await detect(dir)).toMatchObject({ build: [], processes: { web: 'bundle exec rails server -b 0.0.0.0 -p $PORT' } });
  });

  it('serves with puma, else rackup', async () => {
    const puma = await makeTree({ Gemfile: 'gem "sinatra"\ngem "puma", "~> 6"\n', 'config.ru': '' });
    expect(await detect(puma)).toMatchObject({
      manifests: ['Gemfile'],
      install: ["bundle config set --local without 'development test'", 'bundle install --jobs 4'],
      processes: { web: 'bundle exec puma -b tcp://0.0.0.0:$PORT' },
      processSource: 'Gemfile puma',
    });
    const rack = await makeTree({ Gemfile: 'gem "sinatra"\n', 'config.ru': 'run App\n' });
    expect(await detect(rack)).toMatchObject({ processes: { web: 'bundle exec rackup -o 0.0.0.0 -p $PORT' }, processSource: 'config.ru' });
  });

  it('fails without a start command, unless the Procfile has web', async () => {
    const dir = await makeTree({ Gemfile: 'gem "sinatra"\n', 'app.rb': '' });
    const error = await paasError(detect(dir));
    expect(error).toMatchObject({ kind: 'detect', message: 'the ruby app has no start command' });
    const withProcfile = await makeTree({ Gemfile: 'gem "sinatra"\n', Procfile: 'web: bundle exec ruby app.rb -p $PORT\n' });
    expect((await detect(withProcfile)).processes).toEqual({ web: 'bundle exec ruby app.rb -p $PORT' });
  });

  it.each([
    [{ '.ruby-version': 'ruby-3.2.2\n' }, 'ruby:3.2-slim-bookworm'],
    [{ '.ruby-version': '3.0.6' }, 'ruby:3.0-slim-bookworm'],
    [{}, 'ruby:3.1-slim-bookworm'],
  ])('reads the Ruby version from %o', async (files, image) => {
    const dir = await makeTree({ Gemfile: 'gem "puma"\n', ...files });
    expect((await detect(dir)).baseImage).toBe(image);
  });

  it('warns when Gemfile.lock has no Linux platform', async () => {
    const lock = RAILS_LOCK.replace('  x86_64-linux\n', '');
    const dir = await makeTree({ Gemfile: 'gem "rails"\n', 'Gemfile.lock': lock });
    expect((await detect(dir)).warnings).toEqual([
      'Gemfile.lock lists only the platforms arm64-darwin-23: bundle install fails on Linux; run "bundle lock --add-platform x86_64-linux aarch64-linux"',
    ]);
  });
});

/** The user on each host that `git push` logs in as (created by host:setup). */
export const GIT_USER = 'paas';

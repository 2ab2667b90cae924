import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { Asset, BranchInfo } from '@rediver/core';
import { childProcessModule } from './internal/lazyModules';

/** What the agent knows about a scanned folder. */
export interface RepositoryInfo {
  /** Absolute path scanned. */
  path: string;
  /** Root of the git work tree containing it, when any. */
  gitRoot?: string;
  /** `origin` remote URL with any credentials removed. */
  remoteUrl?: string;
  commitSha?: string;
  branch?: string;
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    childProcessModule().execFile(
      'git',
      ['-C', cwd, ...args],
      { timeout: 5000, windowsHide: true },
      (err, stdout) => {
        done(err === null ? stdout.trim() || undefined : undefined);
      },
    );
  });
}

/** Removes `user:password@` from a URL (remotes often carry tokens). */
export function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    // scp-like `git@host:org/repo.git` has no secret to strip
    return url;
  }
}

/** Describes `target`: path, and git remote/commit/branch when it is inside a git work tree. */
export async function describeRepository(target: string): Promise<RepositoryInfo> {
  const path = resolve(target);
  const gitRoot = await git(path, ['rev-parse', '--show-toplevel']);
  if (gitRoot === undefined) return { path };
  const [remote, commitSha, branch] = await Promise.all([
    git(path, ['config', '--get', 'remote.origin.url']),
    git(path, ['rev-parse', 'HEAD']),
    git(path, ['rev-parse', '--abbrev-ref', 'HEAD']),
  ]);
  const info: RepositoryInfo = { path, gitRoot };
  if (remote !== undefined) info.remoteUrl = stripCredentials(remote);
  if (commitSha !== undefined) info.commitSha = commitSha;
  if (branch !== undefined && branch !== 'HEAD') info.branch = branch;
  return info;
}

/** The scanned repository as a RIS asset (stable id derived from its identity). */
export function repositoryAsset(info: RepositoryInfo): Asset {
  const value = info.remoteUrl ?? info.path;
  const id = `repo-${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
  const properties: Record<string, unknown> = { path: info.path };
  if (info.gitRoot !== undefined) properties.git_root = info.gitRoot;
  if (info.remoteUrl !== undefined) properties.remote_url = info.remoteUrl;
  if (info.commitSha !== undefined) properties.commit_sha = info.commitSha;
  if (info.branch !== undefined) properties.branch = info.branch;
  return {
    id,
    type: 'repository',
    value,
    name: basename(info.remoteUrl?.replace(/\.git$/, '') ?? info.path),
    properties,
  };
}

/** Branch block of a report's metadata, when the target is a git work tree. */
export function branchInfo(info: RepositoryInfo): BranchInfo | undefined {
  if (info.gitRoot === undefined) return undefined;
  const b: BranchInfo = {};
  if (info.branch !== undefined) b.name = info.branch;
  if (info.commitSha !== undefined) b.commit_sha = info.commitSha;
  if (info.remoteUrl !== undefined) b.repository_url = info.remoteUrl;
  return b;
}

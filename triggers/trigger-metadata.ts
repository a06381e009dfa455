// What a build knows of the push that started it, in Quay's trigger metadata shape
// (buildtrigger/basehandler.py METADATA_SCHEMA): stored on the build, shown in its view and
// carried by its notification events.

export interface GitUser {
  username: string;
  url?: string;
  avatar_url?: string;
}

export interface CommitInfo {
  url?: string;
  message: string;
  date?: string;
  author?: GitUser;
  committer?: GitUser;
}

export interface TriggerMetadata {
  /** The commit's SHA (full from GitHub and GitLab; custom git may send a shorter one). */
  commit: string;
  /** Where the commit is cloned from. */
  git_url: string;
  /** `refs/heads/<branch>`, `refs/tags/<tag>` or `refs/remotes/<remote>`; absent for a manual run by commit. */
  ref?: string;
  default_branch?: string;
  commit_info?: CommitInfo;
}

// Quay's trigger view (endpoints/api/trigger.py trigger_view) and the credentials a user needs to
// wire a trigger up: the webhook URL, the webhook secret and the deploy key's public half.
import type { Trigger } from './trigger-store.js';

export interface Site {
  host: string;
  scheme: 'http' | 'https';
}

export interface TriggerCredentials {
  /** For custom git the secret rides in the URL as `$token:<secret>@`, the way Quay's guide shows it. */
  webhookUrl: string;
  /** What GitHub signs with (X-Hub-Signature-256) and GitLab sends back (X-Gitlab-Token). */
  secret: string;
  publicKey: string;
}

export function webhookPath(uuid: string): string {
  return `/webhooks/push/trigger/${uuid}`;
}

export function triggerCredentials(t: Trigger, secret: string, site: Site): TriggerCredentials {
  const userinfo = t.service === 'custom-git' ? `$token:${secret}@` : '';
  return { webhookUrl: `${site.scheme}://${userinfo}${site.host}${webhookPath(t.uuid)}`, secret, publicKey: t.publicKey ?? '' };
}

/** Quay's `config.credentials` list, which its UI shows under "View Credentials". */
function credentialList(t: Trigger, c: TriggerCredentials): { name: string; value: string }[] {
  const list = [{ name: 'SSH Public Key', value: c.publicKey }, { name: 'Webhook Endpoint URL', value: c.webhookUrl }];
  if (t.service !== 'custom-git') list.push({ name: 'Webhook Secret', value: c.secret });
  return list;
}

/** A web page for the source, where the clone URL makes one obvious (GitHub, GitLab and the like). */
function repositoryUrl(source: string | undefined): string | null {
  if (!source) return null;
  const scp = /^[\w.-]+@([\w.-]+):(.+?)(?:\.git)?$/.exec(source);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  const https = /^https?:\/\/(?:[^@/]+@)?([^/]+)\/(.+?)(?:\.git)?$/.exec(source);
  return https ? `https://${https[1]}/${https[2]}` : null;
}

/** Only repository admins see triggers, so the view carries the credentials (decrypted by the caller). */
export function triggerView(t: Trigger, credentials: TriggerCredentials | null): Record<string, unknown> {
  return {
    id: t.uuid,
    service: t.service,
    is_active: t.isActive,
    build_source: t.config.build_source ?? null,
    repository_url: repositoryUrl(t.config.build_source),
    config: { ...t.config, ...(credentials ? { credentials: credentialList(t, credentials) } : {}) },
    can_invoke: true,
    enabled: t.enabled,
    disabled_reason: t.disabledReason,
    connected_user: t.connectedUser,
    pull_robot: t.pullRobot ? { name: t.pullRobot, kind: 'user', is_robot: true } : null,
    successive_failure_count: t.successiveFailureCount,
    successive_internal_error_count: t.successiveInternalErrorCount,
  };
}

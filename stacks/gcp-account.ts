/**
 * The Google service account of the mesh's Pub/Sub channel, as plain values (pure; no Pulumi
 * import, so the program's config reader can use it): its default ID and its email, which
 * Google derives from the ID and the project — the program wires it into the EventMesh props
 * before the account exists, and checks it against the created account's email.
 */

/** The Google service account ID the GcpPubSub component creates by default. */
export const DEFAULT_GCP_ACCOUNT_ID = 'event-mesh';

/**
 * `<id>@<project>.iam.gserviceaccount.com`; a domain-scoped project `example.com:proj`
 * gives `<id>@proj.example.com.iam.gserviceaccount.com`.
 */
export function gcpServiceAccountEmail(project: string, accountId: string = DEFAULT_GCP_ACCOUNT_ID): string {
  const colon = project.indexOf(':');
  const host = colon < 0 ? project : `${project.slice(colon + 1)}.${project.slice(0, colon)}`;
  return `${accountId}@${host}.iam.gserviceaccount.com`;
}

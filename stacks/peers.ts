/**
 * The Pulumi packages `event-mesh/stacks` needs. They are optional peer dependencies of the
 * package (cdk8s-only users never install them), so importing the stacks without them fails
 * here, first, naming the packages and the command that installs them (I/O: module resolution).
 */
export const PULUMI_PEERS = ['@pulumi/pulumi', '@pulumi/kubernetes', '@pulumi/azure-native', '@pulumi/gcp'] as const;

/** The peers `resolve` cannot find (by default: from this package). */
export function missingPulumiPeers(resolve: (id: string) => string = require.resolve): string[] {
  return PULUMI_PEERS.filter((p) => {
    try {
      resolve(p);
      return false;
    } catch {
      return true;
    }
  });
}

const missing = missingPulumiPeers();
if (missing.length > 0) {
  throw new Error(
    `event-mesh/stacks needs ${missing.join(', ')} (optional peer dependencies of event-mesh, installed only for the Pulumi components): npm install ${missing.join(' ')}`,
  );
}

import { ForbiddenError } from '../errors/cleanroom-error.ts';
import type { Principal } from '../policy/collaboration.ts';
import type { Role } from '../policy/policy-document.ts';

/** Refuses unless the principal holds the role; says which role was missing. */
export function requireRole(principal: Principal, role: Role, act: string): void {
  if (!principal.roles.has(role)) {
    throw new ForbiddenError('ROLE_REQUIRED', `Only a principal with the ${role} role may ${act}.`, {
      principal: principal.id,
      requiredRole: role,
      roles: [...principal.roles],
    });
  }
}

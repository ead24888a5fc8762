/**
 * Spine error coding of engine errors on Patient interactions (PDS FHIR API error responses;
 * CodeSystem https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode): a FhirError raised by the
 * generic engine for a Patient interaction or operation (404, 409, 412, 422 ...) gets the matching
 * Spine code in `issue.details.coding` (errors.ts `spineCodeForStatus`); its status, issue code and
 * diagnostics are kept. Errors already carrying a Spine code pass unchanged.
 */
import type { Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import { withSpineCode } from './errors';

export const spineErrorsInterceptor: Interceptor = async (req, interaction, ctx, next) => {
  try {
    return await next();
  } catch (e) {
    if (e instanceof FhirError && interaction.resourceType === 'Patient') throw withSpineCode(e);
    throw e;
  }
};

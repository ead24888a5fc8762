/** The Summary Care Record API's base path (summary-care-record.yaml `servers`). */
export const SCR_BASE_PATH = '/summary-care-record/FHIR/R4';

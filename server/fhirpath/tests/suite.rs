//! The one test binary of `tillit-fhirpath`: the HL7 FHIRPath suite, the R4 search parameters,
//! the behaviour the server relies on, and an ignored timing run.

mod behaviour;
mod hl7;
mod package;
mod search;
mod timing;
